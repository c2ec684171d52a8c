"""Pictures of what the slow path optimizes: VGG19 feature maps and Gram matrices.

Early layers respond to color and fine texture, deep ones to outlines and objects; the Gram
matrix of a layer (channel-by-channel correlations), or the means and covariance of its features
(what the Wasserstein-2 statistic compares), is the "style" the optimizer matches.
Everything comes from the optimizer's own feature extractor (`nst.vgg.feature_extractor`).
"""

from __future__ import annotations

import numpy as np

from nst.images import resize_map
from nst.losses import gram_matrix, guide, layer_map
from nst.runtime import tf
from nst.targets import Targets
from nst.vgg import LOSS_LAYERS, feature_extractor

LAYERS = LOSS_LAYERS  # the layers a user can inspect

# Viridis at nine stops: perceptually even, readable in grey, no matplotlib needed.
_VIRIDIS = (
    np.array(
        [
            [68, 1, 84],
            [71, 44, 122],
            [59, 81, 139],
            [44, 113, 142],
            [33, 144, 141],
            [39, 173, 129],
            [92, 200, 99],
            [170, 220, 50],
            [253, 231, 37],
        ],
        dtype=np.float32,
    )
    / 255.0
)


# The covariance's two signs, for a heat map white at zero.
_RED, _BLUE = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.3, 0.8], np.float32)


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to viridis RGB, shape (*values.shape, 3)."""
    position = np.clip(values, 0.0, 1.0) * (len(_VIRIDIS) - 1)
    low = np.floor(position).astype(int).clip(0, len(_VIRIDIS) - 2)
    fraction = (position - low)[..., None]
    return (_VIRIDIS[low] * (1 - fraction) + _VIRIDIS[low + 1] * fraction).astype(np.float32)


def activations(image: np.ndarray, layer: str) -> np.ndarray:
    """The (height, width, channels) activations of `image` at `layer`."""
    features = feature_extractor()(tf.constant(image[None], tf.float32))
    return features[layer][0].numpy()


def feature_grid(maps: np.ndarray, count: int = 16, columns: int = 4) -> np.ndarray:
    """The `count` most active channels of one layer's activations `maps` (H, W, C) as a
    grid of viridis tiles, 2 px apart; each tile normalised on its own, so weak and strong
    channels are both readable.
    """
    strongest = np.argsort(maps.mean(axis=(0, 1)))[::-1][:count]
    height, width = maps.shape[:2]
    rows = -(-len(strongest) // columns)
    grid = np.ones((rows * (height + 2) - 2, columns * (width + 2) - 2, 3), np.float32)
    for index, channel in enumerate(strongest):
        tile = maps[..., channel]
        tile = (tile - tile.min()) / max(float(np.ptp(tile)), 1e-8)
        top, left = (index // columns) * (height + 2), (index % columns) * (width + 2)
        grid[top : top + height, left : left + width] = colormap(tile)
    return grid


def gram_heatmap(maps: np.ndarray, channels: int = 64, cell_pixels: int = 4) -> np.ndarray:
    """The Gram matrix of one layer's activations `maps` (first `channels` channels) as a
    viridis heat map, on a square-root scale (a few channels carry most of the energy), each
    entry a crisp `cell_pixels`-wide square so that viewers that smooth images do not blur it.
    """
    gram = gram_matrix(tf.constant(maps[None, ..., :channels]))[0].numpy()
    gram = np.sqrt(np.maximum(gram, 0.0))
    return _cells(colormap(gram / max(float(gram.max()), 1e-8)), cell_pixels)


def _cells(image: np.ndarray, pixels: int) -> np.ndarray:
    """Each entry of ``image`` a crisp square of ``pixels``, which viewers that smooth keep."""
    return np.repeat(np.repeat(image, pixels, axis=0), pixels, axis=1)


def moments_views(maps: np.ndarray, channels: int = 64, cell_pixels: int = 4) -> tuple:
    """What the Wasserstein-2 statistic matches of one layer's activations ``maps`` (first
    ``channels`` channels): the features' means as a strip of cells (viridis, by the largest),
    and their covariance as a heat map, positive red, negative blue, on a square-root scale."""
    flat = maps[..., :channels].reshape(-1, min(channels, maps.shape[-1])).astype(np.float64)
    mean = flat.mean(axis=0)
    covariance = (flat - mean).T @ (flat - mean) / len(flat)
    strip = colormap(mean / max(float(mean.max()), 1e-8))[None].repeat(8, axis=0)
    signed = np.sign(covariance) * np.sqrt(np.abs(covariance))
    signed /= max(float(np.abs(signed).max()), 1e-8)
    towards = np.where(signed[..., None] > 0, _RED, _BLUE)
    heat = 1.0 + np.abs(signed)[..., None] * (towards - 1.0)  # white at zero
    return _cells(strip, cell_pixels), _cells(heat.astype(np.float32), cell_pixels)


def region_views(
    targets: Targets, shape: tuple[int, int], layer: str
) -> tuple[np.ndarray, list[np.ndarray]]:
    """With a mask: the first region's map at `layer`'s ``shape`` (white: the first style), and
    each region's target Gram matrix there, as `gram_heatmap`s: what each region is asked to
    match (a style's, or the photo's own over its region)."""
    assert targets.regions is not None, "region views need targets with regions (a mask)"
    mask = layer_map(targets.regions[0], shape)[0, ..., 0].numpy()
    style_regions = targets.style_regions or (None,) * len(targets.styles)
    grams = []
    for style, area in zip(targets.styles, style_regions, strict=True):
        maps = activations(style, layer)
        if area is not None:
            maps = maps * guide(resize_map(area, style.shape[:2]), maps.shape[:2])[0].numpy()
        grams.append(gram_heatmap(maps))
    cell = max(1, 256 // shape[1])  # crisp cells, the width of the photo's 256 px
    return np.repeat(np.repeat(colormap(mask), cell, axis=0), cell, axis=1), grams
