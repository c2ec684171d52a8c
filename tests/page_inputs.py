"""The values of the page's shared inputs for its API, in the handlers' order: content, style,
second style, its share, strength, size, colors, brush size, mask, mask file."""

from pathlib import Path

from gradio_client import handle_file


def page_inputs(content: Path, style: Path, size: int, strength: float = 1.0) -> list:
    return [
        handle_file(str(content)),
        handle_file(str(style)),
        None,
        0.5,
        strength,
        size,
        "style",
        1.0,
        None,
        None,
    ]
