"""Images in and out: any decoded image to RGB, resized, validated and saved.

Inside the library an image is a float32 array of shape (height, width, 3), RGB, values in
[0, 1]. Files are decoded by `nst.door` only; everything that is not an image we can use raises
`InputError` with a one-line message.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from nst.door import check_size, open_image
from nst.errors import InputError
from nst.options import MAX_STYLE_SIDE, MIN_SIDE, check_sides

# A file (by path or its bytes: decoded by `nst.door`), or pixels a program already has.
ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray


def load_image(source: ImageSource, long_side: int | None = None) -> np.ndarray:
    """Decode `source` into a float32 RGB array, optionally resized to `long_side` pixels.

    Accepts a path, encoded bytes, a PIL image, or an array (uint8 in [0, 255] or float in
    [0, 1]; grayscale, RGB or RGBA). Applies EXIF orientation, composites transparency on
    white, converts any mode to RGB and takes the first frame of animations.
    """
    if isinstance(source, np.ndarray):
        image = _array_to_rgb(source)
        return image if long_side is None else resize_long_side(image, long_side)
    pil = source if isinstance(source, Image.Image) else open_image(source)
    pil = _to_rgb(pil)
    check_size(pil.width, pil.height)
    if long_side is not None:
        pil = _resize_pil(pil, _long_side_size(pil.width, pil.height, long_side))
    return np.asarray(pil, dtype=np.float32) / 255.0


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: transparency on white, high bit depths scaled down."""
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        # NaN is black and infinities the ends of the range: neither may decide the scale.
        peak = float(values[np.isfinite(values)].max(initial=0))
        values = np.nan_to_num(values, nan=0.0, posinf=peak, neginf=0.0)
        top = 1.0 if image.mode == "F" and peak <= 1 else 255.0
        # 16-bit modes span 0-65535 even when this image is dark; a 32-bit "I" image is
        # taken as 16-bit data when its values exceed 8 bits.
        if image.mode.startswith("I;16") or (image.mode == "I" and peak > 255):
            top = 65535.0
        image = Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8))
    if image.mode in ("1", "L", "P", "RGB") and "transparency" in image.info:
        image = image.convert("RGBA")  # a palette's alpha, or the one colour that is clear
    if image.mode == "La":  # premultiplied: Pillow converts it only to LA
        image = image.convert("LA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """Validate an array given to the library and return it as float32 RGB in [0, 1]."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InputError(f"An image array must be H×W, H×W×3 or H×W×4, not {array.shape}.")
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise InputError("The image array contains NaN or infinite values.")
        if values.min(initial=0) < 0 or values.max(initial=0) > 1:
            raise InputError("A float image array must have values between 0 and 1.")
    else:
        raise InputError(f"An image array must be uint8 or float, not {array.dtype}.")
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    elif values.shape[2] == 4:
        alpha = values[..., 3:]
        values = values[..., :3] * alpha + (1.0 - alpha)
    check_size(values.shape[1], values.shape[0])
    return np.ascontiguousarray(values)


def _long_side_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) with the longer side equal to `long_side`, aspect ratio kept."""
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    check_sides(
        *size,
        f"At {long_side} px on its long side, this {width}×{height} image would be "
        f"{size[0]}×{size[1]}: use a larger size or a less elongated image.",
    )
    return size


def _resize_pil(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    # reducing_gap: a fast box pre-shrink for big reductions, then Lanczos; visually the same.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a float image to ``shape`` (height, width) with a Lanczos filter, values kept in
    [0, 1]. The one resize of the library: every path and scale goes through it."""
    height, width = shape
    if image.shape[:2] == (height, width):
        return image
    channels = [
        np.asarray(
            Image.fromarray(image[..., c], mode="F").resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in range(image.shape[2])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)


def resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`resize` for a one-channel (height, width) map, such as a mask."""
    return resize(values[..., None], shape)[..., 0]


def load_mask(source: ImageSource, shape: tuple[int, int]) -> np.ndarray:
    """A mask as a (height, width) float32 map in [0, 1] at ``shape``: the image's brightness
    (the mean of R, G and B: white 1, black 0), from any image a person can upload, resized."""
    return resize_map(load_image(source).mean(axis=-1), shape)


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Resize a float image so its longer side is `long_side` pixels, aspect ratio kept."""
    height, width = image.shape[:2]
    width, height = _long_side_size(width, height, long_side)
    return resize(image, (height, width))


def resize_style(style: np.ndarray, long_side: int, scale: float = 1.0) -> np.ndarray:
    """The style image as VGG19 compares an output of ``long_side`` px with it: its long side
    ``scale`` times the output's (scale 2: strokes twice as large), kept at least MIN_SIDE px on
    its short side and at most MAX_STYLE_SIDE (or the output's long side, if larger)."""
    height, width = style.shape[:2]
    smallest = math.ceil(MIN_SIDE * max(height, width) / min(height, width))
    largest = max(MAX_STYLE_SIDE, long_side)
    return resize_long_side(style, min(max(round(scale * long_side), smallest), largest))


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] image to uint8, rounding to nearest; an image already uint8 as it is."""
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(to_uint8(image))


def save_image(image: np.ndarray, path: str | os.PathLike) -> None:
    """Save as PNG, JPEG or WebP, chosen by the file extension."""
    suffix = Path(path).suffix.lower()
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
    if suffix not in formats:
        raise InputError(f"Cannot save as '{suffix or 'no extension'}'; use .png, .jpg or .webp.")
    options = {"quality": 95} if formats[suffix] in ("JPEG", "WEBP") else {}
    to_pil(image).save(path, formats[suffix], **options)
