"""How long the slow path takes on this machine: measured here, not assumed.

The page says, before Optimize starts, how long a run will take, and a time budget is shared out
over the coarse-to-fine scales by each scale's expected time. One loss evaluation's time differs
several times between CPUs (their cores, their instruction sets, bfloat16 or not), so no constant
measured on one machine serves another. A `Clock` holds a model of this machine's times, fitted
to measurements made here: a short calibration (`nst.optimize.calibrate`, a few evaluations at
two sizes, which a server runs in the background as it starts) and every finished scale of every
run (`Clock.observe`, fed by `nst.optimize`).

The model, per scale of a run: ``setup + steps × evaluation``, each linear in the scale's pixels
(a fixed part: tracing the graph, Python's bookkeeping; and a part per pixel: the convolutions),
with pixels in blocks counted `BLOCKWISE_COST` times (`nst.vgg_blocks` runs two forward passes
and the margins). Until something is measured the model is proportional to the pixels alone,
which is enough to share out a time budget but not to show a time: `Clock.estimate` then says
None.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nst.options import BLOCKWISE_COST, DeviceDefaults
from nst.schedule import Scale

# Observations kept per quantity: recent ones describe the machine as it is now.
KEPT = 24


@dataclass(frozen=True)
class Timing:
    """One scale of a run as it went: its shape, whether it ran in blocks, the seconds before its
    first evaluation ended (the targets, the graph's tracing, that evaluation), and the seconds of
    each later evaluation."""

    shape: tuple[int, int]
    in_blocks: bool
    first: float
    evaluations: tuple[float, ...]


def _pixels(shape: tuple[int, int], in_blocks: bool) -> float:
    """An image's pixels as they cost: counted `BLOCKWISE_COST` times in blocks."""
    return shape[0] * shape[1] * (BLOCKWISE_COST if in_blocks else 1.0)


class Clock:
    """This machine's measured seconds for a scale of a run (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._setups: deque[tuple[float, float]] = deque(maxlen=KEPT)  # (pixels, seconds)
        self._evaluations: deque[tuple[float, float]] = deque(maxlen=KEPT)
        self.calibrated = threading.Event()  # set once a calibration or a run was observed

    def observe(self, timing: Timing) -> None:
        """Add one scale's measured times to the model."""
        pixels = _pixels(timing.shape, timing.in_blocks)
        with self._lock:
            if timing.evaluations:
                evaluation = float(np.median(timing.evaluations))
                self._evaluations.append((pixels, evaluation))
                self._setups.append((pixels, max(0.0, timing.first - evaluation)))
        if timing.evaluations:
            self.calibrated.set()

    def seconds(self, scale: Scale, defaults: DeviceDefaults) -> float | None:
        """A scale's expected seconds on this machine, or None before any measurement."""
        in_blocks = defaults.block_size(scale.shape) is not None
        pixels = _pixels(scale.shape, in_blocks)
        with self._lock:
            if not self._evaluations:
                return None
            setup = _fit(self._setups)(pixels)
            evaluation = _fit(self._evaluations)(pixels)
        return setup + scale.steps * evaluation

    def estimate(self, scales: Sequence[Scale], defaults: DeviceDefaults) -> float | None:
        """A run's expected seconds on this machine, or None before any measurement."""
        seconds = [self.seconds(scale, defaults) for scale in scales]
        return None if None in seconds else sum(seconds)  # type: ignore[arg-type]

    def shares(self, scales: Sequence[Scale], defaults: DeviceDefaults) -> list[float]:
        """Each scale's share of a run's time: measured when the clock has measurements, else by
        the pixels it evaluates."""
        seconds = [self.seconds(scale, defaults) for scale in scales]
        if None in seconds:
            seconds = [
                scale.steps * _pixels(scale.shape, defaults.block_size(scale.shape) is not None)
                for scale in scales
            ]
        total = sum(seconds) or 1.0
        return [s / total for s in seconds]  # type: ignore[operator]


def _fit(points: Sequence[tuple[float, float]]):
    """The least-squares line through (pixels, seconds) points, never below zero; a single
    point (or points at one size) gives a line through the origin."""
    x = np.array([p for p, _ in points])
    y = np.array([s for _, s in points])
    if np.ptp(x) == 0:
        slope, intercept = float(y.mean() / x.mean()), 0.0
    else:
        slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
        if intercept < 0 or slope < 0:  # noise at few points: keep the proportional part
            slope, intercept = float((x @ y) / (x @ x)), 0.0
    return lambda pixels: max(0.0, intercept + slope * pixels)


# This process's clock: the machine's speed is the process's.
CLOCK = Clock()
