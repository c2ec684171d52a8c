"""VGG19's passes over an image block by block, exactly: memory follows the block, not the image.

Galerne, Raad, Lezama and Morel, "Scaling Painting Style Transfer" (EGSR 2024, arXiv
2212.13459) observe that the Gram loss of a whole image and its exact gradient can be computed
one block at a time. This module does it for any loss made of sums over locations of VGG19's
features (`nst.losses.StyleLoss` is one): it adds up the sums over blocks (`summed`) and pushes
the loss's gradient with respect to the sums back through each block (`gradient`).

Geometry. VGG19's convolutions are 3x3 'same' and its pools 2x2 with stride 2, so a feature of
the deepest layer the loss uses (block5_conv2, stride 16 px) sees 188 px of the image: 86 px
beyond its own 16 px cell on each side (`receptive_field`, worked out from the layer list). The
image is cut into blocks whose inner parts tile it, at offsets that are multiples of that
stride, so every layer's grid and pooling windows in a block coincide with the whole image's
(the last block ends at the image's edge, and 'VALID' pooling floors its size as it floors the
image's). VGG19 runs on each inner part plus a margin that covers the receptive field (86 px,
rounded up to the stride: 96), cut off where the image ends, so that the image's own zero
padding applies there. The inner part's features are then, at every layer, exactly those of the
whole image at the same place: zero padding at the margin's outer edge reaches no inner feature.

Evaluation. Every term of the loss is a function of sums over locations (in
`nst.losses.StyleLoss`: guided Gram sums and feature sums per region and style layer, squared
content errors per content layer), and a sum over the image is the sum of its blocks'. Pass 1
(`summed`) runs each block forward only and adds up its inner part's statistics S; the loss
follows from them, and autodiff on S alone gives dL/dS. Pass 2 (`gradient`) runs each block again
under a tape and takes the gradient of <dL/dS, S_block> with respect to the block's pixels,
margin included: dL/dx = Σ_blocks dL/dS · dS_block/dx, because S = Σ_blocks S_block and each
S_block is the same function of the image's pixels as the whole image's network computes. An
evaluation costs two forward passes and one backward pass of every block with its margin,
against one of each for the whole image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nst import tiling
from nst.runtime import tf
from nst.vgg import CONV_LAYERS, FeatureExtractor, pools_before

# Where one block's features lie in the whole image's grid at each layer: (rows, columns).
Windows = dict[str, tiling.Window]
# Sums over the locations of a block's features: (features by layer, their windows) -> a nest of
# tensors, which add up over blocks.
Statistics = Callable[[dict[str, tf.Tensor], Windows | None], Any]


def _path(layers: Sequence[str]) -> tuple[str, ...]:
    """VGG19's conv layers in order, up to the deepest of ``layers``."""
    return CONV_LAYERS[: max(CONV_LAYERS.index(name) for name in layers) + 1]


def strides(layers: Sequence[str]) -> dict[str, int]:
    """Each layer's stride in image pixels (2 to the number of pools before it), for the conv
    layers up to the deepest of ``layers``."""
    stride, result = 1, {}
    for name in _path(layers):
        stride *= 2 if pools_before(name) else 1
        result[name] = stride
    return result


def layer_shapes(shape: tuple[int, int], layers: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Each of ``layers``' (height, width) for an image of ``shape``: each 'VALID' pool floors."""
    steps = strides(layers)
    return {name: (shape[0] // steps[name], shape[1] // steps[name]) for name in layers}


def receptive_field(layers: Sequence[str]) -> tuple[int, int]:
    """(before, after): how many image pixels a feature of the deepest of ``layers`` sees before
    the start of its own stride-wide cell and after its end. Feature i of a layer with stride s
    sees pixels s*i - before to s*i + s - 1 + after."""
    before = last = 0  # pixels seen before, and the last pixel seen, by feature 0
    stride = 1
    for name in _path(layers):
        if pools_before(name):  # a 2x2 window: also the next feature of the layer below
            last += stride
            stride *= 2
        before += stride  # a 3x3 convolution: one feature more on each side
        last += stride
    return before, last - (stride - 1)


def margin(layers: Sequence[str]) -> int:
    """The margin around a block's inner part that makes its features exact up to the deepest of
    ``layers``: the receptive field's reach, rounded up to that layer's stride."""
    stride = strides(layers)[_path(layers)[-1]]
    return math.ceil(max(receptive_field(layers)) / stride) * stride


@dataclass(frozen=True)
class Block:
    """One block: ``inner`` (the pixels whose features it gives) and ``crop`` (what VGG19 runs
    on: the inner part and its margin, within the image)."""

    inner: tiling.Window
    crop: tiling.Window

    def cut(self, image: tf.Tensor) -> tf.Tensor:
        """The block's crop of ``image`` (1, H, W, C)."""
        return image[:, self.crop[0], self.crop[1], :]

    def window(self, stride: int) -> tiling.Window:
        """The inner part in the whole image's grid at a layer of ``stride``."""
        return tiling.scaled(self.inner, stride)

    def inner_of_crop(self, stride: int) -> tiling.Window:
        """The inner part in the crop's grid at a layer of ``stride``."""
        return tiling.scaled(tiling.relative(self.inner, self.crop), stride)


def tile(shape: tuple[int, int], size: int, layers: Sequence[str]) -> list[Block]:
    """Blocks whose inner parts tile an image of ``shape``, each at most about ``size`` px square
    (cuts at multiples of the deepest layer's stride), for features up to the deepest of
    ``layers``."""
    stride = strides(layers)[_path(layers)[-1]]
    reach = margin(layers)
    return [
        Block(inner, tiling.widen(inner, reach, shape))
        for inner in tiling.tile(shape, size, stride)
    ]


def _inner_features(
    extractor: FeatureExtractor, crop: tf.Tensor, block: Block, layers: Sequence[str]
) -> tuple[dict[str, tf.Tensor], Windows]:
    """The block's inner features at ``layers``, from its ``crop`` of the image, and where they
    lie in the whole image's grids."""
    steps = strides(layers)
    features = extractor(crop)
    inner = {name: features[name][:, *block.inner_of_crop(steps[name]), :] for name in layers}
    return inner, {name: block.window(steps[name]) for name in layers}


def summed(
    extractor: FeatureExtractor,
    image: tf.Tensor,
    size: int,
    layers: Sequence[str],
    statistics: Statistics,
) -> Any:
    """Pass 1: ``statistics`` (a nest of sums over the locations of its features) of the whole
    ``image`` (1, H, W, 3) at ``layers``, added up over blocks of ``size`` px."""
    total = None
    for block in tile(image.shape[1:3], size, layers):
        part = statistics(*_inner_features(extractor, block.cut(image), block, layers))
        total = part if total is None else tf.nest.map_structure(tf.add, total, part)
    return total


def features(
    extractor: FeatureExtractor, image: tf.Tensor, size: int, layers: Sequence[str]
) -> dict[str, tf.Tensor]:
    """The whole ``image``'s features at ``layers``, assembled from blocks of ``size`` px."""
    shapes = layer_shapes(image.shape[1:3], layers)
    maps: dict[str, np.ndarray] = {}
    for block in tile(image.shape[1:3], size, layers):
        inner, windows = _inner_features(extractor, block.cut(image), block, layers)
        for name, part in inner.items():
            if name not in maps:
                maps[name] = np.zeros((1, *shapes[name], part.shape[-1]), np.float32)
            maps[name][:, *windows[name], :] = part.numpy()
    return {name: tf.constant(value) for name, value in maps.items()}


def gradient(
    extractor: FeatureExtractor,
    image: tf.Tensor,
    size: int,
    layers: Sequence[str],
    statistics: Statistics,
    by_statistics: Any,
) -> tf.Tensor:
    """Pass 2: the gradient with respect to ``image`` of a loss whose gradient with respect to
    its `summed` ``statistics`` is ``by_statistics`` (a nest of the same structure): the sum over
    blocks of d <dL/dS, S_block> / d crop."""
    weights = tf.nest.flatten(by_statistics)
    total = tf.Variable(tf.zeros_like(image))
    for block in tile(image.shape[1:3], size, layers):
        crop = block.cut(image)
        with tf.GradientTape() as tape:
            tape.watch(crop)
            sums = tf.nest.flatten(statistics(*_inner_features(extractor, crop, block, layers)))
            surrogate = tf.add_n([tf.reduce_sum(s * w) for s, w in zip(sums, weights, strict=True)])
        rows, columns = block.crop
        total[:, rows, columns, :].assign(
            total[:, rows, columns, :] + tape.gradient(surrogate, crop)
        )
    return tf.convert_to_tensor(total)
