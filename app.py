"""Gradio app: one photo and one painting through both methods, compared side by side.

**Fast** renders in about a second (Magenta's network); **Optimize** spends up to a minute or
two optimizing the image itself against VGG19 (Gatys et al.), streaming previews. Under each
result: time, method and the same Gatys losses. A thin layer over `nst.pipeline`: the handlers
turn the page's values into a job and its results into what the page shows; `layout` places the
components and `wire` connects them. Run `python app.py` (port 7860, or GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app sends nothing anywhere

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image, ImageOps
from starlette.middleware import Middleware

from nst import device, fast, pipeline, report, visualize
from nst.cache import Cache, UploadGuard, paths_in
from nst.errors import InputError, plain_message
from nst.images import load_image, resize_long_side, to_uint8
from nst.options import (
    CACHE_MAX_AGE,
    CACHE_MAX_BYTES,
    CACHE_SWEEP_INTERVAL,
    COLORS,
    COMPARE,
    DEVICE_DEFAULTS,
    INITS,
    MAX_UPLOAD_BYTES,
    PAGE_MIN_SIZE,
    PAGE_TIME_BUDGET_LIMITS,
    SIZE_LIMITS,
    STYLE_EMPHASIS,
    STYLE_SCALE_LIMITS,
    FastOptions,
    OptimizeOptions,
    Settings,
)
from nst.schedule import estimate_seconds, scale_count, schedule

if TYPE_CHECKING:
    from nst.optimize import Progress

ASSETS = Path(__file__).resolve().parent / "assets"
# The examples as one row of thumbnails that share the column's width, as tall as they are:
# Gradio's gallery gives each thumbnail at least 100 px (five overflow a 1366 px window's
# column) and itself at least 450 px of height unless given a fixed one.
CSS = """
#examples .grid-container { grid-template-columns: repeat(5, minmax(0, 1fr)); }
#examples .grid-wrap.fixed-height { min-height: 0; max-height: none; overflow-y: auto; }
#examples .caption-label { opacity: 1; }
@media (max-width: 480px) { #examples .caption-label { font-size: 10px; padding: 1px 3px; } }
"""
MEASURING = "*measuring losses…*"
STARTING = "Optimizing: starting from the fast result…"
PREVIEW_SIDE = 1024  # previews during Optimize at most this long side; the result at full size
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


# --- The page's inputs: one value, named as the API names them ------------------------------


@dataclass(frozen=True)
class PageInputs:
    """What a person set on the page, one field per input component, named as the API names
    its parameters; the defaults are the page's. The handlers take one of these; the event
    wiring and the tests' API calls derive their inputs from its fields (`ENDPOINT_INPUTS`)."""

    content: str | None = None  # image files by path (through the API: `handle_file(...)`)
    style: str | None = None
    second_style: str | None = None
    second_style_share: float = 0.5
    strength: float = FastOptions().strength
    size: int = field(default_factory=lambda: DEVICE_DEFAULTS[device.current().kind].size)
    colors: str = Settings().colors
    style_scale: float = Settings().style_scale
    mask: dict | None = None  # the mask editor's value: the photo and the strokes painted on it
    mask_file: str | None = None
    init: str = COMPARE.init
    time_budget: float | None = COMPARE.time_budget
    emphasis: str = COMPARE.emphasis

    def job(self) -> pipeline.Job:
        """These values as a validated job (raises `InputError` for bad input)."""
        if not self.content or not self.style:
            raise InputError("Upload a content photo and a style image first.")
        styles, mix = [self.style], None
        if self.second_style:
            styles = [self.style, self.second_style]
            mix = (1.0 - self.second_style_share, self.second_style_share)
        largest = DEVICE_DEFAULTS[device.current().kind].page_max_size
        if not PAGE_MIN_SIZE <= int(self.size) <= largest:
            raise InputError(
                f"On this page the output is {PAGE_MIN_SIZE} to {largest} px on its long side "
                f"(here on {device.current().label}); the command line goes up to "
                f"{SIZE_LIMITS[1]} px."
            )
        budget = self.time_budget
        if budget is not None:
            budget = min(float(budget), PAGE_TIME_BUDGET_LIMITS[1])
        return pipeline.prepare(
            self.content,
            styles,
            Settings(
                size=int(self.size),
                style_mix=mix,
                colors=self.colors,
                style_scale=float(self.style_scale),
            ),
            FastOptions(strength=self.strength),
            OptimizeOptions(init=self.init, time_budget=budget, emphasis=self.emphasis),
            mask=self.mask_map(),
        )

    def mask_map(self) -> np.ndarray | str | None:
        """The mask a person gave: an uploaded file, else what they painted over the photo (the
        strokes' opacity, whatever their color), else none."""
        if self.mask_file:
            return self.mask_file
        strokes = [
            layer[..., 3]
            for layer in (self.mask or {}).get("layers") or []
            if layer is not None and layer.ndim == 3 and layer.shape[2] == 4
        ]
        if not strokes or max(int(stroke.max()) for stroke in strokes) == 0:
            return None
        return np.max(strokes, axis=0).astype(np.float32) / 255.0

    def api(self, endpoint: str) -> dict[str, Any]:
        """The values an API endpoint takes from these, by parameter name (for
        `gradio_client.Client.predict(**...)`)."""
        return {name: getattr(self, name) for name in ENDPOINT_INPUTS[endpoint]}


PAGE_FIELDS = tuple(f.name for f in fields(PageInputs))
_OPTIMIZE_ONLY = ("init", "time_budget", "emphasis")
# The page's inputs each API endpoint takes, in the order its parameters are listed (each also
# takes the event's own components: the fast image, the layer).
ENDPOINT_INPUTS = {
    "fast": tuple(name for name in PAGE_FIELDS if name not in _OPTIMIZE_ONLY),
    # The losses of the fast image shown: it has its size, and the strength no longer matters.
    "fast_losses": tuple(
        name for name in PAGE_FIELDS if name not in (*_OPTIMIZE_ONLY, "strength", "size")
    ),
    "optimize": PAGE_FIELDS,
    "inside_vgg": ("content", "style", "second_style", "mask", "mask_file"),
}


# --- Handlers: page values in, page values out ----------------------------------------------


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


def _exact(losses: dict) -> str:
    """The measured losses, one click away (an HTML <details> in the Markdown)."""
    return f"<details><summary>Exact losses</summary>{report.losses_line(losses)}</details>"


def _numbers(result: pipeline.Result) -> str:
    """The Markdown under a result: what made it, then its losses (once measured)."""
    return f"{report.made_by(result)}  \n{_exact(result.losses) if result.losses else MEASURING}"


def run_fast(inputs: PageInputs) -> tuple[np.ndarray | None, str]:
    """Fast path only: the image and what made it, in about a second (losses come next)."""
    try:
        result = inputs.job().fast()
    except Exception as error:
        return None, _failure(error)
    return to_uint8(result.image), _numbers(result)


def measure_fast(inputs: PageInputs, fast_image: np.ndarray | None, numbers: str | None):
    """The fast result's losses, as its own queued event so the fast slot is free: ``numbers``
    with its placeholder replaced (or `gr.skip()` when there is nothing to measure)."""
    if fast_image is None or MEASURING not in (numbers or ""):
        return gr.skip()
    try:
        job = replace(inputs, size=max(fast_image.shape[:2])).job()
        losses = _exact(job.score(fast_image / 255.0))  # the PNG shown
    except Exception as error:
        losses = _failure(error)
    finally:
        _return_freed_memory()
    return numbers.replace(MEASURING, losses)


def run_optimize(
    inputs: PageInputs, fast_image: np.ndarray | None, stop: threading.Event | None = None
) -> Iterator[tuple]:
    """Slow path: yields (fast image, its numbers, optimized image, its numbers, loss curve),
    with `gr.skip()` for what is unchanged; the last holds everything an API caller gets.
    Streams previews with the step, the time left and a progress bar; ``stop`` keeps the best
    image so far. Starting from the fast result when the page has none, it makes and shows that
    result first. Under the result: how it compares with the fast one (`report.versus_fast`)
    and both results' exact losses."""
    curve: list[dict] = []
    fast_loss = None
    made, shown = None, (gr.skip(), gr.skip())  # the fast result made here, as last shown
    try:
        job = inputs.job()
        if fast_image is None and job.optimize_options.init == "fast":
            made = job.fast()
            fast_image = to_uint8(made.image)
            shown = fast_image, _numbers(made)
            yield *shown, gr.skip(), STARTING, gr.skip()
        start = None if fast_image is None else fast_image / 255.0  # as the page shows it
        run = job.optimize(start, stop)
        for step in run:
            best = step.best_losses.get("total", step.losses["total"])
            curve.append({"step": step.step, "loss": best, "series": OPTIMIZED_SERIES})
            fast_loss = run.fast_loss
            if step.preview is not None:
                fraction = _fraction(step, job.optimize_options.time_budget)
                status = _progress(step, fraction)
                preview = to_uint8(_small(step.preview))
                # The run's expected length, so the axis spans it from the start.
                expected = round(step.step / fraction) if fraction else None
                yield gr.skip(), gr.skip(), preview, status, _curve(curve, fast_loss, expected)
        result = job.measure(run.result)
        numbers = _numbers(result)
        if start is not None:
            fast_losses = job.score(start)
            numbers = _versus(result, fast_losses)
            if made is not None:  # measured here, so the page need not measure it again
                made.losses = fast_losses
                shown = fast_image, _numbers(made)
    except Exception as error:
        yield *shown, None, _failure(error), _curve(curve, None, None)
        return
    finally:
        _return_freed_memory()
    yield *shown, to_uint8(result.image), numbers, _curve(curve, fast_loss, None)


def _fraction(step: Progress, time_budget: float | None) -> float:
    """How much of the run is done: by the time budget, or by the planned steps where those end
    it sooner; 0 when neither is known."""
    done = [step.seconds / time_budget] if time_budget else []
    if step.planned_steps:
        done.append(step.step / step.planned_steps)
    return min(max(done, default=0.0), 1.0)


def _progress(step: Progress, fraction: float) -> str:
    """The optimization's step, the time it has left, and a progress bar (``fraction`` done)."""
    left = f" · {step.seconds * (1 - fraction) / fraction:.0f} s left" if fraction else ""
    bar = f'<progress value="{fraction:.3f}" max="1"></progress>'
    scale = ""
    if step.scales > 1:
        scale = f" (scale {step.scale} of {step.scales}, {max(step.size)} px)"
    return f"Optimizing: step {step.step}{scale}{left}\n\n{bar}"


def _small(image: np.ndarray) -> np.ndarray:
    """A preview at most PREVIEW_SIDE px on its long side: at print size the page would
    otherwise receive tens of MB every few steps; the final result comes at full size."""
    if max(image.shape[:2]) <= PREVIEW_SIDE:
        return image
    return resize_long_side(image, PREVIEW_SIDE)


def optimize_estimate(size: float, time_budget: float | None, content: str | None) -> str:
    """How long a default run takes at this size on this server, before Optimize starts: the
    schedule's evaluations at each scale times the device's measured seconds per megapixel
    (for the uploaded photo's shape, else 3:2)."""
    where = device.current()
    defaults = DEVICE_DEFAULTS[where.kind]
    long_side = int(size)
    height, width = long_side * 2 // 3, long_side
    with contextlib.suppress(Exception), Image.open(content) as photo:  # else Fast says why
        width, height = photo.size
        scale = long_side / max(width, height)
        height, width = round(height * scale), round(width * scale)
    scales = schedule((height, width), defaults.steps, scale_count(long_side, defaults.size))
    seconds = estimate_seconds(scales, defaults)
    over = f" over {len(scales)} scales" if len(scales) > 1 else ""
    text = f"Optimize at {long_side} px: about {_duration(seconds)}{over} on {where.label}"
    if time_budget and time_budget < seconds:
        text += f"; the time budget ends it after {_duration(time_budget)}"
    return f"*{text}.*"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _versus(result: pipeline.Result, fast_losses: dict) -> str:
    """The Markdown under the optimized result: what made it, how it compares with the fast
    result in words, and both results' exact losses one click away."""
    exact = (
        "<details><summary>Exact losses</summary>"
        f"Optimized: {report.losses_line(result.losses)}<br>"
        f"Fast: {report.losses_line(fast_losses)}</details>"
    )
    versus = report.versus_fast(fast_losses, result.losses)
    return f"{report.made_by(result)}  \n**{versus}.**  \n{exact}"


def _curve(points: list[dict], fast_loss: float | None, expected_steps: int | None) -> pd.DataFrame:
    """Optimizer loss per step, with the fast result's loss (same objective) as a flat line; while
    the run lasts the line reaches its expected end, so the axis spans the whole run from the
    start instead of stretching at every preview."""
    rows = list(points)
    if fast_loss is not None and points:
        ends = (points[0]["step"], max(points[-1]["step"], expected_steps or 0))
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


def slider_pair(fast_image, optimized_image):
    """The before/after slider shows fast against optimized once both exist."""
    if fast_image is None or optimized_image is None:
        return None
    return (fast_image, optimized_image)


def clear_results() -> tuple:
    """Inputs changed: results of the old inputs no longer belong on the page (fast image and
    numbers, optimized image and numbers, slider, curve)."""
    return None, "", None, "", None, None


def inside_vgg(inputs: PageInputs, layer: str) -> tuple:
    """Feature maps of both images and the style's Gram matrix at `layer`, at 256 px; with a
    mask, the mask at that layer and what each region's Gram matrix is matched to."""
    try:
        job = replace(inputs, size=256, second_style_share=0.5).job()
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


def examples() -> list[tuple[PageInputs, str]]:
    """The examples whose files are in this checkout: the page's defaults with their photo and
    painting, and their labels."""
    return [
        (PageInputs(content=str(ASSETS / content), style=str(ASSETS / style)), label)
        for content, style, label in EXAMPLES
        if (ASSETS / content).is_file() and (ASSETS / style).is_file()
    ]


def thumbnail(inputs: PageInputs, size: tuple[int, int] = (160, 160)) -> Image.Image:
    """An example as one picture: its photo, with its painting inset in the lower right."""
    width, height = size
    picture = ImageOps.fit(Image.open(inputs.content).convert("RGB"), size)
    side, frame = height // 2, 3
    painting = ImageOps.fit(Image.open(inputs.style).convert("RGB"), (side, side))
    corner = (width - side - frame, height - side - frame)
    picture.paste((255, 255, 255), (corner[0] - frame, corner[1] - frame, width, height))
    picture.paste(painting, corner)
    return picture


# --- Layout: what the page shows, and where --------------------------------------------------


@dataclass
class Page:
    """The components the events read and write; the inputs' are named as `PageInputs`'
    fields."""

    content: gr.Image
    style: gr.Image
    second_style: gr.Image
    second_style_share: gr.Slider
    strength: gr.Slider
    size: gr.Slider
    estimate: gr.Markdown  # how long Optimize takes at this size, before it starts
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
    examples: gr.Gallery
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

    def inputs(self, names: Sequence[str] = PAGE_FIELDS) -> dict[str, gr.Component]:
        """The input components of ``names`` (`PageInputs`' fields), by name."""
        return {name: getattr(self, name) for name in names}

    @property
    def results(self) -> list[gr.Component]:
        """What `clear_results` empties."""
        return [
            self.fast_image,
            self.fast_numbers,
            self.optimized_image,
            self.optimized_numbers,
            self.slider,
            self.curve,
        ]


def _upload(label: str, elem_id: str, height: int = 180) -> Upload:
    return Upload(
        label=label,
        type="filepath",
        image_mode=None,
        elem_id=elem_id,
        height=height,
        min_width=140,  # two side by side on a phone
    )


def _result(label: str, elem_id: str) -> tuple[gr.Image, gr.Markdown]:
    image = gr.Image(
        label=label, format="png", interactive=False, elem_id=f"{elem_id}-image", height=320
    )
    return image, gr.Markdown(elem_id=f"{elem_id}-numbers")


def _header(where: device.Device) -> None:
    gr.Markdown(
        "## Neural style transfer: fast vs optimized\n"
        "A photo and a painting, or one click on an example. **Fast**: Magenta's network, in "
        "about a second. **Optimize**: the image itself against VGG19's Gram matrices (Gatys "
        f"et al.), up to a minute or two on this server's {where.label}, "
        f"{device.precision('auto', where)}.",
        elem_id="header",
    )
    if warning := device.gpu_warning(where, device.nvidia_driver_present()):
        gr.Markdown(f"{FAILED} {warning}", elem_id="device-warning")


def layout() -> Page:
    """Place the components (inside a `gr.Blocks`) so that the first view of a 1366×768 window
    holds the uploads, the buttons, the examples and the results; the settings follow, folded."""
    where = device.current()
    defaults = PageInputs()  # what the page starts with
    _header(where)
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                content = _upload("Content photo", "content")
                style = _upload("Style image", "style")
            with gr.Row():
                fast_button = gr.Button(
                    "Fast", variant="primary", elem_id="fast", scale=2, min_width=80
                )
                optimize_button = gr.Button(
                    "Optimize", variant="primary", elem_id="optimize", scale=2, min_width=80
                )
                stop_button = gr.Button("Stop", variant="stop", elem_id="stop", min_width=60)
            gallery = gr.Gallery(
                [(thumbnail(inputs), label.split(",")[0]) for inputs, label in examples()],
                label="Famous paintings: click one",
                columns=5,
                allow_preview=False,
                object_fit="cover",
                format="jpeg",
                buttons=[],
                interactive=False,
                elem_id="examples",
            )
            with gr.Row():
                size = gr.Slider(
                    PAGE_MIN_SIZE,
                    DEVICE_DEFAULTS[where.kind].page_max_size,
                    value=defaults.size,
                    step=32,
                    label="Output long side (px)",
                )
                strength = gr.Slider(
                    0, 1, value=defaults.strength, step=0.05, label="Style strength (fast)"
                )
            estimate = gr.Markdown(
                optimize_estimate(defaults.size, defaults.time_budget, None), elem_id="estimate"
            )
            with gr.Accordion("Colors and brush size", open=False):
                colors = gr.Radio(
                    [(report.COLOR_LABELS[v], v) for v in COLORS],
                    value=defaults.colors,
                    label="Colors",
                )
                style_scale = gr.Slider(
                    *STYLE_SCALE_LIMITS,
                    value=defaults.style_scale,
                    step=0.25,
                    label="Brush size (style scale)",
                )
            with gr.Accordion("Mix in a second style", open=False):
                second_style = _upload("Second style (optional)", "second-style", height=160)
                share = gr.Slider(
                    0,
                    1,
                    value=defaults.second_style_share,
                    step=0.05,
                    label="Share of the second style",
                )
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
                    [(INIT_LABELS[v], v) for v in INITS], value=defaults.init, label="Start from"
                )
                budget = gr.Slider(
                    *PAGE_TIME_BUDGET_LIMITS,
                    value=defaults.time_budget,
                    step=5,
                    label="Time budget (s)",
                )
                emphasis = gr.Radio(
                    list(STYLE_EMPHASIS), value=defaults.emphasis, label="Style emphasis"
                )
        with gr.Column(scale=3):
            with gr.Tab("Compare"):
                with gr.Row():
                    with gr.Column(min_width=240):
                        fast_image, fast_numbers = _result("Fast", "fast")
                    with gr.Column(min_width=240):
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
                    x_axis_format="d",  # Vega-Lite then ticks whole steps, never halves
                    elem_id="curve",
                )
            inside_vgg_tab = _inside_vgg()
    return Page(
        content=content,
        style=style,
        second_style=second_style,
        second_style_share=share,
        strength=strength,
        size=size,
        estimate=estimate,
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
        examples=gallery,
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


def _split(endpoint: str, values: dict[str, Any]) -> tuple[PageInputs, dict[str, Any]]:
    """An event's values by name: the page's inputs as one `PageInputs`, and the rest."""
    names = ENDPOINT_INPUTS[endpoint]
    rest = {name: value for name, value in values.items() if name not in names}
    return PageInputs(**{name: values[name] for name in names}), rest


def _calls(page: Page, endpoint: str, handler: Callable, **extra: gr.Component) -> dict:
    """An event's ``fn`` and ``inputs_kwargs``: ``handler`` called with the endpoint's page
    inputs as a `PageInputs` and ``extra``'s values by name. Gradio names the API's parameters
    after the keywords, so they are `PageInputs`' field names."""

    def call(**values: Any) -> Any:
        inputs, rest = _split(endpoint, values)
        return handler(inputs, **rest)

    call.__name__, call.__doc__ = handler.__name__, handler.__doc__
    return {"fn": call, "inputs_kwargs": {**page.inputs(ENDPOINT_INPUTS[endpoint]), **extra}}


def _optimize_in_session(request: gr.Request, **values: Any) -> Iterator[tuple]:
    """`run_optimize` with this browser session's stop flag, so Stop ends only its own run."""
    inputs, rest = _split("optimize", values)
    stop = _stops[request.session_hash] = threading.Event()
    try:
        yield from run_optimize(inputs, stop=stop, **rest)
    finally:
        _stops.pop(request.session_hash, None)


_optimize_in_session.__doc__ = run_optimize.__doc__


def stop_optimize(request: gr.Request) -> None:
    if event := _stops.get(request.session_hash):
        event.set()


def _clear_and_stop(request: gr.Request) -> tuple:
    stop_optimize(request)
    return clear_results()


def _pick_example(selected: gr.SelectData) -> tuple:
    """An example clicked: its inputs (the page's defaults with its photo and painting) in place
    of the page's, and no results of the old ones."""
    inputs, _ = examples()[selected.index]
    return *(getattr(inputs, name) for name in PAGE_FIELDS), *clear_results()


def wire(page: Page) -> None:
    """Connect the components' events to the handlers, with their queues and API names."""
    for component in page.inputs().values():
        component.input(_clear_and_stop, None, page.results, queue=False, api_visibility="private")
    # The mask is painted over the photo.
    page.content.change(_paint_over, page.content, page.mask, queue=False, api_visibility="private")
    for component in (page.size, page.time_budget, page.content):
        component.change(
            optimize_estimate,
            [page.size, page.time_budget, page.content],
            page.estimate,
            queue=False,
            api_visibility="private",
        )
    fast_outputs = [page.fast_image, page.fast_numbers]
    fast = {
        **_calls(page, "fast", run_fast),
        "outputs": fast_outputs,
        "concurrency_limit": 2,
        "concurrency_id": "fast",
    }
    measure = {
        **_calls(
            page,
            "fast_losses",
            measure_fast,
            fast_image=page.fast_image,
            numbers=page.fast_numbers,
        ),
        "outputs": page.fast_numbers,
        "concurrency_limit": 1,
        "concurrency_id": "losses",
    }
    page.fast_button.click(**fast, api_name="fast").then(**measure, api_name="fast_losses")
    page.optimize_button.click(
        _optimize_in_session,
        inputs_kwargs={**page.inputs(), "fast_image": page.fast_image},
        outputs=[*fast_outputs, page.optimized_image, page.optimized_numbers, page.curve],
        api_name="optimize",
        concurrency_limit=1,
        concurrency_id="optimize",
        show_progress="minimal",
    ).then(**measure, api_visibility="private")
    page.stop_button.click(stop_optimize, None, None, queue=False, api_visibility="private")
    # One click on an example: its inputs, then its fast result and losses. Run on click, not
    # cached: a cached failure (say, a download that failed once) would be served for good.
    page.examples.select(
        _pick_example,
        None,
        [*page.inputs().values(), *page.results],
        queue=False,
        api_visibility="private",
    ).then(**fast, api_visibility="private").then(**measure, api_visibility="private")
    for image in (page.fast_image, page.optimized_image):
        image.change(
            slider_pair,
            [page.fast_image, page.optimized_image],
            page.slider,
            queue=False,
            api_visibility="private",
        )
    page.show_layer.click(
        **_calls(page, "inside_vgg", inside_vgg, layer=page.layer),
        outputs=[*page.layer_views, page.layer_note, *page.region_views],
        api_name="inside_vgg",
        concurrency_id="fast",
    )


def build_demo() -> gr.Blocks:
    with gr.Blocks(
        title="Neural style transfer: fast vs optimized", analytics_enabled=False
    ) as demo:
        wire(layout())
    return demo


demo = build_demo()


def files_in_use(blocks: gr.Blocks) -> set[str]:
    """The files the cache sweep spares: the examples' copies, and those the queued and
    running requests were given."""
    kept = [path for block in blocks.blocks.values() for path in block.keep_in_cache]
    queue = blocks._queue  # Gradio keeps no list of a request's files but its queue
    waiting = [
        event for events in queue.event_queue_per_concurrency_id.values() for event in events.queue
    ]
    running = [event for job in queue.active_jobs if job for event in job]
    return {*kept, *paths_in([event.data.data for event in waiting + running if event.data])}


def main() -> None:
    """Serve the app: say where Optimize runs, warm the fast engine up, then listen, keeping
    uploads and results within the cache's limits."""
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("nst.cache").setLevel(logging.INFO)  # what each sweep deleted
    where = device.current()
    log.info("Optimize runs on %s", where.label)
    if warning := device.gpu_warning(where, device.nvidia_driver_present()):
        log.warning(warning)
    # Load the fast engine (hub when reachable, else lite) before the first request needs it.
    threading.Thread(target=fast.get_engine, name="warm-up", daemon=True).start()
    cache = Cache(
        Path(gr.utils.get_upload_folder()),
        CACHE_MAX_AGE,
        CACHE_MAX_BYTES,
        lambda: files_in_use(demo),
    )
    demo.queue(max_size=16, default_concurrency_limit=1).launch(
        css=CSS,
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=MAX_UPLOAD_BYTES,
        app_kwargs={
            "lifespan": cache.lifespan(CACHE_SWEEP_INTERVAL),
            "middleware": [Middleware(UploadGuard, cache=cache, max_upload=MAX_UPLOAD_BYTES)],
        },
    )


if __name__ == "__main__":
    main()
