"""Temporal consistency without training: each stylized frame is blended with the previous
output warped along the input's optical flow, wherever that flow can be trusted.

A feed-forward network renders every frame on its own, so small changes of the input (noise,
motion, lighting) change its strokes from frame to frame: flicker. Ruder et al. 2016 ("Artistic
style transfer for videos") keep an optimised video consistent by penalising its difference
from the previous output warped by the flow, except where the flow fails; here the same warp and
the same two tests of the flow (disocclusion, motion boundaries) blend a feed-forward network's
frames instead of constraining an optimisation:

    out_t = stylized_t + weight · trusted · (warp(out_{t-1}, flow_{t→t-1}) - stylized_t)

The flow is OpenCV's DIS (Kroeger et al. 2016) between the INPUT frames, on grey frames scaled
to `FLOW_SIDE`. Where most of the frame fails the tests, or the warped previous input does not
match the current one, the shot has changed: the history is dropped (a scene cut).

Measured and left out (the shared clip at 360 px, weight 0.5, where this blend cut the warping
error to 0.295× frame by frame's at a perceptual distance of 0.036; `benchmarks/video.py`'s
measures): an average over frames of the network's normalisation statistics (its 13 layers'
means and variances, fed through `nst.fast_blocks`' cut graph) lowered the warping error only
to 0.97-0.94× on its own while moving the frames 0.057-0.072 away, at 14 sessions a frame;
blending before the last layer (the sigmoid's input) gave 0.299× at 0.036, the same curve;
blending the residual blocks' output (a quarter of the resolution) and rendering the rest gave
0.509× at 0.045; also distrusting pixels whose warped input differs (by 0.03 to 0.1) only
moved along the curve a lower weight gives (0.351× at 0.030); bicubic warping gave 0.316× at
0.038.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import cv2
import numpy as np

# DIS's preset and the short side of the frames the flow is computed on (`benchmarks/video.py`,
# at the default weight, AMD EPYC): "fast" on 360 px frames cut the shared clip's warping error
# to 0.389× frame by frame's in 5.7 ms a frame (both flows); "ultrafast" to 0.425× in 2.8 ms,
# "medium" to 0.399× in 25 ms; "fast" on 180 px frames to 0.391× in 2.6 ms but 14% farther
# from frame by frame. Larger outputs take the flow of 360 px frames, scaled.
DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_FAST
FLOW_SIDE = 360
# Ruder et al.'s thresholds, in pixels of the output frame.
OCCLUSION_SCALE, OCCLUSION_OFFSET = 0.01, 0.5
BOUNDARY_SCALE, BOUNDARY_OFFSET = 0.01, 0.002
# A scene cut: less than this share of the frame passes the flow's tests, or the warped
# previous input differs from the current one by more than this on average (RGB in [0, 1]).
CUT_TRUSTED_SHARE = 0.5
CUT_DIFFERENCE = 0.1


def gray(frame: np.ndarray, side: int = FLOW_SIDE) -> np.ndarray:
    """An RGB uint8 frame as the flow's grey uint8 image, its short side at most ``side``."""
    image = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    scale = side / min(image.shape[:2])
    if scale < 1:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at x + flow(x) (bilinear; the border repeated beyond the edges)."""
    height, width = flow.shape[:2]
    grid = flow + _grid(height, width)
    return cv2.remap(image, grid, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=4)  # a stream has one size; a few cover size changes
def _grid(height: int, width: int) -> np.ndarray:
    """Each pixel's own (x, y), float32 (height, width, 2): the identity map of `cv2.remap`."""
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([x, y])


def _squared(flow: np.ndarray) -> np.ndarray:
    u, v = cv2.split(flow)
    return u * u + v * v


def disoccluded(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s forward-backward test: where the backward flow ŵ (from this frame to the
    previous) and the forward flow w̃ sampled where ŵ points do not cancel,
    |w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5. True: the pixel was hidden in the previous frame."""
    along = warp(forward, backward)
    bound = OCCLUSION_SCALE * (_squared(along) + _squared(backward)) + OCCLUSION_OFFSET
    return _squared(along + backward) > bound


def motion_boundaries(backward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s motion boundaries: |∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002, where the flow
    changes faster than its own size allows (central differences, as `np.gradient`)."""
    dx = cv2.Sobel(backward, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    dy = cv2.Sobel(backward, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    gradient = _squared(dx) + _squared(dy)
    return gradient > BOUNDARY_SCALE * _squared(backward) + BOUNDARY_OFFSET


def trusted(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Where the flow passes both tests: float32 1 or 0."""
    bad = disoccluded(backward, forward) | motion_boundaries(backward)
    return (~bad).astype(np.float32)


class Flow:
    """DIS flow between two grey frames from `gray`, returned at the output's size in its
    pixels."""

    def __init__(self, preset: int = DIS_PRESET, side: int = FLOW_SIDE) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)
        self.side = side

    def __call__(
        self, source: np.ndarray, target: np.ndarray, shape: tuple[int, int]
    ) -> np.ndarray:
        """The flow f with source(x) ≈ target(x + f(x)), (height, width, 2) at ``shape``."""
        flow = self._dis.calc(source, target, None)
        if flow.shape[:2] != shape:
            scale = shape[1] / flow.shape[1]
            flow = cv2.resize(flow, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR) * scale
        return flow


@dataclass(frozen=True)
class Motion:
    """How a frame relates to its predecessor, from the input frames alone: the flow back to
    it and where that flow is trusted (None for a first frame or after a scene cut)."""

    backward: np.ndarray | None = None  # (H, W, 2): frame t at x is frame t-1 at x + flow(x)
    trusted: np.ndarray | None = None  # (H, W) float32, 1 where the flow passes both tests
    trusted_share: float = 1.0
    cut: bool = False  # a scene cut: the history is dropped
    flow_seconds: float = 0.0  # the two DIS flows
    test_seconds: float = 0.0  # the tests of the flow and the cut


class Tracker:
    """The motion of a stream of uint8 RGB input frames (all of one size), frame by frame. One
    per stream: it keeps the previous frame."""

    def __init__(self, flow: Flow | None = None) -> None:
        self.flow = flow or Flow()
        self.reset()

    def reset(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # grey and RGB

    def __call__(self, frame: np.ndarray) -> Motion:
        started = time.perf_counter()
        current = gray(frame, self.flow.side)
        previous, self._previous = self._previous, (current, frame)
        if previous is None or previous[1].shape != frame.shape:  # a first frame, or resized
            return Motion(flow_seconds=time.perf_counter() - started)
        previous_gray, previous_frame = previous
        shape = frame.shape[:2]
        backward = self.flow(current, previous_gray, shape)
        forward = self.flow(previous_gray, current, shape)
        flowed = time.perf_counter()
        mask = trusted(backward, forward)
        share = float(mask.mean())
        # The warped previous input against this one, where the flow is trusted: a new shot
        # can pass the flow's tests where both are flat, but not look like the last one.
        difference = cv2.absdiff(warp(previous_frame, backward), frame)
        mismatch = sum(cv2.mean(difference, (mask > 0).view(np.uint8))[:3]) / 3 / 255
        cut = share < CUT_TRUSTED_SHARE or mismatch > CUT_DIFFERENCE
        seconds = {"flow_seconds": flowed - started, "test_seconds": time.perf_counter() - flowed}
        if cut:
            return Motion(trusted_share=share, cut=True, **seconds)
        return Motion(backward, mask, share, False, **seconds)


class Blender:
    """Stylized frames blended with the previous output warped by their `Motion`. One per
    stream: it keeps the previous output."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        self._previous: np.ndarray | None = None

    def __call__(self, stylized: np.ndarray, motion: Motion) -> np.ndarray:
        """``stylized`` (float32 (H, W, 3) in [0, 1]) blended with the previous output where
        ``motion`` trusts the flow, by the weight."""
        output = stylized
        if self._previous is not None and motion.backward is not None and self.weight > 0:
            alpha = (self.weight * motion.trusted)[..., None]
            output = stylized + alpha * (warp(self._previous, motion.backward) - stylized)
        self._previous = output
        return output
