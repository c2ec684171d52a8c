"""Benchmark of the matrix square root behind the Wasserstein-2 style loss (`nst.wasserstein`).

The image's side of W2² needs tr (Σₛ^½ Σ Σₛ^½)^½ and its gradient at every evaluation. Each
method below goes from float32 sums over locations (as `nst.losses.gram_sum` gives them) to W2²
and its gradient:

- eigh float64: `nst.wasserstein` as it is (float64 after the sums, eigendecomposition with its
  own gradient ½ M^-½, eigenvalues beyond the rank bound dropped), and without the image's rank
  bound;
- eigh float32: the same, all in float32;
- eigh float32, TF's gradient: autodiff through ``tf.linalg.eigh`` and sqrt(max(λ, 0));
- Newton–Schulz, float32: the coupled iteration on M / ‖M‖_F, 20 iterations, differentiated by
  autodiff, or by Z ≈ (M / ‖M‖)^-½ which the iteration computes anyway (``Z grad``).

Accuracy, per VGG19 layer (64, 128, 256, 512, 512 channels), the worst over four pairs of real
features: a photo against a painting (far apart), the painting at another size against itself
(near a match: W2² is then a small difference of large traces), a 64 px photo (fewer locations
than channels at block3-5: rank-deficient) and a 48 px style (the same for the style). Errors are
relative, of W2² and of its gradient with respect to the features, against float64 computed from
float64 features (the square-root term as the nuclear norm of Fc Σₛ^½, from an SVD: no squaring,
so no noise where eigenvalues are 0); that gradient is itself checked against central finite
differences in float64, and tr sqrtm against scipy.linalg.sqrtm where M has full rank.

Cost: seconds per call of value and gradient (with respect to the sums), median of repeats, at
each channel count, with TensorFlow's default threads (one per core). Other work on the machine
slows them: the load average goes with them, before and after.

Writes its section of docs/measurements.md, "Matrix square root for W2" (the cases, the
accuracy and the cost).

    .venv/bin/python benchmarks/matrix_sqrt.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from benchmarks.fast import load_average
from benchmarks.notes import record
from nst import wasserstein
from nst.images import load_image
from nst.losses import gram_sum
from nst.runtime import tf
from nst.vgg import feature_extractor

ASSETS = Path(__file__).resolve().parents[1] / "assets"
LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CHANNELS = (64, 128, 256, 512, 512)
# (image, long side), (style, long side), and what the pair stands for.
PAIRS = (
    (("content_chelsea", 256), ("style_starry_night", 256), "photo vs painting"),
    (("style_starry_night", 200), ("style_starry_night", 256), "near a match"),
    (("content_chelsea", 64), ("style_starry_night", 256), "rank-deficient image"),
    (("content_chelsea", 256), ("style_great_wave", 48), "rank-deficient style"),
)
NEWTON_SCHULZ_ITERATIONS = 20


def _symmetric(m: tf.Tensor) -> tf.Tensor:
    return 0.5 * (m + tf.linalg.matrix_transpose(m))


def eigh_autodiff(m: tf.Tensor, rank: int | None) -> tf.Tensor:
    values = tf.linalg.eigh(_symmetric(m))[0]
    return tf.reduce_sum(tf.sqrt(tf.maximum(values, 0.0)), axis=-1)


def _newton_schulz(m: tf.Tensor, iterations: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Y → (M/‖M‖)^½ and Z → (M/‖M‖)^-½ (Higham's coupled iteration), and ‖M‖_F."""
    norm = tf.norm(m, axis=(-2, -1))
    y = m / norm[..., None, None]
    eye = tf.eye(tf.shape(m)[-1], dtype=m.dtype)
    z = eye
    for _ in range(iterations):
        t = 1.5 * eye - 0.5 * tf.matmul(z, y)
        y, z = tf.matmul(y, t), tf.matmul(t, z)
    return y, z, norm


def newton_schulz_autodiff(m: tf.Tensor, rank: int | None) -> tf.Tensor:
    y, _, norm = _newton_schulz(m, NEWTON_SCHULZ_ITERATIONS)
    return tf.linalg.trace(y) * tf.sqrt(norm)


@tf.custom_gradient
def newton_schulz_z(m: tf.Tensor) -> tuple[tf.Tensor, Callable]:
    y, z, norm = _newton_schulz(_symmetric(m), NEWTON_SCHULZ_ITERATIONS)
    root = tf.sqrt(norm)

    def gradient(upstream: tf.Tensor) -> tf.Tensor:
        return upstream[..., None, None] * _symmetric(z) / (2.0 * root[..., None, None])

    return tf.linalg.trace(y) * root, gradient


# name: the trace square root of M given a rank bound, in float32; or, as a string, the module
# as it is ("module"), or without the image's rank bound ("module, no rank").
METHODS: dict[str, Callable | str] = {
    "eigh float64 (chosen)": "module",
    "eigh float64, image's rank not given": "module, no rank",
    "eigh float32": wasserstein.trace_sqrt,
    "eigh float32, TF's gradient": eigh_autodiff,
    f"Newton-Schulz {NEWTON_SCHULZ_ITERATIONS} float32, autodiff": newton_schulz_autodiff,
    f"Newton-Schulz {NEWTON_SCHULZ_ITERATIONS} float32, Z grad": (
        lambda m, rank: newton_schulz_z(m)
    ),
}


def w2_squared(
    method: Callable | str,
    feature_sum: tf.Tensor,
    gram: tf.Tensor,
    locations: int,
    style: wasserstein.StyleGaussian,
) -> tf.Tensor:
    """W2² from float32 sums: the module's, or in float32 with another trace square root."""
    if isinstance(method, str):
        rank_bound = locations if method == "module" else None
        return wasserstein.w2_squared(
            wasserstein.gaussian(feature_sum, gram, float(locations), rank_bound), style
        )
    mean = feature_sum / locations
    covariance = gram / locations - mean[:, None] * mean[None, :]
    root = tf.cast(style.root, tf.float32)
    ranks = [r for r in (locations - 1, style.rank) if r is not None]
    cross = method(root @ covariance @ root, min(ranks))
    return (
        tf.reduce_sum((mean - tf.cast(style.mean, tf.float32)) ** 2)
        + tf.linalg.trace(covariance)
        + tf.cast(style.trace, tf.float32)
        - 2.0 * cross
    )


def sums(features: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
    """Float32 sums over locations of features (n, C): Σ f and Σ f fᵀ."""
    batch = tf.constant(features[None, :, None, :], tf.float32)
    return tf.reduce_sum(batch, axis=(0, 1, 2)), gram_sum(batch)[0]


def _svd(a: np.ndarray, vectors: bool = False) -> tuple:
    """The SVD of a tall matrix through its QR factorisation (as accurate, and much faster than
    an SVD of all rows): singular values, or (U, singular values, Vᵀ)."""
    if len(a) <= a.shape[1]:
        return np.linalg.svd(a, full_matrices=False, compute_uv=vectors)
    if not vectors:
        return np.linalg.svd(np.linalg.qr(a, mode="r"), compute_uv=False)
    q, r = np.linalg.qr(a)
    u, singular, vt = np.linalg.svd(r)
    return q @ u, singular, vt


class Reference:
    """W2² and its gradient with respect to the features (n, C), in float64 from the features."""

    def __init__(self, features: np.ndarray, style: np.ndarray) -> None:
        self.style = style.astype(np.float64)
        self.style_mean = self.style.mean(0)
        centred = self.style - self.style_mean
        _, singular, vt = _svd(centred / np.sqrt(len(centred)), vectors=True)
        self.style_root = (vt.T * singular) @ vt  # Σₛ^½, exactly 0 beyond Σₛ's rank
        self.style_trace = float(np.sum(singular**2))
        self.features = features.astype(np.float64)

    def value(self, features: np.ndarray) -> float:
        n = len(features)
        mean = features.mean(0)
        centred = features - mean
        nuclear = _svd(centred @ self.style_root).sum() / np.sqrt(n)
        return float(
            np.sum((mean - self.style_mean) ** 2)
            + np.sum(centred**2) / n
            + self.style_trace
            - 2.0 * nuclear
        )

    def gradient(self) -> np.ndarray:
        n = len(self.features)
        mean = self.features.mean(0)
        centred = self.features - mean
        u, singular, vt = _svd(centred @ self.style_root, vectors=True)
        keep = singular > 1e-10 * singular[0]
        cross = (u[:, keep] @ vt[keep]) @ self.style_root / np.sqrt(n)  # d ‖Fc R‖_* / √n
        return 2.0 * (mean - self.style_mean) / n + 2.0 * centred / n - 2.0 * cross

    def finite_difference_error(self, rng: np.random.Generator, directions: int = 2) -> float:
        """Worst relative error of the gradient's directional derivatives against central
        differences, in directions a ReLU lets through (live features only)."""
        gradient, worst = self.gradient(), 0.0
        for _ in range(directions):
            direction = rng.normal(size=self.features.shape) * (self.features > 0)
            step = 1e-7 * np.linalg.norm(self.features) / np.linalg.norm(direction)
            difference = (
                self.value(self.features + step * direction)
                - self.value(self.features - step * direction)
            ) / (2 * step)
            worst = max(worst, abs(difference - np.sum(gradient * direction)) / abs(difference))
        return worst

    def sqrtm_error(self) -> float | None:
        """tr sqrtm(M) of scipy against the SVD's, where M = Σₛ^½ Σ Σₛ^½ has full rank."""
        n, channels = self.features.shape
        centred = self.features - self.features.mean(0)
        m = self.style_root @ (centred.T @ centred / n) @ self.style_root
        if np.linalg.matrix_rank(m) < channels:
            return None
        ours = _svd(centred @ self.style_root).sum() / np.sqrt(n)
        return abs(float(np.trace(scipy.linalg.sqrtm(m)).real) - ours) / ours


def accuracy(
    features: dict, rng: np.random.Generator, cases: list[str]
) -> dict[str, dict[str, list]]:
    """Per method and layer, the (W2² error, gradient error) of each pair; a table row per case
    (pair and layer) goes to ``cases``."""
    errors: dict[str, dict[str, list]] = {name: {layer: [] for layer in LAYERS} for name in METHODS}
    for (image, style_image, label), layer in ((pair, layer) for pair in PAIRS for layer in LAYERS):
        image_features, style_features = features[image][layer], features[style_image][layer]
        reference = Reference(image_features, style_features)
        truth, true_gradient = reference.value(reference.features), reference.gradient()
        differences = f"{reference.finite_difference_error(rng):.0e}"
        sqrtm = reference.sqrtm_error()
        traces = np.trace(np.cov(image_features.T, bias=True)) + reference.style_trace
        cases.append(
            f"| {label} | {layer} | {len(image_features)} | {truth / traces:.1e} | "
            f"{differences} | {'–' if sqrtm is None else f'{sqrtm:.0e}'} |"
        )
        print(cases[-1], flush=True)
        style_sums = sums(style_features)
        style = wasserstein.style_gaussian(
            wasserstein.gaussian(*style_sums, float(len(style_features)), len(style_features))
        )
        batch = tf.constant(image_features[None, :, None, :], tf.float32)
        for name, method in METHODS.items():
            with tf.GradientTape() as tape:
                tape.watch(batch)
                feature_sum = tf.reduce_sum(batch, axis=(0, 1, 2))
                value = w2_squared(
                    method, feature_sum, gram_sum(batch)[0], len(image_features), style
                )
            gradient = tape.gradient(value, batch).numpy()[0, :, 0, :].astype(np.float64)
            errors[name][layer].append(
                (
                    abs(float(value) - truth) / truth,
                    np.linalg.norm(gradient - true_gradient) / np.linalg.norm(true_gradient),
                )
            )
    return errors


def cost(features: dict, repeats: int) -> dict[str, dict[int, float]]:
    """Per method and channel count, the median seconds of W2² and its gradient with respect to
    the sums (the first pair's sums at block1..block4_conv1)."""
    (image, style_image, _), *_ = PAIRS
    seconds: dict[str, dict[int, float]] = {name: {} for name in METHODS}
    for layer in LAYERS[:4]:
        image_features, style_features = features[image][layer], features[style_image][layer]
        channels, locations = image_features.shape[1], len(image_features)
        style = wasserstein.style_gaussian(
            wasserstein.gaussian(
                *sums(style_features), float(len(style_features)), len(style_features)
            )
        )
        feature_sum, gram = sums(image_features)
        for name, method in METHODS.items():
            evaluate = _value_and_gradient(method, locations, style)
            evaluate(feature_sum, gram)  # trace and warm up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                _, (_, d_gram) = evaluate(feature_sum, gram)
                d_gram.numpy()
                times.append(time.perf_counter() - start)
            seconds[name][channels] = float(np.median(times))
    return seconds


def _value_and_gradient(
    method: Callable | str, locations: int, style: wasserstein.StyleGaussian
) -> Callable:
    """W2² and its gradient with respect to the sums, as one compiled TensorFlow function."""

    @tf.function
    def evaluate(feature_sum: tf.Tensor, gram: tf.Tensor) -> tuple:
        with tf.GradientTape() as tape:
            tape.watch([feature_sum, gram])
            value = w2_squared(method, feature_sum, gram, locations, style)
        return value, tape.gradient(value, [feature_sum, gram])

    return evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per method and size")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), load_average()
    extractor = feature_extractor(LAYERS)
    features = {}
    for name, size in {item for pair in PAIRS for item in pair[:2]}:
        image = load_image(ASSETS / f"{name}.jpg", size)
        outputs = extractor(tf.constant(image[None]))
        features[(name, size)] = {
            layer: outputs[layer].numpy()[0].reshape(-1, outputs[layer].shape[-1])
            for layer in LAYERS
        }
    section = time.perf_counter()
    cases: list[str] = []
    # The float64 reference's QR and SVD on one thread: OpenBLAS's own threads, spinning beside
    # TensorFlow's on a shared 2-core machine, made them ten times slower (as in nst.optimize).
    with threadpool_limits(limits=1, user_api="blas"):
        errors = accuracy(features, np.random.default_rng(0), cases)
    accuracy_seconds = time.perf_counter() - section
    header = [f"{layer} ({c})" for layer, c in zip(LAYERS, CHANNELS, strict=True)]
    accuracy_rows = []
    for name in METHODS:
        worst = [np.max(errors[name][layer], axis=0) for layer in LAYERS]
        cells = [
            f"{value:.1e} / {gradient:.1e}"
            if np.isfinite([value, gradient]).all()
            else "non-finite"
            for value, gradient in worst
        ]
        accuracy_rows.append(f"| {name} | " + " | ".join(cells) + " |")
        print(accuracy_rows[-1], flush=True)
    load_timing = load_average()
    seconds = cost(features, args.repeats)
    load_after = load_average()
    cost_rows = [
        f"| {name} | " + " | ".join(f"{seconds[name][c]:.4f}" for c in CHANNELS[:4]) + " |"
        for name in METHODS
    ]
    body = "\n".join(
        [
            f"TensorFlow {tf.__version__}. The cases (W2² relative to tr Σ + tr Σₛ; the float64 "
            "reference's gradient against central differences, and its tr sqrtm against "
            "scipy.linalg.sqrtm where M has full rank), in "
            f"{accuracy_seconds:.0f} s:",
            "",
            "| pair | layer | locations | W2² / traces | finite differences | scipy sqrtm |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
            *cases,
            "",
            "Worst relative error over the four pairs, W2² / its gradient:",
            "",
            "| method | " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * len(LAYERS),
            *accuracy_rows,
            "",
            f"Seconds per call of value and gradient, median of {args.repeats} (load average "
            f"{load_timing} before timing, {load_after} after):",
            "",
            "| method | " + " | ".join(f"{c} channels" for c in CHANNELS[:4]) + " |",
            "| --- |" + " ---: |" * 4,
            *cost_rows,
            "",
            f"{time.perf_counter() - started:.0f} s in all; load average {load_before} at the "
            "start.",
        ]
    )
    command = f"benchmarks/matrix_sqrt.py --repeats {args.repeats}"
    print(record("Matrix square root for W2", command, body))


if __name__ == "__main__":
    main()
