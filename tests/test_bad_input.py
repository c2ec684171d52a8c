"""Hostile and odd input through every path: library, CLI and the served app's API.

One table: each kind of input either gives a correct result or a one-line message a person can
act on, on every path; none crashes, hangs, leaves files behind or shows a path or traceback.
"""

from __future__ import annotations

import io
import re
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import cli, device, pipeline
from nst.errors import InputError
from nst.options import DEVICE_DEFAULTS, FastOptions, Settings

REPO = Path(__file__).resolve().parents[1]
STYLE = REPO / "assets" / "style_swirls.jpg"
CONTENT = REPO / "assets" / "content_chelsea.jpg"
# The page's largest output on the device the served app computes on (its size slider's maximum).
PAGE_MAX_SIZE = DEVICE_DEFAULTS[device.current().kind].page_max_size


def _photo(width: int = 96, height: int = 64) -> Image.Image:
    """A small photo-like image: a color gradient with a bright square."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, 128 + 0 * x], axis=-1).astype(np.uint8)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = 255
    return Image.fromarray(pixels)


def _save(image: Image.Image, name: str, **options) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        image.save(path, **options)
        return path

    return make


def _raw(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    _photo().save(buffer, "JPEG")
    return buffer.getvalue()


def _png_with_bad_crc(chunk: bytes) -> bytes:
    buffer = io.BytesIO()
    _photo().save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    start = data.index(chunk) + 4
    length = int.from_bytes(data[start - 8 : start - 4], "big")
    data[start + length] ^= 0xFF  # the first byte of the chunk's CRC
    return bytes(data)


def _png_bomb(side: int = 30000) -> bytes:
    """A valid PNG header for side×side pixels with a tiny compressed body: a few KB on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])  # 1-bit grayscale
    rows = zlib.compress(b"\0" * ((side // 8 + 1) * 64), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _animated(suffix: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        frames = [_photo(), _photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
        path = folder / f"animated{suffix}"
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        return path

    return make


def _exif_rotated(folder: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    path = folder / "rotated.jpg"
    _photo(96, 64).save(path, exif=exif)
    return path


def _palette_gif_with_transparency(folder: Path) -> Path:
    path = folder / "palette.gif"
    _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path, transparency=0)
    return path


HTML = b"<html><body>hi</body></html>"
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'/>"


@dataclass
class Case:
    """One kind of input: a file to make (or a bad option), and the expected outcome."""

    name: str
    make: Callable[[Path], Path] | None = None  # the content file; None: a good photo
    options: dict = field(default_factory=dict)  # `strength`, or Settings' `size`, `style_mix`
    error: str | None = None  # regex of the one-line message; None: a result is expected
    as_style: bool = False  # the odd file is the style image, not the content
    # The page's own limits, tighter than the library's where they differ (its output size).
    api_error: str | None = None


CASES = [
    Case("empty file", _raw("empty.jpg", b""), error="empty"),
    Case("text renamed .jpg", _raw("notes.jpg", b"shopping list\n"), error="not an image"),
    Case("html renamed .png", _raw("page.png", HTML), error="not an image"),
    Case("svg", _raw("drawing.svg", SVG), error="not an image"),
    Case("truncated jpeg", _raw("cut.jpg", _jpeg_bytes()[:400]), error="damaged or truncated"),
    Case("png, bad header crc", _raw("crc.png", _png_with_bad_crc(b"IHDR")), error="not an image"),
    # Pillow, like most decoders, does not check the pixel data's CRC: the pixels are intact.
    Case("png, bad pixel data crc", _raw("data-crc.png", _png_with_bad_crc(b"IDAT"))),
    Case("decompression bomb", _raw("bomb.png", _png_bomb()), error="megapixels|too large"),
    Case("1x1 image", _save(_photo(1, 1), "one.png"), error="at least 16"),
    Case("2x2 image", _save(_photo(2, 2), "two.png"), error="at least 16"),
    Case("1x4000 strip", _save(_photo(4000, 1), "strip.png"), error="at least 16"),
    Case("20x4000 strip at 128 px", _save(_photo(20, 4000), "tall.png"), error="elongated"),
    Case("16-bit png", _save(Image.fromarray(np.full((64, 96), 40000, np.uint16)), "deep.png")),
    Case("cmyk jpeg", _save(_photo().convert("CMYK"), "cmyk.jpg")),
    Case("grayscale jpeg", _save(_photo().convert("L"), "gray.jpg")),
    Case("palette gif with transparency", _palette_gif_with_transparency),
    Case("animated gif", _animated(".gif")),
    Case("animated webp", _animated(".webp")),
    Case("exif-rotated jpeg", _exif_rotated),
    Case("rgba with zero alpha", _save(Image.new("RGBA", (96, 64), (255, 0, 0, 0)), "clear.png")),
    Case("tiff", _save(_photo(), "photo.tif")),
    Case("bmp", _save(_photo(), "photo.bmp")),
    Case("style 20x20 (below the receptive field)", _save(_photo(20, 20), "s.png"), as_style=True),
    Case("style of zero bytes", _raw("style.jpg", b"\0" * 99), as_style=True, error="not an image"),
    Case(
        "strength above 1",
        options={"strength": 1.5},
        error="between 0 and 1",
        api_error="between 0 and 1",
    ),
    Case(
        "strength below 0",
        options={"strength": -0.1},
        error="between 0 and 1",
        api_error="between 0 and 1",
    ),
    Case("strength nan", options={"strength": float("nan")}, error="between 0 and 1"),
    Case(
        "size too small",
        options={"size": 10},
        error="between 64 and",
        api_error="On this page the output is 128 to",
    ),
    Case(
        "size too large",
        options={"size": 100_000},
        error="between 64 and",
        api_error=f"On this page the output is 128 to {PAGE_MAX_SIZE} px",
    ),
    Case("zero style mix", options={"style_mix": [0.0]}, error="not all zero"),
    Case("negative style mix", options={"style_mix": [-1.0]}, error="zero or positive"),
    Case("nan style mix", options={"style_mix": [float("nan")]}, error="zero or positive"),
    Case("too many mix weights", options={"style_mix": [1.0, 1.0]}, error="one mix weight per"),
]


def _files(case: Case, folder: Path) -> tuple[Path, Path]:
    odd = case.make(folder) if case.make else CONTENT
    return (CONTENT, odd) if case.as_style else (odd, STYLE)


def _options(case: Case) -> dict:
    return {"size": 128, **case.options}


def _fast(
    content: Path | np.ndarray,
    style: Path,
    size: int = 128,
    strength: float = 1.0,
    style_mix: list[float] | None = None,
) -> pipeline.Result:
    """The fast path as the page and the CLI run it."""
    settings = Settings(size=size, style_mix=style_mix)
    return pipeline.prepare(content, [style], settings, FastOptions(strength=strength)).fast()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_library(case: Case, tmp_path: Path) -> None:
    content, style = _files(case, tmp_path)
    if case.error:
        with pytest.raises(InputError, match=case.error) as error:
            _fast(content, style, **_options(case))
        assert "\n" not in str(error.value) and str(tmp_path) not in str(error.value)
    else:
        result = _fast(content, style, **_options(case))
        assert max(result.image.shape[:2]) == 128 and np.isfinite(result.image).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {content.name, style.name} - {CONTENT.name, STYLE.name}
    )  # nothing written beside the inputs


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_library_refuses_non_finite_arrays(bad: float) -> None:
    image = np.full((64, 64, 3), 0.5, np.float32)
    image[3, 4, 1] = bad
    with pytest.raises(InputError, match="NaN or infinite"):
        _fast(image, STYLE)


def _cli_args(case: Case, content: Path, style: Path, out: Path) -> list[str]:
    args = [str(content), str(style), "-o", str(out), "--engine", "lite"]
    option_flags = {"strength": "--strength", "size": "--size"}
    for key, value in _options(case).items():
        if key == "style_mix":
            args += ["--style-mix", *map(str, value)]
        else:
            args += [option_flags[key], str(value)]
    return args


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_cli(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m nst fast` is `sys.exit(cli.main())`; run here, it skips a process start for
    each case (tests/test_cli_fast.py runs the real process, its exit status and stderr)."""
    content, style = _files(case, tmp_path)
    out = tmp_path / "out" / "result.png"
    out.parent.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    status = cli.main(["fast", *_cli_args(case, content, style, out)])
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    if case.error:
        assert status == 2
        lines = stderr.strip().splitlines()
        assert lines[-1].startswith("error: ") and len(lines) == 1
        assert not out.exists()
    else:
        assert status == 0, stderr
        assert max(Image.open(out).size) == 128
    assert list(scratch.iterdir()) == []  # no temporary files left behind


@pytest.fixture(scope="module")
def client(app_url: str):
    pytest.importorskip("gradio_client")
    from page_inputs import visitor

    return visitor(app_url)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_api(case: Case, tmp_path: Path, client) -> None:
    from page_inputs import page_inputs

    content, style = _files(case, tmp_path)
    options = _options(case)
    if "style_mix" in options:
        pytest.skip("the page mixes at most two styles with one share slider")
    if not np.isfinite(options.get("strength", 1.0)):
        pytest.skip("JSON, and so the API, cannot carry NaN")
    size, strength = options["size"], options.get("strength", 1.0)
    inputs = page_inputs(content, style, size, strength=strength).api("fast")
    if case.error:  # the one line in place of the result, a slider's value out of range too
        path, message = client.predict(**inputs, api_name="/fast")
        assert path is None and re.search(case.api_error or case.error, message)
        assert "Traceback" not in message and "/tmp" not in message and "\n" not in message
    else:
        path, numbers = client.predict(**inputs, api_name="/fast")
        assert max(Image.open(path).size) == 128 and "engine" in numbers
