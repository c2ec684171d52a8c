"""What the slow path matches an image with: the styles, their mix, and where each one applies.

One `Targets` value travels whole from the job to the losses (`nst.losses.StyleLoss`), the
optimizer (`nst.optimize.optimize`) and the scorer (`nst.losses.score`), so every one of them
sees the same styles and regions. This module does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nst.images import resize
from nst.options import MIN_SIDE, normalize_mix


@dataclass(frozen=True)
class Targets:
    """The style images (at the size they are compared with the image) and how they combine.

    Without ``regions``, the styles' Gram matrices are mixed by ``style_mix`` (weights summing
    to 1). With ``regions`` (one (H, W) map in [0, 1] per style), each style applies where its
    map is (Gatys et al. 2017, spatial control); its Gram matrices are taken over its
    ``style_regions`` map of the style image where one is given, else over all of it.
    """

    styles: tuple[np.ndarray, ...]
    style_mix: tuple[float, ...] | None = None  # made whole: one weight per style, summing to 1
    regions: tuple[np.ndarray, ...] | None = None
    style_regions: tuple[np.ndarray | None, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        object.__setattr__(self, "style_mix", normalize_mix(self.style_mix, len(self.styles)))
        if self.regions is not None and len(self.regions) != len(self.styles):
            raise ValueError(f"one region per style image ({len(self.styles)})")

    def scaled(self, factor: float) -> Targets:
        """The same targets for an image ``factor`` times as large (coarse-to-fine scales): the
        styles resized by it; the region maps are fitted to each image by the losses."""
        if factor == 1:
            return self
        styles = tuple(
            resize(style, scaled_shape(style.shape[:2], factor)) for style in self.styles
        )
        return Targets(styles, self.style_mix, self.regions, self.style_regions)


def scaled_shape(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    """(height, width) times ``factor``, at least MIN_SIDE each."""
    return max(MIN_SIDE, round(shape[0] * factor)), max(MIN_SIDE, round(shape[1] * factor))


def build_targets(
    content: np.ndarray,
    styles: tuple[np.ndarray, ...],
    style_mix: tuple[float, ...] | None = None,
    mask: np.ndarray | None = None,
) -> Targets:
    """The targets of ``styles`` for an image the size of ``content``: mixed, or with a ``mask``
    at that size, white for the first style and black for the second. With one style, black
    keeps the photo's own style there: the photo's Gram matrices over the black region itself."""
    if mask is None:
        return Targets(styles, style_mix)
    regions = (mask, 1.0 - mask)
    if len(styles) == 2:
        return Targets(styles, style_mix, regions)
    return Targets((*styles, content), None, regions, (None, regions[1]))
