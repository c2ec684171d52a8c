"""The coarse-to-fine schedule: sizes doubling to the output, evaluations halving, time."""

import pytest

from nst.options import BLOCK_SIZE, BLOCKWISE_COST, DEVICE_DEFAULTS
from nst.schedule import Scale, deadlines, estimate_seconds, scale_count, schedule


@pytest.mark.parametrize(
    "long_side, scales", [(256, 1), (512, 1), (700, 1), (800, 2), (1024, 2), (2048, 3), (4096, 4)]
)
def test_scales_go_from_the_working_size_up(long_side: int, scales: int) -> None:
    assert scale_count(long_side, 512) == scales


def test_each_scale_is_twice_the_previous_and_gets_half_its_evaluations() -> None:
    scales = schedule((2730, 4096), 50, 4)
    assert [s.shape for s in scales] == [(341, 512), (682, 1024), (1365, 2048), (2730, 4096)]
    assert [s.steps for s in scales] == [27, 13, 7, 3]
    assert sum(s.steps for s in scales) == 50


@pytest.mark.parametrize("steps, scales", [(5, 2), (1, 3), (7, 1), (100, 4), (10**9, 3)])
def test_the_evaluations_add_up(steps: int, scales: int) -> None:
    planned = schedule((300, 451), steps, scales)
    assert len(planned) == scales and sum(s.steps for s in planned) == steps
    assert [s.steps for s in planned] == sorted((s.steps for s in planned), reverse=True)


def test_the_estimate_counts_every_scales_pixels_and_the_cost_of_blocks() -> None:
    cpu = DEVICE_DEFAULTS["CPU"]
    scales = (Scale((500, 1000), 10), Scale((1000, 2000), 2))  # whole, then in blocks
    assert [cpu.block_size(s.shape) for s in scales] == [None, BLOCK_SIZE]
    per_megapixel = cpu.seconds_per_megapixel
    expected = 10 * 0.5 * per_megapixel + 2 * 2.0 * per_megapixel * BLOCKWISE_COST
    assert estimate_seconds(scales, cpu) == pytest.approx(expected)


def test_a_gpu_runs_larger_images_whole_by_its_memory() -> None:
    cpu, gpu = DEVICE_DEFAULTS["CPU"], DEVICE_DEFAULTS["GPU"]
    assert cpu.block_size((1536, 2048)) == BLOCK_SIZE and gpu.block_size((1536, 2048)) is None
    assert gpu.block_size((2730, 4096)) == BLOCK_SIZE


def test_a_time_budget_is_shared_out_by_each_scales_estimated_time() -> None:
    scales = (Scale((100, 100), 4), Scale((200, 200), 2), Scale((400, 400), 1))
    # Estimated: 4 × 1, 2 × 4 and 1 × 16 units of time: 4, 8 and 16 of 28.
    assert deadlines(scales, 56.0, DEVICE_DEFAULTS["CPU"]) == pytest.approx((8.0, 24.0, 56.0))


def test_scales_in_blocks_get_the_larger_share_they_cost() -> None:
    scales = (Scale((512, 1024), 1), Scale((1024, 2048), 1))  # 0.5 MP whole, then 2 MP in blocks
    first, _ = deadlines(scales, 100.0, DEVICE_DEFAULTS["CPU"])
    assert first == pytest.approx(100.0 * 0.5 / (0.5 + 2.0 * BLOCKWISE_COST))
