"""The Video tab: a clip through the fast path, every frame stylized without flicker.

Drop a clip (or click the example), pick a painting, press Stylize: the frames go through
`nst.video.stylize_video` (the style vector once per clip, each frame blended with the previous
output along the motion), a progress bar counts the frames and the time left, and the result
plays in the page with its sound. The host sets how long a clip and how large an output may be
(`web.settings`). Its layout, handler and wiring are here.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageOps

from nst import video
from nst.door import VIDEO_FORMATS_IN_WORDS, open_video
from nst.errors import InputError
from nst.options import COLORS, STYLE_SCALE_LIMITS, VIDEO_SIZE_LIMITS, VideoOptions
from web import examples, text
from web.failure import answers
from web.inputs import Given, Slider, Upload, VideoUpload, usable
from web.settings import ServerSettings
from web.visitors import Visitor, place, visitor_of

# The example clip (credited in assets/CREDITS.md) and the painting it is shown with.
EXAMPLE_CLIP = examples.ASSETS / "video_big_buck_bunny.mp4"
EXAMPLE_STYLE = examples.ASSETS / "style_great_wave.jpg"
TICK = 0.5  # seconds between progress updates while the clip is made


@dataclass(frozen=True)
class VideoInputs:
    """What a person set on the Video tab, named as the API names its parameters."""

    clip: Given = None
    style: Given = None
    second_style: Given = None
    second_style_share: float = 0.5
    size: int = VideoOptions().size
    strength: float = VideoOptions().strength
    colors: str = VideoOptions().colors
    style_scale: float = VideoOptions().style_scale
    temporal: float = VideoOptions().temporal

    def options(self) -> VideoOptions:
        mix = None
        if usable(self.second_style):
            mix = (1.0 - self.second_style_share, self.second_style_share)
        return VideoOptions(
            size=int(self.size),
            strength=float(self.strength),
            style_mix=mix,
            style_scale=float(self.style_scale),
            colors=self.colors,
            temporal=float(self.temporal),
        )

    def styles(self) -> list[str]:
        style = usable(self.style)
        if not style:
            raise InputError("Choose a painting first.")
        second = usable(self.second_style)
        return [style, second] if second else [style]


VIDEO_FIELDS = tuple(field.name for field in fields(VideoInputs))


def _status(done: int, expected: int | None, seconds: float) -> str:
    """Frames done, the time left and a progress bar."""
    if not expected:
        return f"Stylizing: {done} frames · {text.duration(seconds)}"
    fraction = min(done / expected, 1.0)
    left = seconds * (1 - fraction) / fraction if done else None
    bar = f'<progress value="{fraction:.3f}" max="1"></progress>'
    remaining = f" · {text.duration(left)} left" if left is not None else ""
    return f"Stylizing: frame {done} of {expected}{remaining}\n\n{bar}"


@answers(lambda line: (None, line))
def run_video(
    inputs: VideoInputs,
    settings: ServerSettings = ServerSettings(),
    visitor: Visitor | None = None,
) -> Iterator[tuple]:
    """The stylized clip (an MP4 in the server's cache) and what made it, with progress on the
    way: yields (video or `gr.skip()`, status)."""
    clip = usable(inputs.clip)
    if not clip:
        yield None, f"Upload a clip first ({VIDEO_FORMATS_IN_WORDS})."
        return
    if inputs.size > settings.video_max_size:
        raise InputError(f"On this page a video is at most {settings.video_max_size} px.")
    options, styles = inputs.options(), inputs.styles()
    with place("video", visitor, (clip, *styles)) as held:
        for ahead in held.waiting():
            yield gr.skip(), text.waiting(ahead, "video")
        out = Path(tempfile.mkdtemp(dir=gr.utils.get_upload_folder())) / "stylized.mp4"
        state: dict[str, Any] = {}  # the latest progress, then the result or the error

        def work() -> None:  # the job in a thread of its own, so the page hears of its progress
            try:
                state["result"] = video.stylize_video(
                    clip, styles, out, options, lambda p: state.update(progress=p),
                    settings.video_max_seconds,
                )  # fmt: skip
            except BaseException as error:  # handed to the handler's thread
                state["error"] = error

        worker = threading.Thread(target=work, name="video", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(TICK)
            if (progress := state.get("progress")) is not None:
                yield gr.skip(), _status(progress.frames, progress.expected, progress.seconds)
    if "error" in state:
        raise state["error"]
    yield str(out), summary(state["result"])


def summary(result: video.VideoResult) -> str:
    """What made a clip, in one line."""
    width, height = result.size
    sound = f"sound {result.audio}" if result.audio else "no sound"
    cuts = f" · {result.cuts} scene cuts" if result.cuts else ""
    return (
        f"Fast · lite engine · {result.frames} frames, {width}×{height} px, {sound}{cuts} · "
        f"{result.seconds:.1f} s"
    )


def thumbnail(size: tuple[int, int] = (160, 160)) -> Image.Image | None:
    """The example clip as a picture: its first frame, the painting inset in a corner."""
    if not EXAMPLE_CLIP.is_file():
        return None
    with open_video(EXAMPLE_CLIP) as clip:
        frame = next(clip.container.decode(clip.video)).to_image()  # our own asset
    width, height = size
    shown = ImageOps.fit(frame.convert("RGB"), size)
    side, border = height // 2, 3
    painting = ImageOps.fit(Image.fromarray(examples.picture(EXAMPLE_STYLE)), (side, side))
    corner = (width - side - border, height - side - border)
    shown.paste((255, 255, 255), (corner[0] - border, corner[1] - border, width, height))
    shown.paste(painting, corner)
    return shown


@dataclass
class Tab:
    clip: VideoUpload
    style: Upload
    second_style: Upload
    second_style_share: Slider
    size: Slider
    strength: Slider
    colors: gr.Radio
    style_scale: Slider
    temporal: Slider
    stylize: gr.Button
    example: gr.Gallery
    result: VideoUpload
    status: gr.Markdown

    def inputs(self) -> dict[str, gr.Component]:
        return {name: getattr(self, name) for name in VIDEO_FIELDS}


def layout(settings: ServerSettings) -> Tab:
    """Place the tab's components (inside a `gr.Tab`)."""
    defaults = VideoInputs()
    gr.Markdown(text.video_limits(settings.video_max_seconds, settings.video_max_size))
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                clip = VideoUpload(
                    label="Clip", sources=["upload"], elem_id="clip", height=200, min_width=160
                )
                style = Upload(label="Style image", type="filepath", elem_id="video-style",
                               height=200, min_width=140)  # fmt: skip
            stylize = gr.Button("Stylize", variant="primary", elem_id="stylize")
            picture = thumbnail()
            example = examples.clickable(
                [(picture, "Big Buck Bunny × Hokusai")] if picture is not None else [],
                label="Example clip: click it",
                columns=4,
                elem_id="video-example",
                height=140,
            )
            with gr.Row():
                size = Slider(
                    VIDEO_SIZE_LIMITS[0], settings.video_max_size,
                    value=min(defaults.size, settings.video_max_size),
                    step=2, label="Output short side (px)",
                )  # fmt: skip
                temporal = Slider(
                    0, 1, value=defaults.temporal, step=0.05,
                    label="Steadiness (0: frame by frame)",
                )  # fmt: skip
            with gr.Accordion("Colors, brush size, strength, a second style", open=False):
                colors = gr.Radio(
                    [(text.COLOR_LABELS[v], v) for v in COLORS], value=defaults.colors,
                    label="Colors",
                )  # fmt: skip
                style_scale = Slider(
                    *STYLE_SCALE_LIMITS, value=defaults.style_scale, step=0.25,
                    label="Brush size (style scale)",
                )  # fmt: skip
                strength = Slider(0, 1, value=defaults.strength, step=0.05, label="Strength")
                second_style = Upload(label="Second style (optional)", type="filepath",
                                      elem_id="video-second-style", height=140)  # fmt: skip
                share = Slider(0, 1, value=defaults.second_style_share, step=0.05,
                                  label="Share of the second style")  # fmt: skip
        with gr.Column(scale=3):
            result = VideoUpload(label="Stylized clip", interactive=False, elem_id="video-result")
            status = gr.Markdown(elem_id="video-status")
    return Tab(
        clip, style, second_style, share, size, strength, colors, style_scale, temporal,
        stylize, example, result, status,
    )  # fmt: skip


def wire(tab: Tab, settings: ServerSettings) -> None:
    def call(request: gr.Request, **values: Any) -> Iterator[tuple]:
        visitor = visitor_of(request, settings.proxy_hops)
        yield from run_video(VideoInputs(**values), settings, visitor)

    call.__name__, call.__doc__ = run_video.__name__, run_video.__doc__
    tab.stylize.click(
        call,
        inputs_kwargs=tab.inputs(),
        outputs=[tab.result, tab.status],
        api_name="video",
        concurrency_limit=None,
        show_progress="minimal",
    )

    def pick_example() -> tuple:
        return str(EXAMPLE_CLIP), str(EXAMPLE_STYLE), None, ""

    tab.example.select(
        pick_example,
        None,
        [tab.clip, tab.style, tab.result, tab.status],
        queue=False,
        api_visibility="private",
    )
