"""Losses of the slow path: Gram-matrix style, content and total variation, weighted by a preset.

The presets are defined in `nst.options`: `tutorial` is exactly TensorFlow's style-transfer
tutorial, so results can be compared with it, and `score` measures any image under that
definition; `default` is tuned for looks and normalised per layer and per pixel, so the same
weights work at any resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nst import device, vgg_blocks
from nst.images import resize, resize_map
from nst.options import NORMALIZED, TUTORIAL, LossPreset, check_sides
from nst.runtime import tf
from nst.targets import Targets
from nst.vgg import FeatureExtractor, feature_extractor


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """The tutorial's Gram matrix: channel correlations averaged over locations, (B, C, C)."""
    shape = tf.shape(features)
    return gram_sum(features) / tf.cast(shape[1] * shape[2], features.dtype)


@tf.custom_gradient
def gram_sum(features: tf.Tensor) -> tuple[tf.Tensor, Callable]:
    """F^T F summed over locations, (B, C, C), with a cheaper gradient than autodiff's.

    Autodiff differentiates the product twice over every location (F U^T and F U); one product
    F (U + U^T) gives the same.
    """
    shape = tf.shape(features)
    flat = tf.reshape(features, [shape[0], -1, shape[3]])

    def gradient(upstream: tf.Tensor) -> tf.Tensor:
        return tf.reshape(tf.matmul(flat, upstream + tf.linalg.matrix_transpose(upstream)), shape)

    return tf.matmul(flat, flat, transpose_a=True), gradient


def total_variation(images: tf.Tensor, per_pixel: bool) -> tf.Tensor:
    """tf.image.total_variation (sum of absolute neighbour differences), or its per-pixel mean."""
    tv = tf.image.total_variation(images)
    if per_pixel:
        shape = tf.shape(images)
        tv = tv / tf.cast(shape[1] * shape[2] * shape[3], images.dtype)
    return tv


@dataclass(frozen=True)
class _Region:
    """Where one style target applies: ``share`` of the image, and per style layer the Gram
    matrix to match and the guide that restricts the image's Gram matrix to the region."""

    share: float
    targets: dict[str, tf.Tensor]
    guides: dict[str, tf.Tensor | None]  # (1, h, w, 1) per layer; None: the whole image


class StyleLoss:
    """The weighted loss of one (content, targets) problem at one image size, as a pure function.

    The targets' statistics are computed once here; `__call__` maps a batch-of-one image in
    [0, 1] to a dict of ``style``, ``content``, ``tv`` (each already weighted) and ``total``
    (what is minimised).

    Without regions, several styles are mixed by the targets' ``style_mix``: the target is the
    mix of their Gram matrices. With regions (resized to the content), each style applies where
    its map is (Gatys et al. 2017, spatial control): the map is brought to each layer's
    resolution, the image's features are weighted by it, and their Gram matrix, normalised by
    the region's own area, is matched to that style's (over its ``style_regions`` map, resized to
    the style, when one is given, else over all of it). Each region's style loss counts by its
    share of the image, and ``style_by_region`` reports them one by one.

    The loss is made of sums over locations (`statistics`) and terms of those sums (`terms`),
    so it can be computed block by block (`nst.vgg_blocks`). ``block_size`` says how VGG19 sees the
    images, the targets' and the loss's: whole (None), in blocks of that many px, or "auto" (by
    the device and each image's size, `nst.options.DeviceDefaults.block_size`); the values are
    the same.
    """

    def __init__(
        self,
        content: np.ndarray,
        targets: Targets,
        preset: LossPreset = NORMALIZED,
        extractor: FeatureExtractor | None = None,
        block_size: int | Literal["auto"] | None = "auto",
    ) -> None:
        for image in (content, *targets.styles):
            check_sides(image.shape[1], image.shape[0])
        self.preset = preset
        self.extractor = extractor or feature_extractor(preset.layers)
        self._block_size = block_size
        self.block_size = self._blocks_for(content.shape[:2])
        self.shapes = vgg_blocks.layer_shapes(content.shape[:2], preset.layers)
        content_features = self._features(content, tuple(preset.content_layers))
        self.content_targets = {name: content_features[name] for name in preset.content_layers}
        style_regions = targets.style_regions or (None,) * len(targets.styles)
        grams = [
            self._grams(style, None if area is None else resize_map(area, style.shape[:2]))
            for style, area in zip(targets.styles, style_regions, strict=True)
        ]
        if targets.regions is None:
            mixed = {
                name: sum(w * g[name] for w, g in zip(targets.style_mix, grams, strict=True))
                for name in preset.style_layers
            }
            self.regions = [_Region(1.0, mixed, dict.fromkeys(preset.style_layers))]
        else:
            fitted = [resize_map(area, content.shape[:2]) for area in targets.regions]
            self.regions = [  # an empty region asks for nothing
                _Region(float(np.mean(area)), gram, self._guides(area, self.shapes))
                if np.any(area > 0)
                else _Region(0.0, {}, {})
                for area, gram in zip(fitted, grams, strict=True)
            ]
        self.by_region = targets.regions is not None
        # Each term's factor: its layer's weight, over its target's mean square when normalized.
        self.style_factors = [self._factors(preset.style_layers, r.targets) for r in self.regions]
        self.content_factors = self._factors(preset.content_layers, self.content_targets)

    def _blocks_for(self, shape: tuple[int, int]) -> int | None:
        if self._block_size == "auto":
            return device.defaults().block_size(shape)
        return self._block_size

    def _summed(self, image: tf.Tensor, statistics: Callable, size: int | None) -> Any:
        """``statistics`` of the image's features (see `nst.vgg_blocks.summed`), whole or in blocks
        of ``size`` px."""
        if size is None:
            return statistics(self.extractor(image), None)
        return vgg_blocks.summed(self.extractor, image, size, self.preset.layers, statistics)

    def _features(self, image: np.ndarray, layers: tuple[str, ...]) -> dict[str, tf.Tensor]:
        batch = tf.constant(image[None], tf.float32)
        size = self._blocks_for(image.shape[:2])
        if size is None:
            return self.extractor(batch)
        return vgg_blocks.features(self.extractor, batch, size, layers)

    def _grams(self, style: np.ndarray, area: np.ndarray | None) -> dict[str, tf.Tensor]:
        shapes = vgg_blocks.layer_shapes(style.shape[:2], self.preset.style_layers)
        guides = (
            dict.fromkeys(self.preset.style_layers) if area is None else self._guides(area, shapes)
        )
        sums = self._summed(
            tf.constant(style[None], tf.float32),
            lambda features, windows: _gram_sums(features, guides, windows),
            self._blocks_for(style.shape[:2]),
        )
        return {name: sums[name] / (h * w) for name, (h, w) in shapes.items()}

    def _guides(self, area: np.ndarray, shapes: dict[str, tuple[int, int]]) -> dict[str, tf.Tensor]:
        return {name: guide(area, shapes[name]) for name in self.preset.style_layers}

    def _factors(self, weights: dict[str, float], targets: dict[str, tf.Tensor]) -> dict:
        if not self.preset.normalized:
            return dict(weights)
        return {
            name: w / (float(tf.reduce_mean(targets[name] ** 2)) + 1e-8)
            for name, w in weights.items()
        }

    def statistics(
        self, features: dict[str, tf.Tensor], windows: vgg_blocks.Windows | None = None
    ) -> dict[str, Any]:
        """The sums over the locations of ``features`` that the loss is made of: ``style``, per
        region and style layer the guided Gram sum; ``content``, per content layer the summed
        squared error. ``windows``: where the features lie in the whole image's grids when they
        are a block's (`nst.vgg_blocks`); the guides and content targets are cut to them."""
        style = [
            _gram_sums(features, region.guides, windows, tuple(region.targets))
            for region in self.regions
        ]
        content = {
            name: tf.reduce_sum((features[name] - _cut(target, windows, name)) ** 2)
            for name, target in self.content_targets.items()
        }
        return {"style": style, "content": content}

    def terms(self, statistics: dict[str, Any], image: tf.Tensor) -> dict[str, tf.Tensor]:
        """The loss's values from the whole image's `statistics`, and ``image`` for its total
        variation."""
        preset = self.preset
        per_region = [
            preset.style_weight
            * tf.add_n(
                [tf.zeros(())]
                + [
                    factors[name]
                    * tf.reduce_mean((sums[name] / self._locations(name) - target) ** 2)
                    for name, target in region.targets.items()
                ]
            )
            for region, factors, sums in zip(
                self.regions, self.style_factors, statistics["style"], strict=True
            )
        ]
        style = tf.add_n([r.share * loss for r, loss in zip(self.regions, per_region, strict=True)])
        content = preset.content_weight * tf.add_n(
            [
                self.content_factors[name]
                * statistics["content"][name]
                / float(np.prod(target.shape))
                for name, target in self.content_targets.items()
            ]
        )
        tv = preset.tv_weight * tf.reduce_sum(total_variation(image, preset.normalized))
        values = {"style": style, "content": content, "tv": tv, "total": style + content + tv}
        if self.by_region:
            values["style_by_region"] = tf.stack(per_region)
        return values

    def _locations(self, name: str) -> float:
        height, width = self.shapes[name]
        return float(height * width)

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.terms(self._summed(image, self.statistics, self.block_size), image)

    def value_and_grad(self) -> Callable[[tf.Tensor], tuple[dict[str, tf.Tensor], tf.Tensor]]:
        """What the optimizer calls for each evaluation: image (1, H, W, 3) -> (the loss's values,
        d total / d image); one compiled graph for the whole image, or two passes over blocks
        (`nst.vgg_blocks`), which give the same."""
        if self.block_size is None:

            @tf.function(reduce_retracing=True)
            def whole(image: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
                with tf.GradientTape() as tape:
                    tape.watch(image)
                    values = self(image)
                return values, tape.gradient(values["total"], image)

            return whole

        layers, size = self.preset.layers, self.block_size

        def in_blocks(image: tf.Tensor) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
            statistics = vgg_blocks.summed(self.extractor, image, size, layers, self.statistics)
            with tf.GradientTape() as tape:
                tape.watch([statistics, image])
                values = self.terms(statistics, image)
            by_statistics, direct = tape.gradient(  # direct: the total variation's
                values["total"], [statistics, image], unconnected_gradients="zero"
            )
            blocks = vgg_blocks.gradient(
                self.extractor, image, size, layers, self.statistics, by_statistics
            )
            return values, direct + blocks

        return in_blocks


def _cut(tensor: tf.Tensor, windows: vgg_blocks.Windows | None, name: str) -> tf.Tensor:
    """``tensor`` (1, h, w, C) at a layer's whole-image grid, cut to a block's window there."""
    return tensor if windows is None else tensor[:, *windows[name], :]


def _gram_sums(
    features: dict[str, tf.Tensor],
    guides: dict[str, tf.Tensor | None],
    windows: vgg_blocks.Windows | None,
    layers: tuple[str, ...] | None = None,
) -> dict[str, tf.Tensor]:
    """Per layer (those of ``guides``, or ``layers``), the Gram sum of the features weighted by
    the layer's guide (cut to ``windows``), or unweighted where it is None."""
    return {
        name: gram_sum(
            features[name]
            if guides[name] is None
            else features[name] * _cut(guides[name], windows, name)
        )
        for name in (guides if layers is None else layers)
    }


def layer_map(area: np.ndarray, shape: tuple[int, int]) -> tf.Tensor:
    """A region's (H, W) map at a layer's (height, width), area-averaged as the network pools,
    shaped (1, height, width, 1)."""
    return tf.cast(tf.image.resize(area[None, ..., None], shape, "area"), tf.float32)


def guide(area: np.ndarray, shape: tuple[int, int]) -> tf.Tensor:
    """`layer_map` scaled so that the Gram matrix of features weighted by it averages over the
    region, not over the whole image."""
    at_layer = layer_map(area, shape)
    return at_layer * tf.sqrt(shape[0] * shape[1] / tf.maximum(tf.reduce_sum(at_layer**2), 1e-8))


def score(
    image: np.ndarray, content: np.ndarray, targets: Targets
) -> dict[str, float | list[float]]:
    """Score ``image`` under the tutorial's definition: ``style_loss``, ``content_loss``,
    ``tv_loss`` (30 x total variation) and ``total`` (their sum, what the tutorial minimises).
    With regions (see `StyleLoss`), also ``style_loss_by_region``: each region's style loss as
    if it were the whole image; ``style_loss`` is their sum weighted by the regions' shares.

    The content is resized to the image's size; the targets' styles are taken as given, at the
    size the image is to be compared with them (`pipeline.Job.score` gives them as both paths
    use them). The image is clipped to [0, 1] first.
    """
    loss = StyleLoss(resize(content, image.shape[:2]), targets, TUTORIAL)
    values = loss(tf.constant(np.clip(image, 0.0, 1.0)[None], tf.float32))
    scores: dict[str, float | list[float]] = {
        "style_loss": float(values["style"]),
        "content_loss": float(values["content"]),
        "tv_loss": float(values["tv"]),
        "total": float(values["total"]),
    }
    if "style_by_region" in values:
        scores["style_loss_by_region"] = [float(v) for v in values["style_by_region"]]
    return scores
