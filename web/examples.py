"""The page's examples: famous paintings with photos they suit, shown as pictures to click.

Each example is the page's defaults with its photo and painting (both in `assets/`, credited in
`assets/CREDITS.md`); its thumbnail is the photo with the painting inset in a corner, made from
files opened through `nst.door` like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, ImageOps

from nst.images import load_image, resize_long_side, to_uint8
from web.inputs import PageInputs

ASSETS = Path(__file__).resolve().parents[1] / "assets"
# Famous paintings with the photos they suit in both paths (judged on `python -m nst compare` at
# 384 px, 40 s): (photo, painting, label).
PHOTO_EXAMPLES = [
    ("content_chelsea.jpg", "style_starry_night.jpg", "Van Gogh, The Starry Night"),
    ("content_rocket.jpg", "style_the_scream.jpg", "Munch, The Scream"),
    ("content_coffee.jpg", "style_udnie.jpg", "Picabia, Udnie"),
    ("content_astronaut.jpg", "style_camille_mauclair.jpg", "Vallotton, Camille Mauclair"),
    ("content_chelsea.jpg", "style_great_wave.jpg", "Hokusai, The Great Wave"),
]


@dataclass(frozen=True)
class Example:
    inputs: PageInputs
    label: str


def photos() -> list[Example]:
    """The examples whose files are in this checkout."""
    return [
        Example(PageInputs(content=str(ASSETS / photo), style=str(ASSETS / painting)), label)
        for photo, painting, label in PHOTO_EXAMPLES
        if (ASSETS / photo).is_file() and (ASSETS / painting).is_file()
    ]


def picture(path: str | Path, long_side: int | None = None) -> np.ndarray:
    """A file as an 8-bit RGB picture, decoded through the door, at most ``long_side`` px."""
    image = load_image(path)
    if long_side is not None and max(image.shape[:2]) > long_side:
        image = resize_long_side(image, long_side)
    return to_uint8(image)


def thumbnail(example: Example, size: tuple[int, int] = (160, 160)) -> Image.Image:
    """An example as one picture: its photo, with its painting inset in the lower right."""
    width, height = size
    shown = ImageOps.fit(Image.fromarray(picture(example.inputs.content)), size)
    side, frame = height // 2, 3
    painting = ImageOps.fit(Image.fromarray(picture(example.inputs.style)), (side, side))
    corner = (width - side - frame, height - side - frame)
    shown.paste((255, 255, 255), (corner[0] - frame, corner[1] - frame, width, height))
    shown.paste(painting, corner)
    return shown


def gallery() -> gr.Gallery:
    """The examples as one row of thumbnails to click (place it inside the page's layout)."""
    return clickable(
        [(thumbnail(example), example.label.split(",")[0]) for example in photos()],
        label="Famous paintings: click one",
        columns=5,
        elem_id="examples",
    )


def clickable(pictures: list, label: str, columns: int, elem_id: str, **extra) -> gr.Gallery:
    """A row of captioned thumbnails that a click selects, as every tab's examples are shown."""
    return gr.Gallery(
        pictures,
        label=label,
        columns=columns,
        allow_preview=False,
        object_fit="cover",
        format="jpeg",
        buttons=[],
        interactive=False,
        elem_id=elem_id,
        **extra,
    )
