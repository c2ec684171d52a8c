"""The hostile-input corpus: the kinds of file a visitor might give us, each made on demand.

Every `Kind` is a small record: its name, its family, how it is made (in words and as code:
nothing binary is kept in the repository) and what a correct door does with it (`Expect`):
refuse it with one line matching a pattern, or give a result, and what a correct result is
(its upright size, its colours). `corpus(folder)` writes them all into ``folder`` in a few
seconds and returns them with their ``path``; `representatives` keeps one kind per family.
``python -m tests.hostile FOLDER`` (from the repository) writes the corpus there and lists it
as a Markdown table.
"""

from __future__ import annotations

import io
import os
import re
import socket
import struct
import sys
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

from nst.door import IMAGE_FORMATS_IN_WORDS, MAX_JPEG_SCANS
from nst.options import MAX_IMAGE_BYTES, MAX_INPUT_PIXELS, MIN_SIDE

REPO = Path(__file__).resolve().parents[1]
GOOD_PHOTO = REPO / "assets" / "content_chelsea.jpg"  # 451×300, outside any corpus folder
# No hostile input may take longer than this, on 2 cores.
TIME_BOUND = 5.0
# Floods (work per byte in a decoder's Python loop) are made this large and must be handled
# pro rata: a flood at the byte limit may take half the bound (the pixels it wraps need the
# other half), so one of n bytes FLOOD_SHARE × n / MAX_IMAGE_BYTES seconds. Small enough for
# the tests; benchmarks can make them larger.
FLOOD_BYTES = 2 * 2**20
FLOOD_SHARE = TIME_BOUND / 2

Check = Callable[[np.ndarray], bool]


@dataclass(frozen=True)
class Expect:
    """What a correct door does with a kind: ``refusal`` (a regex of the one-line message), or
    a result described by ``result`` and checked by ``size`` (width, height, upright) and
    ``check`` (on `nst.images.load_image`'s float RGB array); ``either`` allows both."""

    refusal: str | None = None
    result: str = ""
    size: tuple[int, int] | None = None
    check: Check | None = None
    either: bool = False
    seconds: float = TIME_BOUND

    @property
    def refuses(self) -> bool:
        return self.refusal is not None and not self.either

    def describe(self) -> str:
        refused = f"refused: /{self.refusal}/" if self.refusal else ""
        result = f"a result: {self.result}" if self.result else ""
        return " or ".join(part for part in (refused, result) if part)


def refused(pattern: str, seconds: float = TIME_BOUND) -> Expect:
    return Expect(refusal=pattern, seconds=seconds)


def result(words: str, size: tuple[int, int] | None = None, check: Check | None = None) -> Expect:
    return Expect(result=words, size=size, check=check)


def either(pattern: str, words: str, size: tuple[int, int] | None = None) -> Expect:
    return Expect(refusal=pattern, result=words, size=size, either=True)


@dataclass
class Kind:
    """One kind of hostile input. ``make(folder)`` creates it in ``folder`` (or names a path
    outside it, such as a device) and returns its path; `corpus` sets ``path``."""

    name: str
    family: str
    how: str
    make: Callable[[Path], Path]
    expect: Expect
    uploadable: bool = True  # a regular file a browser can send (not a folder, pipe, device)
    canary: str = ""  # a file (in the folder) the kind's active content would write if run
    path: Path | None = None

    def canary_path(self) -> Path | None:
        return self.path.parent / self.canary if self.canary and self.path else None


# --- Building blocks ----------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _photo(width: int = 48, height: int = 32) -> Image.Image:
    """A small photo-like RGB image, never black: a colour gradient with a bright square."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, 128 + 0 * x], axis=-1)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = 255
    return Image.fromarray(pixels.astype(np.uint8))


RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _quadrants() -> Image.Image:
    """48×32, upright: red top left, green top right, blue bottom left, white bottom right."""
    pixels = np.zeros((32, 48, 3), np.uint8)
    pixels[:16, :24], pixels[:16, 24:], pixels[16:, :24], pixels[16:, 24:] = RED, GREEN, BLUE, WHITE
    return Image.fromarray(pixels)


def _is_upright(image: np.ndarray) -> bool:
    corners = [image[2, 2], image[2, -3], image[-3, 2], image[-3, -3]]
    wanted = [RED, GREEN, BLUE, WHITE]
    return image.shape[:2] == (32, 48) and all(
        np.array_equal(corner > 0.5, np.array(colour) > 127)
        for corner, colour in zip(corners, wanted, strict=True)
    )


def colour(rgb: tuple[int, int, int], tolerance: int = 3) -> Check:
    """Every pixel within ``tolerance`` (of 255) of ``rgb``."""
    target = np.array(rgb, np.float32) / 255
    return lambda image: float(np.abs(image - target).max()) <= tolerance / 255


def _ramp(first: int = 0, last: int = 255, tolerance: int = 2) -> Check:
    """A grey ramp left to right: neutral, never darker to the right, from ``first`` to
    ``last`` (of 255)."""

    def check(image: np.ndarray) -> bool:
        row = image[image.shape[0] // 2]
        neutral = float(np.ptp(row, axis=1).max()) <= 1 / 255
        ends = np.abs(np.array([row[0, 0], row[-1, 0]]) * 255 - (first, last)).max() <= tolerance
        return neutral and bool(np.all(np.diff(row[:, 0]) >= 0)) and bool(ends)

    return check


def _not_black(image: np.ndarray) -> bool:
    return bool(np.isfinite(image).all() and image.max() > 0.1)


def _binary(image: np.ndarray) -> bool:
    return bool(np.isin(image, (0.0, 1.0)).all() and image.min() == 0 and image.max() == 1)


def _deflated(chunk: bytes, times: int) -> bytes:
    """zlib data of ``chunk`` repeated ``times`` times, compressing it only once: after a full
    flush the compressor starts afresh, so each repeat compresses to the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: header and sum by hand
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(times):
        checksum = zlib.adler32(chunk, checksum)
    return b"\x78\xda" + block * times + compressor.flush() + struct.pack(">I", checksum)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(
    width: int,
    height: int,
    depth: int = 8,
    colour: int = 0,
    rows: bytes | None = None,
    before: bytes = b"",
    after: bytes = b"",
    idat: bytes | None = None,
) -> bytes:
    """A PNG by hand: IHDR as given (even a lie), ``rows`` (unfiltered pixel bytes of one row,
    repeated) or a raw ``idat``, and extra chunks ``before`` and ``after`` the pixels."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    if idat is None:
        idat = zlib.compress((b"\0" + rows) * height, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + before
        + _chunk(b"IDAT", idat)
        + after
        + _chunk(b"IEND", b"")
    )


SHORT, LONG = 3, 4  # TIFF field types


def _tiff(tags: dict[int, tuple[int, list[int]]], data: bytes) -> bytes:
    """A little-endian TIFF by hand: ``data`` right after the header, then one IFD of ``tags``
    ({tag: (type, values)}); strip and tile offsets (273, 324) are taken relative to ``data``."""
    ifd_at = 8 + len(data)
    extra_at = ifd_at + 2 + 12 * len(tags) + 4
    entries, extra = [], b""
    for tag, (kind, values) in sorted(tags.items()):
        if tag in (273, 324):
            values = [8 + value for value in values]
        packed = struct.pack("<" + {SHORT: "H", LONG: "I"}[kind] * len(values), *values)
        if len(packed) <= 4:
            entries.append(struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0"))
        else:
            entries.append(struct.pack("<HHII", tag, kind, len(values), extra_at + len(extra)))
            extra += packed
    ifd = struct.pack("<H", len(tags)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", ifd_at) + data + ifd + extra


def _tiff_grey(width: int, height: int, data: bytes, **tags: tuple[int, list[int]]) -> bytes:
    """An 8-bit grey TIFF of one strip holding ``data``; keyword tags (``t259=...``) override."""
    base = {
        256: (LONG, [width]),
        257: (LONG, [height]),
        258: (SHORT, [8]),
        259: (SHORT, [1]),
        262: (SHORT, [1]),
        273: (LONG, [0]),
        277: (SHORT, [1]),
        278: (LONG, [height]),
        279: (LONG, [len(data)]),
    }
    base.update({int(name[1:]): value for name, value in tags.items()})
    return _tiff(base, data)


def _bmp(
    width: int,
    height: int,
    bits: int,
    body: bytes,
    compression: int = 0,
    masks: tuple[int, int, int, int] | None = None,
    palette: bytes = b"",
) -> bytes:
    """A BMP by hand: a BITMAPINFOHEADER (or V4 with bit ``masks``), a palette, the pixels."""
    size = 108 if masks else 40
    header = struct.pack(
        "<IiiHHIIiiII", size, width, height, 1, bits, compression, len(body), 2835, 2835, 0, 0
    )
    if masks:
        header += struct.pack("<4I", *masks) + b"\0" * (108 - 40 - 16)
    offset = 14 + len(header) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + header + palette + body


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """A JPEG cut into its marker segments (a scan with its entropy-coded data), EOI last."""
    segments, position = [], 2
    while data[position + 1] != 0xD9:
        marker = data[position + 1]
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # the entropy-coded data runs to the next marker that is not RST
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        segments.append((marker, data[position:end]))
        position = end
    return segments


def jpeg_scans(side: int, scans: int, stray: bytes = b"") -> bytes:
    """A grey progressive JPEG of side×side pixels with ``scans`` scans: its last scan (nearly
    empty: an EOB run) repeated, each repeat costing libjpeg a pass over every block. ``stray``
    bytes go before the first scan: libjpeg skips them with a warning."""
    data = _encode(Image.new("L", (side, side), 128), "JPEG", progressive=True, quality=90)
    segments = _jpeg_segments(data)
    head = b"".join(body for marker, body in segments if marker != 0xDA)
    own = [body for marker, body in segments if marker == 0xDA]
    repeated = own + [own[-1]] * (scans - len(own))
    return b"\xff\xd8" + head + stray + b"".join(repeated) + b"\xff\xd9"


def _webp_vp8x(width: int, height: int, frame: bytes, flags: int = 0) -> bytes:
    """A WebP of the extended format whose canvas is declared width×height, holding ``frame``
    (chunks, e.g. a VP8L bitstream or ANIM+ANMF)."""
    header = _riff_chunk(
        b"VP8X",
        bytes([flags, 0, 0, 0])
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little"),
    )
    body = b"WEBP" + header + frame
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _webp_bitstream(image: Image.Image) -> bytes:
    """The VP8L chunk of ``image`` encoded losslessly."""
    data = _encode(image, "WEBP", lossless=True)
    assert data[12:16] == b"VP8L"
    return data[12:]


def _gif_frames(count: int) -> bytes:
    """An animated GIF of ``count`` 32×32 frames, the first red (the others drawn with its
    palette from another frame's data)."""
    first = _encode(Image.new("RGB", (32, 32), RED), "GIF")
    other = _encode(Image.new("RGB", (32, 32), BLUE), "GIF")
    start, end = first.index(b","), len(first) - 1  # the image block, without the trailer
    control = b"!\xf9\x04\x04\x0a\x00\x00\x00"  # 100 ms, no transparency
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frames = [first[start:end], other[other.index(b",") : -1]]
    body = b"".join(control + frames[i % 2] for i in range(count))
    return first[:start] + loop + body + b";"


def _apng_frames(count: int) -> bytes:
    """An APNG of ``count`` 32×32 grey frames; the default image (and first frame) mid-grey."""
    rows = zlib.compress((b"\0" + b"\x80" * 32) * 32, 9)
    dark = zlib.compress((b"\0" + b"\x20" * 32) * 32, 9)

    def control(sequence: int) -> bytes:
        return _chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, 32, 32, 0, 0, 1, 10, 0, 0))

    chunks = [_chunk(b"acTL", struct.pack(">II", count, 0)), control(0), _chunk(b"IDAT", rows)]
    sequence = 1
    for _ in range(count - 1):
        chunks.append(control(sequence))
        chunks.append(_chunk(b"fdAT", struct.pack(">I", sequence + 1) + dark))
        sequence += 2
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(chunks) + _chunk(b"IEND", b"")


def _webp_frames(count: int) -> bytes:
    """An animated WebP of ``count`` 32×32 frames, the first green."""
    green, blue = (_webp_bitstream(Image.new("RGB", (32, 32), c)) for c in (GREEN, BLUE))
    frame_header = (0).to_bytes(3, "little") * 2 + (31).to_bytes(3, "little") * 2
    frames = b"".join(
        _riff_chunk(b"ANMF", frame_header + (100).to_bytes(3, "little") + b"\0" + bitstream)
        for bitstream in [green] + [blue] * (count - 1)
    )
    animation = _riff_chunk(b"ANIM", b"\xff\xff\xff\xff\0\0")
    return _webp_vp8x(32, 32, animation + frames, flags=0x02)


def _oriented(orientation: int) -> Image.Exif:
    """EXIF data of one tag: Orientation."""
    exif = Image.Exif()
    exif[274] = orientation
    return exif


def _orientation_file(orientation: int, fmt: str = "JPEG") -> bytes:
    """The quadrant image stored as EXIF ``orientation`` says a camera stores it: turning it as
    the tag says gives `_quadrants` back."""
    stored = {  # how the stored pixels were made from the upright image (inverse of display)
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    image = _quadrants()
    if orientation in stored:
        image = image.transpose(stored[orientation])
    if fmt == "TIFF":
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        tags[274] = orientation
        return _encode(image, fmt, tiffinfo=tags)
    options = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    return _encode(image, fmt, exif=_oriented(orientation), **options)


def _postscript(canary: Path) -> bytes:
    """An EPS whose program, if run, writes the file ``canary``, then draws a square."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\n"
        + b"("
        + os.fsencode(canary)
        + b") (w) file closefile\n"
        + b"newpath 0 0 moveto 32 0 lineto 32 32 lineto closepath fill showpage\n"
    )


def _eps_binary(canary: Path) -> bytes:
    """The DOS EPS binary header (C5D0D3C6) pointing at the same PostScript program."""
    program = _postscript(canary)
    return (
        b"\xc5\xd0\xd3\xc6"
        + struct.pack("<6I", 30, len(program), 0, 0, 0, 0)
        + b"\xff\xff"
        + program
    )


def _flipped(data: bytes, seed: int, flips: int = 8) -> bytes:
    """``data`` with ``flips`` random bits flipped (after the first 4 bytes: the magic stays)."""
    rng = np.random.default_rng(seed)
    mutable = bytearray(data)
    for position in rng.integers(4, len(data), flips):
        mutable[position] ^= 1 << int(rng.integers(0, 8))
    return bytes(mutable)


# --- The kinds ----------------------------------------------------------------------------------


def _file(name: str, data: Callable[[Path], bytes] | bytes) -> Callable[[Path], Path]:
    """A kind made by writing bytes (or bytes made from the folder) to ``name``."""

    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data(folder) if callable(data) else data)
        return path

    return make


def _sized(name: str, data: bytes, size: int) -> Callable[[Path], Path]:
    """``data`` followed by zero bytes up to exactly ``size`` (a sparse file: cheap to make)."""

    def make(folder: Path) -> Path:
        path = folder / name
        with path.open("wb") as file:
            file.write(data)
            file.truncate(size)
        return path

    return make


def _symlink(name: str, target: Path | str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.symlink_to(target)
        return path

    return make


NOT_ACCEPTED = re.escape(IMAGE_FORMATS_IN_WORDS)
DAMAGED = r"damaged or truncated"
TOO_LARGE = r"megapixels|too large to decode"
SMALL = rf"at least {MIN_SIDE}"


def _active_kinds() -> list[Kind]:
    """Programs and documents under image names: refused before any other decoder runs."""

    def eps(folder: Path) -> bytes:
        return _postscript(folder / "eps.canary")

    def eps_binary(folder: Path) -> bytes:
        return _eps_binary(folder / "eps-binary.canary")

    def eps_behind_jpeg(folder: Path) -> bytes:
        return b"\xff\xd8\xff\xe0" + _postscript(folder / "eps-behind-jpeg.canary")

    def eps_behind_png(folder: Path) -> bytes:
        return b"\x89PNG\r\n\x1a\n" + _postscript(folder / "eps-behind-png.canary")

    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))"
        b">>>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    svg = (
        b"<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' "
        b"width='64' height='64'><script>fetch('http://127.0.0.1:9/')</script>"
        b"<image xlink:href='file:///etc/passwd' width='64' height='64'/>"
        b"<image href='http://127.0.0.1:9/x.png' width='64' height='64'/></svg>"
    )
    xml = b"<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + svg
    html = b"<!DOCTYPE html><html><body><script>document.write(1)</script></body></html>"
    postscript = r"PostScript program"
    return [
        Kind(
            "eps",
            "active",
            "EPS program that writes a canary file, named .jpg",
            _file("eps.jpg", eps),
            refused(postscript),
            canary="eps.canary",
        ),
        Kind(
            "eps-binary",
            "active",
            "the same behind the DOS EPS binary header C5D0D3C6",
            _file("eps-binary.png", eps_binary),
            refused(postscript),
            canary="eps-binary.canary",
        ),
        Kind(
            "eps-behind-jpeg",
            "active",
            "JPEG's first four bytes, then the EPS program",
            _file("eps-behind-jpeg.jpg", eps_behind_jpeg),
            refused(f"{NOT_ACCEPTED}|{DAMAGED}"),
            canary="eps-behind-jpeg.canary",
        ),
        Kind(
            "eps-behind-png",
            "active",
            "PNG's signature, then the EPS program",
            _file("eps-behind-png.png", eps_behind_png),
            refused(f"{NOT_ACCEPTED}|{DAMAGED}"),
            canary="eps-behind-png.canary",
        ),
        Kind(
            "pdf",
            "active",
            "PDF with a JavaScript OpenAction, named .png",
            _file("pdf.png", pdf),
            refused("a PDF document"),
        ),
        Kind(
            "svg",
            "active",
            "SVG with a script and file:// and http:// images, named .png",
            _file("svg.png", svg),
            refused("an SVG drawing"),
        ),
        Kind(
            "svg-xml",
            "active",
            "the SVG after an XML declaration with an external entity",
            _file("svg-xml.jpg", xml),
            refused("an XML document"),
        ),
        Kind(
            "html",
            "active",
            "an HTML page with a script, named .gif",
            _file("html.gif", html),
            refused("an HTML page"),
        ),
    ]


def _other_format_kinds() -> list[Kind]:
    """Real images of formats Pillow decodes but we do not: refused unread."""
    photo = _photo()
    made = {
        "jpeg2000": ("jp2", lambda: _encode(photo, "JPEG2000")),
        "avif": ("jpg", lambda: _encode(photo, "AVIF")),
        "ico": ("png", lambda: _encode(photo, "ICO")),
        "pcx": ("png", lambda: _encode(photo, "PCX")),
        "tga": ("jpg", lambda: _encode(photo, "TGA")),
        "ppm": ("png", lambda: _encode(photo, "PPM")),
        "sgi": ("png", lambda: _encode(photo, "SGI")),
        "qoi": ("png", lambda: _encode(photo, "QOI")),
        "dds": ("png", lambda: _encode(photo.convert("RGBA"), "DDS")),
        "blp": ("png", lambda: _encode(photo.convert("P"), "BLP")),
        "im": ("png", lambda: _encode(photo, "IM")),
        "xbm": ("png", lambda: _encode(photo.convert("1"), "XBM")),
        "psd-header": (
            "png",
            lambda: b"8BPS\0\1" + b"\0" * 6 + struct.pack(">HIIHH", 3, 32, 32, 8, 3),
        ),
    }
    return [
        Kind(
            name,
            "other-format",
            f"a valid {name.upper()} image named .{suffix}",
            _file(f"{name}.{suffix}", lambda folder, encode=encode: encode()),
            refused(NOT_ACCEPTED),
        )
        for name, (suffix, encode) in made.items()
    ]


def _bomb_kinds() -> list[Kind]:
    """Decompression bombs and headers that lie about the size or the data."""
    one_bit_rows = b"\x00" * 16
    png_huge = _png(30000, 30000, depth=1, idat=zlib.compress(one_bit_rows, 9))
    short = _png(100, 100, idat=zlib.compress((b"\0" + b"\x80" * 100) * 10, 9))
    ztxt = _chunk(b"zTXt", b"Comment\0\0" + _deflated(b"A" * 2**20, 100))
    iccp = _chunk(b"iCCP", b"icc\0\0" + _deflated(b"A" * 2**20, 100))
    grey = b"\x80" * 32
    gif_screen = (
        b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x80\0\0" + b"\0" * 3 + b"\xff" * 3
    )
    lzw = b"\x02\x02\x4c\x01\x00"  # one pixel of colour 0, then end of information
    gif_huge = gif_screen + b"," + struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\0" + lzw + b";"
    small_screen = b"GIF89a" + struct.pack("<HH", 32, 32) + b"\x80\0\0" + b"\0" * 3 + b"\xff" * 3
    gif_beyond = small_screen + b"," + struct.pack("<HHHH", 0, 0, 60000, 60000) + b"\0" + lzw + b";"
    jpeg = _encode(Image.new("RGB", (32, 32), (9, 99, 199)), "JPEG")
    sof = jpeg.index(b"\xff\xc0") + 5

    def jpeg_sized(width: int, height: int) -> bytes:
        return jpeg[:sof] + struct.pack(">HH", height, width) + jpeg[sof + 4 :]

    lossless = _webp_bitstream(Image.new("RGB", (32, 32), (9, 99, 199)))
    strip = bytes([128]) * 1024

    def tiff_tile(side: int) -> bytes:
        tile = _deflated(b"\x80" * side * 1024, side // 1024)
        tags = {
            256: (LONG, [32]),
            257: (LONG, [32]),
            258: (SHORT, [8]),
            259: (SHORT, [8]),
            262: (SHORT, [1]),
            277: (SHORT, [1]),
            322: (LONG, [side]),
            323: (LONG, [side]),
            324: (LONG, [0]),
            325: (LONG, [len(tile)]),
        }
        return _tiff(tags, tile)

    bomb_scans = 3000
    return [
        Kind(
            "png-huge-header",
            "bomb",
            "PNG declaring 30000×30000 (1-bit) over a 16-byte body",
            _file("png-huge.png", png_huge),
            refused(TOO_LARGE),
        ),
        Kind(
            "png-short-data",
            "bomb",
            "PNG whose IHDR says 100×100 but the data holds 10 rows",
            _file("png-short.png", short),
            # Pillow stops where the zlib stream ends and does not say the image is incomplete.
            either(DAMAGED, "100×100: 10 grey rows, the other 90 black", (100, 100)),
        ),
        Kind(
            "png-ztxt-bomb",
            "bomb",
            "PNG with a zTXt chunk inflating to 100 MB",
            _file("png-ztxt.png", _png(32, 32, rows=grey, before=ztxt)),
            either(f"{DAMAGED}|too large", "32×32 mid-grey", (32, 32)),
        ),
        Kind(
            "png-iccp-bomb",
            "bomb",
            "PNG with an iCCP profile inflating to 100 MB",
            _file("png-iccp.png", _png(32, 32, rows=grey, before=iccp)),
            either(f"{DAMAGED}|too large", "32×32 mid-grey", (32, 32)),
        ),
        Kind(
            "gif-huge-screen",
            "bomb",
            "GIF declaring a 65535×65535 screen and frame",
            _file("gif-huge.gif", gif_huge),
            refused(TOO_LARGE),
        ),
        Kind(
            "gif-frame-beyond",
            "bomb",
            "32×32 GIF whose frame declares 60000×60000",
            _file("gif-beyond.gif", gif_beyond),
            refused(TOO_LARGE),
        ),
        Kind(
            "jpeg-huge-header",
            "bomb",
            "32×32 JPEG whose SOF says 65000×65000",
            _file("jpeg-huge.jpg", jpeg_sized(65000, 65000)),
            refused(TOO_LARGE),
        ),
        Kind(
            "jpeg-liar-under-limit",
            "bomb",
            "32×32 JPEG whose SOF says 2000×1500: libjpeg pads the missing data",
            _file("jpeg-liar.jpg", jpeg_sized(2000, 1500)),
            either(DAMAGED, "2000×1500", (2000, 1500)),
        ),
        Kind(
            "webp-huge-canvas",
            "bomb",
            "32×32 lossless WebP in a 16383×16383 VP8X canvas",
            _file("webp-huge.webp", _webp_vp8x(16383, 16383, lossless)),
            refused(f"{TOO_LARGE}|{DAMAGED}"),
        ),
        Kind(
            "webp-liar-canvas",
            "bomb",
            "32×32 lossless WebP in a 6000×6000 VP8X canvas",
            _file("webp-liar.webp", _webp_vp8x(6000, 6000, lossless)),
            either(DAMAGED, "6000×6000", (6000, 6000)),
        ),
        Kind(
            "tiff-huge-header",
            "bomb",
            "TIFF declaring 100000×100000 over a 1 KB strip",
            _file("tiff-huge.tif", _tiff_grey(100000, 100000, strip)),
            refused(TOO_LARGE),
        ),
        Kind(
            "tiff-liar",
            "bomb",
            "TIFF declaring 6000×6000 over one 1 KB strip",
            _file("tiff-liar.tif", _tiff_grey(6000, 6000, strip)),
            refused(DAMAGED),
        ),
        Kind(
            "tiff-huge-tile",
            "bomb",
            "32×32 TIFF in one 8192×8192 deflated tile (65 KB; libtiff inflates 64 MB)",
            _file("tiff-tile.tif", tiff_tile(8192)),
            result("32×32 mid-grey", (32, 32), colour((128, 128, 128))),
        ),
        Kind(
            "bmp-huge-header",
            "bomb",
            "BMP declaring 65535×65535, 16 bytes of pixels",
            _file("bmp-huge.bmp", _bmp(65535, 65535, 24, b"\0" * 16)),
            refused(TOO_LARGE),
        ),
        Kind(
            "bmp-liar",
            "bomb",
            "BMP declaring 6000×6000, 16 bytes of pixels",
            _file("bmp-liar.bmp", _bmp(6000, 6000, 24, b"\0" * 16)),
            refused(DAMAGED),
        ),
        Kind(
            "bmp-rle-liar",
            "bomb",
            "RLE8 BMP declaring 6000×6000, 1 KB of runs",
            _file("bmp-rle.bmp", _bmp(6000, 6000, 8, b"\x00\x00" * 512 + b"\0\1", 1)),
            refused(DAMAGED),
        ),
        Kind(
            "jpeg-scan-bomb",
            "bomb",
            f"2048×2048 progressive JPEG of {bomb_scans} scans (an empty scan repeated)",
            _file("scans.jpg", jpeg_scans(2048, bomb_scans)),
            refused(rf"more than {MAX_JPEG_SCANS} scans", seconds=0.5),
        ),
        Kind(
            "jpeg-scans-at-limit",
            "bomb",
            f"progressive JPEG of exactly {MAX_JPEG_SCANS} scans",
            _file("scans-100.jpg", jpeg_scans(64, MAX_JPEG_SCANS)),
            result("64×64 mid-grey", (64, 64), colour((128, 128, 128))),
        ),
        Kind(
            "jpeg-scans-past-limit",
            "bomb",
            f"progressive JPEG of {MAX_JPEG_SCANS + 1} scans",
            _file("scans-101.jpg", jpeg_scans(64, MAX_JPEG_SCANS + 1)),
            refused(rf"more than {MAX_JPEG_SCANS} scans"),
        ),
        Kind(
            "jpeg-scan-bomb-stray-byte",
            "bomb",
            "512×512 JPEG of 2000 scans with one stray byte before the first (libjpeg skips it)",
            _file("scans-stray.jpg", jpeg_scans(512, 2000, stray=b"\x00")),
            refused(rf"more than {MAX_JPEG_SCANS} scans"),
        ),
        Kind(
            "jpeg-scan-bomb-stuffed-zero",
            "bomb",
            "the same with FF 00 7F 00 before the first scan (libjpeg discards it as junk)",
            _file("scans-ff00.jpg", jpeg_scans(512, 2000, stray=b"\xff\x00\x7f\x00")),
            refused(rf"more than {MAX_JPEG_SCANS} scans"),
        ),
    ]


def _corrupt_kinds() -> list[Kind]:
    """Each accepted format truncated and bit-flipped."""
    photo = _photo(96, 64)
    formats = {
        "jpeg": ("jpg", "JPEG", {}),
        "jpeg-progressive": ("jpg", "JPEG", {"progressive": True}),
        "png": ("png", "PNG", {}),
        "webp-lossy": ("webp", "WEBP", {}),
        "webp-lossless": ("webp", "WEBP", {"lossless": True}),
        "bmp": ("bmp", "BMP", {}),
        "gif": ("gif", "GIF", {}),
        "tiff": ("tif", "TIFF", {}),
        "tiff-lzw": ("tif", "TIFF", {"compression": "tiff_lzw"}),
        "tiff-jpeg": ("tif", "TIFF", {"compression": "jpeg"}),
    }
    garbled = rf"{DAMAGED}|{NOT_ACCEPTED}"
    kinds = []
    for name, (suffix, fmt, options) in formats.items():
        data = _encode(photo, fmt, **options)
        kinds += [
            Kind(
                f"{name}-half",
                "corrupt",
                f"a 96×64 {name} cut to its first half",
                _file(f"{name}-half.{suffix}", data[: len(data) // 2]),
                refused(garbled),
            ),
            Kind(
                f"{name}-last-byte",
                "corrupt",
                f"a 96×64 {name} without its last byte",
                _file(f"{name}-last.{suffix}", data[:-1]),
                either(garbled, "96×64", (96, 64)),
            ),
            Kind(
                f"{name}-bit-flips",
                "corrupt",
                f"a 96×64 {name} with 8 random bits flipped",
                _file(f"{name}-flips.{suffix}", _flipped(data, seed=len(name))),
                either(garbled, "96×64", (96, 64)),
            ),
        ]
    # TIFF names its codec in a tag, and libtiff decodes many: each one given bytes it cannot
    # decode. (compression tag, codec)
    codecs = [
        (2, "CCITT RLE"),
        (4, "CCITT Group 4"),
        (5, "LZW"),
        (6, "old-style JPEG"),
        (7, "JPEG"),
        (8, "Deflate"),
        (32773, "PackBits"),
        (34661, "JBIG"),
        (34712, "JPEG 2000"),
        (34925, "LZMA"),
        (50000, "Zstandard"),
        (50001, "WebP"),
    ]
    strip = bytes([128]) * 1024
    return kinds + [
        Kind(
            f"tiff-codec-{tag}",
            "corrupt",
            f"a 32×32 TIFF that says {codec} but holds raw bytes",
            _file(f"tiff-codec-{tag}.tif", _tiff_grey(32, 32, strip, t259=(SHORT, [tag]))),
            refused(garbled),
        )
        for tag, codec in codecs
    ]


def _mode_kinds() -> list[Kind]:
    """Every mode and depth Pillow hands us from the formats we accept, with known colours."""
    ramp16 = np.tile((np.arange(256) * 257).astype(np.uint16), (16, 1))
    half = (227, 142, 157)  # (200, 30, 60) at alpha 128 over white
    palette = Image.new("P", (32, 32), 1)
    palette.putpalette([0, 0, 0, 200, 30, 60] + [0] * 762)
    pa = palette.convert("PA")
    pa.putalpha(128)
    signed = np.tile((np.arange(256) * 256 - 32768).astype(np.int16), (16, 1))
    floats = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (16, 1))
    nan = np.full((32, 32), 0.5, np.float32)
    nan[0, 0] = np.nan
    rgba_body = bytes((25, 50, 100, 128)) * 32 * 32  # premultiplied (100, 50, 25) at 128: BGRA
    masks = (0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)

    def associated_alpha() -> bytes:
        tags = {
            256: (LONG, [32]),
            257: (LONG, [32]),
            258: (SHORT, [8, 8, 8, 8]),
            259: (SHORT, [1]),
            262: (SHORT, [2]),
            273: (LONG, [0]),
            277: (SHORT, [4]),
            278: (LONG, [32]),
            279: (LONG, [4096]),
            338: (SHORT, [1]),
        }
        return _tiff(tags, bytes((100, 50, 25, 128)) * 1024)

    def signed_tiff() -> bytes:
        tags = {
            256: (LONG, [256]),
            257: (LONG, [16]),
            258: (SHORT, [16]),
            259: (SHORT, [1]),
            262: (SHORT, [1]),
            273: (LONG, [0]),
            277: (SHORT, [1]),
            278: (LONG, [16]),
            279: (LONG, [signed.nbytes]),
            339: (SHORT, [2]),
        }
        return _tiff(tags, signed.astype("<i2").tobytes())

    def rle8() -> bytes:  # 32×32: every row a run of 32 pixels of palette index 1, then EOL
        rows = (b"\x20\x01\x00\x00") * 31 + b"\x20\x01\x00\x01"
        colours = b"\0\0\0\0" + bytes((60, 30, 200, 0)) + b"\0" * 4 * 254
        return _bmp(32, 32, 8, rows, compression=1, palette=colours)

    rgb565 = struct.pack("<H", (25 << 11) | (15 << 5) | 7) * 32 * 32
    red_ish = (200, 30, 60)
    table = [
        (
            "1",
            "1-bit PNG checkerboard",
            "png",
            lambda: _encode(Image.fromarray(np.indices((32, 32)).sum(0) % 2 == 0), "PNG"),
            result("black and white only", (32, 32), _binary),
        ),
        (
            "L",
            "8-bit grey PNG",
            "png",
            lambda: _encode(Image.new("L", (32, 32), 77), "PNG"),
            result("grey 77", (32, 32), colour((77, 77, 77))),
        ),
        (
            "P",
            "palette PNG",
            "png",
            lambda: _encode(palette, "PNG"),
            result("the palette colour", (32, 32), colour(red_ish)),
        ),
        (
            "P-trns",
            "palette PNG, its colour 50 % transparent (tRNS)",
            "png",
            lambda: _encode(palette, "PNG", transparency=bytes([255, 128])),
            result("the colour half over white", (32, 32), colour(half)),
        ),
        (
            "P-gif-transparent",
            "palette GIF, its colour the transparent index",
            "gif",
            lambda: _encode(palette, "GIF", transparency=1),
            result("white", (32, 32), colour(WHITE)),
        ),
        (
            "LA",
            "grey 50 at alpha 128 (PNG)",
            "png",
            lambda: _encode(Image.new("LA", (32, 32), (50, 128)), "PNG"),
            result("grey 50 half over white: 152", (32, 32), colour((152, 152, 152))),
        ),
        (
            "PA",
            "palette with alpha 128 (TIFF)",
            "tif",
            lambda: _encode(pa, "TIFF"),
            result("the colour half over white", (32, 32), colour(half)),
        ),
        (
            "RGBA",
            "RGBA PNG at alpha 128",
            "png",
            lambda: _encode(Image.new("RGBA", (32, 32), (*red_ish, 128)), "PNG"),
            result("the colour half over white", (32, 32), colour(half)),
        ),
        (
            "RGBa",
            "TIFF of associated (premultiplied) alpha, ExtraSamples 1",
            "tif",
            associated_alpha,
            result(
                "(100, 50, 25) premultiplied at 128 over white: (227, 177, 152)",
                (32, 32),
                colour((227, 177, 152)),
            ),
        ),
        (
            "RGBX",
            "RGBX TIFF (4 samples, the 4th unspecified)",
            "tif",
            lambda: _encode(Image.new("RGB", (32, 32), red_ish).convert("RGBX"), "TIFF"),
            result("the colour, the padding ignored", (32, 32), colour(red_ish)),
        ),
        (
            "I;16",
            "16-bit grey PNG ramp 0-65535",
            "png",
            lambda: _encode(Image.fromarray(ramp16), "PNG"),
            result("a grey ramp 0-255 in order", (256, 16), _ramp()),
        ),
        (
            "I;16B",
            "big-endian 16-bit grey TIFF ramp",
            "tif",
            lambda: _encode(Image.fromarray(ramp16.astype(">u2")), "TIFF"),
            result("a grey ramp 0-255 in order", (256, 16), _ramp()),
        ),
        (
            "I;16S",
            "signed 16-bit TIFF ramp -32768-32512",
            "tif",
            signed_tiff,
            result("a ramp, negative values black, in order", (256, 16), _ramp(0, 127)),
        ),
        (
            "I",
            "32-bit integer TIFF ramp 0-65535",
            "tif",
            lambda: _encode(Image.fromarray(ramp16.astype(np.int32)), "TIFF"),
            result("a grey ramp 0-255 in order", (256, 16), _ramp()),
        ),
        (
            "F",
            "32-bit float TIFF ramp 0-1",
            "tif",
            lambda: _encode(Image.fromarray(floats), "TIFF"),
            result("a grey ramp 0-255 in order", (256, 16), _ramp()),
        ),
        (
            "F-nan",
            "float TIFF, mid-grey with one NaN pixel",
            "tif",
            lambda: _encode(Image.fromarray(nan), "TIFF"),
            result(
                "mid-grey (the NaN pixel black)",
                (32, 32),
                lambda image: colour((128, 128, 128))(image[1:]),
            ),
        ),
        (
            "CMYK-jpeg",
            "CMYK JPEG (Adobe, inverted)",
            "jpg",
            lambda: _encode(
                Image.new("RGB", (32, 32), red_ish).convert("CMYK"), "JPEG", quality=95
            ),
            result("the colour", (32, 32), colour(red_ish, 8)),
        ),
        (
            "CMYK-tiff",
            "CMYK TIFF",
            "tif",
            lambda: _encode(Image.new("RGB", (32, 32), red_ish).convert("CMYK"), "TIFF"),
            result("the colour", (32, 32), colour(red_ish)),
        ),
        (
            "YCbCr",
            "YCbCr TIFF, JPEG-compressed (photometric 6)",
            "tif",
            lambda: _encode(
                Image.new("RGB", (32, 32), red_ish).convert("YCbCr"),
                "TIFF",
                compression="jpeg",
                quality=95,
            ),
            result("the colour", (32, 32), colour(red_ish, 8)),
        ),
        (
            "LAB",
            "CIELAB TIFF, L* 53.3 (136 of 255), a* = b* = 0",
            "tif",
            lambda: _encode(Image.new("LAB", (32, 32), (136, 128, 128)), "TIFF"),
            result("neutral mid-grey 127", (32, 32), colour((127, 127, 127), 3)),
        ),
        (
            "RGB48",
            "PNG of 16 bits a channel",
            "png",
            lambda: _png(32, 32, 16, 2, rows=struct.pack(">3H", *(c * 257 for c in red_ish)) * 32),
            result("the colour", (32, 32), colour(red_ish)),
        ),
        (
            "L-trns",
            "grey PNG whose grey 50 is the transparent key (tRNS)",
            "png",
            lambda: _encode(Image.new("L", (32, 32), 50), "PNG", transparency=50),
            result("white (all transparent)", (32, 32), colour(WHITE)),
        ),
        (
            "RGB-trns",
            "RGB PNG whose colour is the transparent key (tRNS)",
            "png",
            lambda: _encode(Image.new("RGB", (32, 32), red_ish), "PNG", transparency=red_ish),
            result("white (all transparent)", (32, 32), colour(WHITE)),
        ),
        (
            "bmp-1bit",
            "1-bit BMP checkerboard",
            "bmp",
            lambda: _encode(Image.fromarray(np.indices((32, 32)).sum(0) % 2 == 0), "BMP"),
            result("black and white only", (32, 32), _binary),
        ),
        (
            "bmp-rle8",
            "RLE8-compressed BMP, 32 rows of one run",
            "bmp",
            rle8,
            result("the palette colour (200, 30, 60)", (32, 32), colour(red_ish)),
        ),
        (
            "bmp-565",
            "16-bit BMP, 5-6-5 bit fields",
            "bmp",
            lambda: _bmp(32, 32, 16, rgb565, 3, masks=(0xF800, 0x07E0, 0x001F, 0)),
            result("(25, 15, 7) in 5-6-5 bits: (206, 60, 58)", (32, 32), colour((206, 60, 58), 6)),
        ),
        (
            "bmp-alpha",
            "32-bit BMP with an alpha bit field, at 128",
            "bmp",
            lambda: _bmp(32, 32, 32, rgba_body, 3, masks=masks),
            result(
                "(100, 50, 25) at alpha 128 over white: (177, 152, 140)",
                (32, 32),
                colour((177, 152, 140)),
            ),
        ),
        (
            "webp-alpha",
            "lossless WebP at alpha 128",
            "webp",
            lambda: _encode(Image.new("RGBA", (32, 32), (*red_ish, 128)), "WEBP", lossless=True),
            result("the colour half over white", (32, 32), colour(half)),
        ),
        (
            "gif-grey",
            "grey GIF",
            "gif",
            lambda: _encode(Image.new("L", (32, 32), 77), "GIF"),
            result("grey 77", (32, 32), colour((77, 77, 77))),
        ),
        (
            "jpeg-grey",
            "grey JPEG",
            "jpg",
            lambda: _encode(Image.new("L", (32, 32), 77), "JPEG", quality=95),
            result("grey 77", (32, 32), colour((77, 77, 77), 2)),
        ),
        (
            "mpo",
            "MPO: two JPEGs (the first red) with an MP index",
            "jpg",
            lambda: _encode(
                Image.new("RGB", (32, 32), RED),
                "MPO",
                save_all=True,
                append_images=[Image.new("RGB", (32, 32), BLUE)],
                quality=95,
            ),
            result("the first picture, red", (32, 32), colour(RED, 8)),
        ),
    ]
    return [
        Kind(
            f"mode-{name}",
            "modes",
            how,
            _file(f"mode-{name}.{suffix}", lambda folder, make=make: make()),
            expect,
        )
        for name, how, suffix, make, expect in table
    ]


def _size_kinds() -> list[Kind]:
    """Degenerate sizes, the pixel limit and the byte limit, each side of each."""
    at_limit = (8000, MAX_INPUT_PIXELS // 8000)  # 8000×5000: exactly the limit
    past = (53, 754717)  # 40 000 001 pixels: the limit plus one
    assert (
        at_limit[0] * at_limit[1] == MAX_INPUT_PIXELS and past[0] * past[1] == MAX_INPUT_PIXELS + 1
    )

    def one_bit(width: int, height: int, rows: int | None = None) -> bytes:
        """A 1-bit PNG of stripes (1 pixel in 8 white), or only ``rows`` rows of data."""
        row = b"\x80" * ((width + 7) // 8)
        if rows is None:
            return _png(width, height, depth=1, rows=row)
        return _png(width, height, depth=1, idat=zlib.compress((b"\0" + row) * rows, 9))

    small = _encode(_photo(32, 32), "PNG")
    table = [
        ("1x1", _encode(_photo(1, 1), "PNG"), refused(SMALL)),
        ("1x4000", _encode(_photo(1, 4000), "PNG"), refused(SMALL)),
        ("4000x1", _encode(_photo(4000, 1), "PNG"), refused(SMALL)),
        ("15x15", _encode(_photo(15, 15), "PNG"), refused(SMALL)),
        ("16x15", _encode(_photo(16, 15), "PNG"), refused(SMALL)),
        ("16x16", _encode(_photo(16, 16), "PNG"), result("16×16", (16, 16), _not_black)),
        (
            "at-pixel-limit",
            one_bit(*at_limit),
            result(
                f"{at_limit[0]}×{at_limit[1]}: 1 pixel in 8 white",
                at_limit,
                lambda image: abs(float(image.mean()) - 1 / 8) < 0.01,
            ),
        ),
        ("past-pixel-limit", one_bit(*past, rows=1), refused("the limit is 40 megapixels")),
    ]
    kinds = [
        Kind(
            f"size-{name}",
            "sizes",
            f"a {name} image (PNG)",
            _file(f"size-{name}.png", data),
            expect,
        )
        for name, data, expect in table
    ]
    return [
        *kinds,
        Kind(
            "size-empty",
            "sizes",
            "a file of no bytes named .jpg",
            _file("size-empty.jpg", b""),
            refused("is empty"),
        ),
        Kind(
            "size-at-byte-limit",
            "sizes",
            f"a 32×32 PNG padded after IEND to exactly {MAX_IMAGE_BYTES} bytes",
            _sized("size-bytes-at.png", small, MAX_IMAGE_BYTES),
            result("32×32", (32, 32), _not_black),
        ),
        Kind(
            "size-past-byte-limit",
            "sizes",
            "the same, one byte longer",
            _sized("size-bytes-past.png", small, MAX_IMAGE_BYTES + 1),
            refused("larger than the limit"),
        ),
    ]


def _animation_kinds() -> list[Kind]:
    frames = 3000
    return [
        Kind(
            "gif-frames",
            "animations",
            f"GIF of {frames} frames, the first red",
            _file("frames.gif", _gif_frames(frames)),
            result("the first frame: red", (32, 32), colour(RED)),
        ),
        Kind(
            "apng-frames",
            "animations",
            f"APNG of {frames} frames, the first mid-grey",
            _file("frames.png", _apng_frames(frames)),
            result("the first frame: grey 128", (32, 32), colour((128, 128, 128))),
        ),
        Kind(
            "webp-frames",
            "animations",
            f"animated WebP of {frames} frames, the first green",
            _file("frames.webp", _webp_frames(frames)),
            result("the first frame: green", (32, 32), colour(GREEN)),
        ),
    ]


def _metadata_kinds() -> list[Kind]:
    """EXIF orientations, huge and broken EXIF, ICC profiles and XMP, big text chunks."""
    upright = result(
        "upright: red top left, green top right, blue bottom left", (48, 32), _is_upright
    )
    kinds = [
        Kind(
            f"exif-orientation-{o}",
            "metadata",
            f"JPEG stored turned as EXIF orientation {o}",
            _file(f"orientation-{o}.jpg", _orientation_file(o)),
            upright,
        )
        for o in range(1, 9)
    ]
    kinds += [
        Kind(
            f"exif-orientation-6-{fmt.lower()}",
            "metadata",
            f"{fmt} stored as orientation 6",
            _file(f"orientation-6.{fmt.lower()}", _orientation_file(6, fmt)),
            upright,
        )
        for fmt in ("PNG", "WEBP", "TIFF")
    ]
    plain = _encode(_photo(), "JPEG", quality=95)
    photo = result("48×32, as stored", (48, 32), _not_black)

    def jpeg_with(app1: bytes) -> bytes:
        return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]

    big_ifd = (
        b"Exif\0\0II*\0\x08\0\0\0"
        + struct.pack("<H", 5000)
        + (struct.pack("<HHII", 0x010E, 2, 4, 0x41414141) * 5000)
        + b"\0\0\0\0"
    )
    loop = (
        b"Exif\0\0II*\0\x08\0\0\0"
        + struct.pack("<H", 1)
        + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)
        + struct.pack("<I", 8)
    )  # the next IFD is this one again
    xmp = (
        b"<?xpacket?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>"
        b"<!ENTITY c SYSTEM 'file:///etc/passwd'>]><x:xmpmeta xmlns:x='adobe:ns:meta/'>&b;&c;"
        b"</x:xmpmeta>"
    )
    xmp_app1 = b"http://ns.adobe.com/xap/1.0/\0" + xmp
    grey = b"\x80" * 32
    table = [
        ("exif-orientation-0", _encode(_photo(), "JPEG", exif=_oriented(0)), photo),
        ("exif-orientation-9", _encode(_photo(), "JPEG", exif=_oriented(9)), photo),
        (
            "exif-orientation-text",
            jpeg_with(
                b"Exif\0\0II*\0\x08\0\0\0\x01\0"
                + struct.pack("<HHI", 0x0112, 2, 2)
                + b"6\0\0\0"
                + b"\0\0\0\0"
            ),
            photo,
        ),
        ("exif-huge-jpeg", jpeg_with(big_ifd), photo),
        ("exif-huge-png", _encode(_photo(), "PNG", exif=big_ifd[6:] + b"\0" * 20_000_000), photo),
        (
            "exif-ifd-loop",
            jpeg_with(loop),
            result("upright (orientation 6 read once)", (32, 48), _not_black),
        ),
        ("exif-garbage", jpeg_with(b"Exif\0\0garbage, not TIFF"), photo),
        ("exif-bad-offset", jpeg_with(b"Exif\0\0II*\0\xff\xff\xff\x7f"), photo),
        ("exif-truncated", jpeg_with(b"Exif\0\0MM\0*\0\0\0\x08\xff\xff" + b"\0" * 20), photo),
        ("icc-broken-jpeg", _encode(_photo(), "JPEG", icc_profile=b"\0" * 500), photo),
        ("icc-broken-png", _encode(_photo(), "PNG", icc_profile=b"not a profile" * 40), photo),
        (
            "icc-broken-webp",
            _encode(_photo(), "WEBP", icc_profile=b"\xff" * 500, lossless=True),
            photo,
        ),
        ("xmp-entities-jpeg", jpeg_with(xmp_app1), photo),
        (
            "xmp-png",
            _png(32, 32, rows=grey, before=_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp)),
            result("32×32 mid-grey", (32, 32), colour((128, 128, 128))),
        ),
        (
            "text-huge-png",
            _png(32, 32, rows=grey, before=_chunk(b"tEXt", b"Comment\0" + b"x" * 20_000_000)),
            result("32×32 mid-grey", (32, 32), colour((128, 128, 128))),
        ),
    ]
    suffix = {b"\xff\xd8": "jpg", b"\x89P": "png", b"RI": "webp"}
    return kinds + [
        Kind(
            name,
            "metadata",
            name.replace("-", " "),
            _file(f"{name}.{suffix[data[:2]]}", data),
            expect,
        )
        for name, data, expect in table
    ]


def _flood_kinds(size: int) -> list[Kind]:
    """Files whose every few bytes cost a decoder a step of a Python loop (or worse): at the byte
    limit they must still be handled within FLOOD_SHARE, so here, of ``size`` bytes, pro rata.
    A correct door may decode them or refuse them for their structure ("of more than N …")."""
    gif = _encode(Image.new("L", (32, 32), 128), "GIF")
    image_block = gif.index(b",")
    png = _encode(Image.new("L", (32, 32), 128), "PNG")
    idat, iend = png.index(b"IDAT") - 4, png.index(b"IEND") - 4
    jpeg = _encode(Image.new("L", (32, 32), 128), "JPEG")
    end_of_jpeg = jpeg.rindex(b"\xff\xd9")
    width = 1024
    rle_rows = size // (2 * width + 2)
    strips = size // 24
    entries = size // 20

    def gif_with(prelude: bytes) -> bytes:
        return gif[:image_block] + prelude + gif[image_block:]

    def tiff_strips() -> bytes:
        tags = {
            256: (LONG, [16]),
            257: (LONG, [strips]),
            258: (SHORT, [8]),
            259: (SHORT, [1]),
            262: (SHORT, [1]),
            273: (LONG, [16 * i for i in range(strips)]),
            277: (SHORT, [1]),
            278: (LONG, [1]),
            279: (LONG, [16] * strips),
        }
        return _tiff(tags, b"\x80" * 16 * strips)

    def bigtiff_entries() -> bytes:
        """A BigTIFF whose one directory has ``entries`` tags (private ones, after the image's)."""
        tags = [(256, 4, 32), (257, 4, 32), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 16, 16)]
        tags += [(277, 3, 1), (278, 4, 32), (279, 16, 1024)]
        tags += [(50000 + i % 15000, 3, 7) for i in range(entries - len(tags))]
        directory = b"".join(
            struct.pack("<HHQQ", tag, kind, 1, value) for tag, kind, value in sorted(tags)
        )
        head = b"II+\0" + struct.pack("<HHQ", 8, 0, 16 + 1024)
        return head + b"\x80" * 1024 + struct.pack("<Q", len(tags)) + directory + bytes(8)

    table = [
        ("gif-junk", "junk bytes between a GIF's blocks", lambda: gif_with(b"\x01" * size),
         (32, 32), "Pillow reads the junk a byte a Python step"),
        ("gif-subblocks", "one GIF extension of 1-byte sub-blocks",
         lambda: gif_with(b"!\x99" + b"\x01x" * (size // 2) + b"\0"),
         (32, 32), "Pillow reads every sub-block in Python"),
        ("gif-comment", "one GIF comment of 255-byte sub-blocks",
         lambda: gif_with(b"!\xfe" + (b"\xff" + b"c" * 255) * (size // 256) + b"\0"),
         (32, 32), "Pillow joins the sub-blocks with bytes += (quadratic: 8 MB takes 9 s)"),
        ("gif-comments", "GIF comment extensions of one byte each, a quarter of the size",
         lambda: gif_with(b"!\xfe\x01c\0" * (size // 20)),
         (32, 32), "Pillow joins the comments with bytes += (quadratic: 4 MB takes 30-70 s)"),
        ("png-chunks", "empty private PNG chunks before the pixels",
         lambda: png[:idat] + _chunk(b"prIv", b"") * (size // 12) + png[idat:],
         (32, 32), "Pillow handles each chunk in Python (an AttributeError each)"),
        ("png-empty-idats", "empty IDAT chunks after the pixels",
         lambda: png[:iend] + _chunk(b"IDAT", b"") * (size // 12) + png[iend:],
         (32, 32), "Pillow reads each IDAT chunk in Python"),
        ("jpeg-comments", "empty JPEG COM segments before the frame",
         lambda: jpeg[:2] + b"\xff\xfe\x00\x02" * (size // 4) + jpeg[2:],
         (32, 32), "the door's marker walk and Pillow's each take a Python step per segment"),
        ("jpeg-stuffed-zeros", "FF 00 pairs in the entropy-coded data",
         lambda: jpeg[:end_of_jpeg] + b"\xff\x00" * (size // 2) + jpeg[end_of_jpeg:],
         (32, 32), "the door's scan count takes a Python step per pair"),
        ("bmp-rle-runs", f"RLE8 BMP {width} wide of 1-pixel runs",
         lambda: _bmp(width, rle_rows, 8, (b"\x01\x05" * width + b"\0\0") * rle_rows + b"\0\1",
                      1, palette=bytes(range(256)) * 4),
         (width, rle_rows), "Pillow's RLE decoder is Python, a step per run"),
        ("tiff-strips", f"uncompressed TIFF 16×{strips} of one-row strips", tiff_strips,
         (16, strips), "Pillow makes a Python tile per strip and decodes them one by one"),
        ("tiff-entries", f"BigTIFF whose directory has {entries} tags", bigtiff_entries,
         (32, 32), "Pillow reads each directory entry in Python"),
    ]  # fmt: skip
    kinds = []
    for name, how, make, (width_, height), cost in table:
        data = make()
        expect = either(rf"of more than \d+|{DAMAGED}", f"{width_}×{height}", (width_, height))
        kinds.append(
            Kind(
                f"flood-{name}",
                "floods",
                f"{how}: {len(data) / 2**20:.1f} MB ({cost}, which the door's count stops)",
                _file(f"flood-{name}.{_suffix(data)}", data),
                replace(expect, seconds=max(0.05, FLOOD_SHARE * len(data) / MAX_IMAGE_BYTES)),
            )
        )
    return kinds


def _suffix(data: bytes) -> str:
    heads = {b"GIF": "gif", b"\x89PN": "png", b"\xff\xd8\xff": "jpg", b"BM": "bmp", b"II": "tif"}
    return next(suffix for head, suffix in heads.items() if data.startswith(head))


def _not_a_file_kinds() -> list[Kind]:
    """Paths that are not regular files, and regular files behind odd paths."""
    good = _encode(_photo(), "PNG")
    photo = result("48×32", (48, 32), _not_black)

    def fifo(folder: Path) -> Path:
        path = folder / "fifo.jpg"
        os.mkfifo(path)
        return path

    def directory(folder: Path) -> Path:
        path = folder / "folder.jpg"
        path.mkdir()
        return path

    def unix_socket(folder: Path) -> Path:
        path = folder / "socket.jpg"
        with socket.socket(socket.AF_UNIX) as bound:
            bound.bind(str(path))  # the socket file stays after the socket is closed
        return path

    def unreadable(folder: Path) -> Path:
        path = _file("unreadable.png", good)(folder)
        path.chmod(0)
        return path

    def loop(folder: Path) -> Path:
        (folder / "loop-b.jpg").symlink_to(folder / "loop-a.jpg")
        return _symlink("loop-a.jpg", folder / "loop-b.jpg")(folder)

    root = os.geteuid() == 0
    odd = {
        "name-spaces": "a photo  with   spaces.png",
        "name-newline": "line\nbreak.png",
        "name-unicode": "фото 写真 🎨.png",
        "name-dash": "-rf --output=x.png",
        "name-long": "l" * 251 + ".png",
    }
    kinds = [
        Kind(
            "directory",
            "not-a-file",
            "a folder named .jpg",
            directory,
            refused("not a file"),
            uploadable=False,
        ),
        Kind(
            "fifo",
            "not-a-file",
            "a named pipe nobody writes to (must not hang)",
            fifo,
            refused("not a file"),
            uploadable=False,
        ),
        Kind(
            "dev-zero",
            "not-a-file",
            "/dev/zero itself",
            lambda folder: Path("/dev/zero"),
            refused("not a file"),
            uploadable=False,
        ),
        Kind(
            "socket",
            "not-a-file",
            "a Unix socket file",
            unix_socket,
            refused("cannot be opened"),
            uploadable=False,
        ),
        Kind(
            "symlink-dev-zero",
            "not-a-file",
            "a symlink to /dev/zero",
            _symlink("zero.jpg", "/dev/zero"),
            refused("not a file"),
            uploadable=False,
        ),
        Kind(
            "symlink-environ",
            "not-a-file",
            "a symlink to /proc/self/environ",
            _symlink("environ.jpg", "/proc/self/environ"),
            refused("is empty"),
            uploadable=False,
        ),
        Kind(
            "symlink-out",
            "not-a-file",
            "a symlink out of the folder to a good photo",
            _symlink("out.jpg", GOOD_PHOTO),
            result("451×300", (451, 300), _not_black),
        ),
        Kind(
            "symlink-dangling",
            "not-a-file",
            "a symlink to nothing",
            _symlink("dangling.jpg", "/nonexistent/photo.jpg"),
            refused("does not exist"),
            uploadable=False,
        ),
        Kind(
            "symlink-loop",
            "not-a-file",
            "two symlinks pointing at each other",
            loop,
            refused("cannot be opened"),
            uploadable=False,
        ),
        Kind(
            "missing",
            "not-a-file",
            "a path to nothing",
            lambda folder: folder / "missing.jpg",
            refused("does not exist"),
            uploadable=False,
        ),
        Kind(
            "nul-in-path",
            "not-a-file",
            "a path with a NUL byte",
            lambda folder: folder / "nul\0byte.png",
            refused("not a valid path"),
            uploadable=False,
        ),
        Kind(
            "path-too-long",
            "not-a-file",
            "a path of 5000 characters",
            lambda folder: folder.joinpath(*["d" * 200] * 25, "x.png"),
            refused("cannot be opened"),
            uploadable=False,
        ),
        Kind(
            "unreadable",
            "not-a-file",
            "a photo with mode 000 (readable by root)",
            unreadable,
            photo if root else refused("permission denied"),
        ),
    ]
    return kinds + [
        Kind(name, "not-a-file", f"a photo named {file_name!r}", _file(file_name, good), photo)
        for name, file_name in odd.items()
    ]


def kinds(flood_bytes: int = FLOOD_BYTES) -> list[Kind]:
    """Every kind, not yet made."""
    return [
        *_active_kinds(),
        *_other_format_kinds(),
        *_bomb_kinds(),
        *_corrupt_kinds(),
        *_mode_kinds(),
        *_size_kinds(),
        *_animation_kinds(),
        *_metadata_kinds(),
        *_flood_kinds(flood_bytes),
        *_not_a_file_kinds(),
    ]


def make(all_kinds: Iterable[Kind], folder: Path) -> list[Kind]:
    """Make ``all_kinds`` in ``folder`` (which must exist); returns them with their ``path``."""
    made = []
    for kind in all_kinds:
        kind.path = kind.make(folder)
        made.append(kind)
    return made


def corpus(folder: Path, flood_bytes: int = FLOOD_BYTES) -> list[Kind]:
    """Make every kind in ``folder`` (which must exist) and return them with their ``path``."""
    return make(kinds(flood_bytes), folder)


def representatives(all_kinds: Iterable[Kind]) -> list[Kind]:
    """The first kind of each family."""
    first: dict[str, Kind] = {}
    for kind in all_kinds:
        first.setdefault(kind.family, kind)
    return list(first.values())


def served_as_expected(
    kind: Kind, role: str, outcome: str, size: int, folders: Iterable[str]
) -> bool:
    """Whether the page's answer to ``kind`` as ``role`` at ``size`` px is what a correct door
    gives: ``outcome`` is "result" or "refused: " and the line (which names no folder of
    ``folders``). As the content, a kind too thin for the size may be refused as such."""
    expect = kind.expect
    thin = role == "content" and _thin(expect.size, size)
    if outcome == "result":
        return not expect.refuses and not thin
    if not outcome.startswith("refused: "):
        return False
    message = outcome.removeprefix("refused: ")
    pattern = "|".join(p for p in (expect.refusal, "elongated" * thin) if p)
    return bool(pattern and re.search(pattern, message)) and not any(f in message for f in folders)


def _thin(shape: tuple[int, int] | None, size: int) -> bool:
    """Whether an image of ``shape`` (width, height) has a side under MIN_SIDE at ``size`` px."""
    if shape is None:
        return False
    scale = size / max(shape)
    return min(round(side * scale) for side in shape) < MIN_SIDE


def families(all_kinds: Iterable[Kind]) -> dict[str, int]:
    """How many kinds each family has."""
    counts: dict[str, int] = {}
    for kind in all_kinds:
        counts[kind.family] = counts.get(kind.family, 0) + 1
    return counts


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python -m tests.hostile FOLDER")
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    made = corpus(folder)
    print("| kind | family | how | expected |\n|---|---|---|---|")
    for kind in made:
        cells = (kind.name, kind.family, kind.how, kind.expect.describe())
        print(
            "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"
        )
    print(f"\n{len(made)} kinds: {families(made)}")


if __name__ == "__main__":
    main(sys.argv[1:])
