"""nst.images on real files written in every format people upload, and on broken ones."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from nst.errors import InputError
from nst.images import MIN_SIDE, load_image, resize_long_side, save_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def quadrants(width: int = 64, height: int = 48) -> Image.Image:
    """Four flat color blocks, so lossy formats still give exact block means to check."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = RED
    pixels[: height // 2, width // 2 :] = GREEN
    pixels[height // 2 :, : width // 2] = BLUE
    pixels[height // 2 :, width // 2 :] = (255, 255, 255)
    return Image.fromarray(pixels)


def block_means(image: np.ndarray) -> np.ndarray:
    """Mean color (0-255) in the middle of each quadrant: top left, top right, then bottom."""
    height, width = image.shape[:2]
    ys, xs = (height // 8, height // 2 + height // 8), (width // 8, width // 2 + width // 8)
    size_y, size_x = height // 4, width // 4
    return np.array(
        [image[y : y + size_y, x : x + size_x].mean(axis=(0, 1)) * 255 for y in ys for x in xs]
    )


QUADRANT_COLORS = np.array([RED, GREEN, BLUE, (255, 255, 255)], float)


@pytest.mark.parametrize(
    "suffix, options, tolerance",
    [
        (".jpg", {"quality": 95}, 6),
        (".png", {}, 0),
        (".webp", {"lossless": True}, 0),
        (".webp", {"quality": 90}, 8),
        (".bmp", {}, 0),
        (".gif", {}, 0),
        (".tif", {}, 0),
        (".tif", {"compression": "tiff_lzw"}, 0),
    ],
)
def test_formats_decode_to_rgb(tmp_path: Path, suffix: str, options: dict, tolerance: float):
    path = tmp_path / f"image{suffix}"
    quadrants().save(path, **options)
    image = load_image(path)
    assert image.shape == (48, 64, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    np.testing.assert_allclose(block_means(image), QUADRANT_COLORS, atol=tolerance + 1e-3)


def test_bytes_decode_like_the_file(tmp_path: Path):
    path = tmp_path / "image.png"
    quadrants().save(path)
    np.testing.assert_array_equal(load_image(path.read_bytes()), load_image(path))


def test_animated_gif_gives_its_first_frame(tmp_path: Path):
    path = tmp_path / "animated.gif"
    frames = [Image.new("RGB", (32, 32), color) for color in (RED, GREEN, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3
    np.testing.assert_array_equal(load_image(path), np.ones((32, 32, 3)) * np.float32(RED) / 255)


def test_exif_orientation_is_applied(tmp_path: Path):
    """Orientation 6: the camera was turned; the viewer rotates the stored pixels 90° clockwise."""
    path = tmp_path / "portrait.jpg"
    stored = quadrants(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    stored.save(path, quality=95, exif=exif)
    image = load_image(path)
    assert image.shape == (64, 48, 3)  # width and height swapped
    # Rotated clockwise, the stored left column (red over blue) becomes the top row, blue first.
    np.testing.assert_allclose(block_means(image), [BLUE, RED, (255, 255, 255), GREEN], atol=6)


def test_damaged_exif_does_not_stop_a_good_photo(tmp_path: Path):
    """Phones write odd EXIF; a tag holding the wrong type must not make the photo unreadable."""
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "Camera"  # Make, text
    quadrants(64, 48).save(path, quality=95, exif=exif)
    data = path.read_bytes()
    # Relabel Make as YPosition (0x011F), which must be a number but now holds text.
    for make, y_position in (
        (b"\x01\x0f\x00\x02", b"\x01\x1f\x00\x02"),
        (b"\x0f\x01\x02\x00", b"\x1f\x01\x02\x00"),
    ):
        if data.count(make) == 1:
            path.write_bytes(data.replace(make, y_position))
            break
    else:
        pytest.fail("no Make tag found in the EXIF block Pillow wrote")
    assert Image.open(path).getexif()[0x011F] == "Camera"
    image = load_image(path)
    assert image.shape == (64, 48, 3)  # the orientation still applies
    np.testing.assert_allclose(block_means(image), [BLUE, RED, (255, 255, 255), GREEN], atol=6)


@pytest.mark.parametrize(
    "rgba, expected",
    [
        ((255, 0, 0, 0), (255, 255, 255)),  # invisible red is white paper
        ((0, 0, 0, 255), (0, 0, 0)),
        ((0, 0, 255, 128), (127, 127, 255)),  # half blue over white
    ],
)
def test_transparency_is_composited_on_white(tmp_path: Path, rgba: tuple, expected: tuple):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (20, 20), rgba).save(path)
    np.testing.assert_allclose(load_image(path)[10, 10] * 255, expected, atol=1.0)


def test_transparent_palette_index_becomes_white(tmp_path: Path):
    path = tmp_path / "palette_transparent.png"
    image = Image.new("P", (20, 20), 0)
    image.putpalette([*RED, *BLUE] + [0] * 762)
    image.paste(1, (0, 0, 10, 20))  # left half blue
    image.save(path, transparency=0)  # red is the transparent index
    loaded = load_image(path)
    np.testing.assert_allclose(loaded[5, 2] * 255, BLUE, atol=0.5)
    np.testing.assert_allclose(loaded[5, 15] * 255, (255, 255, 255), atol=0.5)


@pytest.mark.parametrize(
    "make, mode, expected",
    [
        (lambda: Image.new("L", (20, 20), 100), "L", (100, 100, 100)),
        (lambda: Image.new("LA", (20, 20), (0, 0)), "LA", (255, 255, 255)),
        (lambda: Image.new("1", (20, 20), 1), "1", (255, 255, 255)),
        (lambda: Image.new("RGB", (20, 20), BLUE).quantize(2), "P", BLUE),
        (lambda: Image.fromarray(np.full((20, 20), 65535, np.uint16)), "I;16", (255, 255, 255)),
        (lambda: Image.fromarray(np.full((20, 20), 32896, np.uint16)), "I;16", (128, 128, 128)),
        # A dark 16-bit image stays dark: 200/65535 of full scale, not 200/255.
        (lambda: Image.fromarray(np.full((20, 20), 200, np.uint16)), "I;16", (1, 1, 1)),
    ],
    ids=["gray", "gray-alpha", "1-bit", "palette", "16-bit white", "16-bit mid", "16-bit dark"],
)
def test_other_modes_convert_to_rgb(tmp_path: Path, make, mode: str, expected: tuple):
    path = tmp_path / "mode.png"
    make().save(path)
    assert Image.open(path).mode == mode
    np.testing.assert_allclose(load_image(path)[10, 10] * 255, expected, atol=0.5)


def test_palette_colors_are_kept(tmp_path: Path):
    path = tmp_path / "palette.png"
    quadrants().quantize(4).save(path)
    assert Image.open(path).mode == "P"
    np.testing.assert_allclose(block_means(load_image(path)), QUADRANT_COLORS, atol=0.5)


def test_cmyk_jpeg_converts_to_rgb(tmp_path: Path):
    path = tmp_path / "print.jpg"
    image = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # process red
    image.paste((255, 0, 255, 0), (16, 0, 32, 32))  # process green on the right
    image.save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    loaded = load_image(path) * 255
    np.testing.assert_allclose(loaded[16, 4], RED, atol=6)
    np.testing.assert_allclose(loaded[16, 28], GREEN, atol=6)


@pytest.mark.parametrize(
    "height, width, long_side, expected",
    [
        (300, 200, 150, (150, 100)),
        (200, 300, 150, (100, 150)),
        (101, 203, 406, (202, 406)),  # enlarging
        (480, 640, 640, (480, 640)),  # unchanged
    ],
)
def test_resize_long_side_keeps_aspect(height: int, width: int, long_side: int, expected: tuple):
    rng = np.random.default_rng(0)
    image = rng.random((height, width, 3), dtype=np.float32)
    resized = resize_long_side(image, long_side)
    assert resized.shape == (*expected, 3)
    assert resized.min() >= 0.0 and resized.max() <= 1.0


def test_load_with_long_side_resizes_and_keeps_colors(tmp_path: Path):
    path = tmp_path / "big.png"
    quadrants(640, 480).save(path)
    image = load_image(path, long_side=160)
    assert image.shape == (120, 160, 3)
    np.testing.assert_allclose(block_means(image), QUADRANT_COLORS, atol=0.5)


def write_bilevel_png(path: Path, width: int, height: int) -> None:
    """A valid all-black 1-bit PNG, written row by row so the test never holds it in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte, then packed pixels
    rows_per_block = max(1, 4_000_000 // len(row))
    compressed = []
    for start in range(0, height, rows_per_block):
        compressed.append(compressor.compress(row * min(rows_per_block, height - start)))
    compressed.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(compressed))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "width, height",
    [
        (30000, 30000),  # 900 megapixels: Pillow's own bomb guard trips while opening
        (8000, 6000),  # 48 megapixels: over our 40-megapixel limit, refused from the header
    ],
)
def test_decompression_bomb_is_refused_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int, height: int
):
    path = tmp_path / "bomb.png"
    write_bilevel_png(path, width, height)
    assert path.stat().st_size < 200_000
    decoded = []
    original_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    with pytest.raises(InputError, match=r"too large|megapixels") as error:
        load_image(path)
    assert "\n" not in str(error.value)
    assert decoded == []


def write_truncated_jpeg(path: Path) -> None:
    quadrants(256, 256).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("Dear diary, today I uploaded a text file.\n"), "not an image"),
        (write_truncated_jpeg, "damaged or truncated"),
        (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(64)), "not an image|damaged"),
    ],
    ids=["empty", "text", "truncated", "header-only"],
)
def test_broken_files_raise_one_line_input_error(tmp_path: Path, make, match: str):
    path = tmp_path / "upload.jpg"
    make(path)
    with pytest.raises(InputError, match=match) as error:
        load_image(path)
    message = str(error.value)
    assert "\n" not in message and "upload.jpg" in message
    with pytest.raises(InputError):
        load_image(path.read_bytes())


def test_missing_file_raises_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        load_image(tmp_path / "nowhere.png")


@pytest.mark.parametrize("side", [1, 8, MIN_SIDE - 1])
def test_tiny_images_are_refused(tmp_path: Path, side: int):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (side, side), RED).save(path)
    with pytest.raises(InputError, match="at least"):
        load_image(path)
    with pytest.raises(InputError, match="at least"):
        load_image(np.zeros((side, side, 3), np.uint8))


def test_smallest_allowed_image_loads(tmp_path: Path):
    path = tmp_path / "small.png"
    Image.new("RGB", (MIN_SIDE, MIN_SIDE), RED).save(path)
    assert load_image(path).shape == (MIN_SIDE, MIN_SIDE, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays_are_refused(bad: float):
    array = np.full((32, 32, 3), 0.5, np.float32)
    array[3, 4, 1] = bad
    with pytest.raises(InputError, match="NaN or infinite"):
        load_image(array)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.full((32, 32, 3), 1.5, np.float32), "between 0 and 1"),
        (np.zeros((32, 32, 3), np.int64), "uint8 or float"),
        (np.zeros((32, 32, 2), np.uint8), "must be"),
    ],
)
def test_bad_arrays_are_refused(array: np.ndarray, match: str):
    with pytest.raises(InputError, match=match):
        load_image(array)


def test_arrays_convert_like_files():
    gray = np.full((20, 20), 51, np.uint8)
    np.testing.assert_allclose(load_image(gray), np.full((20, 20, 3), 0.2), atol=1e-6)
    rgba = np.zeros((20, 20, 4), np.float32)  # transparent black
    np.testing.assert_array_equal(load_image(rgba), np.ones((20, 20, 3)))


@pytest.mark.parametrize("suffix, tolerance", [(".png", 0.0), (".jpg", 0.03), (".webp", 0.03)])
def test_save_image_round_trip(tmp_path: Path, suffix: str, tolerance: float):
    rng = np.random.default_rng(1)
    # A smooth image (lossy codecs keep it well); PNG must come back exactly at 8 bits.
    ys, xs = np.mgrid[0:40, 0:60] / 60.0
    image = np.stack([xs, ys, 0.5 + 0.3 * np.sin(6 * xs)], axis=-1).astype(np.float32)
    image += rng.normal(0, 0.001, image.shape).astype(np.float32)
    image = np.clip(image, 0, 1)
    path = tmp_path / f"out{suffix}"
    save_image(image, path)
    loaded = load_image(path)
    assert loaded.shape == image.shape
    expected = np.round(image * 255) / 255
    assert np.abs(loaded - expected).mean() <= tolerance + 1e-6


def test_save_image_refuses_unknown_extension(tmp_path: Path):
    with pytest.raises(InputError, match=r"\.png, \.jpg or \.webp"):
        save_image(np.zeros((20, 20, 3), np.float32), tmp_path / "out.gif")
