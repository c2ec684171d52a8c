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
from nst.images import resize, resize_style
from nst.options import MIN_SIDE, STYLE_EMPHASIS, OptimizeOptions, normalize_mix
from nst.vgg import FeatureExtractor, feature_extractor

TUTORIAL_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
                         "block5_conv1")  # fmt: skip


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


class StyleLoss:
    """The weighted loss of one (content, styles) problem at one image size, as a pure function.

    Targets are computed once here; `__call__` maps a batch-of-one image in [0, 1] to a dict of
    ``style``, ``content``, ``tv`` (each already weighted) and ``total`` (what is minimised).
    """

    def __init__(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        preset: LossPreset = DEFAULT,
        style_mix: Sequence[float] | None = None,
        extractor: FeatureExtractor | None = None,
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
        # Several styles: the target is the mix of their Gram matrices.
        self.style_targets = {name: 0.0 for name in preset.style_layers}
        for weight, style in zip(style_mix, styles, strict=True):
            features = self.extractor(tf.constant(style[None], tf.float32))
            for name in preset.style_layers:
                self.style_targets[name] += float(weight) * gram_matrix(features[name])
        # Each layer's factor: its weight, over its target's mean square when normalized.
        self.style_factors = self._factors(preset.style_layers, self.style_targets)
        self.content_factors = self._factors(preset.content_layers, self.content_targets)

    def _factors(self, weights: dict[str, float], targets: dict[str, tf.Tensor]) -> dict:
        if not self.preset.normalized:
            return dict(weights)
        return {name: w / (float(tf.reduce_mean(targets[name] ** 2)) + 1e-8)
                for name, w in weights.items()}  # fmt: skip

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        preset = self.preset
        features = self.extractor(image)
        style = preset.style_weight * tf.add_n([
            self.style_factors[name] * gram_error(features[name], target)
            for name, target in self.style_targets.items()
        ])  # fmt: skip
        content = preset.content_weight * tf.add_n([
            self.content_factors[name] * tf.reduce_mean((features[name] - target) ** 2)
            for name, target in self.content_targets.items()
        ])  # fmt: skip
        tv = preset.tv_weight * tf.reduce_sum(total_variation(image, preset.normalized))
        return {"style": style, "content": content, "tv": tv, "total": style + content + tv}


def score(
    image: np.ndarray,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    style_mix: Sequence[float] | None = None,
    style_scale: float = 1.0,
) -> dict[str, float]:
    """Score ``image`` under the tutorial's definition: ``style_loss``, ``content_loss``,
    ``tv_loss`` (30 x total variation) and ``total`` (their sum, what the tutorial minimises).

    Content is resized to the image's size and each style to the same long side (times
    ``style_scale``, `resize_style`), so an image from any program can be scored. The image is
    clipped to [0, 1] first.
    """
    long_side = max(image.shape[:2])
    loss = StyleLoss(
        resize(content, image.shape[:2]),
        [resize_style(style, long_side, style_scale) for style in styles],
        TUTORIAL,
        style_mix,
    )
    values = loss(tf.constant(np.clip(image, 0.0, 1.0)[None], tf.float32))
    return {
        "style_loss": float(values["style"]),
        "content_loss": float(values["content"]),
        "tv_loss": float(values["tv"]),
        "total": float(values["total"]),
    }
