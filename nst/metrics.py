"""Measures of a result that neither path optimizes, for benchmarks and tests to judge by.

The losses (`nst.losses.score`) are what the slow path minimises; these look at a picture from
elsewhere: its fine detail, its colors.
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
