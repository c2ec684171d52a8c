"""Measures of a result that neither path optimizes, for benchmarks and tests to judge by.

The losses (`nst.losses.score`) are what the slow path minimises; these look at a picture from
elsewhere: its fine detail, its colors, how far its features lie from the painting's.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from nst.color import RGB_TO_YIQ


def high_frequency_energy(image: np.ndarray) -> float:
    """Mean squared Laplacian of the luminance (values in [0, 1]): fine detail and edges."""
    luminance = image @ RGB_TO_YIQ[0]
    return float(np.mean(ndimage.laplace(luminance.astype(np.float64)) ** 2))


def mean_color_distance(image: np.ndarray, photo: np.ndarray) -> float:
    """Euclidean distance between the mean RGB colors of two images (values in [0, 1])."""
    return float(np.linalg.norm(image.mean(axis=(0, 1)) - photo.mean(axis=(0, 1))))


def sliced_wasserstein(
    features: dict[str, np.ndarray], reference: dict[str, np.ndarray], projections: int = 256
) -> float:
    """How far two images' VGG19 feature distributions are, by a statistic neither style loss
    optimizes: per layer, the features (locations × channels) projected on ``projections``
    random directions (the same for both, seeded), each projection's sorted values compared at
    the same quantiles (the 1-D Wasserstein-2 distance, squared), averaged over directions and
    divided by the reference's mean squared projection, so layers count alike; the mean over
    the layers of ``features`` (dicts of (1, h, w, C) arrays)."""
    rng = np.random.default_rng(0)
    distances = []
    for name, ours in features.items():
        a = ours.reshape(-1, ours.shape[-1]).astype(np.float64)
        b = reference[name].reshape(-1, ours.shape[-1]).astype(np.float64)
        directions = rng.normal(size=(a.shape[1], projections))
        directions /= np.linalg.norm(directions, axis=0)
        count = max(len(a), len(b))
        pa, pb = (_at_quantiles(np.sort(x @ directions, axis=0), count) for x in (a, b))
        distances.append(np.mean((pa - pb) ** 2) / np.mean(pb**2))
    return float(np.mean(distances))


def _at_quantiles(ordered: np.ndarray, count: int) -> np.ndarray:
    """The columns of ``ordered`` (sorted along axis 0) at ``count`` evenly spaced quantiles,
    interpolated linearly as `np.quantile` does, which is far slower here: it partitions once
    per quantile."""
    position = np.linspace(0, len(ordered) - 1, count)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, len(ordered) - 1)
    share = (position - below)[:, None]
    return ordered[below] * (1 - share) + ordered[above] * share
