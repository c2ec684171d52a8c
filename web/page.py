"""The whole page, built from its features: `build` places each feature's layout and wires it.

Building is the only thing here that makes components; importing any module of `web` builds
nothing. Three tabs: Photo, whose inputs column stands beside Compare (`web.compare`) and Inside
VGG19 (`web.inside_vgg`, which reads the same inputs); Video (`web.video`); Webcam
(`web.webcam`).
"""

from __future__ import annotations

import gradio as gr

from nst import device
from web import compare, inside_vgg, text, video, webcam
from web.failure import FAILED
from web.settings import ServerSettings

# The examples as one row of thumbnails that share the column's width, as tall as they are:
# Gradio's gallery gives each thumbnail at least 100 px (five overflow a 1366 px window's
# column) and itself at least 450 px of height unless given a fixed one.
CSS = """
#examples .grid-container { grid-template-columns: repeat(5, minmax(0, 1fr)); }
#examples .grid-wrap.fixed-height { min-height: 0; max-height: none; overflow-y: auto; }
#examples .caption-label { opacity: 1; }
@media (max-width: 480px) { #examples .caption-label { font-size: 10px; padding: 1px 3px; } }
"""


def build(settings: ServerSettings) -> gr.Blocks:
    """The page as a `gr.Blocks`, its events wired, ready to serve."""
    where = device.current()
    with gr.Blocks(title=text.TITLE, analytics_enabled=False) as demo:
        gr.Markdown(text.header(where, device.precision("auto", where)), elem_id="header")
        if warning := device.gpu_warning(where, device.nvidia_driver_present()):
            gr.Markdown(f"{FAILED} {warning}", elem_id="device-warning")
        with gr.Tab("Photo", elem_id="photo-tab"), gr.Row():
            with gr.Column(scale=2, min_width=320):
                controls = compare.controls()
            with gr.Column(scale=3):
                with gr.Tab("Compare"):
                    results = compare.results()
                with gr.Tab("Inside VGG19"):
                    vgg = inside_vgg.layout()
        with gr.Tab("Video", elem_id="video-tab"):
            clip = video.layout(settings)
        with gr.Tab("Webcam", elem_id="webcam-tab"):
            camera = webcam.layout(settings)
        compare.wire(controls, results, settings.proxy_hops)
        inside_vgg.wire(controls, vgg, settings.proxy_hops)
        video.wire(clip, settings)
        webcam.wire(camera, settings)
        # The estimate needs the clock's first measurement: asked for as the page opens.
        demo.load(
            compare.optimize_estimate,
            [controls.size, controls.time_budget, controls.content],
            controls.estimate,
            api_visibility="private",
        )
    return demo
