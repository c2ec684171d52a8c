"""The Inside VGG19 tab: what the optimizer matches, shown for the photo page's inputs.

The strongest feature maps of the photo and the style at a chosen layer, the style's Gram
matrix there, and with a mask the mask as that layer sees it and each region's target. Its
layout, handler and wiring are here; its inputs are the photo page's (`web.compare.Controls`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import gradio as gr

from nst import visualize
from nst.images import to_uint8
from web import text
from web.compare import Controls, calls
from web.failure import answers
from web.inputs import PageInputs
from web.visitors import Visitor, turn


@answers(lambda line: (None, None, None, None, None, line, None, None, None))
def inside_vgg(inputs: PageInputs, layer: str, visitor: Visitor | None = None) -> tuple:
    """Feature maps of both images, and the style's Gram matrix, feature means and covariance
    at `layer`, at 256 px; with a mask, the mask at that layer and what each region's Gram
    matrix is matched to."""
    job = replace(inputs, size=256, second_style_share=0.5).job()
    with turn("losses", visitor, inputs.files()):
        content_maps = visualize.activations(job.content, layer)
        style_maps = visualize.activations(job.styles_at_size[0], layer)
        regions = job.mask is not None and visualize.region_views(
            job.targets, content_maps.shape[:2], layer
        )
    height, width, channels = content_maps.shape
    mask_view, (white, black) = regions or (None, (None, None))
    means, covariance = visualize.moments_views(style_maps)
    return (
        to_uint8(visualize.feature_grid(content_maps)),
        to_uint8(visualize.feature_grid(style_maps)),
        to_uint8(visualize.gram_heatmap(style_maps)),
        to_uint8(means),
        to_uint8(covariance),
        text.layer_note(layer, channels, width, height),
        *(None if view is None else to_uint8(view) for view in (mask_view, white, black)),
    )


@dataclass
class Tab:
    layer: gr.Dropdown
    show: gr.Button
    # The photo's maps, the style's, the style's Gram matrix, feature means and covariance.
    views: tuple[gr.Image, ...]
    note: gr.Markdown
    regions: tuple[gr.Image, ...]  # the mask at the layer, each region's target


def layout() -> Tab:
    """Place the tab's components (inside a `gr.Tab`)."""
    gr.Markdown(text.INSIDE_VGG)
    with gr.Row():
        layer = gr.Dropdown(list(visualize.LAYERS), value="block1_conv1", label="Layer")
        show = gr.Button("Show layer")
    with gr.Row():
        maps = tuple(
            gr.Image(label=label, interactive=False)
            for label in (
                "Content: strongest feature maps",
                "Style: strongest feature maps",
                "Style Gram matrix (first 64 channels)",
            )
        )
    with gr.Row():  # what the Wasserstein-2 statistic compares instead
        moments = tuple(
            gr.Image(label=label, interactive=False)
            for label in (
                "Style feature means (first 64 channels)",
                "Style covariance (first 64 channels; red +, blue −)",
            )
        )
    views = maps + moments
    note = gr.Markdown(elem_id="layer-note")
    gr.Markdown(text.INSIDE_VGG_REGIONS)
    with gr.Row():
        regions = tuple(
            gr.Image(label=label, interactive=False)
            for label in (
                "Mask at this layer (yellow: first style)",
                "White region's target Gram matrix",
                "Black region's target (second style, or the photo's own)",
            )
        )
    return Tab(layer, show, views, note, regions)


def wire(controls: Controls, tab: Tab, proxy_hops: int) -> None:
    tab.show.click(
        **calls(controls, "inside_vgg", inside_vgg, proxy_hops, layer=tab.layer),
        outputs=[*tab.views, tab.note, *tab.regions],
        api_name="inside_vgg",
        concurrency_limit=None,
    )
