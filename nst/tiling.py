"""Blocks that tile an image, each with a margin: the geometry of every block-wise pass.

Both networks can run on an image block by block with exactly the whole image's result (VGG19's
passes in `nst.vgg_blocks`, the fast network's in `nst.fast_blocks`). A block's *inner* part is
what it contributes; the network runs on its *crop*, the inner part plus a margin that covers
the network's reach, cut off where the image ends, so that the image's own padding acts only at
its own borders. Cuts lie at multiples of the network's largest stride, so every layer's grid
and pooling windows in a block coincide with the whole image's.
"""

from __future__ import annotations

import itertools
import math

# Rows and columns of a block, in full-resolution pixels.
Window = tuple[slice, slice]


def cuts(length: int, size: int, stride: int) -> list[slice]:
    """Evenly spaced spans that tile ``length`` pixels, each about ``size`` at most, every cut at a
    multiple of ``stride`` (the last span ends at ``length``)."""
    count = math.ceil(length / max(size, stride))
    edges = [stride * round(i * length / (count * stride)) for i in range(count)] + [length]
    return [slice(start, stop) for start, stop in itertools.pairwise(edges) if stop > start]


def tile(shape: tuple[int, int], size: int, stride: int) -> list[Window]:
    """The inner windows of blocks about ``size`` px square that tile an image of ``shape``
    (height, width), row by row."""
    rows, columns = (cuts(length, size, stride) for length in shape)
    return [(row, column) for row in rows for column in columns]


def widen(window: Window, margin: int, shape: tuple[int, int]) -> Window:
    """``window`` with ``margin`` pixels more on each side, within an image of ``shape``."""
    return tuple(  # type: ignore[return-value]
        slice(max(0, span.start - margin), min(limit, span.stop + margin))
        for span, limit in zip(window, shape, strict=True)
    )


def relative(inner: Window, outer: Window) -> Window:
    """``inner`` in the coordinates of ``outer``, which contains it."""
    return tuple(  # type: ignore[return-value]
        slice(i.start - o.start, i.stop - o.start) for i, o in zip(inner, outer, strict=True)
    )


def scaled(window: Window, stride: int) -> Window:
    """``window`` on the grid of a layer whose pixels each cover ``stride`` image pixels."""
    return tuple(slice(s.start // stride, s.stop // stride) for s in window)  # type: ignore[return-value]
