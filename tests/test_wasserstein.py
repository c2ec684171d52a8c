"""The Wasserstein-2 style statistic: Gaussians from sums (whole, in blocks, mixed, masked), W2²
against float64 scipy, and its gradient through VGG19 against central differences."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from threadpoolctl import threadpool_limits

from nst import vgg, wasserstein
from nst.images import load_image
from nst.losses import gram_sum, guide, layer_map
from nst.runtime import tf

LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Iterator[None]:
    """scipy's references on one thread: OpenBLAS's threads spinning beside TensorFlow's on a
    busy 2-core machine made them several times slower (as in `nst.optimize`)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def features(photo: Path, painting: Path) -> dict[str, dict[str, np.ndarray]]:
    """VGG19's float32 features (1, h, w, C) of a 64 px photo and painting: full rank at block1
    and block2, fewer locations than channels from block3 on (rank-deficient)."""
    extractor = vgg.feature_extractor(LAYERS)
    return {
        name: {layer: value.numpy() for layer, value in extractor(image[None]).items()}
        for name, image in (
            ("photo", load_image(photo, 64)),
            ("painting", load_image(painting, 64)),
        )
    }


def _sums(features: np.ndarray | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, float, int]:
    """Σ f (C,), Σ f fᵀ (C, C), the weight and the locations of features (1, h, w, C), summed
    as the loss sums them."""
    locations = int(features.shape[1] * features.shape[2])
    return (
        tf.reduce_sum(features, axis=(0, 1, 2)),
        gram_sum(tf.convert_to_tensor(features))[0],
        float(locations),
        locations,
    )


def _gaussian(features: np.ndarray | tf.Tensor) -> wasserstein.Gaussian:
    return wasserstein.gaussian(*_sums(features))


def _moments(features: np.ndarray, weights: np.ndarray | None = None) -> tuple:
    """Float64 mean and covariance of features (1, h, w, C), weighted per location."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    w = np.ones(len(flat)) if weights is None else weights.reshape(-1).astype(np.float64)
    mean = w @ flat / w.sum()
    centred = flat - mean
    return mean, (centred * w[:, None]).T @ centred / w.sum()


def _psd_root(matrix: np.ndarray) -> np.ndarray:
    values, vectors = scipy.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _w2_reference(image: tuple, style: tuple) -> float:
    """W2² in float64 by scipy: sqrtm where Σₛ^½ Σ Σₛ^½ has full rank, else eigh (whose
    eigenvalues are then rounding noise around 0 beyond the rank)."""
    (mean, covariance), (style_mean, style_covariance) = image, style
    root = _psd_root(style_covariance)
    m = root @ covariance @ root
    if np.linalg.matrix_rank(m) == len(m):
        cross = np.trace(scipy.linalg.sqrtm(m)).real
    else:
        cross = np.sqrt(np.clip(scipy.linalg.eigvalsh(m), 0, None)).sum()
    return float(
        np.sum((mean - style_mean) ** 2)
        + np.trace(covariance)
        + np.trace(style_covariance)
        - 2 * cross
    )


def test_gaussian_is_the_mean_and_covariance_and_its_sums_add_up_over_blocks() -> None:
    rng = np.random.default_rng(0)
    features = np.maximum(rng.normal(0.5, 1.0, size=(1, 6, 5, 4)), 0).astype(np.float32)
    whole = _gaussian(features)
    mean, covariance = _moments(features)
    np.testing.assert_allclose(whole.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(whole.covariance, covariance, rtol=1e-5, atol=1e-6)
    assert whole.rank == 6 * 5 - 1
    top, bottom = _sums(features[:, :2]), _sums(features[:, 2:])
    blocks = wasserstein.gaussian(*(a + b for a, b in zip(top, bottom, strict=True)))
    np.testing.assert_allclose(blocks.mean, whole.mean, rtol=1e-6)
    np.testing.assert_allclose(blocks.covariance, whole.covariance, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", LAYERS)
def test_w2_equals_a_float64_scipy_reference(features, layer: str) -> None:
    photo, painting = features["photo"][layer], features["painting"][layer]
    style = wasserstein.style_gaussian(_gaussian(painting))
    ours = float(wasserstein.w2_squared(_gaussian(photo), style))
    reference = _w2_reference(_moments(photo), _moments(painting))
    # Float32 sums (the loss's) against float64 ones of the same features.
    assert ours == pytest.approx(reference, rel=2e-5)
    np.testing.assert_allclose(
        style.root @ style.root,
        _moments(painting)[1],
        atol=1e-6 * (np.trace(_moments(painting)[1])),
    )


def test_w2_of_a_gaussian_with_itself_is_zero_and_w2_is_symmetric(features) -> None:
    for layer in LAYERS:
        photo, painting = (
            _gaussian(features["photo"][layer]),
            _gaussian(features["painting"][layer]),
        )
        scale = float(tf.linalg.trace(photo.covariance))
        itself = float(wasserstein.w2_squared(photo, wasserstein.style_gaussian(photo), tf.float64))
        assert abs(itself) < 1e-7 * scale, layer  # float32 sums: Σ is rounded to ~1e-7
        there = wasserstein.w2_squared(photo, wasserstein.style_gaussian(painting), tf.float64)
        back = wasserstein.w2_squared(painting, wasserstein.style_gaussian(photo), tf.float64)
        assert float(there) > 0.1 * scale
        assert float(there) == pytest.approx(float(back), rel=1e-6), layer  # as above


def test_mixed_gaussian_mixes_means_and_second_moments_by_share(features) -> None:
    layer = "block2_conv1"
    photo, painting = features["photo"][layer], features["painting"][layer]
    shares = (1.0, 3.0)  # normalised: a quarter and three quarters
    sums = [_sums(photo), _sums(painting)]
    mixed = wasserstein.mixed_gaussian(
        *zip(*[s[:3] for s in sums], strict=True), shares, [s[3] for s in sums]
    )
    flat = [f.reshape(-1, f.shape[-1]).astype(np.float64) for f in (photo, painting)]
    mean = 0.25 * flat[0].mean(0) + 0.75 * flat[1].mean(0)
    second = 0.25 * flat[0].T @ flat[0] / len(flat[0]) + 0.75 * flat[1].T @ flat[1] / len(flat[1])
    covariance = second - np.outer(mean, mean)
    np.testing.assert_allclose(mixed.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(
        mixed.covariance, covariance, rtol=1e-4, atol=1e-6 * np.trace(covariance)
    )
    assert mixed.rank == len(flat[0]) + len(flat[1]) - 1
    # The mix as the style: W2² to it is W2² to that Gaussian.
    ours = float(wasserstein.w2_squared(_gaussian(photo), wasserstein.style_gaussian(mixed)))
    assert ours == pytest.approx(_w2_reference(_moments(photo), (mean, covariance)), rel=2e-5)


def test_masked_gaussian_weighs_locations_by_the_mask_squared(features) -> None:
    layer = "block2_conv1"
    photo, painting = features["photo"][layer], features["painting"][layer]
    height, width = photo.shape[1:3]
    pixels = features["photo"]["block1_conv1"].shape[1:3]  # the photo's own size
    columns = np.tile(np.linspace(0.0, 1.0, pixels[1]), (pixels[0], 1))
    area = np.clip(1.5 - 3 * columns, 0, 1).astype(np.float32)  # its left part, soft edge
    mask_guide = guide(area, (height, width))  # as StyleLoss weighs the features
    masked = wasserstein.gaussian(
        tf.reduce_sum(photo * mask_guide**2, axis=(0, 1, 2)),
        gram_sum(photo * mask_guide)[0],
        tf.reduce_sum(mask_guide**2),
        height * width,
    )
    weights = layer_map(area, (height, width)).numpy() ** 2
    mean, covariance = _moments(photo, weights)
    np.testing.assert_allclose(masked.mean, mean, rtol=1e-5)
    np.testing.assert_allclose(
        masked.covariance, covariance, rtol=1e-4, atol=1e-6 * np.trace(covariance)
    )
    style = wasserstein.style_gaussian(_gaussian(painting))
    ours = float(wasserstein.w2_squared(masked, style))
    assert ours == pytest.approx(_w2_reference((mean, covariance), _moments(painting)), rel=2e-5)


def test_trace_sqrt_gradient_is_half_the_inverse_root_with_repeated_zero_eigenvalues() -> None:
    rotation = np.linalg.qr(np.random.default_rng(3).normal(size=(5, 5)))[0]
    m = tf.constant(rotation @ np.diag([4.0, 1.0, 0.0, 0.0, 0.0]) @ rotation.T)
    with tf.GradientTape() as tape:
        tape.watch(m)
        value = wasserstein.trace_sqrt(m)
    assert float(value) == pytest.approx(3.0, rel=1e-12)
    expected = rotation @ np.diag([0.25, 0.5, 0.0, 0.0, 0.0]) @ rotation.T  # ½ M^+½
    np.testing.assert_allclose(tape.gradient(value, m), expected, atol=1e-6)
    # Eigenvalues beyond a rank bound are rounding noise: they neither count nor pull.
    noise = rotation @ np.diag([0.0, 0.0, 1e-6, 2e-6, 3e-6]) @ rotation.T
    noisy = tf.constant(m.numpy() + noise)
    assert float(wasserstein.trace_sqrt(noisy)) > 3.004  # + √1e-6 + √2e-6 + √3e-6
    with tf.GradientTape() as tape:
        tape.watch(noisy)
        value = wasserstein.trace_sqrt(noisy, rank=2)
    assert float(value) == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(tape.gradient(value, noisy), expected, atol=1e-6)


class _Float64VGG19:
    """VGG19 as `nst.vgg.FeatureExtractor` computes it (up to block5_conv1), in float64, so that
    central differences resolve the gradient."""

    def __init__(self) -> None:
        network = tf.keras.applications.VGG19(include_top=False, weights=None)
        network.load_weights(str(vgg.resolve_weights()))
        self.convolutions = {
            name: [tf.constant(w.numpy(), tf.float64) for w in network.get_layer(name).weights]
            for name in vgg.CONV_LAYERS[: vgg.CONV_LAYERS.index(LAYERS[-1]) + 1]
        }

    def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        x = images[..., ::-1] * 255.0 - tf.constant(vgg.BGR_MEAN, tf.float64)
        features = {}
        for name, (kernel, bias) in self.convolutions.items():
            if vgg.pools_before(name):
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME") + bias)
            features[name] = x
        return features


def test_gradient_through_vgg19_matches_central_differences(photo: Path, painting: Path) -> None:
    image = load_image(photo, 64)[8:40, 10:42][None].astype(np.float64)  # 32 px: block3-5 deficient
    network = _Float64VGG19()
    style_features = network(tf.constant(load_image(painting, 48)[None], tf.float64))
    np.testing.assert_allclose(  # the float64 network is the library's
        network(tf.constant(image))["block3_conv1"],
        vgg.feature_extractor(LAYERS)(tf.constant(image, tf.float32))["block3_conv1"],
        rtol=1e-4,
        atol=1e-4 * float(tf.reduce_max(network(tf.constant(image))["block3_conv1"])),
    )
    styles = {name: wasserstein.style_gaussian(_gaussian(style_features[name])) for name in LAYERS}

    def loss(image: tf.Tensor, extractor, dtype: tf.DType) -> tf.Tensor:
        features = extractor(image)
        return tf.add_n(
            [
                wasserstein.w2_squared(_gaussian(features[name]), styles[name], dtype)
                / tf.cast(styles[name].trace, dtype)
                for name in LAYERS
            ]
        )

    # An independent float64 reference: the cross term as the nuclear norm of Fc Σₛ^½ (an SVD
    # of the features, no eigendecomposition of M).
    roots = {}
    for name in LAYERS:
        flat = style_features[name].numpy().reshape(-1, style_features[name].shape[-1])
        _, singular, vt = np.linalg.svd((flat - flat.mean(0)) / np.sqrt(len(flat)), False)
        roots[name] = (flat.mean(0), (vt.T * singular) @ vt, np.sum(singular**2))

    def reference(image: np.ndarray) -> float:
        features, total = network(tf.constant(image)), 0.0
        for name, (style_mean, root, style_trace) in roots.items():
            flat = features[name].numpy().reshape(-1, features[name].shape[-1])
            centred, n = flat - flat.mean(0), len(flat)
            nuclear = np.linalg.svd(centred @ root, compute_uv=False).sum() / np.sqrt(n)
            w2 = np.sum((flat.mean(0) - style_mean) ** 2) + np.sum(centred**2) / n
            total += (w2 + style_trace - 2 * nuclear) / style_trace
        return total

    variable = tf.constant(image)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        value = loss(variable, network, tf.float64)
    gradient = tape.gradient(value, variable).numpy()
    assert float(value) == pytest.approx(reference(image), rel=1e-8)
    rng = np.random.default_rng(0)
    step = 1e-6  # small enough that no ReLU or max-pool switches; float64 resolves it
    for _ in range(3):
        direction = rng.normal(size=image.shape)
        difference = (reference(image + step * direction) - reference(image - step * direction)) / (
            2 * step
        )
        assert np.sum(gradient * direction) == pytest.approx(difference, rel=1e-6)

    # The loss as it runs: float32 VGG19 and sums, float64 after them. Its features differ from
    # float64's by ~1e-6 (relative), and its gradient by as little.
    image32 = tf.constant(image, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image32)
        value32 = loss(image32, vgg.feature_extractor(LAYERS), tf.float32)
    gradient32 = tape.gradient(value32, image32).numpy()
    assert float(value32) == pytest.approx(float(value), rel=1e-5)
    assert np.linalg.norm(gradient32 - gradient) < 1e-4 * np.linalg.norm(gradient)


def test_the_style_loss_scores_w2_of_a_mix_and_of_a_region_as_defined(
    photo: Path, painting: Path
) -> None:
    """`nst.losses.StyleLoss` under the tutorial's weights against the definition in float64:
    per style layer, W2² per channel between the image's Gaussian and the target's, times the
    layer's weight and the style weight. The target of a mix: the Gaussian of the shares'
    mix of the styles' means and raw second moments; of a mask's region: the image's moments
    weighed by the guide squared at each layer."""
    from nst.losses import StyleLoss
    from nst.options import TUTORIAL
    from nst.targets import Targets

    image, first = load_image(photo, 64), load_image(painting, 64)
    second = first[:, ::-1] * np.array([1.0, 0.6, 0.3], np.float32)  # another painting
    extractor = vgg.feature_extractor(LAYERS)

    def maps(picture: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v.numpy() for k, v in extractor(picture[None]).items() if k in LAYERS}

    ours, theirs, one = maps(image), maps(first), maps(second)
    mix = StyleLoss(image, Targets((first, second), (0.25, 0.75)), TUTORIAL, statistics=("w2",))
    mask = np.zeros(image.shape[:2], np.float32)
    mask[:, : image.shape[1] // 2] = 1.0
    region = StyleLoss(image, Targets((first,), None, (mask,)), TUTORIAL, statistics=("w2",))
    expected_mix = expected_region = 0.0
    for layer in LAYERS:
        channels = ours[layer].shape[-1]
        factor = TUTORIAL.style_weight * TUTORIAL.style_layers[layer] / channels
        (m1, c1), (m2, c2) = _moments(theirs[layer]), _moments(one[layer])
        second_moment = 0.25 * (c1 + np.outer(m1, m1)) + 0.75 * (c2 + np.outer(m2, m2))
        mean = 0.25 * m1 + 0.75 * m2
        target = (mean, second_moment - np.outer(mean, mean))
        expected_mix += factor * _w2_reference(_moments(ours[layer]), target)
        weights = guide(mask, ours[layer].shape[1:3]).numpy() ** 2
        expected_region += factor * _w2_reference(_moments(ours[layer], weights), (m1, c1))
    batch = tf.constant(image[None])
    assert float(mix(batch)["style_w2"]) == pytest.approx(expected_mix, rel=1e-3)
    # The region covers half the image: its loss counts by its share.
    assert float(region(batch)["style_w2"]) == pytest.approx(0.5 * expected_region, rel=1e-3)
