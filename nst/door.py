"""The one door every file a person gives us comes through: it decodes only the formats named here.

Pillow recognises a file by its contents, not by its name, and knows some forty formats: a
PostScript program named ``photo.jpg`` is an EPS image to it, which it hands to Ghostscript to
run. FFmpeg likewise picks a demuxer by probing, and some demuxers (HLS playlists, ``concat``
lists, image sequences) open further files and URLs named inside the upload. So no code of the
project opens a person's file but this module, and it opens

- images with Pillow restricted to `IMAGE_FORMATS` (``Image.open(..., formats=...)``): a file
  of any other kind is refused before another decoder sees a byte;
- videos with PyAV forced to the demuxer of the container sniffed from the first bytes
  (`VIDEO_CONTAINERS`: ISO media, i.e. MP4 and MOV, and Matroska, i.e. MKV and WebM), reading
  only the open file itself, and decoding only the codecs in `VIDEO_CODECS`.

Before either, the path must name a regular file (not a folder, a pipe or a device), and its
bytes are read through one file descriptor, so what is decoded is what was checked. Every
refusal is an `InputError` with one line that names the accepted formats or the limit passed.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import re
import stat
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PIL import ExifTags, Image, TiffImagePlugin

from nst.errors import InputError
from nst.options import (
    MAX_IMAGE_BYTES,
    MAX_INPUT_PIXELS,
    MAX_VIDEO_BYTES,
    MAX_VIDEO_FPS,
    MAX_VIDEO_PIXELS,
    MAX_VIDEO_SECONDS,
    check_sides,
)

if TYPE_CHECKING:
    import av.container
    import av.stream

Source = str | os.PathLike | bytes

# Pillow's names of the image formats we decode, and the same in words for people.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
IMAGE_FORMATS_IN_WORDS = "JPEG, PNG, WebP, BMP, GIF or TIFF"
# The names' endings of those formats, for picking images out of a folder (the door still
# decides by the contents).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
# The video containers we demux, by the FFmpeg demuxer forced for each, and the codecs we decode
# (FFmpeg's names). Sound is never decoded to be shown, only copied (`AUDIO_CODECS`).
VIDEO_CONTAINERS = {"ISO media (MP4, MOV)": "mov", "Matroska (MKV, WebM)": "matroska"}
VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "av1")
VIDEO_FORMATS_IN_WORDS = "MP4, MOV, MKV or WebM with H.264, H.265, VP8, VP9 or AV1"
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "ac3", "eac3", "flac")
# Some decoding costs grow with a file's structure, not its pixels: libjpeg passes over the whole
# image once per progressive scan, and Pillow reads JPEG segments, PNG chunks, GIF blocks, BMP
# runs and TIFF entries and strips in Python, a step each, so a small image in a file of
# millions of tiny units takes minutes (or, for GIF comments, hours). The units are counted
# from the bytes before anything is decoded (as libjpeg and Pillow walk them, stray bytes
# included) and a file with more than these is refused: real files have a few dozen (a TIFF
# one strip a row), and at the limits decoding takes about a second on one core.
MAX_JPEG_SCANS = 100
MAX_JPEG_SEGMENTS = 1000
MAX_PNG_CHUNKS = 65_536  # 80 MB of chunks of 1.2 KB
MAX_GIF_BLOCKS = 4096  # data sub-blocks and stray bytes before the first frame
MAX_BMP_RLE_BYTES = 2**20
MAX_TIFF_ENTRIES = 4096  # tags in the first image's directory
MAX_TIFF_BLOCKS = 65_536  # strips or tiles of the first image

# What a few common kinds we refuse look like, to say what the file is (never decoded).
_KNOWN_KINDS = (
    (b"%!PS", "a PostScript program"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript program"),
    (b"%PDF", "a PDF document"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML document"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"#extm3u", "a playlist"),
    (b"ffconcat", "a list of files"),
    (b"8BPS", "a Photoshop file"),
    (b"PK\x03\x04", "a ZIP archive"),
)
# The first bytes of the image formats we decode, to tell an image sent as a video.
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\0", b"MM\0*", b"RIFF")
# ISO media brands of still images (HEIF, AVIF): the same container as MP4, not a video.
_IMAGE_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def _quiet_libtiff() -> None:
    """Stop libtiff printing its errors and warnings on stderr (Pillow reports each failure as
    an exception anyway, which the door turns into its one line): the libtiff Pillow loaded,
    found among this process's mappings (Linux; elsewhere it stays as it is)."""
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        path = next((line.split()[-1] for line in maps if "/libtiff" in line), None)
        if path is not None:
            libtiff = ctypes.CDLL(path)
            libtiff.TIFFSetErrorHandler(None)
            libtiff.TIFFSetWarningHandler(None)


_quiet_libtiff()


def _quiet_pillow() -> None:
    """Keep Pillow's warnings off stderr, where they would follow a refusal's one line: of
    damaged metadata, and of large images (`check_size` refuses those from the header). Set
    again before each decoding (adding a filter that is there already changes nothing), since
    whoever restores the warning filters (a `warnings.catch_warnings` block, as test runners
    have) drops them; not set per call with `catch_warnings`, which threads cannot share."""
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def name_of(source: Source) -> str:
    """How a message names ``source``: its file name (never its folder), quoted, with control
    characters replaced so the message stays one line."""
    if isinstance(source, bytes):
        return "The upload"
    name = Path(os.fsdecode(source)).name or os.fsdecode(source)
    printable = "".join(c if c.isprintable() else "?" for c in name)
    return f"'{printable[:60]}…'" if len(printable) > 60 else f"'{printable}'"


@contextlib.contextmanager
def open_file(source: str | os.PathLike, limit: int) -> Iterator[BinaryIO]:
    """The file at ``source``, open for reading, once it is known to be a regular file of at
    most ``limit`` bytes. Opened without blocking, so a pipe cannot hang the caller."""
    name = name_of(source)
    try:
        descriptor = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{name} does not exist.") from None
    except PermissionError:
        raise InputError(f"{name} cannot be read (permission denied).") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        reason = getattr(error, "strerror", None) or "not a valid path"
        raise InputError(f"{name} cannot be opened ({reason}).") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name} is not a file (a folder, a device or a pipe).")
        if info.st_size == 0:
            raise InputError(f"{name} is empty.")
        if info.st_size > limit:
            raise InputError(f"{name} is larger than the limit of {limit / 2**20:.0f} MB.")
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as file:
        yield file


def read_bytes(source: Source, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of ``source`` (a path, or the bytes themselves), within ``limit``."""
    if isinstance(source, bytes):
        if not source:
            raise InputError("The file is empty.")
        if len(source) > limit:
            raise InputError(f"The file is larger than the limit of {limit / 2**20:.0f} MB.")
        return source
    with open_file(source, limit) as file:
        data = file.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise InputError(f"{name_of(source)} is larger than the limit of {limit / 2**20:.0f} MB.")
    return data


# --- Images -------------------------------------------------------------------------------------


def image_size(source: Source) -> tuple[int, int]:
    """(width, height) from the header of an image we decode, without decoding it."""
    with _opened(read_bytes(source), name_of(source)) as image:
        return image.size


def open_image(source: Source) -> Image.Image:
    """Decode an image file of one of `IMAGE_FORMATS` (the first frame of an animation), turned
    upright by its EXIF orientation, in whatever mode it has. Its size is checked against
    `nst.options.MIN_SIDE` and `MAX_INPUT_PIXELS` from the header, before the pixels are decoded."""
    name = name_of(source)
    with _opened(read_bytes(source), name) as opened:
        check_size(*opened.size)
        try:
            opened.load()
            return _upright(opened)
        except (Image.DecompressionBombError, MemoryError):
            raise InputError(f"{name} is too large to decode safely.") from None
        except Exception:  # a decoder's every failure on hostile bytes means the same to a person
            raise InputError(f"{name} is damaged or truncated and cannot be decoded.") from None


@contextlib.contextmanager
def _opened(data: bytes, name: str) -> Iterator[Image.Image]:
    """The image of ``data`` opened (its header read, nothing decoded) by a decoder of
    `IMAGE_FORMATS` only."""
    if (too_much := _too_much(data)) is not None:
        raise InputError(f"{name} is {too_much}; save it again.")
    _quiet_pillow()
    try:
        opened = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.UnidentifiedImageError:
        raise InputError(_not_accepted(name, data, IMAGE_FORMATS_IN_WORDS)) from None
    except Image.DecompressionBombError:
        raise InputError(f"{name} is too large to decode safely.") from None
    except Exception:  # a header a decoder of ours recognised, then choked on
        raise InputError(f"{name} is damaged or truncated and cannot be decoded.") from None
    with opened:
        yield opened


def _not_accepted(name: str, data: bytes, accepted: str) -> str:
    kind = _kind(data)
    what = f"{kind}, not" if kind else "not"
    return f"{name} is {what} an image we open; send a {accepted} file."


def _kind(head: bytes) -> str | None:
    """What a file we refuse is, by its first bytes, when it is a kind people often send."""
    if head[4:8] == b"ftyp":
        return "a HEIF or AVIF photo" if head[8:12] in _IMAGE_BRANDS else "a video"
    start = head[:64].lstrip().lower()
    return next((kind for magic, kind in _KNOWN_KINDS if start.startswith(magic.lower())), None)


def _too_much(data: bytes) -> str | None:
    """What makes ``data`` cost a decoder far more than its size (see `MAX_JPEG_SCANS`), in
    words, or None."""
    if data[:3] == b"\xff\xd8\xff":
        scans, segments = _jpeg_units(data)
        if scans > MAX_JPEG_SCANS:
            return f"a JPEG of more than {MAX_JPEG_SCANS} scans"
        if segments > MAX_JPEG_SEGMENTS:
            return f"a JPEG of more than {MAX_JPEG_SEGMENTS} segments"
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and _png_chunks(data) > MAX_PNG_CHUNKS:
        return f"a PNG of more than {MAX_PNG_CHUNKS} chunks"
    elif data[:6] in (b"GIF87a", b"GIF89a") and _gif_blocks(data) > MAX_GIF_BLOCKS:
        return f"a GIF of more than {MAX_GIF_BLOCKS} blocks before its first frame"
    elif data[:2] == b"BM" and _bmp_rle_bytes(data) > MAX_BMP_RLE_BYTES:
        return f"a run-length BMP of more than {MAX_BMP_RLE_BYTES // 2**20} MB of runs"
    elif data[:4] in TiffImagePlugin.PREFIXES:
        entries, blocks = _tiff_units(data)
        if entries > MAX_TIFF_ENTRIES:
            return f"a TIFF of more than {MAX_TIFF_ENTRIES} tags"
        if blocks > MAX_TIFF_BLOCKS:
            return f"a TIFF of more than {MAX_TIFF_BLOCKS} strips or tiles"
    return None


# A JPEG marker as libjpeg finds one: FF (the last of any fill FFs) and a code that is neither
# 00 (a stuffed FF in entropy-coded data) nor a restart (D0-D7, inside scans). libjpeg skips
# any other byte between segments (with a warning), and so does the search.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_units(data: bytes) -> tuple[int, int]:
    """(scans, marker segments) of a JPEG's first image, walked as libjpeg walks them; the count
    stops past the limits."""
    scans = segments = 0
    position = 2
    while segments <= MAX_JPEG_SEGMENTS and (found := _JPEG_MARKER.search(data, position)):
        marker, position = data[found.start() + 1], found.end()
        if marker == 0xD9:  # end of image
            break
        segments += 1
        if marker not in (0x01, 0xD8):  # the others have a length (scans: then their data)
            scans += marker == 0xDA
            position += int.from_bytes(data[position : position + 2], "big")
    return scans, segments


def _png_chunks(data: bytes) -> int:
    """How many chunks a PNG has, up to IEND; the count stops past the limit."""
    chunks, position = 0, 8
    while position + 8 <= len(data) and chunks <= MAX_PNG_CHUNKS:
        chunks += 1
        if data[position + 4 : position + 8] == b"IEND":
            break
        position += 12 + int.from_bytes(data[position : position + 4], "big")
    return chunks


def _gif_blocks(data: bytes) -> int:
    """How many data sub-blocks and stray bytes Pillow reads before a GIF's first frame; the
    count stops past the limit."""
    flags, position, blocks = data[10] if len(data) > 10 else 0, 13, 0
    if flags & 0x80:  # a global colour table
        position += 3 << ((flags & 7) + 1)
    while position < len(data) and blocks <= MAX_GIF_BLOCKS and data[position] not in b",;":
        if data[position] != 0x21:  # a stray byte
            position, blocks = position + 1, blocks + 1
            continue
        position += 2  # the extension's introducer and label, then its sub-blocks
        while position < len(data) and blocks <= MAX_GIF_BLOCKS:
            size = data[position]
            position, blocks = position + 1 + size, blocks + 1
            if size == 0:
                break
    return blocks


def _bmp_rle_bytes(data: bytes) -> int:
    """The bytes of run-length pixels a BMP holds (0 when it is not RLE4 or RLE8)."""
    if len(data) < 34 or int.from_bytes(data[14:18], "little") < 40:  # no compression field
        return 0
    compression = int.from_bytes(data[30:34], "little")
    return len(data) - int.from_bytes(data[10:14], "little") if compression in (1, 2) else 0


def _tiff_units(data: bytes) -> tuple[int, int]:
    """(tags, strips or tiles) of a TIFF's first image, read from its directory; (0, 0) when
    the header cannot be read (Pillow then says what is wrong)."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\0", b"\0+")
    count, entry, size = ("Q", "HHQ", 20) if big else ("H", "HHI", 12)
    try:
        (directory,) = struct.unpack_from(order + ("Q" if big else "I"), data, 8 if big else 4)
        (entries,) = struct.unpack_from(order + count, data, directory)
        first = directory + struct.calcsize(count)
        for index in range(min(entries, MAX_TIFF_ENTRIES)):
            tag, _, values = struct.unpack_from(order + entry, data, first + index * size)
            if tag in (273, 324):  # StripOffsets, TileOffsets
                return entries, values
    except (struct.error, OverflowError):  # offsets past the data, or past what an index holds
        return 0, 0
    return entries, 0


_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image) -> Image.Image:
    """A copy turned as its EXIF Orientation says; damaged EXIF is ignored, never fatal.

    Unlike `ImageOps.exif_transpose`, which re-encodes the EXIF block and raises TypeError or
    struct.error on a damaged one, this only reads the orientation tag.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # malformed metadata: the pixels are still good
        orientation = None
    method = _ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image.copy()


def check_size(width: int, height: int) -> None:
    """Refuse images too small for the networks or larger than `MAX_INPUT_PIXELS`: the one
    check of an input's size."""
    check_sides(width, height)
    if width * height > MAX_INPUT_PIXELS:
        raise InputError(
            f"The image is {width}×{height} pixels; the limit is "
            f"{MAX_INPUT_PIXELS / 1e6:.0f} megapixels. Use a smaller image."
        )


# --- Videos -------------------------------------------------------------------------------------


@dataclass
class VideoInput:
    """A video opened through the door: its container and the streams we use. Close it (or use
    it as a context manager) to release the file."""

    container: av.container.InputContainer
    video: av.stream.Stream
    audio: av.stream.Stream | None  # the first sound stream we can copy or convert, if any
    name: str  # for messages
    resources: contextlib.ExitStack  # the file and the container, closed in that order reversed

    @property
    def seconds(self) -> float | None:
        """The declared duration, when the container states one."""
        stream, container = self.video, self.container
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return container.duration / 1e6 if container.duration is not None else None

    @property
    def frame_rate(self) -> Fraction | None:
        rate = self.video.average_rate or self.video.guessed_rate
        return Fraction(rate) if rate else None

    def close(self) -> None:
        self.resources.close()

    def __enter__(self) -> VideoInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def video_container(head: bytes) -> str | None:
    """The FFmpeg demuxer for a file that begins with ``head`` (its first bytes), or None when
    it is not a container of `VIDEO_CONTAINERS`."""
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return VIDEO_CONTAINERS["ISO media (MP4, MOV)"]
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return VIDEO_CONTAINERS["Matroska (MKV, WebM)"]
    return None


def open_video(source: str | os.PathLike, max_seconds: float = MAX_VIDEO_SECONDS) -> VideoInput:
    """Open a video of `VIDEO_CONTAINERS` with a video stream of `VIDEO_CODECS` whose declared
    frame size, frame rate and duration are within the limits. Only the open file is read: the
    demuxer is forced (no probing), and FFmpeg may open no other file or URL."""
    import av

    name = name_of(source)
    with contextlib.ExitStack() as cleanup:  # emptied into the VideoInput once all is well
        file = cleanup.enter_context(open_file(source, MAX_VIDEO_BYTES))
        head = file.read(64)
        file.seek(0)
        demuxer = video_container(head)
        if demuxer is None:
            raise InputError(_not_accepted_video(name, head))
        try:
            container = av.open(
                file,
                format=demuxer,
                # No other file or URL: no protocol may be opened from inside the container
                # (QuickTime's external data references are off by default; said again here).
                container_options={"protocol_whitelist": "none", "enable_drefs": "0"},
                metadata_errors="replace",
            )
        except Exception:  # FFmpeg's error for bytes its demuxer could not parse
            raise InputError(f"{name} is damaged or truncated and cannot be read.") from None
        cleanup.callback(container.close)
        if not container.streams:  # nothing could be read, not even its index
            raise InputError(f"{name} is damaged or truncated and cannot be read.")
        video = next((s for s in container.streams.video), None)
        if video is None:
            raise InputError(f"{name} has no video in it.")
        codec = video.codec_context.codec.canonical_name  # the codec, not its decoder's name
        if codec not in VIDEO_CODECS:
            raise InputError(f"{name} is encoded as {codec}; send {VIDEO_FORMATS_IN_WORDS}.")
        opened = VideoInput(container, video, _audio(container), name, cleanup.pop_all())
        try:
            _check_video(opened, max_seconds)
        except InputError:
            opened.close()
            raise
    return opened


def _not_accepted_video(name: str, head: bytes) -> str:
    kind = _kind(head) or ("an image" if head.startswith(_IMAGE_MAGIC) else None)
    what = f"{kind}, not" if kind else "not"
    return f"{name} is {what} a video we can read; send {VIDEO_FORMATS_IN_WORDS}."


def _audio(container: av.container.InputContainer) -> av.stream.Stream | None:
    audio = container.streams.audio
    return next((s for s in audio if s.codec_context.codec.canonical_name in AUDIO_CODECS), None)


def _check_video(opened: VideoInput, max_seconds: float) -> None:
    """The declared frame size, frame rate and duration within the limits (the decoding checks
    the frames themselves as they come)."""
    context, name = opened.video.codec_context, opened.name
    width, height = context.width, context.height
    check_sides(width, height, what=f"The frames of {name} are")
    if width * height > MAX_VIDEO_PIXELS:
        raise InputError(
            f"{name} has frames of {width}×{height} pixels; the limit is "
            f"{MAX_VIDEO_PIXELS / 1e6:.1f} megapixels (4K)."
        )
    rate = opened.frame_rate
    if rate is not None and rate > MAX_VIDEO_FPS:
        raise InputError(
            f"{name} has {float(rate):.0f} frames a second; the limit is {MAX_VIDEO_FPS}."
        )
    seconds = opened.seconds
    if seconds is not None and seconds > max_seconds:
        raise InputError(f"{name} lasts {seconds:.0f} s; the limit is {max_seconds:.0f} s.")
