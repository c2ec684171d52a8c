"""The Wasserstein-2 style statistic: Gaussians fitted to a layer's features, and their distance.

Beside the Gram matrix (`nst.losses`), a style layer can be summed up by the mean μ and the
covariance Σ of its C features over locations, and an image compared with the style by the
squared 2-Wasserstein distance between the two Gaussians (Dowson and Landau 1982; as a style loss
in crowsonkb/style-transfer-pytorch's ``StyleLossW2``):

    W2² = |μ − μₛ|² + tr Σ + tr Σₛ − 2 tr (Σₛ^½ Σ Σₛ^½)^½

Sums. Both Gaussians come from sums over locations (`gaussian`): of the features, of their outer
products (`nst.losses.gram_sum`) and of the weights (the number of locations; for a masked
region the sum of mask²), so, like the Gram loss, it can be computed block by block
(`nst.vgg_blocks`): sums over blocks add up exactly. A mix of styles is the Gaussian of the
share-weighted moments (`mixed_gaussian`): means and raw second moments mix linearly,
covariances do not.

Precision. The sums come in float32 (whatever VGG19's precision) and everything after them is
float64, the loss going back as float32: near a match W2² is a small difference of large traces,
which float32 gets wrong by percents (and its gradient by tens of percents), float64 from the
same sums by far less. The cost is small beside VGG19's.

Square root. The style's Σₛ^½ is computed once (`style_gaussian`); the image's
tr (Σₛ^½ Σ Σₛ^½)^½ at every evaluation (`trace_sqrt`), from an eigendecomposition of
M = Σₛ^½ Σ Σₛ^½ with its own gradient: d tr M^½ / dM = ½ M^-½ = ½ V Λ^-½ Vᵀ needs only the
eigenvectors, not eigh's 1/(λi − λj) terms, which blow up at the repeated (zero) eigenvalues of
rank-deficient covariances. Chosen by measurement over coupled Newton–Schulz iterations, the
other usual way (crowsonkb/style-transfer-pytorch's): on VGG19 covariances, whose eigenvalues
span many orders of magnitude, a few dozen iterations were still inaccurate (and overflowed in
float32), while costing more than the eigendecomposition (docs/measurements.md, "Matrix square
root for W2").

Rank. Covariances of n locations have rank at most n − 1: with fewer locations than channels
(deep layers of small images, small regions) most of M's eigenvalues are zero, computed as
rounding noise whose square roots would add up. Given the number of locations
(``locations``), only the top n − 1 eigenvalues count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nst.runtime import tf

DTYPE = tf.float64  # everything after the float32 sums (see "Precision" above)
# Eigenvalues below this fraction of the largest are rounding noise (float64 eigh's error is
# about C × 1e-16 of the largest) and count as zero, in the value and in the gradient ½ λ^-½,
# which they would blow up; larger cut-offs cost gradient accuracy on VGG19 covariances.
NOISE = 1e-14

Tensor = tf.Tensor | np.ndarray | float


class Gaussian(NamedTuple):
    """A layer's features summed up: mean (..., C), covariance (..., C, C) and a bound on the
    covariance's rank (None: C)."""

    mean: tf.Tensor
    covariance: tf.Tensor
    rank: int | None = None


class StyleGaussian(NamedTuple):
    """The style's side of W2², computed once: mean μₛ (..., C), tr Σₛ (...), Σₛ^½ (..., C, C)
    (symmetric, PSD) and the bound on its rank, a tensor like the rest (so a compiled loss
    serves styles of every size, `nst.losses`)."""

    mean: tf.Tensor
    trace: tf.Tensor
    root: tf.Tensor
    rank: tf.Tensor | None = None


def gaussian(
    feature_sum: Tensor, gram_sum: Tensor, weight: Tensor, locations: int | None = None
) -> Gaussian:
    """The Gaussian of features from their sums over locations, in float64.

    ``feature_sum`` (..., C) is Σ w f, ``gram_sum`` (..., C, C) is Σ w f fᵀ and ``weight`` Σ w,
    over locations with weights w: 1 for a whole image (``weight`` is then the number of
    locations), mask² for a region, as the guided Gram matrix weighs it (`nst.losses.guide`: its
    ``gram_sum`` of features times the guide is already Σ w f fᵀ; the feature sum must be weighted
    by the guide squared). ``locations``: how many locations have a weight, when known; the
    covariance's rank is then at most one less.
    """
    weight = tf.cast(weight, DTYPE)
    mean = tf.cast(feature_sum, DTYPE) / weight[..., None]
    second = tf.cast(gram_sum, DTYPE) / weight[..., None, None]
    covariance = second - mean[..., :, None] * mean[..., None, :]
    rank = None if locations is None else max(int(locations) - 1, 0)
    return Gaussian(mean, _symmetric(covariance), rank)


def mixed_gaussian(
    feature_sums: Sequence[Tensor],
    gram_sums: Sequence[Tensor],
    weights: Sequence[Tensor],
    shares: Sequence[float],
    locations: Sequence[int] | None = None,
) -> Gaussian:
    """The Gaussian of a mix of styles, each given by its sums as for `gaussian`, counting by its
    share (normalised to sum to 1).

    The mix's mean and raw second moment are the share-weighted means of the styles', and its
    covariance follows from them; that is `gaussian` of the share-weighted moments, with the
    shares' total as the weight.
    """
    mean_sum, second_sum = 0.0, 0.0
    for feature_sum, gram_sum, weight, share in zip(
        feature_sums, gram_sums, weights, shares, strict=True
    ):
        weight = tf.cast(weight, DTYPE)
        mean_sum += share * tf.cast(feature_sum, DTYPE) / weight[..., None]
        second_sum += share * tf.cast(gram_sum, DTYPE) / weight[..., None, None]
    return gaussian(mean_sum, second_sum, float(sum(shares)), _total(locations))


def style_gaussian(style: Gaussian) -> StyleGaussian:
    """The style's side of W2², once per run: its mean, the trace and the square root of its
    covariance (eigendecomposition; eigenvalues beyond its rank bound or below `NOISE` of the
    largest are rounding noise and count as zero)."""
    covariance = tf.cast(style.covariance, DTYPE)
    values, vectors = tf.linalg.eigh(covariance)
    values = _counted(_top(values, style.rank))
    root = tf.matmul(vectors * tf.sqrt(values)[..., None, :], vectors, transpose_b=True)
    rank = None if style.rank is None else tf.constant(style.rank)
    return StyleGaussian(
        tf.cast(style.mean, DTYPE), tf.linalg.trace(covariance), _symmetric(root), rank
    )


def trace_sqrt(matrix: tf.Tensor, rank: int | tf.Tensor | None = None) -> tf.Tensor:
    """tr M^½ of symmetric PSD matrices M (..., C, C), in M's dtype, with the gradient ½ M^-½.

    Both from M's eigenvalues and eigenvectors, counting only the top ``rank`` eigenvalues and
    those above `NOISE` of the largest (the rest are zero but for rounding).
    """

    @tf.custom_gradient
    def _trace_sqrt(m: tf.Tensor) -> tuple[tf.Tensor, object]:
        values, vectors = tf.linalg.eigh(_symmetric(m))
        values = _counted(_top(values, rank))
        counted = values > 0
        value = tf.reduce_sum(tf.sqrt(values), axis=-1)

        def gradient(upstream: tf.Tensor) -> tf.Tensor:
            scale = tf.where(counted, 0.5 * tf.math.rsqrt(tf.where(counted, values, 1.0)), 0.0)
            half_inverse_root = tf.matmul(vectors * scale[..., None, :], vectors, transpose_b=True)
            return upstream[..., None, None] * half_inverse_root

        return value, gradient

    return _trace_sqrt(matrix)


def w2_squared(image: Gaussian, style: StyleGaussian, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """W2² between the image's Gaussian and the style's (...), as ``dtype`` (the loss's).

    Its gradient with respect to Σ is I − T, T = Σₛ^½ M^-½ Σₛ^½ the optimal transport map
    between them; it flows back through ``image`` to the sums it came from.
    """
    mean = tf.cast(image.mean, DTYPE)
    covariance = tf.cast(image.covariance, DTYPE)
    m = tf.matmul(style.root, tf.matmul(covariance, style.root))
    ranks = [r for r in (image.rank, style.rank) if r is not None]
    cross = trace_sqrt(m, tf.reduce_min(ranks) if ranks else None)
    distance = (
        tf.reduce_sum((mean - style.mean) ** 2, axis=-1)
        + tf.linalg.trace(covariance)
        + style.trace
        - 2.0 * cross
    )
    return tf.cast(distance, dtype)


def _symmetric(matrix: tf.Tensor) -> tf.Tensor:
    """Rounding makes products like Σₛ^½ Σ Σₛ^½ slightly asymmetric; eigh reads one triangle."""
    return 0.5 * (matrix + tf.linalg.matrix_transpose(matrix))


def _top(values: tf.Tensor, rank: int | tf.Tensor | None) -> tf.Tensor:
    """Ascending eigenvalues with all but the top ``rank`` set to zero."""
    if rank is None:
        return values
    count = tf.shape(values)[-1]
    return tf.where(tf.range(count) >= count - rank, values, tf.zeros_like(values))


def _counted(values: tf.Tensor) -> tf.Tensor:
    """Ascending eigenvalues with those below `NOISE` of the largest (and negative ones) set to
    zero."""
    counted = (values > NOISE * values[..., -1:]) & (values > 0)
    return tf.where(counted, values, tf.zeros_like(values))


def _total(locations: Sequence[int] | None) -> int | None:
    """A mix's locations: the union of its styles' (its covariance's rank is at most one less)."""
    return None if locations is None else int(sum(locations))
