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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import tensorflow as tf
from threadpoolctl import threadpool_limits

from nst import lbfgs
from nst.errors import InputError
from nst.losses import DEFAULT, LossPreset, StyleLoss

INITS = ("content", "fast", "noise")
OPTIMIZERS = ("lbfgs", "lbfgs-b", "adam")
MIN_SIDE = 16  # VGG19 pools four times before block5
# The default run: this many L-BFGS evaluations at full size, about a minute at 512 px on 2 CPU
# cores (benchmarks/slow.py). Coarse-to-fine is an option, not the default: upsampling a coarse
# result loses most of its style statistics (the style loss jumps back near the content
# image's), so the coarse evaluations were wasted in every schedule measured.
DEFAULT_STEPS = 50
# Moves in colour (zero mean over R, G, B) change VGG19's features far less than moves in
# brightness, so the loss is flatter along them and L-BFGS's one-number initial Hessian steps too
# timidly there. Evaluations to the tutorial recipe's 1000-step loss at 256 px, history 20, by
# how many times larger colour steps are: x1 295, x2 277, x4 264, x6 271 (`benchmarks/slow.py
# --compare 256 --history 20 --colour-gain G`); shrinking them instead took 580.
COLOUR_GAIN = 4.0
# L-BFGS history: the same measure, colour gain 4, by history length: 10: 276, 20: 264, 30: 252,
# 40: 245, 60: 238 (`--history N`). Each step kept costs two image-sized tensors: 190 MB in all
# at 512 px.
HISTORY = 40
UNLIMITED = 10**9  # steps when only the time budget ends the run


@dataclass
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


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    resized = tf.image.resize(image, (height, width), "bicubic", antialias=True)
    return np.clip(resized.numpy(), 0.0, 1.0).astype(np.float32)


def scale_sizes(height: int, width: int, scales: int) -> list[tuple[int, int]]:
    """Sizes from coarse to fine, each half the next's long side, ending at (height, width)."""
    sizes = []
    for level in reversed(range(scales)):
        factor = 2.0**-level
        sizes.append((max(MIN_SIDE, round(height * factor)), max(MIN_SIDE, round(width * factor))))
    return sizes


def initial_image(
    content: np.ndarray, init: str, init_image: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """The starting image: the content, a given image (e.g. the fast path's result), or noise."""
    if init == "content":
        return content
    if init == "fast":
        if init_image is None:
            raise InputError("init 'fast' needs the fast path's image")
        return _resize(np.asarray(init_image, np.float32), *content.shape[:2])
    if init == "noise":
        # Mid-grey uniform noise, reproducible from the seed.
        noise = np.random.default_rng(seed).uniform(0.25, 0.75, content.shape)
        return noise.astype(np.float32)
    raise InputError(f"unknown init {init!r}; choose from {', '.join(INITS)}")


def _value_and_grad(loss: StyleLoss) -> Callable:
    @tf.function(reduce_retracing=True)
    def value_and_grad(image: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(image)
            values = loss(image)
        return values, tape.gradient(values["total"], image)

    return value_and_grad


class _Stop(Exception):
    """Raised inside the objective to end an L-BFGS run between evaluations."""


def _lbfgs_scale(loss: StyleLoss, start: np.ndarray, report: Callable, history: int) -> None:
    """`nst.lbfgs` from ``start`` until ``report`` raises _Stop."""
    value_and_grad = _value_and_grad(loss)

    def evaluate(image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        values, grad = value_and_grad(image)
        report(values, image)
        return values["total"], grad

    lbfgs.minimize(evaluate, tf.constant(start[None], tf.float32), history, metric=_colour_metric)


def _colour_metric(direction: tf.Tensor) -> tf.Tensor:
    """``direction`` with its colour part (zero mean over channels) scaled by COLOUR_GAIN."""
    colour = direction - tf.reduce_mean(direction, axis=-1, keepdims=True)
    return direction + (COLOUR_GAIN - 1.0) * colour


def _lbfgs_b_scale(loss: StyleLoss, start: np.ndarray, report: Callable, history: int) -> None:
    """scipy's L-BFGS-B from ``start`` until ``report`` raises _Stop (its own limits are off)."""
    shape = (1, *start.shape)
    value_and_grad = _value_and_grad(loss)

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        image = tf.constant(x.reshape(shape), tf.float32)
        values, grad = value_and_grad(image)
        report(values, image)
        return float(values["total"]), grad.numpy().ravel().astype(np.float64)

    # OpenBLAS threads that spin after scipy's small vector operations steal the cores TensorFlow
    # needs: one BLAS thread made each evaluation ~1.5x faster at 128 px on 2 cores.
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
                "maxcor": history,
                "ftol": 0,
                "gtol": 0,
            },
        )


def _adam_scale(loss: StyleLoss, start: np.ndarray, max_steps: int, report: Callable) -> None:
    """The tutorial's recipe: Adam(lr 0.02, beta1 0.99, epsilon 0.1), clip to [0, 1] each step."""
    image = tf.Variable(start[None])
    adam = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def train_step() -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            values = loss(image)
        adam.apply_gradients([(tape.gradient(values["total"], image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return values

    for _ in range(max_steps):
        evaluated = tf.identity(image)  # train_step reports the loss of the image before it
        report(train_step(), evaluated)


def optimize(
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    *,
    preset: LossPreset = DEFAULT,
    style_blend: Sequence[float] | None = None,
    optimizer: str = "lbfgs",
    init: str = "content",
    init_image: np.ndarray | None = None,
    seed: int = 0,
    scales: int = 1,
    steps: int | Sequence[int] | None = None,
    time_budget: float | None = None,
    stop: threading.Event | None = None,
    preview_every: int = 10,
    history: int = HISTORY,
) -> Iterator[Progress]:
    """Optimise an image for ``content`` (already at the output size) and ``styles``.

    Styles should already be at the content's long side; at coarser scales everything is resized
    by the same factor. ``steps`` counts loss evaluations: a total split evenly over the scales,
    or one count per scale; by default `DEFAULT_STEPS`, or, given only a ``time_budget``, as
    many as the budget allows. The run ends after the steps, the time budget, or when ``stop`` is
    set (checked after every evaluation); the last `Progress` has ``done`` and the best image in
    ``preview``.
    """
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if scales < 1:
        raise InputError("scales must be at least 1")
    if steps is None:
        steps = UNLIMITED if time_budget is not None else DEFAULT_STEPS
    if isinstance(steps, int):
        per_scale = [steps // scales + (i < steps % scales) for i in range(scales)]
    else:
        per_scale = list(steps)
    if len(per_scale) != scales or min(per_scale) < 0:
        raise InputError(f"give one non-negative step count per scale ({scales})")
    run = _Run(preview_every, time_budget, stop or threading.Event(), sum(per_scale))
    start = initial_image(content, init, init_image, seed)
    worker = threading.Thread(
        target=run.work,
        args=(content, styles, preset, style_blend, optimizer, start, per_scale, history),
        daemon=True,
    )
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
        self, preview_every: int, time_budget: float | None, stop: threading.Event, planned: int
    ) -> None:
        self.events: queue.Queue = queue.Queue(maxsize=1)
        self.planned_steps = planned if planned < UNLIMITED else None
        self.preview_every = preview_every
        self.time_budget = time_budget
        self.stop = stop
        self.started = time.perf_counter()
        self.step = 0
        self.ended_by = "steps"

    def work(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        preset: LossPreset,
        style_blend: Sequence[float] | None,
        optimizer: str,
        image: np.ndarray,
        per_scale: list[int],
        history: int,
    ) -> None:
        """Run every scale, coarse to fine; post Progress items, or the exception, to `events`."""
        try:
            height, width = content.shape[:2]
            for (h, w), max_steps in zip(scale_sizes(height, width, len(per_scale)), per_scale,
                                         strict=True):  # fmt: skip
                if max_steps == 0:
                    continue
                factor = h / height
                scaled_styles = [
                    _resize(
                        style, *(max(MIN_SIDE, round(side * factor)) for side in style.shape[:2])
                    )
                    for style in styles
                ]
                loss = StyleLoss(_resize(content, h, w), scaled_styles, preset, style_blend)
                # A new size: losses from the previous one don't compare, so the best restarts.
                self.best, self.best_losses = None, {"total": np.inf}
                self.scale_size, self.scale_end = (h, w), self.step + max_steps
                with contextlib.suppress(_Stop):
                    if optimizer == "lbfgs":
                        _lbfgs_scale(loss, _resize(image, h, w), self.report, history)
                    elif optimizer == "lbfgs-b":
                        _lbfgs_b_scale(loss, _resize(image, h, w), self.report, history)
                    else:
                        _adam_scale(loss, _resize(image, h, w), max_steps, self.report)
                if self.best is not None:
                    image = self.best[0].numpy()
                if self.ended_by != "steps":
                    break
            seconds = time.perf_counter() - self.started
            final = _resize(image, height, width)
            self.events.put(Progress(self.step, seconds, (height, width), self.best_losses, final,
                                     True, self.ended_by, self.best_losses,
                                     self.planned_steps))  # fmt: skip
        except BaseException as error:  # hand it to the consumer's thread
            self.events.put(error)

    def report(self, values: dict[str, tf.Tensor], evaluated: tf.Tensor) -> None:
        """Called after every evaluation; raises _Stop when the run or this scale should end."""
        losses = {name: float(value) for name, value in values.items()}
        self.step += 1
        if losses["total"] < self.best_losses["total"]:
            self.best, self.best_losses = evaluated, losses
        preview = None
        if self.preview_every and self.step % self.preview_every == 0:
            preview = self.best[0].numpy()
        seconds = time.perf_counter() - self.started
        self.events.put(Progress(self.step, seconds, self.scale_size, losses, preview,
                                 best_losses=self.best_losses,
                                 planned_steps=self.planned_steps))  # fmt: skip
        if self.stop.is_set():
            self.ended_by = "stop"
        elif self.time_budget is not None and seconds >= self.time_budget:
            self.ended_by = "time"
        elif self.step < self.scale_end:
            return
        raise _Stop
