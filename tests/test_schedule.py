"""The coarse-to-fine schedule: sizes doubling to the output, evaluations halving, time."""

import pytest

from nst.options import BLOCK_SIZE, DEVICE_DEFAULTS
from nst.schedule import deadlines, scale_count, schedule


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


def test_a_gpu_runs_larger_images_whole_by_its_memory() -> None:
    cpu, gpu = DEVICE_DEFAULTS["CPU"], DEVICE_DEFAULTS["GPU"]
    assert cpu.block_size((1536, 2048)) == BLOCK_SIZE and gpu.block_size((1536, 2048)) is None
    assert gpu.block_size((2730, 4096)) == BLOCK_SIZE


def test_a_time_budget_is_shared_out_by_each_scales_share() -> None:
    assert deadlines(56.0, [4 / 28, 8 / 28, 16 / 28]) == pytest.approx((8.0, 24.0, 56.0))
    assert deadlines(10.0, [1.0]) == (10.0,)
