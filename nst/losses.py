"""Losses of the slow path: style, content and total variation, weighted by a preset.

The style of a layer is one of two statistics of its features (`nst.options.STYLE_LOSSES`):
their Gram matrix (correlations, Gatys et al.), or the Gaussian fitted to them, compared by the
Wasserstein-2 distance (distributions; `nst.wasserstein`). Both come from the same sums over
locations (of the features' outer products, and of the features), so both work whole or in
blocks, with mixes of styles and with a mask's regions.

The presets are defined in `nst.options`: `tutorial` is exactly TensorFlow's style-transfer
tutorial, so results can be compared with it, and `score` scores any image under that
definition (with either statistic); `normalized` is the optimizer's objective, each layer's
error divided by its target's scale and total variation per pixel, so the same weights work at
any resolution and for any style.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from nst import device, vgg_blocks, wasserstein
from nst.images import resize, resize_map
from nst.options import (
    NORMALIZED,
    STYLE_LOSSES,
    TUTORIAL,
    W2_BALANCE,
    LossPreset,
    check_sides,
)
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


class _Region(NamedTuple):
    """Where one style target applies: ``share`` of the image, the guide per style layer that
    restricts the image's statistics to the region, and per statistic and layer the target:
    the Gram matrix to match, or the style's Gaussian (`nst.wasserstein.StyleGaussian`)."""

    share: tf.Tensor  # a scalar
    guides: dict[str, tf.Tensor | None]  # (1, h, w, 1) per layer; None: the whole image
    grams: dict[str, tf.Tensor]
    gaussians: dict[str, wasserstein.StyleGaussian]

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self.grams)


class StyleLoss:
    """The weighted loss of one (content, targets) problem at one image size, as a pure function.

    The targets' statistics are computed once here; `__call__` maps a batch-of-one image in
    [0, 1] to a dict of ``style``, ``content``, ``tv`` (each already weighted) and ``total``
    (what is minimised). ``statistics`` names the style statistics computed: the first is the
    one in ``style`` and ``total``; each is also reported on its own as ``style_gram`` or
    ``style_w2`` (so a result can be scored either way).

    Without regions, several styles are mixed by the targets' ``style_mix``: the target is the
    mix of their Gram matrices, or the Gaussian of the mix of their means and raw second
    moments. With regions (resized to the content), each style applies where its map is (Gatys
    et al. 2017, spatial control): the map is brought to each layer's resolution, the image's
    features are weighted by it, and their statistics, normalised by the region's own area, are
    matched to that style's (over its ``style_regions`` map, resized to the style, when one is
    given, else over all of it). Each region's style loss counts by its share of the image, and
    ``style_by_region`` reports them one by one.

    The loss is made of sums over locations (`statistics`) and terms of those sums (`terms`),
    so it can be computed block by block (`nst.vgg_blocks`). ``block_size`` says how VGG19 sees
    the images, the targets' and the loss's: whole (None), in blocks of that many px, or "auto"
    (by the device and each image's size, `nst.options.DeviceDefaults.block_size`); the values
    are the same.
    """

    def __init__(
        self,
        content: np.ndarray,
        targets: Targets,
        preset: LossPreset = NORMALIZED,
        extractor: FeatureExtractor | None = None,
        block_size: int | Literal["auto"] | None = "auto",
        statistics: tuple[str, ...] = ("gram",),
    ) -> None:
        for image in (content, *targets.styles):
            check_sides(image.shape[1], image.shape[0])
        unknown = set(statistics) - set(STYLE_LOSSES)
        if not statistics or unknown:
            raise ValueError(f"style statistics are some of {STYLE_LOSSES}, not {statistics}")
        self.preset, self.statistics_used = preset, tuple(statistics)
        self.extractor = extractor or feature_extractor(preset.layers)
        self._block_size = block_size
        self.block_size = self._blocks_for(content.shape[:2])
        self.shapes = vgg_blocks.layer_shapes(content.shape[:2], preset.layers)
        content_features = self._features(content, tuple(preset.content_layers))
        self.content_targets = {name: content_features[name] for name in preset.content_layers}
        style_regions = targets.style_regions or (None,) * len(targets.styles)
        styles = [
            self._style_sums(style, None if area is None else resize_map(area, style.shape[:2]))
            for style, area in zip(targets.styles, style_regions, strict=True)
        ]
        if targets.regions is None:
            whole = dict.fromkeys(preset.style_layers)
            self.regions = [self._region(1.0, whole, styles, targets.style_mix)]
        else:
            fitted = [resize_map(area, content.shape[:2]) for area in targets.regions]
            self.regions = [  # an empty region asks for nothing
                self._region(float(np.mean(area)), self._guides(area, self.shapes), [sums], (1,))
                if np.any(area > 0)
                else _Region(_scalar(0.0), {}, {}, {})
                for area, sums in zip(fitted, styles, strict=True)
            ]
        self.by_region = targets.regions is not None
        # Each term's factor: its layer's weight, over its target's scale when normalized.
        self.style_factors = [
            {
                statistic: {
                    name: _scalar(factor)
                    for name, factor in self._style_factors(statistic, region).items()
                }
                for statistic in statistics
            }
            for region in self.regions
        ]
        self.content_factors = {
            name: _scalar(
                weight / _mean_square(self.content_targets[name]) if preset.normalized else weight
            )
            for name, weight in preset.content_layers.items()
        }
        self.weights = {
            "style": _scalar(preset.style_weight),
            "content": _scalar(preset.content_weight),
            "tv": _scalar(preset.tv_weight),
        }

    def _region(
        self,
        share: float,
        guides: dict[str, tf.Tensor | None],
        styles: list[dict[str, dict[str, tf.Tensor]]],
        mix: tuple[float, ...],
    ) -> _Region:
        """A region's targets from its styles' sums (`_style_sums`) mixed by ``mix``."""
        grams, gaussians = {}, {}
        for name in self.preset.style_layers:
            locations = [s[name]["locations"] for s in styles]
            grams[name] = sum(
                w * s[name]["gram"] / n for w, s, n in zip(mix, styles, locations, strict=True)
            )
            if "w2" in self.statistics_used:
                mixed = wasserstein.mixed_gaussian(
                    [s[name]["sum"] for s in styles],
                    [s[name]["gram"] for s in styles],
                    locations,
                    mix,
                    locations,
                )
                gaussians[name] = wasserstein.style_gaussian(mixed)
        return _Region(_scalar(share), guides, grams, gaussians)

    def _blocks_for(self, shape: tuple[int, int]) -> int | None:
        if self._block_size == "auto":
            return device.defaults().block_size(shape)
        return self._block_size

    def _summed(self, image: tf.Tensor, statistics: Callable, size: int | None) -> Any:
        """``statistics`` of the image's features (see `nst.vgg_blocks.summed`), whole or in
        blocks of ``size`` px."""
        if size is None:
            return statistics(self.extractor(image), None)
        return vgg_blocks.summed(self.extractor, image, size, self.preset.layers, statistics)

    def _features(self, image: np.ndarray, layers: tuple[str, ...]) -> dict[str, tf.Tensor]:
        batch = tf.constant(image[None], tf.float32)
        size = self._blocks_for(image.shape[:2])
        if size is None:
            return self.extractor(batch)
        return vgg_blocks.features(self.extractor, batch, size, layers)

    def _style_sums(
        self, style: np.ndarray, area: np.ndarray | None
    ) -> dict[str, dict[str, tf.Tensor]]:
        """Per style layer, a style image's sums (over ``area`` when given): of its features'
        outer products (``gram``), of its features (``sum``), and its ``locations``."""
        shapes = vgg_blocks.layer_shapes(style.shape[:2], self.preset.style_layers)
        guides = (
            dict.fromkeys(self.preset.style_layers) if area is None else self._guides(area, shapes)
        )
        sums = self._summed(
            tf.constant(style[None], tf.float32),
            lambda features, windows: _style_sums(features, guides, windows),
            self._blocks_for(style.shape[:2]),
        )
        return {name: {**sums[name], "locations": float(h * w)} for name, (h, w) in shapes.items()}

    def _guides(self, area: np.ndarray, shapes: dict[str, tuple[int, int]]) -> dict[str, tf.Tensor]:
        return {name: guide(area, shapes[name]) for name in self.preset.style_layers}

    def _style_factors(self, statistic: str, region: _Region) -> dict[str, float]:
        """Each style layer's factor: its weight, over its target's scale when normalized (the
        Gram matrix's mean square; the style's mean squared feature norm, tr Σ + |μ|², for W2,
        which `W2_BALANCE` brings to Gram's balance with the content). Under the tutorial's plain
        weights, W2 is taken per channel, as the Gram error is a mean over its entries."""
        weights, normalized = self.preset.style_layers, self.preset.normalized
        if statistic == "gram":
            if not normalized:
                return dict(weights)
            return {name: w / _mean_square(region.grams[name]) for name, w in weights.items()}
        factors = {}
        for name, w in weights.items():
            if name not in region.gaussians:
                continue
            target = region.gaussians[name]
            if normalized:
                scale = float(tf.reduce_sum(target.mean**2) + tf.reduce_sum(target.trace))
                factors[name] = W2_BALANCE * w / (scale + 1e-8)
            else:
                factors[name] = w / int(target.mean.shape[-1])
        return factors

    def statistics(
        self, features: dict[str, tf.Tensor], windows: vgg_blocks.Windows | None = None
    ) -> dict[str, Any]:
        """The sums over the locations of ``features`` that the loss is made of: ``style``, per
        region and style layer the guided sums of the features' outer products and (for W2) of
        the features; ``content``, per content layer the summed squared error. ``windows``:
        where the features lie in the whole image's grids when they are a block's
        (`nst.vgg_blocks`); the guides and content targets are cut to them."""
        with_sums = "w2" in self.statistics_used
        style = [
            _style_sums(features, region.guides, windows, region.layers, with_sums)
            for region in self.regions
        ]
        content = {
            name: tf.reduce_sum((features[name] - _cut(target, windows, name)) ** 2)
            for name, target in self.content_targets.items()
        }
        return {"style": style, "content": content}

    def _style_terms(self, statistic: str, statistics: dict[str, Any]) -> list[tf.Tensor]:
        """Each region's weighted style loss under ``statistic``, from the image's sums."""
        losses = []
        for region, factors, sums in zip(
            self.regions, self.style_factors, statistics["style"], strict=True
        ):
            terms = [tf.zeros(())]
            for name in region.layers:
                locations = self._locations(name)
                if statistic == "gram":
                    error = tf.reduce_mean(
                        (sums[name]["gram"] / locations - region.grams[name]) ** 2
                    )
                else:
                    image = wasserstein.gaussian(
                        sums[name]["sum"], sums[name]["gram"], locations, locations
                    )
                    error = tf.reduce_sum(wasserstein.w2_squared(image, region.gaussians[name]))
                terms.append(factors[statistic][name] * error)
            losses.append(self.weights["style"] * tf.add_n(terms))
        return losses

    def terms(self, statistics: dict[str, Any], image: tf.Tensor) -> dict[str, tf.Tensor]:
        """The loss's values from the whole image's `statistics`, and ``image`` for its total
        variation."""
        preset = self.preset
        values, by_region = {}, None
        for statistic in self.statistics_used:
            per_region = self._style_terms(statistic, statistics)
            values[f"style_{statistic}"] = tf.add_n(
                [r.share * loss for r, loss in zip(self.regions, per_region, strict=True)]
            )
            by_region = by_region if by_region is not None else tf.stack(per_region)
        style = values[f"style_{self.statistics_used[0]}"]
        content = self.weights["content"] * tf.add_n(
            [
                self.content_factors[name]
                * statistics["content"][name]
                / float(np.prod(target.shape))
                for name, target in self.content_targets.items()
            ]
        )
        tv = self.weights["tv"] * tf.reduce_sum(total_variation(image, preset.normalized))
        values |= {"style": style, "content": content, "tv": tv, "total": style + content + tv}
        if self.by_region:
            values["style_by_region"] = by_region
        return values

    def _locations(self, name: str) -> float:
        height, width = self.shapes[name]
        return float(height * width)

    def __call__(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.terms(self._summed(image, self.statistics, self.block_size), image)

    def value_and_grad(self) -> Callable[[tf.Tensor], tuple[dict[str, tf.Tensor], tf.Tensor]]:
        """What the optimizer calls for each evaluation: image (1, H, W, 3) -> (the loss's values,
        d total / d image); a compiled graph for the whole image (`_compiled`, shared by every
        loss of the same structure), or two passes over blocks (`nst.vgg_blocks`), which give
        the same."""
        if self.block_size is None:
            graph, data = _compiled(self), self._data()
            return lambda image: graph(image, data)

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

    def _data(self) -> tuple:
        """Every tensor the loss is computed from (`_DATA`): what differs between losses of the
        same structure (`_structure`)."""
        return tuple(getattr(self, name) for name in _DATA)

    def _with_data(self, data: tuple) -> StyleLoss:
        """This loss computed from ``data`` (as `_data` gives it) in place of its own."""
        loss = copy.copy(self)
        for name, value in zip(_DATA, data, strict=True):
            setattr(loss, name, value)
        return loss

    def _structure(self) -> tuple:
        """What, beside its `_data`, the loss's graph is built from: the network, the layers,
        the statistics, the image's size. (The data's own structure, such as the number of
        regions, is told apart by `tf.function`.)"""
        preset = self.preset
        return (
            self.extractor,
            tuple(preset.style_layers),
            tuple(preset.content_layers),
            preset.normalized,
            self.statistics_used,
            self.by_region,
            tuple(self.shapes.items()),
        )


# A `StyleLoss`'s attributes that hold its data, the arguments of its compiled graph.
_DATA = ("regions", "content_targets", "style_factors", "content_factors", "weights")
# Compiled whole-image graphs (value and gradient) by the loss's structure. Tracing one takes
# about a second of CPU, which every run, and every coarse-to-fine scale of a run, would pay
# again; the sizes a server sees come and go, so only the last few are kept.
GRAPHS_KEPT = 8
_graphs: OrderedDict[tuple, Callable] = OrderedDict()
_graphs_lock = threading.Lock()


def _compiled(loss: StyleLoss) -> Callable:
    """The compiled (image, data) -> (values, gradient) for losses structured as ``loss``. It
    computes from the data it is given: its template has none of its own."""
    key = loss._structure()
    with _graphs_lock:
        if key in _graphs:
            _graphs.move_to_end(key)
            return _graphs[key]
        template = loss._with_data((None,) * len(_DATA))

        @tf.function
        def whole(image: tf.Tensor, data: tuple) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
            with tf.GradientTape() as tape:
                tape.watch(image)
                values = template._with_data(data)(image)
            return values, tape.gradient(values["total"], image)

        _graphs[key] = whole
        if len(_graphs) > GRAPHS_KEPT:
            _graphs.popitem(last=False)
        return whole


def _scalar(value: float) -> tf.Tensor:
    return tf.constant(value, tf.float32)


def _cut(tensor: tf.Tensor, windows: vgg_blocks.Windows | None, name: str) -> tf.Tensor:
    """``tensor`` (1, h, w, C) at a layer's whole-image grid, cut to a block's window there."""
    return tensor if windows is None else tensor[:, *windows[name], :]


def _style_sums(
    features: dict[str, tf.Tensor],
    guides: dict[str, tf.Tensor | None],
    windows: vgg_blocks.Windows | None,
    layers: tuple[str, ...] | None = None,
    with_sums: bool = True,
) -> dict[str, dict[str, tf.Tensor]]:
    """Per layer (those of ``guides``, or ``layers``), the sum of the outer products of the
    features weighted by the layer's guide g (cut to ``windows``; None: unweighted), Σ g² f fᵀ,
    and with ``with_sums`` the sum of the features by the same weights, Σ g² f."""
    sums = {}
    for name in guides if layers is None else layers:
        weight = None if guides[name] is None else _cut(guides[name], windows, name)
        weighted = features[name] if weight is None else features[name] * weight
        sums[name] = {"gram": gram_sum(weighted)}
        if with_sums:
            by = weighted if weight is None else weighted * weight
            sums[name]["sum"] = tf.reduce_sum(by, axis=(1, 2))
    return sums


def _mean_square(tensor: tf.Tensor) -> float:
    return float(tf.reduce_mean(tensor**2)) + 1e-8


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
    """Score ``image`` under the tutorial's definition: ``style_loss`` (Gram matrices),
    ``content_loss``, ``tv_loss`` (30 x total variation) and ``total`` (their sum, what the
    tutorial minimises); and ``style_loss_w2``, the same layers and weights with the
    Wasserstein-2 statistic (per channel), so any result can be compared either way.
    With regions (see `StyleLoss`), also ``style_loss_by_region``: each region's style loss as
    if it were the whole image; ``style_loss`` is their sum weighted by the regions' shares.

    The content is resized to the image's size; the targets' styles are taken as given, at the
    size the image is to be compared with them (`pipeline.Job.score` gives them as both paths
    use them). The image is clipped to [0, 1] first.
    """
    loss = StyleLoss(resize(content, image.shape[:2]), targets, TUTORIAL, statistics=STYLE_LOSSES)
    values = loss(tf.constant(np.clip(image, 0.0, 1.0)[None], tf.float32))
    scores: dict[str, float | list[float]] = {
        "style_loss": float(values["style"]),
        "style_loss_w2": float(values["style_w2"]),
        "content_loss": float(values["content"]),
        "tv_loss": float(values["tv"]),
        "total": float(values["total"]),
    }
    if "style_by_region" in values:
        scores["style_loss_by_region"] = [float(v) for v in values["style_by_region"]]
    return scores
