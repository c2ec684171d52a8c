"""The photo page's main feature: stylize a photo both ways and compare the results.

**Fast** renders in about a second (Magenta's network); **Optimize** spends up to a minute or two
optimizing the image itself against VGG19 (Gatys et al.), streaming previews. Under each result:
what made it, and the same measured losses. This module holds the feature whole: its layout (the
inputs' column, `controls`, and the Compare tab, `results`), its handlers (plain functions of a
`PageInputs`, tested without a server) and its wiring (`wire`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from nst import device, door
from nst.clock import CLOCK
from nst.errors import InputError
from nst.images import resize_long_side, to_uint8
from nst.options import (
    COLORS,
    INITS,
    PAGE_MIN_SIZE,
    PAGE_TIME_BUDGET_LIMITS,
    STYLE_EMPHASIS,
    STYLE_LOSSES,
    STYLE_SCALE_LIMITS,
)
from nst.report import summary
from nst.schedule import scale_count, schedule
from web import examples, text
from web.failure import KEEP, answers, one_line
from web.inputs import (
    ENDPOINT_INPUTS,
    PAGE_FIELDS,
    Given,
    MaskEditor,
    PageInputs,
    Slider,
    Upload,
    image_of,
    usable,
)
from web.visitors import Visitor, place, turn, visitor_of

PREVIEW_SIDE = 1024  # previews during Optimize at most this long side; the result at full size
# One stop flag per browser session, so Stop ends only that session's optimization.
_stops: dict[str, threading.Event] = {}


# --- Handlers: page values in, page values out ----------------------------------------------


def _numbers(result) -> str:
    """The Markdown under a result: what made it, then its losses (once measured)."""
    losses = text.exact_losses(result.losses) if result.losses else text.MEASURING
    return f"{summary(result)}  \n{losses}"


@answers(lambda line: (None, line))
def run_fast(inputs: PageInputs, visitor: Visitor | None = None) -> tuple:
    """Fast path only: the image and what made it, in about a second (losses come next)."""
    job = inputs.job()
    with turn("fast", visitor, inputs.files()):
        result = job.fast()
    return to_uint8(result.image), _numbers(result)


@answers(lambda line: line)
def score_fast(
    inputs: PageInputs, fast_image: Given, numbers: str | None, visitor: Visitor | None = None
) -> Any:
    """The fast result's losses, as its own queued event so the fast slot is free: ``numbers``
    with its placeholder replaced (or `gr.skip()` when there is nothing to measure)."""
    if fast_image is None or text.MEASURING not in (numbers or ""):
        return gr.skip()
    try:
        image = image_of(fast_image)  # the PNG shown
        job = replace(inputs, size=max(image.shape[:2])).job()
        with turn("losses", visitor, (*inputs.files(), usable(fast_image))):
            losses = text.exact_losses(job.score(image))
    except Exception as error:  # in place of the losses only: the image stays
        losses = one_line(error)
    return numbers.replace(text.MEASURING, losses)


@answers(lambda line: (KEEP, KEEP, None, line, KEEP))
def run_optimize(
    inputs: PageInputs,
    fast_image: Given = None,
    stop: threading.Event | None = None,
    visitor: Visitor | None = None,
) -> Iterator[tuple]:
    """Slow path: yields (fast image, its numbers, optimized image, its numbers, loss curve),
    with `gr.skip()` for what is unchanged; the last holds everything an API caller gets.
    Streams previews with the step, the time left and a progress bar; ``stop`` keeps the best
    image so far. Starting from the fast result when the page has none, it makes and shows that
    result first. Under the result: how it compares with the fast one (`nst.report.versus_fast`)
    and both results' exact losses."""
    job = inputs.job()
    start = image_of(fast_image)  # as the page shows it
    files = (*inputs.files(), *([usable(fast_image)] if fast_image else []))
    with place("optimize", visitor, files) as held:
        for ahead in held.waiting():
            if stop is not None and stop.is_set():
                yield gr.skip(), gr.skip(), None, "Stopped before it started.", gr.skip()
                return
            yield gr.skip(), gr.skip(), gr.skip(), text.waiting(ahead, "optimization"), None
        yield from _optimize(job, start, stop)


def _optimize(job, start: np.ndarray | None, stop: threading.Event | None) -> Iterator[tuple]:
    curve: list[dict] = []
    made, shown = None, (gr.skip(), gr.skip())  # the fast result made here, as last shown
    if start is None and job.optimize_options.init == "fast":
        made = job.fast()
        start = to_uint8(made.image) / 255.0
        shown = to_uint8(made.image), _numbers(made)
        yield *shown, gr.skip(), text.STARTING, gr.skip()
    run = job.optimize(start, stop)
    for step in run:
        best = step.best_losses.get("total", step.losses["total"])
        curve.append({"step": step.step, "loss": best, "series": text.OPTIMIZED_SERIES})
        fraction = step.fraction(job.optimize_options.time_budget)
        status = text.progress(step, fraction)
        if step.preview is None:  # every step says how far it got (and lets a cancel in)
            yield gr.skip(), gr.skip(), gr.skip(), status, gr.skip()
            continue
        # The run's expected length, so the curve's axis spans it from the start.
        expected = round(step.step / fraction) if fraction else None
        preview = to_uint8(_small(step.preview))
        yield gr.skip(), gr.skip(), preview, status, loss_curve(curve, run.fast_loss, expected)
    result = job.scored(run.result)
    numbers = _numbers(result)
    if start is not None:
        fast_losses = job.score(start)
        style_loss = job.optimize_options.style_loss
        numbers = text.versus(summary(result), result.losses, fast_losses, style_loss)
        if made is not None:  # measured here, so the page need not measure it again
            made.losses = fast_losses
            shown = shown[0], _numbers(made)
    yield *shown, to_uint8(result.image), numbers, loss_curve(curve, run.fast_loss, None)


def _small(image: np.ndarray) -> np.ndarray:
    """A preview at most PREVIEW_SIDE px on its long side: at print size the page would
    otherwise receive tens of MB every few steps; the final result comes at full size."""
    if max(image.shape[:2]) <= PREVIEW_SIDE:
        return image
    return resize_long_side(image, PREVIEW_SIDE)


def loss_curve(points: list[dict], fast_loss: float | None, expected: int | None) -> pd.DataFrame:
    """Optimizer loss per step, with the fast result's loss (same objective) as a flat line; while
    the run lasts the line reaches its expected end, so the axis spans the whole run from the
    start instead of stretching at every preview."""
    rows = list(points)
    if fast_loss is not None and points:
        ends = (points[0]["step"], max(points[-1]["step"], expected or 0))
        rows += [{"step": step, "loss": fast_loss, "series": text.FAST_SERIES} for step in ends]
    return pd.DataFrame(rows, columns=["step", "loss", "series"])


def optimize_estimate(size: float, time_budget: float | None, content: Given) -> str:
    """How long a default run takes at this size on this server, before Optimize starts: the
    schedule's evaluations at each scale timed by this machine's clock (`nst.clock`), for the
    uploaded photo's shape (else 3:2)."""
    where, defaults = device.current(), device.defaults()
    long_side = int(size)
    width, height = long_side, long_side * 2 // 3
    try:  # the header only, through the door; a file that is no photo: Fast says why
        if path := usable(content):
            width, height = door.image_size(path)
    except InputError:
        pass
    scale = long_side / max(width, height)
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    scales = schedule(shape, defaults.steps, scale_count(long_side, defaults.size))
    seconds = CLOCK.estimate(scales, defaults)
    return text.estimate(long_side, seconds, len(scales), where, time_budget)


def paint_over(content: Given) -> dict | None:
    """The mask editor with the content photo as its canvas and nothing painted yet (empty
    when the upload is not an image: Fast then says why, and the editor has nothing to show).
    The photo goes to the editor decoded by the door and at most `PREVIEW_SIDE` px: a path
    would make the browser decode a file the server never checked."""
    try:
        path = usable(content)
        if not path:
            return None
        photo = examples.picture(path, PREVIEW_SIDE)
    except InputError:
        return None
    return {"background": photo, "layers": [], "composite": None}


def slider_pair(fast_image: Given, optimized_image: Given) -> tuple | None:
    """The before/after slider shows fast against optimized once both exist."""
    if not isinstance(fast_image, str) or not isinstance(optimized_image, str):
        return None
    return fast_image, optimized_image


def clear_results() -> tuple:
    """Inputs changed: results of the old inputs no longer belong on the page (fast image and
    numbers, optimized image and numbers, slider, curve)."""
    return None, "", None, "", None, None


# --- Layout: what the page shows, and where --------------------------------------------------


@dataclass
class Controls:
    """The inputs' column: the input components (named as `PageInputs`' fields), the buttons,
    the examples and the estimate."""

    content: Upload
    style: Upload
    second_style: Upload
    second_style_share: Slider
    strength: Slider
    size: Slider
    colors: gr.Radio
    style_scale: Slider
    mask: MaskEditor
    mask_file: Upload
    init: gr.Radio
    time_budget: Slider
    emphasis: gr.Radio
    style_loss: gr.Radio
    fast_button: gr.Button
    optimize_button: gr.Button
    stop_button: gr.Button
    examples: gr.Gallery
    estimate: gr.Markdown

    def inputs(self, names: Sequence[str] = PAGE_FIELDS) -> dict[str, gr.Component]:
        """The input components of ``names`` (`PageInputs`' fields), by name."""
        return {name: getattr(self, name) for name in names}


@dataclass
class Results:
    """The Compare tab: both results, their numbers, the slider and the loss curve."""

    fast_image: Upload
    fast_numbers: gr.Markdown
    optimized_image: Upload
    optimized_numbers: gr.Markdown
    slider: gr.ImageSlider
    curve: gr.LinePlot

    @property
    def all(self) -> list[gr.Component]:
        """What `clear_results` empties, in its order."""
        return [
            self.fast_image,
            self.fast_numbers,
            self.optimized_image,
            self.optimized_numbers,
            self.slider,
            self.curve,
        ]


def upload(label: str, elem_id: str, height: int = 180) -> Upload:
    return Upload(
        label=label,
        type="filepath",
        image_mode=None,
        elem_id=elem_id,
        height=height,
        min_width=140,  # two side by side on a phone
    )


def controls() -> Controls:
    """Place the inputs' column (inside a `gr.Column`) so that the first view of a 1366×768
    window holds the uploads, the buttons and the examples; the settings follow, folded."""
    defaults = PageInputs()  # what the page starts with
    with gr.Row():
        content = upload("Content photo", "content")
        style = upload("Style image", "style")
    with gr.Row():
        fast_button = gr.Button("Fast", variant="primary", elem_id="fast", scale=2, min_width=80)
        optimize_button = gr.Button(
            "Optimize", variant="primary", elem_id="optimize", scale=2, min_width=80
        )
        stop_button = gr.Button("Stop", variant="stop", elem_id="stop", min_width=60)
    gallery = examples.gallery()
    with gr.Row():
        size = Slider(
            PAGE_MIN_SIZE,
            device.defaults().page_max_size,
            value=defaults.size,
            step=32,
            label="Output long side (px)",
        )
        strength = Slider(0, 1, value=defaults.strength, step=0.05, label="Style strength (fast)")
    estimate = gr.Markdown(text.ESTIMATING, elem_id="estimate")
    with gr.Accordion("Colors and brush size", open=False):
        colors = gr.Radio(
            [(text.COLOR_LABELS[v], v) for v in COLORS], value=defaults.colors, label="Colors"
        )
        style_scale = Slider(
            *STYLE_SCALE_LIMITS,
            value=defaults.style_scale,
            step=0.25,
            label="Brush size (style scale)",
        )
    with gr.Accordion("Mix in a second style", open=False):
        second_style = upload("Second style (optional)", "second-style", height=160)
        share = Slider(
            0, 1, value=defaults.second_style_share, step=0.05, label="Share of the second style"
        )
    with gr.Accordion("Where the style goes (mask)", open=False):
        mask = MaskEditor(
            label="Paint where the first style goes",
            type="filepath",
            image_mode="RGBA",
            sources=(),
            brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"),
            layers=False,
            elem_id="mask",
            height=260,
        )
        gr.Markdown(text.PAINTED)
        mask_file = upload("Mask image (optional)", "mask-file", height=140)
    with gr.Accordion("Optimization settings", open=False):
        init = gr.Radio(
            [(text.INIT_LABELS[v], v) for v in INITS], value=defaults.init, label="Start from"
        )
        budget = Slider(
            *PAGE_TIME_BUDGET_LIMITS,
            value=defaults.time_budget,
            step=5,
            label="Time budget (s)",
        )
        emphasis = gr.Radio(list(STYLE_EMPHASIS), value=defaults.emphasis, label="Style emphasis")
        style_loss = gr.Radio(
            [(text.STYLE_LOSS_LABELS[v], v) for v in STYLE_LOSSES],
            value=defaults.style_loss,
            label="Style statistics",
        )
    return Controls(
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
        style_loss=style_loss,
        fast_button=fast_button,
        optimize_button=optimize_button,
        stop_button=stop_button,
        examples=gallery,
        estimate=estimate,
    )


def _result(label: str, elem_id: str) -> tuple[Upload, gr.Markdown]:
    image = Upload(
        label=label, format="png", interactive=False, elem_id=f"{elem_id}-image", height=320
    )
    return image, gr.Markdown(elem_id=f"{elem_id}-numbers")


def results() -> Results:
    """Place the Compare tab's components (inside a `gr.Tab`)."""
    with gr.Row():
        with gr.Column(min_width=240):
            fast_image, fast_numbers = _result("Fast", "fast")
        with gr.Column(min_width=240):
            optimized_image, optimized_numbers = _result("Optimized", "optimized")
    slider = gr.ImageSlider(
        label="Fast ◀ ▶ Optimized",
        type="filepath",
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
    return Results(fast_image, fast_numbers, optimized_image, optimized_numbers, slider, curve)


# --- Wiring: which event calls which handler --------------------------------------------------


def calls(
    controls: Controls, endpoint: str, handler: Callable, proxy_hops: int, **extra: gr.Component
) -> dict:
    """An event's ``fn`` and ``inputs_kwargs``: ``handler`` called with the endpoint's page
    inputs as a `PageInputs`, ``extra``'s values by name and the visitor. Gradio names the API's
    parameters after the keywords, so they are `PageInputs`' field names."""
    names = ENDPOINT_INPUTS[endpoint]

    def call(request: gr.Request, **values: Any) -> Any:
        inputs = PageInputs(**{name: values.pop(name) for name in names})
        return handler(inputs, visitor=visitor_of(request, proxy_hops), **values)

    call.__name__, call.__doc__ = handler.__name__, handler.__doc__
    return {"fn": call, "inputs_kwargs": {**controls.inputs(names), **extra}}


def _optimize_in_session(proxy_hops: int) -> Callable:
    def optimize(request: gr.Request, **values: Any) -> Iterator[tuple]:
        """`run_optimize` with this browser session's stop flag, so Stop ends only its run."""
        inputs = PageInputs(**{name: values.pop(name) for name in PAGE_FIELDS})
        stop = _stops[request.session_hash] = threading.Event()
        try:
            visitor = visitor_of(request, proxy_hops)
            yield from run_optimize(inputs, stop=stop, visitor=visitor, **values)
        finally:
            _stops.pop(request.session_hash, None)

    optimize.__doc__ = run_optimize.__doc__
    return optimize


def stop_optimize(request: gr.Request) -> None:
    if event := _stops.get(request.session_hash):
        event.set()


def _clear_and_stop(request: gr.Request) -> tuple:
    stop_optimize(request)
    return clear_results()


def _pick_example(selected: gr.SelectData) -> tuple:
    """An example clicked: its inputs (the page's defaults with its photo and painting) in place
    of the page's, and no results of the old ones."""
    inputs = examples.photos()[selected.index].inputs
    return *(getattr(inputs, name) for name in PAGE_FIELDS), *clear_results()


def wire(controls: Controls, results: Results, proxy_hops: int) -> None:
    """Connect the feature's events to its handlers, with their API names. No event waits in
    Gradio's own queue (no concurrency limit): the handlers take their turns in `web.visitors`'
    lanes, which refuse a visitor's excess at once."""
    private = {"queue": False, "api_visibility": "private"}
    for component in controls.inputs().values():
        component.input(_clear_and_stop, None, results.all, **private)
    controls.content.change(paint_over, controls.content, controls.mask, **private)
    estimate_inputs = [controls.size, controls.time_budget, controls.content]
    for component in estimate_inputs:
        component.change(optimize_estimate, estimate_inputs, controls.estimate, **private)
    fast_outputs = [results.fast_image, results.fast_numbers]
    fast = {
        **calls(controls, "fast", run_fast, proxy_hops),
        "outputs": fast_outputs,
        "concurrency_limit": None,
    }
    measure = {
        **calls(
            controls,
            "fast_losses",
            score_fast,
            proxy_hops,
            fast_image=results.fast_image,
            numbers=results.fast_numbers,
        ),
        "outputs": results.fast_numbers,
        "concurrency_limit": None,
    }
    controls.fast_button.click(**fast, api_name="fast").then(**measure, api_name="fast_losses")
    controls.optimize_button.click(
        _optimize_in_session(proxy_hops),
        inputs_kwargs={**controls.inputs(), "fast_image": results.fast_image},
        outputs=[*fast_outputs, results.optimized_image, results.optimized_numbers, results.curve],
        api_name="optimize",
        concurrency_limit=None,
        show_progress="minimal",
    ).then(**measure, api_visibility="private")
    controls.stop_button.click(stop_optimize, None, None, **private)
    # One click on an example: its inputs, then its fast result and losses. Run on click, not
    # cached: a cached failure (say, a download that failed once) would be served for good.
    controls.examples.select(
        _pick_example, None, [*controls.inputs().values(), *results.all], **private
    ).then(**fast, api_visibility="private").then(**measure, api_visibility="private")
    for image in (results.fast_image, results.optimized_image):
        image.change(
            slider_pair, [results.fast_image, results.optimized_image], results.slider, **private
        )
