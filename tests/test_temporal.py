"""`nst.temporal` on synthetic frames: the warp, Ruder et al.'s two tests of the flow on a
moving square, the blend lowering the warping error of the real network's frames, and scene
cuts dropping the history."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

from nst import temporal
from nst.options import VideoOptions
from nst.video import FrameStylizer

STYLE = Path(__file__).resolve().parents[1] / "assets" / "style_starry_night.jpg"
STEP = (2, 1)  # (x, y) pixels a frame of the panning clips


def texture(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth random RGB texture, uint8: something the flow can follow everywhere."""
    noise = np.random.default_rng(seed).random((height, width, 3), np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3)
    return (cv2.normalize(smooth, None, 0, 1, cv2.NORM_MINMAX) * 255).astype(np.uint8)


def panning(count: int, seed: int = 0, size: tuple[int, int] = (96, 128)) -> list[np.ndarray]:
    """Crops of one texture, each `STEP` further: frame t at x is frame t-1 at x + STEP."""
    height, width = size
    canvas = texture(height + count * STEP[1], width + count * STEP[0], seed)
    return [
        canvas[t * STEP[1] : t * STEP[1] + height, t * STEP[0] : t * STEP[0] + width]
        for t in range(count)
    ]


def square_flows(shift: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A 16 px square on a still background, moved ``shift`` px right between two frames: the
    backward flow (second frame to first) and the forward flow (first to second)."""
    backward = np.zeros((64, 64, 2), np.float32)
    forward = np.zeros((64, 64, 2), np.float32)
    backward[24:40, 20 + shift : 36 + shift, 0] = -shift  # where the square is now
    forward[24:40, 20:36, 0] = shift  # where it was
    return backward, forward


def test_warp_follows_a_constant_flow() -> None:
    image = texture(32, 48, seed=1).astype(np.float32)
    flow = np.zeros((32, 48, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3, 2  # each pixel reads 3 right and 2 down
    np.testing.assert_array_equal(temporal.warp(image, flow)[:-2, :-3], image[2:, 3:])


def test_disocclusion_is_the_strip_the_square_uncovered() -> None:
    backward, forward = square_flows(shift=4)
    expected = np.zeros((64, 64), bool)
    expected[24:40, 20:24] = True  # background now, under the square before
    np.testing.assert_array_equal(temporal.disoccluded(backward, forward), expected)


def test_motion_boundaries_ring_the_square() -> None:
    backward, _ = square_flows(shift=4)
    u = np.pad(backward[..., 0], 1, mode="edge")
    expected = (u[1:-1, 2:] != u[1:-1, :-2]) | (u[2:, 1:-1] != u[:-2, 1:-1])
    boundaries = temporal.motion_boundaries(backward)
    np.testing.assert_array_equal(boundaries, expected)
    assert boundaries[24:40, 24:40].sum() < boundaries.sum()  # on both sides of the edge only
    assert not boundaries[28:36, 28:36].any() and not boundaries[:16].any()


def test_trusted_excludes_both() -> None:
    backward, forward = square_flows(shift=4)
    bad = temporal.disoccluded(backward, forward) | temporal.motion_boundaries(backward)
    np.testing.assert_array_equal(temporal.trusted(backward, forward), (~bad).astype(np.float32))


def warping_error(frames: list[np.ndarray]) -> float:
    """Mean squared difference between each frame and its predecessor moved by the clip's true
    motion, away from the borders."""
    x, y, margin = *STEP, 8
    errors = []
    for before, now in itertools.pairwise(frames):
        moved = before[margin + y : -margin, margin + x : -margin].astype(np.float32)
        errors.append(np.mean((now[margin : -margin - y, margin : -margin - x] - moved) ** 2))
    return float(np.mean(errors))


def test_the_blend_lowers_the_warping_error_of_a_moving_clip() -> None:
    frames = panning(10)
    alone = FrameStylizer([STYLE], VideoOptions(temporal=0.0))
    blended = FrameStylizer([STYLE], VideoOptions())
    error_alone = warping_error([alone(frame) for frame in frames])
    error_blended = warping_error([blended(frame) for frame in frames])
    assert blended.cuts == 0
    assert error_blended < 0.5 * error_alone, (error_blended, error_alone)


def test_a_scene_cut_drops_the_history() -> None:
    frames = panning(4, seed=0) + panning(3, seed=5)  # a new shot at frame 4
    tracker = temporal.Tracker()
    assert [tracker(frame).cut for frame in frames] == [False] * 4 + [True, False, False]

    stylizer = FrameStylizer([STYLE], VideoOptions())
    outputs = [stylizer(frame) for frame in frames]
    alone = FrameStylizer([STYLE], VideoOptions(temporal=0.0))
    assert stylizer.cuts == 1
    np.testing.assert_array_equal(outputs[4], alone(frames[4]))  # as if the clip began there
    assert not np.array_equal(outputs[5], alone(frames[5]))  # and blends again after it


def test_reset_drops_the_history() -> None:
    frames = panning(3)
    stylizer = FrameStylizer([STYLE], VideoOptions())
    stylizer(frames[0])
    stylizer(frames[1])
    stylizer.reset()
    alone = FrameStylizer([STYLE], VideoOptions(temporal=0.0))
    np.testing.assert_array_equal(stylizer(frames[2]), alone(frames[2]))
