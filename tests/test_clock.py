"""The clock: a run's time predicted from what was measured on this machine."""

import pytest

from nst import optimize
from nst.clock import Clock, Timing
from nst.options import BLOCKWISE_COST, DEVICE_DEFAULTS
from nst.schedule import Scale

CPU = DEVICE_DEFAULTS["CPU"]


def test_before_any_measurement_it_shows_no_time_and_shares_by_pixels() -> None:
    clock = Clock()
    scales = (Scale((500, 1000), 10), Scale((1000, 2000), 2))  # whole, then in blocks on a CPU
    assert clock.estimate(scales, CPU) is None
    first, second = clock.shares(scales, CPU)
    assert first / second == pytest.approx((10 * 0.5) / (2 * 2.0 * BLOCKWISE_COST))


def test_a_line_through_the_measurements_predicts_other_sizes() -> None:
    clock = Clock()
    # Setup 1 s + 1 s per megapixel, evaluations 0.1 s + 2 s per megapixel.
    for megapixels in (0.25, 0.5):
        pixels = megapixels * 1e6
        evaluation = 0.1 + 2 * megapixels
        first = 1 + megapixels + evaluation
        clock.observe(Timing((1000, round(pixels / 1000)), False, first, (evaluation,) * 3))
    expected = (1 + 1.0) + 50 * (0.1 + 2 * 1.0)  # one megapixel, 50 evaluations
    assert clock.seconds(Scale((1000, 1000), 50), CPU) == pytest.approx(expected, rel=1e-6)
    in_blocks = Scale((1000, 1500), 1)  # 1500 px: in blocks on a CPU, pixels cost more
    assert clock.seconds(in_blocks, CPU) == pytest.approx(
        (1 + 1.5 * BLOCKWISE_COST) + (0.1 + 2 * 1.5 * BLOCKWISE_COST), rel=1e-6
    )


def test_the_calibration_measures_this_machine() -> None:
    """Two small sizes, as a server's start calibrates (the real optimizer, real weights)."""
    clock = optimize.CLOCK
    optimize.calibrate(sizes=(64, 96))
    assert clock.calibrated.is_set()
    small, large = (clock.seconds(Scale((h, w), 10), CPU) for h, w in ((42, 64), (128, 192)))
    assert 0 < small < large  # more pixels take longer
