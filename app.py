"""Gradio app: one photo and one painting through both methods, compared side by side.

**Fast** renders in about a second (Magenta's network); **Optimize** spends up to a minute or
two optimizing the image itself against VGG19 (Gatys et al.), streaming previews. Under each
result: time, method and the same Gatys losses. A thin layer over the `nst` library: it turns
uploads into paths, calls the library and shows its results; bad input becomes a one-line
message on the page. Run `python app.py` (port 7860, or GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app sends nothing anywhere

import gradio as gr
import pandas as pd

from nst import compare, fast, visualize
from nst.errors import InputError
from nst.images import load_image, to_uint8
from nst.losses import DEFAULT, preset_with, score

ASSETS = Path(__file__).resolve().parent / "assets"
MAX_TIME_BUDGET = 180  # seconds one optimization may take, enforced here whatever the client sends
STYLE_EMPHASIS = {"subtle": 0.3, "balanced": 1.0, "strong": 3.0}
INITS = {"fast result": "fast", "content photo": "content", "noise": "noise"}

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


def _inputs(content: str | None, style: str | None, second_style: str | None, blend: float):
    """Decoded content and styles with blend weights; a one-line page error for bad input."""
    if not content or not style:
        raise gr.Error("Upload a content photo and a style image first.", print_exception=False)
    paths = [style] if not second_style else [style, second_style]
    weights = None if not second_style else [1.0 - blend, blend]
    try:
        return load_image(content), [load_image(path) for path in paths], weights
    except InputError as error:
        raise gr.Error(str(error), print_exception=False) from None


MEASURING = "*measuring losses…*"


def _numbers(result: compare.Result) -> str:
    """The markdown under a result: method, time, size, then the Gatys losses."""
    made_by = result.made_by
    height, width = result.image.shape[:2]
    if made_by["method"] == "fast":
        method = f"Fast · **{made_by['engine']}** engine"
    else:
        method = (
            f"Optimized · **{made_by['optimizer']}**, from {made_by['init']}, "
            f"{made_by['steps']} steps (ended by {made_by['stopped_by']})"
        )
    first_line = f"{method} · {result.seconds:.1f} s · {width}×{height} px"
    return first_line + "  \n" + (_losses_line(result.losses) if result.losses else MEASURING)


def _losses_line(losses: dict[str, float]) -> str:
    return (
        f"style loss **{losses['style_loss']:.3g}** · content loss "
        f"**{losses['content_loss']:.3g}** · total **{losses['total']:.3g}**"
    )


def _fast_result(content_image, styles, weights, strength, size, preserve_color):
    try:
        return compare.run_fast(
            content_image,
            styles,
            weights,
            size=int(size),
            strength=strength,
            preserve_color=preserve_color,
        )
    except (InputError, fast.EngineUnavailable) as error:
        raise gr.Error(str(error), print_exception=False) from None


def run_fast(content, style, second_style, blend, strength, size, preserve_color):
    """Fast path only: the image and what made it, in about a second (losses come next)."""
    content_image, styles, weights = _inputs(content, style, second_style, blend)
    result = _fast_result(content_image, styles, weights, strength, size, preserve_color)
    return to_uint8(result.image), _numbers(result)


def measure_fast(content, style, second_style, blend, fast_image, numbers):
    """The fast result's Gatys losses, as its own queued event so the fast slot is free."""
    if fast_image is None or MEASURING not in (numbers or ""):
        return gr.skip()
    content_image, styles, weights = _inputs(content, style, second_style, blend)
    losses = score(fast_image / 255.0, content_image, styles, weights)  # the PNG shown
    _return_freed_memory()
    return numbers.replace(MEASURING, _losses_line(losses))


def fast_if_missing(
    content, style, second_style, blend, strength, size, preserve_color, init_label, fast_image
):
    """Before an optimization that starts from the fast result: make it if the page has none."""
    if INITS[init_label] != "fast" or fast_image is not None:
        return gr.skip(), gr.skip()
    return run_fast(content, style, second_style, blend, strength, size, preserve_color)


def fast_with_losses(content, style, second_style, blend, strength, size, preserve_color):
    """Both steps at once, for the examples, whose results Gradio caches."""
    image, numbers = run_fast(content, style, second_style, blend, strength, size, preserve_color)
    return image, measure_fast(content, style, second_style, blend, image, numbers)


def run_optimize(
    content,
    style,
    second_style,
    blend,
    strength,
    size,
    preserve_color,
    init_label,
    time_budget,
    emphasis,
    fast_image,
    request: gr.Request,
    progress=gr.Progress(),
):
    """Slow path: streams previews and a loss curve; Stop keeps the best image so far."""
    content_image, styles, weights = _inputs(content, style, second_style, blend)
    init = INITS[init_label]
    budget = min(float(time_budget), MAX_TIME_BUDGET)
    if init == "fast" and fast_image is None:
        result = _fast_result(content_image, styles, weights, strength, size, preserve_color)
        fast_image = to_uint8(result.image)
    stop = _stops[request.session_hash] = threading.Event()
    run = compare.OptimizeRun(
        content_image,
        styles,
        weights,
        size=int(size),
        preserve_color=preserve_color,
        init=init,
        init_image=None if fast_image is None else fast_image / 255.0,
        stop=stop,
        time_budget=budget,
        preset=preset_with("default", style_weight=DEFAULT.style_weight * STYLE_EMPHASIS[emphasis]),
    )
    # The fast result under the optimizer's own objective: the line the curve has to get under.
    fast_loss = None if fast_image is None else run.objective(fast_image / 255.0)["total"]
    curve: list[dict] = []
    try:
        for step in run:
            best = step.best_losses.get("total", step.losses["total"])
            curve.append({"step": step.step, "loss": best, "series": "optimized (best so far)"})
            progress(min(step.seconds / budget, 1.0), desc=f"step {step.step}")
            if step.preview is not None:
                status = f"step {step.step} · {step.seconds:.0f} s"
                yield to_uint8(step.preview), status, _curve(curve, fast_loss)
    finally:
        _stops.pop(request.session_hash, None)
        _return_freed_memory()
    result = run.result
    assert result is not None
    compare.measure(result, content_image, styles, weights)
    yield to_uint8(result.image), _numbers(result), _curve(curve, fast_loss)


def _curve(points: list[dict], fast_loss: float | None) -> pd.DataFrame:
    """Optimizer loss per step, with the fast result's loss (same objective) as a flat line."""
    rows = list(points)
    if fast_loss is not None and points:
        ends = (points[0]["step"], points[-1]["step"])
        rows += [{"step": step, "loss": fast_loss, "series": "fast result"} for step in ends]
    return pd.DataFrame(rows, columns=["step", "loss", "series"])


def stop_optimize(request: gr.Request) -> None:
    if event := _stops.get(request.session_hash):
        event.set()


def slider_pair(fast_image, optimized_image):
    """The before/after slider shows fast against optimized once both exist."""
    if fast_image is None or optimized_image is None:
        return None
    return (fast_image, optimized_image)


def clear_results(request: gr.Request):
    """Inputs changed: results of the old inputs no longer belong on the page."""
    stop_optimize(request)
    return None, "", None, "", None, None


def inside_vgg(content, style, layer):
    """Feature maps of both images and the style's Gram matrix at `layer`, at 256 px."""
    content_image, styles, _ = _inputs(content, style, None, 0.0)
    content_maps = visualize.activations(load_image(content_image, long_side=256), layer)
    style_maps = visualize.activations(load_image(styles[0], long_side=256), layer)
    return (
        to_uint8(visualize.feature_grid(content_maps)),
        to_uint8(visualize.feature_grid(style_maps)),
        to_uint8(visualize.gram_heatmap(style_maps)),
    )


def examples() -> list[list]:
    """Example rows (all shared inputs) from assets/ that exist in this checkout."""
    pairs = [
        ("content_chelsea.jpg", "style_swirls.jpg"),
        ("content_astronaut.jpg", "style_shapes.jpg"),
        ("content_coffee.jpg", "style_hubble.jpg"),
        ("content_rocket.jpg", "style_gravel.jpg"),
    ]
    return [
        [str(ASSETS / c), str(ASSETS / s), None, 0.5, 1.0, 512, False]
        for c, s in pairs
        if (ASSETS / c).is_file() and (ASSETS / s).is_file()
    ]


def build_demo() -> gr.Blocks:
    with gr.Blocks(
        title="Neural style transfer: fast vs optimized", analytics_enabled=False
    ) as demo:
        gr.Markdown(
            "# Neural style transfer: fast vs optimized\n"
            "Drop in a photo and a painting. **Fast** renders it in about a second with "
            "Magenta's feed-forward network; **Optimize** spends up to a minute or two "
            "optimizing the image itself against VGG19's Gram matrices (Gatys et al.). "
            "Under each result: time and the same Gatys losses (lower style loss = closer "
            "to the painting's textures, lower content loss = more of the photo kept)."
        )
        with gr.Row():
            content = Upload(
                label="Content photo", type="filepath", image_mode=None, elem_id="content"
            )
            style = Upload(label="Style image", type="filepath", image_mode=None, elem_id="style")
            second_style = Upload(
                label="Second style (optional, blended)",
                type="filepath",
                image_mode=None,
                elem_id="second-style",
            )
        with gr.Row():
            size = gr.Slider(128, 1024, value=512, step=32, label="Output long side (px)")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Style strength (fast)")
            blend = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of the second style")
            preserve_color = gr.Checkbox(label="Keep the photo's colours")
        with gr.Accordion("Optimization settings", open=False), gr.Row():
            init = gr.Radio(list(INITS), value="fast result", label="Start from")
            time_budget = gr.Slider(10, MAX_TIME_BUDGET, value=60, step=5, label="Time budget (s)")
            emphasis = gr.Radio(
                list(STYLE_EMPHASIS), value="balanced", label="Style emphasis (optimize)"
            )
        with gr.Row():
            fast_button = gr.Button("Fast", variant="primary", elem_id="fast")
            optimize_button = gr.Button("Optimize", variant="primary", elem_id="optimize")
            stop_button = gr.Button("Stop", variant="stop", elem_id="stop")

        with gr.Tab("Compare"):
            slider = gr.ImageSlider(
                label="Fast ◀ ▶ Optimized",
                type="numpy",
                format="png",
                interactive=False,
                elem_id="slider",
            )
            with gr.Row():
                with gr.Column():
                    fast_image = gr.Image(
                        label="Fast", format="png", interactive=False, elem_id="fast-image"
                    )
                    fast_numbers = gr.Markdown(elem_id="fast-numbers")
                with gr.Column():
                    optimized_image = gr.Image(
                        label="Optimized",
                        format="png",
                        interactive=False,
                        elem_id="optimized-image",
                    )
                    optimized_numbers = gr.Markdown(elem_id="optimized-numbers")
            curve = gr.LinePlot(
                x="step",
                y="loss",
                color="series",
                label="Optimizer loss",
                y_title="loss (optimizer's objective)",
            )
        with gr.Tab("Inside VGG19"):
            gr.Markdown(
                "What the optimizer matches. Early layers respond to colour and fine texture, "
                "deep ones to outlines; the Gram matrix (channel correlations) of each style "
                "layer is the *style* the optimizer reproduces."
            )
            with gr.Row():
                layer = gr.Dropdown(list(visualize.LAYERS), value="block1_conv1", label="Layer")
                show = gr.Button("Show layer")
            with gr.Row():
                content_maps = gr.Image(label="Content: strongest feature maps", interactive=False)
                style_maps = gr.Image(label="Style: strongest feature maps", interactive=False)
                gram = gr.Image(label="Style Gram matrix (first 64 channels)", interactive=False)

        shared = [content, style, second_style, blend, strength, size, preserve_color]
        results = [fast_image, fast_numbers, optimized_image, optimized_numbers, slider, curve]
        for component in shared:
            component.input(clear_results, None, results, queue=False)

        measure_inputs = [content, style, second_style, blend, fast_image, fast_numbers]
        fast_button.click(
            run_fast,
            shared,
            [fast_image, fast_numbers],
            api_name="fast",
            concurrency_limit=2,
            concurrency_id="fast",
        ).then(
            measure_fast,
            measure_inputs,
            fast_numbers,
            api_name="fast_losses",
            concurrency_limit=1,
            concurrency_id="losses",
        )
        # Optimize from the fast result shows that result too, so the two can be compared.
        optimize_button.click(
            fast_if_missing,
            [*shared, init, fast_image],
            [fast_image, fast_numbers],
            api_name=False,
            concurrency_limit=2,
            concurrency_id="fast",
        ).then(
            run_optimize,
            [*shared, init, time_budget, emphasis, fast_image],
            [optimized_image, optimized_numbers, curve],
            api_name="optimize",
            concurrency_limit=1,
            concurrency_id="optimize",
        ).then(
            measure_fast,
            measure_inputs,
            fast_numbers,
            api_name=False,
            concurrency_limit=1,
            concurrency_id="losses",
        )
        stop_button.click(stop_optimize, None, None, queue=False, api_name=False)
        for image in (fast_image, optimized_image):
            image.change(
                slider_pair, [fast_image, optimized_image], slider, queue=False, api_name=False
            )
        show.click(
            inside_vgg,
            [content, style, layer],
            [content_maps, style_maps, gram],
            api_name="inside_vgg",
            concurrency_id="fast",
        )

        if rows := examples():
            gr.Examples(
                rows,
                shared,
                [fast_image, fast_numbers],
                fn=fast_with_losses,
                cache_examples=True,
                cache_mode="lazy",
                label="Examples: click one",
            )
    return demo


demo = build_demo()

if __name__ == "__main__":
    # Load the fast engine (hub when reachable, else lite) before the first request needs it.
    threading.Thread(target=fast.get_engine, name="warm-up", daemon=True).start()
    demo.queue(max_size=16, default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
