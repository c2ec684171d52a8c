"""Gradio app: upload a photo and a painting, get a stylized image in about a second.

A thin layer over the `nst` library: it turns uploads into paths, calls the library and shows
its results; errors in the input become a one-line message on the page.
Run `python app.py` (port 7860, or GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the app sends nothing anywhere

import gradio as gr
import numpy as np

from nst import fast
from nst.errors import InputError
from nst.images import to_uint8

ASSETS = Path(__file__).resolve().parent / "assets"


class Upload(gr.Image):
    """An image upload handed to the library as a file path, undecoded.

    Gradio's own preprocessing opens the file with PIL and fails with a generic error on a file
    that is not an image; `nst.images` gives the person a message they can act on instead.
    """

    is_template = True  # rendered by the frontend's ordinary Image component

    def preprocess(self, payload):  # type: ignore[override]
        if payload is not None and payload.path:
            return payload.path
        return super().preprocess(payload)


def run_fast(
    content: str | None,
    style: str | None,
    second_style: str | None,
    blend: float,
    strength: float,
    size: float,
    preserve_color: bool,
) -> tuple[np.ndarray, str]:
    if not content or not style:
        raise gr.Error("Upload a content photo and a style image first.", print_exception=False)
    styles = [style] if not second_style else [style, second_style]
    weights = None if not second_style else [1.0 - blend, blend]
    try:
        result = fast.stylize(
            content,
            styles,
            style_weights=weights,
            strength=strength,
            size=int(size),
            preserve_color=preserve_color,
        )
    except (InputError, fast.EngineUnavailable) as error:
        raise gr.Error(str(error), print_exception=False) from None
    height, width = result.image.shape[:2]
    info = f"**{result.engine}** engine · {result.seconds:.2f} s · {width}×{height} px"
    return to_uint8(result.image), info


def examples() -> list[list[str]]:
    """[content, style] pairs from assets/ that exist in this checkout."""
    pairs = [
        ("content_astronaut.jpg", "style_swirls.jpg"),
        ("content_chelsea.jpg", "style_hubble.jpg"),
        ("content_coffee.jpg", "style_shapes.jpg"),
    ]
    return [
        [str(ASSETS / c), str(ASSETS / s)]
        for c, s in pairs
        if (ASSETS / c).is_file() and (ASSETS / s).is_file()
    ]


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Neural style transfer") as demo:
        gr.Markdown(
            "# Neural style transfer\n"
            "Drop in a photo and a painting. **Fast** renders it in about a second with "
            "Magenta's arbitrary stylization network."
        )
        with gr.Row():
            content = Upload(label="Content photo", type="filepath", image_mode=None)
            style = Upload(label="Style image", type="filepath", image_mode=None)
            second_style = Upload(
                label="Second style (optional, blended)", type="filepath", image_mode=None
            )
        with gr.Row():
            size = gr.Slider(128, fast.MAX_SIZE, value=512, step=32, label="Output long side (px)")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Style strength")
            blend = gr.Slider(0, 1, value=0.5, step=0.05, label="Share of the second style")
            preserve_color = gr.Checkbox(label="Keep the photo's colours")
        run = gr.Button("Fast", variant="primary")
        output = gr.Image(label="Stylized", format="png", interactive=False)
        info = gr.Markdown()

        inputs = [content, style, second_style, blend, strength, size, preserve_color]
        run.click(run_fast, inputs, [output, info], api_name="fast", concurrency_limit=2)
        if example_rows := examples():
            gr.Examples(
                [[c, s, None, 0.5, 1.0, 512, False] for c, s in example_rows],
                inputs,
                [output, info],
                fn=run_fast,
                run_on_click=True,
                label="Examples: click one to run it",
            )
    return demo


demo = build_demo()

if __name__ == "__main__":
    # Load the fast engine (hub when reachable, else lite) before the first request needs it.
    threading.Thread(target=fast.get_engine, name="warm-up", daemon=True).start()
    demo.queue(max_size=32).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
    )
