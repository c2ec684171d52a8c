"""The coarse-to-fine schedule of an optimization: each scale's size and evaluations, and its time.

A print-size result cannot be optimized at full size from the start on a CPU (one evaluation at
4096 px takes minutes), and a result solved at a working size and upsampled lacks the fine
texture of the full size. So a large output is solved at the device's working size first (where
a good result takes about a minute, `nst.options.DEVICE_DEFAULTS`), then refined at each size
twice the previous up to the output. Each larger scale costs about four times as much per
evaluation and starts nearer its optimum, so it gets half the evaluations of the scale before.
This module does not import TensorFlow: the page plans a run before it starts (and
`nst.clock` says how long it takes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nst.targets import scaled_shape


@dataclass(frozen=True)
class Scale:
    """One scale of a run: the image's (height, width) and the evaluations spent there."""

    shape: tuple[int, int]
    steps: int


def scale_count(long_side: int, working_side: int) -> int:
    """How many scales take an output of ``long_side`` px from about ``working_side`` px up,
    each twice the previous: 1 at or near the working size."""
    return 1 + max(0, round(math.log2(long_side / working_side)))


def schedule(shape: tuple[int, int], steps: int, scales: int) -> tuple[Scale, ...]:
    """``steps`` evaluations over ``scales`` sizes ending at ``shape``, coarse to fine, each
    twice the previous; each scale gets half the evaluations of the one before (rounded so they
    add up to ``steps``)."""
    weights = [2.0**-index for index in range(scales)]
    shares = [steps * weight / sum(weights) for weight in weights]
    counts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(scales), key=lambda i: counts[i] - shares[i])
    for index in by_remainder[: steps - sum(counts)]:
        counts[index] += 1
    sizes = [scaled_shape(shape, 2.0**-level) for level in reversed(range(scales))]
    return tuple(Scale(size, count) for size, count in zip(sizes, counts, strict=True))


def deadlines(time_budget: float, shares: Sequence[float]) -> tuple[float, ...]:
    """When a time budget ends a run: the seconds from the start by which each scale ends, each
    scale getting its ``shares`` of the budget (its share of the run's expected time,
    `nst.clock.Clock.shares`); the last ends with the budget."""
    elapsed, ends = 0.0, []
    for share in shares:
        elapsed += share
        ends.append(time_budget * elapsed)
    ends[-1] = time_budget
    return tuple(ends)
