"""The page's inputs: the upload components, which decode nothing, and `PageInputs`, the values a
person set, as one value.

Gradio's own components decode what a visitor sends on the server: `gr.Image` opens every
upload (and any ``data:`` URL) with Pillow, which recognises forty formats by their contents
(PostScript among them, run by Ghostscript); `gr.ImageEditor` decodes the canvas the browser
sends; `gr.Video` runs ffprobe. The components here hand the handlers undecoded paths instead,
only of files inside the server's upload folder, and never download a URL: the files are then
decoded by `nst.door` alone. A file that cannot be had (not uploaded here, a link) becomes an
`InputError` value, which the handler turns into its one-line answer like any bad input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio import processing_utils, utils
from gradio.components.image_editor import AcceptBlobs, EditorData
from gradio.data_classes import FileData, ImageData

from nst import device, door, pipeline
from nst.errors import InputError
from nst.images import load_image, to_pil
from nst.options import (
    MAX_IMAGE_BYTES,
    PAGE_MIN_SIZE,
    PAGE_TIME_BUDGET_LIMITS,
    REFINE_FAST,
    SIZE_LIMITS,
    FastOptions,
    OptimizeOptions,
    Settings,
)

# What an input component hands a handler: a file's path (or, for a streamed webcam frame, its
# bytes), why there is none, or nothing.
Given = str | bytes | InputError | None
# The mask editor's canvas: each part's file, as `MaskEditor` hands it over.
Canvas = dict[str, Any]
# The canvas parts the editor may send (a background, its composite and a few layers).
MAX_BLOBS, MAX_LAYERS = 256, 8
# A camera frame: a JPEG of a few hundred kB at most.
MAX_FRAME_BYTES = 4 * 2**20


def uploaded(path: str | None) -> Given:
    """``path`` if it names a file inside the server's upload folder, else why not."""
    if not path:
        return None
    if processing_utils.client_utils.is_http_url_like(path):
        return InputError("Send the file itself, not a link to it.")
    resolved = Path(path).resolve()
    if not (utils.is_in_or_equal(resolved, Path(utils.get_upload_folder()).resolve())):
        return InputError("That file was not uploaded here; upload it again.")
    if not resolved.is_file():
        return InputError("That upload is no longer on the server; upload it again.")
    return str(resolved)


def _saved(data: bytes, name: str, cache: str) -> str:
    """Bytes a client sent inline, written undecoded to a file of the upload folder."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError(f"The file is larger than the limit of {MAX_IMAGE_BYTES >> 20} MB.")
    return write_once(data, name, cache)


def write_once(data: bytes, name: str, cache: str) -> str:
    """``data`` as the file ``name`` in a folder of the upload folder named by its hash, written
    once and whole. Gradio's own helpers rewrite an existing file in place, so a visitor still
    downloading an image got it cut short when another was handed the same one (two visitors
    clicking one example)."""
    folder = Path(cache) / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        os.utime(path)  # handed out again: the sweep ages files by their last use
        return str(path.resolve())
    except FileNotFoundError:  # not made yet, or swept a moment ago
        pass
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)
    return str(path.resolve())


class _NoDownloads:
    """Refuses a URL given as a file (Gradio would download it before preprocessing). Put first
    among a component's bases; the page then draws the component as the Gradio one after it."""

    def get_block_name(self) -> str:
        return self._drawn_as()

    def get_block_class(self) -> str:
        return self._drawn_as()

    def _drawn_as(self) -> str:
        gradio = next(c for c in type(self).__mro__ if c.__module__.startswith("gradio."))
        return gradio.__name__.lower()

    async def async_move_resource_to_block_cache(self, url_or_file_path):  # type: ignore[override]
        if url_or_file_path and processing_utils.client_utils.is_http_url_like(
            str(url_or_file_path)
        ):
            raise gr.Error("Send the file itself, not a link to it.")
        return await super().async_move_resource_to_block_cache(url_or_file_path)  # type: ignore[misc]


class Upload(_NoDownloads, gr.Image):
    """An image input whose value is the uploaded file's path, undecoded (or a streamed camera
    frame's bytes), for `nst.door` to open."""

    def preprocess(self, payload: ImageData | None) -> Given:  # type: ignore[override]
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):  # a streamed webcam frame
            encoded = payload.url.partition(",")[2]
            if len(encoded) > MAX_FRAME_BYTES * 4 // 3 + 4:
                return InputError("A camera frame is larger than the server takes.")
            try:  # kept in memory, undecoded: `nst.door` decodes bytes as it decodes files
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                return InputError("A camera frame that is not base64 data.")
        return uploaded(payload.path)

    def postprocess(self, value: Any) -> ImageData | None:  # type: ignore[override]
        """A result (an RGB array, uint8 or float in [0, 1]) as a file written once (see
        `write_once`), in the component's format."""
        if isinstance(value, np.ndarray):
            encoded = io.BytesIO()
            to_pil(value).save(encoded, format=self.format)
            value = write_once(encoded.getvalue(), f"image.{self.format}", self.GRADIO_CACHE)
        return super().postprocess(value)


class MaskEditor(_NoDownloads, gr.ImageEditor):
    """The mask editor, whose value is ``{"background": path, "layers": [path], "composite":
    path}``, every file undecoded. The browser sends the canvas as PNG blobs to `accept_blobs`
    first; they are written to files here, not decoded."""

    def preprocess(self, payload: EditorData | None) -> Canvas | InputError | None:  # type: ignore[override]
        if payload is None:
            return None
        try:
            if payload.id is not None:
                blobs = self.blob_storage.pop(payload.id, None)
                if blobs is None:
                    return None
                parts = {"background": blobs.background, "composite": blobs.composite}
                files = {
                    k: v and _saved(v, f"{k}.png", self.GRADIO_CACHE) for k, v in parts.items()
                }
                layers = [
                    _saved(blob, "layer.png", self.GRADIO_CACHE) for blob in blobs.layers if blob
                ]
                return {**files, "layers": layers}
            given = {
                "background": uploaded(payload.background and payload.background.path),
                "composite": uploaded(payload.composite and payload.composite.path),
                "layers": [uploaded(layer.path) for layer in payload.layers if layer],
            }
        except InputError as error:
            return error
        for value in (given["background"], given["composite"], *given["layers"]):
            if isinstance(value, InputError):
                return value
        return given

    @gr.components.base.server
    def accept_blobs(self, data: AcceptBlobs):
        # Gradio keeps each blob in memory under an id the client chooses until a request takes
        # it: bound how many it keeps, and the layers of one canvas.
        while len(self.blob_storage) >= MAX_BLOBS:
            self.blob_storage.pop(next(iter(self.blob_storage)))
        index = data.data.get("index")
        if (
            data.data.get("type") == "layer"
            and index not in (None, "null")
            and int(index) > MAX_LAYERS
        ):
            raise gr.Error(f"A mask has at most {MAX_LAYERS} layers.")
        return super().accept_blobs(data)


class VideoUpload(_NoDownloads, gr.Video):
    """A video input whose value is the uploaded file's path, and an output that hands our own
    MP4 to the page as it is: Gradio's ffprobe and ffmpeg are never run."""

    def preprocess(self, payload: FileData | None) -> Given:  # type: ignore[override]
        return None if payload is None else uploaded(payload.path)

    def postprocess(self, value: Any) -> FileData | None:  # type: ignore[override]
        if value is None:
            return None
        path = str(value[0] if isinstance(value, tuple | list) else value)
        return FileData(path=path, orig_name=Path(path).name)


class Slider(gr.Slider):
    """A slider whose value reaches the handler even out of its range, where the library
    refuses it in its own one line (Gradio's own check answers an API client with an
    exception and the server log with a traceback)."""

    def preprocess(self, payload: float | None) -> float | None:  # type: ignore[override]
        return payload


def usable(given: Given) -> str | bytes | None:
    """A file an input component handed over (raises the `InputError` it holds instead)."""
    if isinstance(given, InputError):
        raise given
    return given


def image_of(given: Given) -> np.ndarray | None:
    """An image input (such as the fast result sent back) decoded through `nst.door`."""
    path = usable(given)
    return None if path is None else load_image(path)


@dataclass(frozen=True)
class PageInputs:
    """What a person set on the photo page, one field per input component, named as the API
    names its parameters; the defaults are the page's. The handlers take one of these; the event
    wiring and the tests' API calls derive their inputs from its fields (`ENDPOINT_INPUTS`)."""

    content: Given = None  # image files by path (through the API: `handle_file(...)`)
    style: Given = None
    second_style: Given = None
    second_style_share: float = 0.5
    strength: float = FastOptions().strength
    size: int = field(default_factory=lambda: device.defaults().size)
    colors: str = Settings().colors
    style_scale: float = Settings().style_scale
    mask: Canvas | InputError | None = None  # the editor's canvas: the strokes painted
    mask_file: Given = None
    init: str = REFINE_FAST.init
    time_budget: float | None = REFINE_FAST.time_budget
    emphasis: str = REFINE_FAST.emphasis
    style_loss: str = REFINE_FAST.style_loss

    def job(self) -> pipeline.Job:
        """These values as a validated job (raises `InputError` for bad input)."""
        content, style = usable(self.content), usable(self.style)
        if not content or not style:
            raise InputError("Upload a content photo and a style image first.")
        styles, mix = [style], None
        if not 0 <= self.second_style_share <= 1:
            raise InputError(f"The second style's share is 0 to 1, not {self.second_style_share}.")
        if second := usable(self.second_style):
            styles = [style, second]
            mix = (1.0 - self.second_style_share, self.second_style_share)
        largest = device.defaults().page_max_size
        if not PAGE_MIN_SIZE <= int(self.size) <= largest:
            raise InputError(
                f"On this page the output is {PAGE_MIN_SIZE} to {largest} px on its long side "
                f"(here on {device.current().label}); the command line goes up to "
                f"{SIZE_LIMITS[1]} px."
            )
        budget, longest = self.time_budget, PAGE_TIME_BUDGET_LIMITS[1]
        if budget is not None and budget > longest:  # a short one is only short
            raise InputError(f"On this page an optimization takes at most {longest} s.")
        return pipeline.prepare(
            content,
            styles,
            Settings(
                size=int(self.size),
                style_mix=mix,
                colors=self.colors,
                style_scale=float(self.style_scale),
            ),
            FastOptions(strength=self.strength),
            OptimizeOptions(
                init=self.init,
                time_budget=budget,
                emphasis=self.emphasis,
                style_loss=self.style_loss,
            ),
            mask=self.mask_map(),
        )

    def mask_map(self) -> np.ndarray | str | None:
        """The mask a person gave: an uploaded file, else what they painted over the photo (the
        strokes' opacity, whatever their color), else none."""
        if mask_file := usable(self.mask_file):
            return mask_file
        if isinstance(self.mask, InputError):
            raise self.mask
        strokes = [
            np.asarray(door.open_image(layer).convert("RGBA"))[..., 3]
            for layer in (self.mask or {}).get("layers") or []
        ]
        if not strokes or max(int(stroke.max()) for stroke in strokes) == 0:
            return None
        if len({stroke.shape for stroke in strokes}) > 1:
            raise InputError("The mask's layers differ in size; paint the mask again.")
        return np.max(strokes, axis=0).astype(np.float32) / 255.0

    def files(self) -> tuple[str, ...]:
        """The files these values name (kept by the cache sweep while a request uses them)."""
        canvas = self.mask if isinstance(self.mask, dict) else {}
        named = [self.content, self.style, self.second_style, self.mask_file]
        named += [canvas.get("background"), canvas.get("composite"), *canvas.get("layers", [])]
        return tuple(value for value in named if isinstance(value, str))

    def api(self, endpoint: str) -> dict[str, Any]:
        """The values an API endpoint takes from these, by parameter name (for
        `gradio_client.Client.predict(**...)`)."""
        return {name: getattr(self, name) for name in ENDPOINT_INPUTS[endpoint]}


PAGE_FIELDS = tuple(f.name for f in fields(PageInputs))
_OPTIMIZE_ONLY = ("init", "time_budget", "emphasis", "style_loss")
# The page's inputs each API endpoint takes, in the order its parameters are listed (each also
# takes the event's own components: the fast image, the layer).
ENDPOINT_INPUTS = {
    "fast": tuple(name for name in PAGE_FIELDS if name not in _OPTIMIZE_ONLY),
    # The losses of the fast image shown: it has its size, and the strength no longer matters.
    "fast_losses": tuple(
        name for name in PAGE_FIELDS if name not in (*_OPTIMIZE_ONLY, "strength", "size")
    ),
    "optimize": PAGE_FIELDS,
    "inside_vgg": ("content", "style", "second_style", "mask", "mask_file"),
}
