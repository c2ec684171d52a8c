"""Slow-path optimization: make an image whose VGG19 statistics match content and style.

One generator, `optimize`, runs our projected L-BFGS (`nst.lbfgs`, the default), scipy's L-BFGS-B
(the [0, 1] box as bounds) or the TF tutorial's Adam recipe (the baseline), optionally coarse to
fine, and yields `Progress` after every loss evaluation, so a UI can stream it and stop it. The
device is whatever TensorFlow picks (a GPU when it sees one): with `lbfgs` and `adam` the image
never leaves it in the hot loop; `lbfgs-b` copies it to the host, in float64, for scipy.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from nst import device, lbfgs
from nst.clock import CLOCK, Timing
from nst.errors import InputError
from nst.images import resize
from nst.losses import StyleLoss
from nst.options import HISTORY_BYTES, LossPreset, OptimizeOptions
from nst.runtime import tf
from nst.schedule import Scale, scale_count, schedule
from nst.schedule import deadlines as schedule_deadlines
from nst.targets import Targets
from nst.vgg import feature_extractor

UNLIMITED = 10**9  # steps when only the time budget ends the run


@dataclass(frozen=True)
class Progress:
    """One loss evaluation: ``step`` counts evaluations so far over all scales (1-based)."""

    step: int
    seconds: float
    size: tuple[int, int]
    losses: dict[str, float]  # style, content, tv, total of the image just evaluated
    preview: np.ndarray | None = None  # the best image so far, every `preview_every` steps
    done: bool = False  # the last item; `preview` is then the final (best) image
    stopped_by: str = ""  # on the last item: "steps", "time" or "stop"
    best_losses: dict[str, float] = field(default_factory=dict)
    planned_steps: int | None = None  # for a progress bar; None when only time ends the run
    scale: int = 1  # the coarse-to-fine scale of this evaluation, 1-based, of `scales`
    scales: int = 1

    def fraction(self, time_budget: float | None) -> float:
        """How much of the run is done: by the time budget, or by the planned steps where those
        end it sooner; 0 when neither is known."""
        done = [self.seconds / time_budget] if time_budget else []
        if self.planned_steps:
            done.append(self.step / self.planned_steps)
        return 1.0 if self.done else min(max(done, default=0.0), 1.0)

    def seconds_left(self, time_budget: float | None) -> float | None:
        """The run's time left, by its `fraction` done so far; None when that is unknown."""
        fraction = self.fraction(time_budget)
        return self.seconds * (1 - fraction) / fraction if fraction else None


@dataclass(frozen=True)
class Plan:
    """What the worker thread runs, fixed before it starts."""

    content: np.ndarray  # at the output size
    targets: Targets  # for the output size
    preset: LossPreset
    style_loss: str  # the style statistic matched (`nst.options.STYLE_LOSSES`)
    optimizer: str
    start: np.ndarray  # the first image, at the output size
    scales: tuple[Scale, ...]  # coarse to fine
    # When a time budget ends the run: the seconds from the start at which each scale ends,
    # in proportion to its estimated time, so that every scale gets its share.
    deadlines: tuple[float, ...] | None
    history: int
    color_gain: float
    precision: device.Precision  # VGG19's, resolved for the device (`nst.device.precision`)


def fitted_history(requested: int, shape: tuple[int, int]) -> int:
    """The L-BFGS history for an RGB image of ``shape``: each step kept costs two image-sized
    float32 tensors, so at print size it is cut to fit HISTORY_BYTES (at least one step)."""
    step_bytes = 2 * shape[0] * shape[1] * 3 * 4
    return max(1, min(requested, HISTORY_BYTES // step_bytes))


def initial_image(
    content: np.ndarray, init: str, start: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """The first image: the content, ``start`` (the fast path's result), or seeded noise."""
    if init == "content":
        return content
    if init == "fast":
        if start is None:
            raise InputError("init 'fast' needs the fast path's image")
        return resize(np.asarray(start, np.float32), content.shape[:2])
    if init == "noise":
        # Mid-grey uniform noise, reproducible from the seed.
        noise = np.random.default_rng(seed).uniform(0.25, 0.75, content.shape)
        return noise.astype(np.float32)
    raise InputError(f"Unknown init '{init}'.")


class _Stop(Exception):
    """Raised inside the objective to end an L-BFGS run between evaluations."""


def _lbfgs_scale(loss: StyleLoss, start: np.ndarray, report: Callable, plan: Plan) -> None:
    """`nst.lbfgs` from ``start`` until ``report`` raises _Stop."""
    value_and_grad = loss.value_and_grad()

    def evaluate(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        values, grad = value_and_grad(image)
        report(values, image)
        return values["total"], grad

    metric = ColorMetric(plan.color_gain)
    lbfgs.minimize(evaluate, tf.constant(start[None], tf.float32), plan.history, metric=metric)


@dataclass(frozen=True)
class ColorMetric:
    """Scales the color part (zero mean over channels) of a direction by ``gain``.

    Hashable by value, so the compiled two-loop is traced once per gain, not once per run.
    """

    gain: float

    def __call__(self, direction: tf.Tensor) -> tf.Tensor:
        color = direction - tf.reduce_mean(direction, axis=-1, keepdims=True)
        return direction + (self.gain - 1.0) * color


def _lbfgs_b_scale(loss: StyleLoss, start: np.ndarray, report: Callable, plan: Plan) -> None:
    """scipy's L-BFGS-B from ``start`` until ``report`` raises _Stop (its own limits are off)."""
    shape = (1, *start.shape)
    value_and_grad = loss.value_and_grad()

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        image = tf.constant(x.reshape(shape), tf.float32)
        values, grad = value_and_grad(image)
        report(values, image)
        return float(values["total"]), grad.numpy().ravel().astype(np.float64)

    # OpenBLAS threads that spin after scipy's small vector operations steal the cores TensorFlow
    # needs, so scipy gets one.
    with threadpool_limits(limits=1, user_api="blas"):
        scipy.optimize.minimize(
            objective,
            start.astype(np.float64).ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=scipy.optimize.Bounds(0.0, 1.0),
            # Only `report` ends the run; scipy would stop early on relative-change tests.
            options={
                "maxfun": UNLIMITED,
                "maxiter": UNLIMITED,
                "maxcor": plan.history,
                "ftol": 0,
                "gtol": 0,
            },
        )


def _adam_scale(loss: StyleLoss, start: np.ndarray, report: Callable, plan: Plan) -> None:
    """The tutorial's recipe: Adam(lr 0.02, beta1 0.99, epsilon 0.1), clip to [0, 1] each step."""
    image = tf.Variable(start[None])
    adam = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)
    value_and_grad = loss.value_and_grad()

    while True:  # until `report` raises _Stop
        evaluated = tf.identity(image)  # each step reports the loss of the image before it
        values, grad = value_and_grad(evaluated)
        adam.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        report(values, evaluated)


def optimize(
    content: np.ndarray,
    targets: Targets,
    options: OptimizeOptions = OptimizeOptions(),
    *,
    start: np.ndarray | None = None,
    stop: threading.Event | None = None,
    preview_every: int = 10,
) -> Iterator[Progress]:
    """Optimise an image for ``content`` (already at the output size) and ``targets``.

    The targets' styles should already be at the content's long side; at coarser scales
    everything is resized by the same factor. ``options.steps`` counts loss evaluations, split
    over the scales by `nst.schedule.schedule`; by default the device's (`DEVICE_DEFAULTS`), or,
    given a time budget, as many as it allows (each scale then gets its share of the time).
    ``options.scales`` defaults to enough scales to go from the device's working size up to the
    output. ``start`` is the first image for ``init="fast"`` (the fast path's result). The run
    ends after the steps, the time budget, or when ``stop`` is set (checked after every
    evaluation); the last `Progress` has ``done`` and the best image in ``preview``.
    """
    defaults = device.defaults()
    shape = content.shape[:2]
    scales = options.scales or scale_count(max(shape), defaults.size)
    steps = options.steps
    if steps is None:
        steps = UNLIMITED if options.time_budget is not None else defaults.steps
    deadlines = None
    if options.time_budget is not None:  # shared out as a default run's time would be
        default_run = schedule(shape, defaults.steps, scales)
        deadlines = schedule_deadlines(options.time_budget, CLOCK.shares(default_run, defaults))
    plan = Plan(
        content=content,
        targets=targets,
        preset=options.loss_preset,
        style_loss=options.style_loss,
        optimizer=options.optimizer,
        start=initial_image(content, options.init, start, options.seed),
        scales=schedule(shape, steps, scales),
        deadlines=deadlines,
        history=fitted_history(options.history, shape),
        color_gain=options.color_gain,
        precision=device.precision(options.precision, device.current()),
    )
    return _iterate(plan, preview_every, options.time_budget, stop)


def _iterate(
    plan: Plan, preview_every: int, time_budget: float | None, stop: threading.Event | None
) -> Iterator[Progress]:
    """Run ``plan`` in a worker thread, yielding its `Progress` here."""
    run = _Run(plan, preview_every, time_budget, stop or threading.Event())
    worker = threading.Thread(target=run.work, name="optimize", daemon=True)
    worker.start()
    try:
        while True:
            item = run.events.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.done:
                return
    finally:  # also when the consumer closes the generator early
        run.stop.set()
        while worker.is_alive():  # let a worker blocked on the full queue reach the stop check
            with contextlib.suppress(queue.Empty):
                run.events.get(timeout=0.1)


class _Run:
    """One run in its worker thread: the clock, the step count, the best image, the reasons to end.

    Its queue has room for one item, so the worker is never more than one evaluation ahead of
    the consumer and a stop request takes effect within one step.
    """

    def __init__(
        self, plan: Plan, preview_every: int, time_budget: float | None, stop: threading.Event
    ) -> None:
        self.plan = plan
        self.events: queue.Queue = queue.Queue(maxsize=1)
        planned = sum(scale.steps for scale in plan.scales)
        self.planned_steps = planned if planned < UNLIMITED else None
        self.preview_every = preview_every
        self.time_budget = time_budget
        self.stop = stop
        self.started = time.perf_counter()
        self.step = 0
        self.scale, self.deadline = 1, None  # the current scale, and when its time is up
        self.ended_by = "steps"

    def work(self) -> None:
        """Run every scale, coarse to fine; post Progress items, or the exception, to `events`."""
        plan = self.plan
        scale_runs = {"lbfgs": _lbfgs_scale, "lbfgs-b": _lbfgs_b_scale, "adam": _adam_scale}
        try:
            height, width = plan.content.shape[:2]
            image = plan.start
            for index, scale in enumerate(plan.scales):
                if scale.steps == 0:
                    continue
                (h, w), self.scale = scale.shape, index + 1
                self.deadline = plan.deadlines[index] if plan.deadlines else None
                # This scale's seconds to its first evaluation's end, then per evaluation; the
                # waits for the consumer are not counted (`report`).
                self.times, self.mark = [], time.perf_counter()
                content = resize(plan.content, (h, w))
                extractor = feature_extractor(plan.preset.layers, precision=plan.precision)
                targets = plan.targets.scaled(h / height)
                loss = StyleLoss(
                    content, targets, plan.preset, extractor, statistics=(plan.style_loss,)
                )
                # A new size: losses from the previous one don't compare, so the best restarts.
                self.best, self.best_losses = None, {"total": np.inf}
                self.scale_size, self.scale_end = (h, w), self.step + scale.steps
                with contextlib.suppress(_Stop):
                    scale_runs[plan.optimizer](loss, resize(image, (h, w)), self.report, plan)
                if len(self.times) > 1:
                    in_blocks = loss.block_size is not None
                    CLOCK.observe(Timing((h, w), in_blocks, self.times[0], tuple(self.times[1:])))
                if self.best is not None:
                    image = self.best[0].numpy()
                if self.ended_by != "steps":
                    break
            final = Progress(
                step=self.step,
                seconds=time.perf_counter() - self.started,
                size=(height, width),
                losses=self.best_losses,
                preview=resize(image, (height, width)),
                done=True,
                stopped_by=self.ended_by,
                best_losses=self.best_losses,
                planned_steps=self.planned_steps,
                scale=self.scale,
                scales=len(plan.scales),
            )
            self.events.put(final)
        except BaseException as error:  # hand it to the consumer's thread
            self.events.put(error)

    def report(self, values: dict[str, tf.Tensor], evaluated: tf.Tensor) -> None:
        """Called after every evaluation; raises _Stop when the run or this scale should end."""
        # The scalar losses; with regions, `style_by_region` stays for the final measurement.
        losses = {name: float(value) for name, value in values.items() if value.shape.rank == 0}
        self.times.append(time.perf_counter() - self.mark)
        self.step += 1
        if losses["total"] < self.best_losses["total"]:
            self.best, self.best_losses = evaluated, losses
        preview = None
        if self.preview_every and self.step % self.preview_every == 0:
            preview = self.best[0].numpy()
        seconds = time.perf_counter() - self.started
        progress = Progress(
            step=self.step,
            seconds=seconds,
            size=self.scale_size,
            losses=losses,
            preview=preview,
            best_losses=self.best_losses,
            planned_steps=self.planned_steps,
            scale=self.scale,
            scales=len(self.plan.scales),
        )
        self.events.put(progress)
        self.mark = time.perf_counter()
        if self.stop.is_set():
            self.ended_by = "stop"
        elif self.time_budget is not None and seconds >= self.time_budget:
            self.ended_by = "time"
        elif self.step < self.scale_end and (self.deadline is None or seconds < self.deadline):
            return
        raise _Stop  # the run, or this scale (its steps or its share of the time), ends


# The calibration's sizes (long side, 3:2) and evaluations at each: two sizes fix a line, and a
# 512 px image already fills the cores as larger ones do.
CALIBRATION_SIZES = (256, 512)
CALIBRATION_STEPS = 4


def calibrate(sizes: tuple[int, ...] = CALIBRATION_SIZES) -> None:
    """Time a few evaluations at each of ``sizes`` (long side, 3:2) of made-up images, as a
    default run computes them (the device's precision and convolutions), for `nst.clock.CLOCK`:
    each size is observed as a run's scale is."""
    rng = np.random.default_rng(0)
    options = OptimizeOptions(steps=CALIBRATION_STEPS, scales=1)
    feature_extractor(precision=device.precision(options.precision, device.current()))  # loaded
    for long_side in sizes:
        shape = (long_side * 2 // 3, long_side, 3)
        content, style = (rng.uniform(0, 1, shape).astype(np.float32) for _ in range(2))
        for _ in optimize(content, Targets((style,)), options, preview_every=0):
            pass
