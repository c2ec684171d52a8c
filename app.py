"""Gradio app: one photo and one painting through both methods, compared side by side.

**Fast** renders in about a second (Magenta's network); **Optimize** spends up to a minute or
two optimizing the image itself against VGG19 (Gatys et al.), streaming previews. Under each
result: time, method and the same Gatys losses. A thin layer over `nst.pipeline`: the handlers
turn the page's values into a job and its results into what the page shows; `layout` places the
components and `wire` connects them. Run `python app.py` (port 7860, or GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app sends nothing anywhere

import gradio as gr
import numpy as np
import pandas as pd

from nst import device, fast, pipeline, report, visualize
from nst.errors import InputError, plain_message
from nst.images import load_image, to_uint8
from nst.options import (
    COLORS,
    DEVICE_DEFAULTS,
    INITS,
    PAGE_SIZE_LIMITS,
    PAGE_TIME_BUDGET_LIMITS,
    STYLE_EMPHASIS,
    STYLE_SCALE_LIMITS,
    FastOptions,
    OptimizeOptions,
    Settings,
)

ASSETS = Path(__file__).resolve().parent / "assets"
MEASURING = "*measuring losses…*"
FAILED = "⚠️"  # begins the line shown in place of a result that failed
INIT_LABELS = {"fast": "fast result", "content": "content photo", "noise": "noise"}
OPTIMIZED_SERIES, FAST_SERIES = "optimized (best so far)", "fast result"

log = logging.getLogger("nst.app")
# One stop flag per browser session, so Stop ends only that session's optimization.
_stops: dict[str, threading.Event] = {}
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform.startswith("linux") else None


def _return_freed_memory() -> None:
    """Give freed heap back to the OS: glibc keeps it per thread arena otherwise, and a server
    that ran a burst of requests would stay at its peak memory."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class Upload(gr.Image):
    """An image upload handed to the library as a file path, undecoded.

    Gradio's own preprocessing opens the file with PIL and fails with a generic error on a file
    that is not an image; `nst.images` gives the person a message they can act on instead.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload):  # type: ignore[override]
        if payload is not None and payload.path:
            return payload.path
        return super().preprocess(payload)


# --- Handlers: page values in, page values out ----------------------------------------------


def _job(
    content,
    style,
    second_style,
    second_style_share,
    strength=1.0,
    size=512,
    colors="style",
    style_scale=1.0,
    mask=None,
    mask_file=None,
    init="content",
    time_budget=None,
    emphasis="balanced",
):
    """The page's values as a validated job (raises `InputError` for bad input)."""
    if not content or not style:
        raise InputError("Upload a content photo and a style image first.")
    styles, mix = [style], None
    if second_style:
        styles, mix = [style, second_style], (1.0 - second_style_share, second_style_share)
    if time_budget is not None:
        time_budget = min(float(time_budget), PAGE_TIME_BUDGET_LIMITS[1])
    return pipeline.prepare(
        content,
        styles,
        Settings(size=int(size), style_mix=mix, colors=colors, style_scale=float(style_scale)),
        FastOptions(strength=strength),
        OptimizeOptions(init=init, time_budget=time_budget, emphasis=emphasis),
        mask=_mask(mask, mask_file),
    )


def _mask(painted: dict | None, uploaded: str | None) -> np.ndarray | str | None:
    """The mask a person gave: an uploaded file, else what they painted over the photo (the
    strokes' opacity, whatever their color), else none."""
    if uploaded:
        return uploaded
    strokes = [
        layer[..., 3]
        for layer in (painted or {}).get("layers") or []
        if layer is not None and layer.ndim == 3 and layer.shape[2] == 4
    ]
    if not strokes or max(int(stroke.max()) for stroke in strokes) == 0:
        return None
    return np.max(strokes, axis=0).astype(np.float32) / 255.0


def _failure(error: Exception) -> str:
    """The one line shown in place of a result that failed; the server logs the detail once."""
    message = plain_message(error)
    if message is None:
        log.error("request failed", exc_info=error)
        message = (
            f"Something went wrong on the server ({type(error).__name__}); it has been logged. "
            "Try again, or a smaller output size."
        )
    elif detail := getattr(error, "detail", ""):
        log.warning("%s %s", message, detail)
    return f"{FAILED} {message}"


def _numbers(result: pipeline.Result) -> str:
    """The Markdown under a result: what made it, then its losses (once measured)."""
    losses = report.losses_line(result.losses, bold="**") if result.losses else MEASURING
    return f"{report.made_by(result)}  \n{losses}"


def run_fast(
    content,
    style,
    second_style,
    second_style_share,
    strength,
    size,
    colors,
    style_scale,
    mask,
    mask_file,
):
    """Fast path only: the image and what made it, in about a second (losses come next)."""
    try:
        job = _job(
            content,
            style,
            second_style,
            second_style_share,
            strength,
            size,
            colors,
            style_scale,
            mask,
            mask_file,
        )
        result = job.fast()
    except Exception as error:
        return None, _failure(error)
    return to_uint8(result.image), _numbers(result)


def measure_fast(
    content,
    style,
    second_style,
    second_style_share,
    colors,
    style_scale,
    mask,
    mask_file,
    fast_image,
    numbers,
):
    """The fast result's Gatys losses, as its own queued event so the fast slot is free."""
    if fast_image is None or MEASURING not in (numbers or ""):
        return gr.skip()
    try:
        job = _job(
            content,
            style,
            second_style,
            second_style_share,
            size=max(fast_image.shape[:2]),
            colors=colors,
            style_scale=style_scale,
            mask=mask,
            mask_file=mask_file,
        )
        losses = report.losses_line(job.score(fast_image / 255.0), bold="**")  # the PNG shown
    except Exception as error:
        losses = _failure(error)
    finally:
        _return_freed_memory()
    return numbers.replace(MEASURING, losses)


def run_example(
    content,
    style,
    second_style,
    second_style_share,
    strength,
    size,
    colors,
    style_scale,
    mask,
    mask_file,
):
    """An example clicked: its fast result with losses, in place of all earlier results."""
    inputs = (content, style, second_style, second_style_share)
    perceptual = (colors, style_scale, mask, mask_file)
    image, numbers = run_fast(*inputs, strength, size, *perceptual)
    return image, measure_fast(*inputs, *perceptual, image, numbers), *clear_results()[2:]


def run_optimize(
    content,
    style,
    second_style,
    second_style_share,
    strength,
    size,
    colors,
    style_scale,
    mask,
    mask_file,
    init,
    time_budget,
    emphasis,
    fast_image,
    request: gr.Request,
    progress=gr.Progress(),
):
    """Slow path: streams previews and a loss curve; Stop keeps the best image so far. When it
    starts from the fast result and the page has none, it makes and shows that result first."""
    stop = _stops[request.session_hash] = threading.Event()
    shown, curve = (gr.skip(), gr.skip()), []
    try:
        job = _job(
            content,
            style,
            second_style,
            second_style_share,
            strength,
            size,
            colors,
            style_scale,
            mask,
            mask_file,
            init,
            time_budget,
            emphasis,
        )
        fast_image = None if fast_image is None else fast_image / 255.0
        if job.optimize_options.init == "fast" and fast_image is None:  # make and show it first
            fast_result = job.fast()
            shown, fast_image = (
                (to_uint8(fast_result.image), _numbers(fast_result)),
                fast_result.image,
            )
        run = job.optimize(fast_image, stop)
        for step in run:
            best = step.best_losses.get("total", step.losses["total"])
            curve.append({"step": step.step, "loss": best, "series": OPTIMIZED_SERIES})
            progress(
                min(step.seconds / job.optimize_options.time_budget, 1.0), desc=f"step {step.step}"
            )
            if step.preview is not None:
                status = f"step {step.step} · {step.seconds:.0f} s"
                yield *shown, to_uint8(step.preview), status, _curve(curve, run.fast_loss)
                shown = gr.skip(), gr.skip()
        result = job.measure(run.result)
    except Exception as error:
        yield *shown, None, _failure(error), _curve(curve, None)
        return
    finally:
        _stops.pop(request.session_hash, None)
        _return_freed_memory()
    yield *shown, to_uint8(result.image), _numbers(result), _curve(curve, run.fast_loss)


def _curve(points: list[dict], fast_loss: float | None) -> pd.DataFrame:
    """Optimizer loss per step, with the fast result's loss (same objective) as a flat line."""
    rows = list(points)
    if fast_loss is not None and points:
        ends = (points[0]["step"], points[-1]["step"])
        rows += [{"step": step, "loss": fast_loss, "series": FAST_SERIES} for step in ends]
    return pd.DataFrame(rows, columns=["step", "loss", "series"])


def _paint_over(content: str | None) -> dict | None:
    """The mask editor with the content photo as its canvas and nothing painted yet (empty
    when the upload is not an image: Fast then says why, and the editor has nothing to show)."""
    try:
        if not content:
            return None
        load_image(content)
    except InputError:
        return None
    return {"background": content, "layers": [], "composite": None}


def stop_optimize(request: gr.Request) -> None:
    if event := _stops.get(request.session_hash):
        event.set()


def slider_pair(fast_image, optimized_image):
    """The before/after slider shows fast against optimized once both exist."""
    if fast_image is None or optimized_image is None:
        return None
    return (fast_image, optimized_image)


def clear_results(request: gr.Request | None = None):
    """Inputs changed: results of the old inputs no longer belong on the page."""
    if request is not None:
        stop_optimize(request)
    return None, "", None, "", None, None


def inside_vgg(content, style, second_style, mask, mask_file, layer):
    """Feature maps of both images and the style's Gram matrix at `layer`, at 256 px; with a
    mask, the mask at that layer and what each region's Gram matrix is matched to."""
    try:
        job = _job(content, style, second_style, 0.5, size=256, mask=mask, mask_file=mask_file)
        content_maps = visualize.activations(job.content, layer)
        style_maps = visualize.activations(job.styles_at_size[0], layer)
        regions = job.mask is not None and visualize.region_views(
            job.targets, content_maps.shape[:2], layer
        )
    except Exception as error:
        return None, None, None, _failure(error), None, None, None
    height, width, channels = content_maps.shape
    mask_view, (white, black) = regions or (None, (None, None))
    return (
        to_uint8(visualize.feature_grid(content_maps)),
        to_uint8(visualize.feature_grid(style_maps)),
        to_uint8(visualize.gram_heatmap(style_maps)),
        f"{layer}: {channels} channels, {width}×{height} px for a 256 px photo",
        *(None if view is None else to_uint8(view) for view in (mask_view, white, black)),
    )


# Famous paintings with the photos they suit in both paths (judged on `python -m nst compare` at
# 384 px, 40 s): (content, style, label).
EXAMPLES = [
    ("content_chelsea.jpg", "style_starry_night.jpg", "Van Gogh, The Starry Night"),
    ("content_rocket.jpg", "style_the_scream.jpg", "Munch, The Scream"),
    ("content_coffee.jpg", "style_udnie.jpg", "Picabia, Udnie"),
    ("content_astronaut.jpg", "style_camille_mauclair.jpg", "Vallotton, Camille Mauclair"),
    ("content_chelsea.jpg", "style_great_wave.jpg", "Hokusai, The Great Wave"),
]


def examples() -> tuple[list[list], list[str]]:
    """Example rows (all shared inputs) and their labels, for the files in this checkout."""
    rows, labels = [], []
    for content, style, label in EXAMPLES:
        if (ASSETS / content).is_file() and (ASSETS / style).is_file():
            files = [str(ASSETS / content), str(ASSETS / style)]
            rows.append([*files, None, 0.5, 1.0, 512, "style", 1.0, None, None])
            labels.append(label)
    return rows, labels


# --- Layout: what the page shows, and where --------------------------------------------------


@dataclass
class Page:
    """The components the events read and write."""

    content: gr.Image
    style: gr.Image
    second_style: gr.Image
    second_style_share: gr.Slider
    strength: gr.Slider
    size: gr.Slider
    colors: gr.Radio
    style_scale: gr.Slider
    mask: gr.ImageEditor
    mask_file: gr.Image
    init: gr.Radio
    time_budget: gr.Slider
    emphasis: gr.Radio
    fast_button: gr.Button
    optimize_button: gr.Button
    stop_button: gr.Button
    slider: gr.ImageSlider
    fast_image: gr.Image
    fast_numbers: gr.Markdown
    optimized_image: gr.Image
    optimized_numbers: gr.Markdown
    curve: gr.LinePlot
    layer: gr.Dropdown
    show_layer: gr.Button
    layer_views: tuple[gr.Image, gr.Image, gr.Image]
    layer_note: gr.Markdown
    region_views: tuple[gr.Image, gr.Image, gr.Image]

    @property
    def shared(self) -> list:
        """The inputs both paths use, in the handlers' order."""
        return [
            self.content,
            self.style,
            self.second_style,
            self.second_style_share,
            self.strength,
            self.size,
            self.colors,
            self.style_scale,
            self.mask,
            self.mask_file,
        ]


def _upload(label: str, elem_id: str, height: int = 220) -> Upload:
    return Upload(label=label, type="filepath", image_mode=None, elem_id=elem_id, height=height)


def _result(label: str, elem_id: str) -> tuple[gr.Image, gr.Markdown]:
    image = gr.Image(
        label=label, format="png", interactive=False, elem_id=f"{elem_id}-image", height=340
    )
    return image, gr.Markdown(elem_id=f"{elem_id}-numbers")


def _header(where: device.Device) -> None:
    gr.Markdown(
        "# Neural style transfer: fast vs optimized\n"
        "Drop in a photo and a painting. **Fast** renders it in about a second with Magenta's "
        "feed-forward network; **Optimize** spends up to a minute or two optimizing the image "
        "itself against VGG19's Gram matrices (Gatys et al.). Under each result: where and how "
        "fast it was made, and the same Gatys losses (lower style loss = closer to the "
        "painting's textures, lower content loss = more of the photo kept). "
        f"Optimize runs on this server's {where.label}, {device.precision('auto', where)}."
    )
    if warning := device.gpu_warning(where, device.nvidia_driver_present()):
        gr.Markdown(f"{FAILED} {warning}", elem_id="device-warning")


def layout() -> Page:
    """Place the components (inside a `gr.Blocks`): inputs on the left, results on the right,
    so that a result shows without scrolling in a 1440×900 window."""
    where = device.current()
    _header(where)
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                content = _upload("Content photo", "content")
                style = _upload("Style image", "style")
            with gr.Row():
                size = gr.Slider(
                    *PAGE_SIZE_LIMITS,
                    value=DEVICE_DEFAULTS[where.kind].size,
                    step=32,
                    label="Output long side (px)",
                )
                strength = gr.Slider(0, 1, value=1, step=0.05, label="Style strength (fast)")
            with gr.Row():
                colors = gr.Radio(
                    [(report.COLOR_LABELS[v], v) for v in COLORS], value="style", label="Colors"
                )
                style_scale = gr.Slider(
                    *STYLE_SCALE_LIMITS, value=1.0, step=0.25, label="Brush size (style scale)"
                )
            with gr.Accordion("Mix in a second style", open=False):
                second_style = _upload("Second style (optional)", "second-style", height=160)
                share = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of the second style")
            with gr.Accordion("Where the style goes (mask)", open=False):
                mask = gr.ImageEditor(
                    label="Paint where the first style goes",
                    type="numpy",
                    image_mode="RGBA",
                    sources=(),
                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
                    layers=False,
                    elem_id="mask",
                    height=260,
                )
                gr.Markdown(
                    "Painted: the style (the first, with two). Unpainted: the photo kept (the "
                    "second style, with two). Or upload a mask: white and black, grey mixes."
                )
                mask_file = _upload("Mask image (optional)", "mask-file", height=140)
            with gr.Accordion("Optimization settings", open=False):
                init = gr.Radio(
                    [(INIT_LABELS[v], v) for v in INITS], value="fast", label="Start from"
                )
                budget = gr.Slider(
                    *PAGE_TIME_BUDGET_LIMITS, value=60, step=5, label="Time budget (s)"
                )
                emphasis = gr.Radio(list(STYLE_EMPHASIS), value="balanced", label="Style emphasis")
            with gr.Row():
                fast_button = gr.Button("Fast", variant="primary", elem_id="fast")
                optimize_button = gr.Button("Optimize", variant="primary", elem_id="optimize")
                stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
        with gr.Column(scale=3):
            with gr.Tab("Compare"):
                with gr.Row():
                    with gr.Column():
                        fast_image, fast_numbers = _result("Fast", "fast")
                    with gr.Column():
                        optimized_image, optimized_numbers = _result("Optimized", "optimized")
                slider = gr.ImageSlider(
                    label="Fast ◀ ▶ Optimized",
                    type="numpy",
                    format="png",
                    interactive=False,
                    elem_id="slider",
                )
                curve = gr.LinePlot(
                    x="step",
                    y="loss",
                    color="series",
                    label="Optimizer loss",
                    y_title="loss (optimizer's objective)",
                )
            inside_vgg_tab = _inside_vgg()
    return Page(
        content=content,
        style=style,
        second_style=second_style,
        second_style_share=share,
        strength=strength,
        size=size,
        colors=colors,
        style_scale=style_scale,
        mask=mask,
        mask_file=mask_file,
        init=init,
        time_budget=budget,
        emphasis=emphasis,
        fast_button=fast_button,
        optimize_button=optimize_button,
        stop_button=stop_button,
        slider=slider,
        fast_image=fast_image,
        fast_numbers=fast_numbers,
        optimized_image=optimized_image,
        optimized_numbers=optimized_numbers,
        curve=curve,
        **inside_vgg_tab,
    )


def _inside_vgg() -> dict:
    """The Inside VGG19 tab's components."""
    with gr.Tab("Inside VGG19"):
        gr.Markdown(
            "What the optimizer matches. Early layers respond to color and fine texture, deep "
            "ones to outlines; the Gram matrix (channel correlations) of each style layer is the "
            "*style* the optimizer reproduces."
        )
        with gr.Row():
            layer = gr.Dropdown(list(visualize.LAYERS), value="block1_conv1", label="Layer")
            show_layer = gr.Button("Show layer")
        with gr.Row():
            views = tuple(
                gr.Image(label=label, interactive=False)
                for label in (
                    "Content: strongest feature maps",
                    "Style: strongest feature maps",
                    "Style Gram matrix (first 64 channels)",
                )
            )
        layer_note = gr.Markdown(elem_id="layer-note")
        gr.Markdown(
            "With a mask (*Where the style goes*): the mask as this layer sees it, and the Gram "
            "matrix each region's features are matched to."
        )
        with gr.Row():
            regions = tuple(
                gr.Image(label=label, interactive=False)
                for label in (
                    "Mask at this layer (yellow: first style)",
                    "White region's target Gram matrix",
                    "Black region's target (second style, or the photo's own)",
                )
            )
    return {
        "layer": layer,
        "show_layer": show_layer,
        "layer_views": views,
        "layer_note": layer_note,
        "region_views": regions,
    }


# --- Wiring: which event calls which handler --------------------------------------------------


def wire(page: Page) -> None:
    """Connect the components' events to the handlers, with their queues and API names."""
    fast_outputs = [page.fast_image, page.fast_numbers]
    results = [*fast_outputs, page.optimized_image, page.optimized_numbers, page.slider, page.curve]
    for component in page.shared:
        component.input(clear_results, None, results, queue=False, api_visibility="private")

    measure_inputs = [*page.shared[:4], *page.shared[6:], page.fast_image, page.fast_numbers]
    # The mask is painted over the photo.
    page.content.change(_paint_over, page.content, page.mask, queue=False, api_visibility="private")
    measure = {
        "fn": measure_fast,
        "inputs": measure_inputs,
        "outputs": page.fast_numbers,
        "concurrency_limit": 1,
        "concurrency_id": "losses",
    }
    page.fast_button.click(
        run_fast,
        page.shared,
        fast_outputs,
        api_name="fast",
        concurrency_limit=2,
        concurrency_id="fast",
    ).then(**measure, api_name="fast_losses")
    page.optimize_button.click(
        run_optimize,
        [*page.shared, page.init, page.time_budget, page.emphasis, page.fast_image],
        [*fast_outputs, page.optimized_image, page.optimized_numbers, page.curve],
        api_name="optimize",
        concurrency_limit=1,
        concurrency_id="optimize",
    ).then(**measure, api_visibility="private")
    page.stop_button.click(stop_optimize, None, None, queue=False, api_visibility="private")
    for image in (page.fast_image, page.optimized_image):
        image.change(
            slider_pair,
            [page.fast_image, page.optimized_image],
            page.slider,
            queue=False,
            api_visibility="private",
        )
    page.show_layer.click(
        inside_vgg,
        [page.content, page.style, page.second_style, page.mask, page.mask_file, page.layer],
        [*page.layer_views, page.layer_note, *page.region_views],
        api_name="inside_vgg",
        concurrency_id="fast",
    )
    rows, labels = examples()
    if rows:
        # Run on click, not cached: a cached failure (say, a download that failed once) would
        # be served for good.
        gr.Examples(
            rows,
            page.shared,
            results,
            fn=run_example,
            cache_examples=False,
            run_on_click=True,
            example_labels=labels,
            api_visibility="private",
            label="Famous paintings: click one",
        )


def build_demo() -> gr.Blocks:
    with gr.Blocks(
        title="Neural style transfer: fast vs optimized", analytics_enabled=False
    ) as demo:
        wire(layout())
    return demo


demo = build_demo()


def main() -> None:
    """Serve the app: say where Optimize runs, warm the fast engine up, then listen."""
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    where = device.current()
    log.info("Optimize runs on %s", where.label)
    if warning := device.gpu_warning(where, device.nvidia_driver_present()):
        log.warning(warning)
    # Load the fast engine (hub when reachable, else lite) before the first request needs it.
    threading.Thread(target=fast.get_engine, name="warm-up", daemon=True).start()
    demo.queue(max_size=16, default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )


if __name__ == "__main__":
    main()
