"""Losses of the slow path: Gram-matrix style, content and total variation, and their presets.

`tutorial` is exactly TensorFlow's style-transfer tutorial, so results can be compared with it;
`score` measures any image under that definition. `default` is tuned for looks and normalised
per layer and per pixel, so the same weights work at any resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import tensorflow as tf

from nst.errors import InputError
from nst.images import resize, resize_map
from nst.options import MIN_SIDE, STYLE_EMPHASIS, OptimizeOptions, normalize_mix
from nst.vgg import FeatureExtractor, feature_extractor

TUTORIAL_STYLE_LAYERS = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)


@dataclass(frozen=True)
class LossPreset:
    """Which layers count and how much. Layer weights multiply the global style/content weights."""

    style_layers: dict[str, float]
    content_layers: dict[str, float]
    style_weight: float
    content_weight: float
    tv_weight: float
    # False: the tutorial's plain mean squared errors and summed TV (which grows with the image).
    # True: each layer's error is relative to its target's mean square, so every layer counts
    # alike whatever its activation scale, and TV is a per-pixel mean: the same weights then
    # work at any resolution and for any style image.
    normalized: bool = False
    name: str = field(default="custom", compare=False)

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.style_layers, *self.content_layers]))


TUTORIAL = LossPreset(
    style_layers={name: 1 / 5 for name in TUTORIAL_STYLE_LAYERS},
    content_layers={"block5_conv2": 1.0},
    style_weight=1e-2,
    content_weight=1e4,
    tv_weight=30.0,
    name="tutorial",
)
# The tutorial's layers, each normalised (so no single layer dominates, as block4_conv1 does in
# the tutorial's sums). Content at block5_conv2 also scored better under the tutorial's
# definition than block4_conv2 at equal time. Weights chosen by eye on Tübingen x Starry Night.
DEFAULT = LossPreset(
    style_layers={name: 1 / 5 for name in TUTORIAL_STYLE_LAYERS},
    content_layers={"block5_conv2": 1.0},
    style_weight=10.0,
    content_weight=1.0,
    tv_weight=1.0,
    normalized=True,
    name="default",
)
PRESETS = {preset.name: preset for preset in (DEFAULT, TUTORIAL)}  # named in nst.options.PRESETS


def preset_for(options: OptimizeOptions) -> LossPreset:
    """The loss preset ``options`` name, with its weight overrides and style emphasis applied."""
    preset = PRESETS[options.preset]
    overrides = {
        name: value
        for name in ("style_weight", "content_weight", "tv_weight")
        if (value := getattr(options, name)) is not None
    }
    style_weight = overrides.get("style_weight", preset.style_weight)
    overrides["style_weight"] = style_weight * STYLE_EMPHASIS[options.emphasis]
    return replace(preset, **overrides)


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """The tutorial's Gram matrix: channel correlations averaged over locations, (B, C, C)."""
    shape = tf.shape(features)
    locations = tf.cast(shape[1] * shape[2], features.dtype)
    return tf.einsum("bijc,bijd->bcd", features, features) / locations


@tf.custom_gradient
def gram_error(features: tf.Tensor, target: tf.Tensor) -> tuple[tf.Tensor, Callable]:
    """mean((G - target)^2) for G = gram_matrix(features), with a cheaper gradient than autodiff's.

    Autodiff differentiates the product F^T F twice over every location (F dG and F dG^T).
    G - target is symmetric, so the gradient is one product: 4 F (G - target) / (N size(G)).
    """
    shape = tf.shape(features)
    locations = tf.cast(shape[1] * shape[2], features.dtype)
    flat = tf.reshape(features, [shape[0], -1, shape[3]])
    difference = tf.matmul(flat, flat, transpose_a=True) / locations - target
    size = tf.cast(tf.size(difference), features.dtype)

    def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, None]:
        scaled = difference * (upstream * 4.0 / (locations * size))
        return tf.reshape(tf.matmul(flat, scaled), shape), None  # the target is a constant

    return tf.reduce_sum(difference**2) / size, gradient


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
    """The weighted loss of one (content, styles) problem at one image size, as a pure function.

    Targets are computed once here; `__call__` maps a batch-of-one image in [0, 1] to a dict of
    ``style``, ``content``, ``tv`` (each already weighted) and ``total`` (what is minimised).

    Without ``regions``, several styles are mixed by ``style_mix``: the target is the mix of
    their Gram matrices. With ``regions`` (one (H, W) map in [0, 1] per style, resized to the
    content), each style applies where its map is (Gatys et al. 2017, spatial control): the map is
    brought to each layer's resolution, the image's features are weighted by it, and their Gram
    matrix, normalised by the region's own area, is matched to that style's (to its Gram matrix
    over ``style_regions[i]``, resized to the style, when that map is given, else over all of it).
    Each region's style loss counts by its share of the image, and ``style_by_region`` reports
    them one by one.
    """

    def __init__(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        preset: LossPreset = DEFAULT,
        style_mix: Sequence[float] | None = None,
        extractor: FeatureExtractor | None = None,
        regions: Sequence[np.ndarray] | None = None,
        style_regions: Sequence[np.ndarray | None] | None = None,
    ) -> None:
        style_mix = normalize_mix(style_mix, len(styles))
        for image in (content, *styles):
            if min(image.shape[:2]) < MIN_SIDE:
                raise InputError(
                    f"Images need at least {MIN_SIDE} px on each side, not {image.shape[:2]}."
                )
        self.preset = preset
        self.extractor = extractor or feature_extractor(preset.layers)
        content_features = self.extractor(tf.constant(content[None], tf.float32))
        self.content_targets = {name: content_features[name] for name in preset.content_layers}
        style_regions = style_regions or [None] * len(styles)
        grams = [
            self._grams(style, None if area is None else resize_map(area, style.shape[:2]))
            for style, area in zip(styles, style_regions, strict=True)
        ]
        if regions is None:
            mixed = {
                name: sum(float(w) * g[name] for w, g in zip(style_mix, grams, strict=True))
                for name in preset.style_layers
            }
            self.regions = [_Region(1.0, mixed, dict.fromkeys(preset.style_layers))]
        else:
            if len(regions) != len(styles):
                raise InputError(f"Give one region per style image ({len(styles)}).")
            fitted = [resize_map(area, content.shape[:2]) for area in regions]
            self.regions = [  # an empty region asks for nothing
                _Region(float(np.mean(area)), gram, self._guides(area, content_features))
                if np.any(area > 0)
                else _Region(0.0, {}, {})
                for area, gram in zip(fitted, grams, strict=True)
            ]
        self.by_region = regions is not None
        # Each term's factor: its layer's weight, over its target's mean square when normalized.
        self.style_factors = [self._factors(preset.style_layers, r.targets) for r in self.regions]
        self.content_factors = self._factors(preset.content_layers, self.content_targets)

    def _grams(self, style: np.ndarray, area: np.ndarray | None) -> dict[str, tf.Tensor]:
        features = self.extractor(tf.constant(style[None], tf.float32))
        guides = (
            dict.fromkeys(self.preset.style_layers)
            if area is None
            else (self._guides(area, features))
        )
        return {
            name: gram_matrix(_guided(features[name], guides[name]))
            for name in self.preset.style_layers
        }

    def _guides(self, area: np.ndarray, features: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return {name: guide(area, features[name].shape[1:3]) for name in self.preset.style_layers}

    def _factors(self, weights: dict[str, float], targets: dict[str, tf.Tensor]) -> dict:
        if not self.preset.normalized:
            return dict(weights)
        return {
            name: w / (float(tf.reduce_mean(targets[name] ** 2)) + 1e-8)
            for name, w in weights.items()
        }

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        preset = self.preset
        features = self.extractor(image)
        per_region = [
            preset.style_weight
            * tf.add_n(
                [tf.zeros(())]
                + [
                    factors[name] * gram_error(_guided(features[name], region.guides[name]), target)
                    for name, target in region.targets.items()
                ]
            )
            for region, factors in zip(self.regions, self.style_factors, strict=True)
        ]
        style = tf.add_n([r.share * loss for r, loss in zip(self.regions, per_region, strict=True)])
        content = preset.content_weight * tf.add_n(
            [
                self.content_factors[name] * tf.reduce_mean((features[name] - target) ** 2)
                for name, target in self.content_targets.items()
            ]
        )
        tv = preset.tv_weight * tf.reduce_sum(total_variation(image, preset.normalized))
        values = {"style": style, "content": content, "tv": tv, "total": style + content + tv}
        if self.by_region:
            values["style_by_region"] = tf.stack(per_region)
        return values


def layer_map(area: np.ndarray, shape: tuple[int, int]) -> tf.Tensor:
    """A region's (H, W) map at a layer's (height, width), area-averaged as the network pools,
    shaped (1, height, width, 1)."""
    return tf.cast(tf.image.resize(area[None, ..., None], shape, "area"), tf.float32)


def guide(area: np.ndarray, shape: tuple[int, int]) -> tf.Tensor:
    """`layer_map` scaled so that the Gram matrix of features weighted by it averages over the
    region, not over the whole image."""
    at_layer = layer_map(area, shape)
    return at_layer * tf.sqrt(shape[0] * shape[1] / tf.maximum(tf.reduce_sum(at_layer**2), 1e-8))


def _guided(features: tf.Tensor, guide: tf.Tensor | None) -> tf.Tensor:
    return features if guide is None else features * guide


def score(
    image: np.ndarray,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    style_mix: Sequence[float] | None = None,
    regions: Sequence[np.ndarray] | None = None,
    style_regions: Sequence[np.ndarray | None] | None = None,
) -> dict[str, float | list[float]]:
    """Score ``image`` under the tutorial's definition: ``style_loss``, ``content_loss``,
    ``tv_loss`` (30 x total variation) and ``total`` (their sum, what the tutorial minimises).
    With ``regions`` (see `StyleLoss`), also ``style_loss_by_region``: each region's style loss
    as if it were the whole image; ``style_loss`` is their sum weighted by the regions' shares.

    The content is resized to the image's size; the styles are taken as given, at the size the
    image is to be compared with them (`pipeline.Job.score` gives them as both paths use them).
    The image is clipped to [0, 1] first.
    """
    loss = StyleLoss(
        resize(content, image.shape[:2]), styles, TUTORIAL, style_mix, None, regions, style_regions
    )
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
