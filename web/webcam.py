"""The Webcam tab: the visitor's camera, stylized live on the fast path.

Gradio streams the camera's frames to the server (JPEG data URLs, decoded here by `nst.door`
like any upload); each is stylized at a size two cores keep up with and blended with the
previous output along the motion (`nst.video.FrameStylizer`, one per stream, kept in the
session's state). A visitor has one stream at a time, for at most the host's time limit.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from nst.images import load_image, resize_long_side, to_uint8
from nst.options import VideoOptions
from nst.video import FrameStylizer
from web import text
from web.examples import ASSETS
from web.failure import answers
from web.inputs import Given, Upload, usable
from web.settings import ServerSettings
from web.visitors import Visitor, visitor_of

# A frame's short side: at 240 px two cores stylize a frame in a few hundredths of a second,
# with room for the decoding, the flow and other visitors.
SIZE = 240
STREAM_EVERY = 0.1  # seconds between the frames the browser sends: at most 10 a second
DEFAULT_STYLE = ASSETS / "style_starry_night.jpg"
# A stream whose last frame is older than this has ended (its visitor may start another).
QUIET = 5.0


@dataclass
class Stream:
    """One visitor's stream: what stylizes its frames, and with which painting."""

    stylizer: FrameStylizer
    style: str
    frames: int = 0
    started: float = 0.0


class Streams:
    """Which visitors stream now (by address and session): one stream a visitor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, float]] = {}  # address: (session, last frame's time)

    def admit(self, visitor: Visitor) -> bool:
        """Whether ``visitor``'s frame may be stylized: no other session of its address is
        streaming."""
        now = time.monotonic()
        with self._lock:
            session, last = self._last.get(visitor.address, (visitor.session, 0.0))
            if session != visitor.session and now - last < QUIET:
                return False
            self._last[visitor.address] = (visitor.session, now)
            return True


STREAMS = Streams()


@answers(lambda line: (None, line, None))
def stylize_frame(
    frame: Given, style: Given, stream: Stream | None, visitor: Visitor | None = None
) -> tuple[np.ndarray | None, str, Stream | None]:
    """One frame of the camera, stylized: (the picture, the status, the stream's state)."""
    if frame is None:
        return None, "", stream
    if visitor is not None and not STREAMS.admit(visitor):
        return None, "⚠️ Your camera is already being stylized in another tab.", stream
    painting = usable(style) or str(DEFAULT_STYLE)
    if stream is None or stream.style != painting:
        stylizer = FrameStylizer([painting], VideoOptions(size=SIZE))
        stream = Stream(stylizer, painting, started=time.monotonic())
    picture = load_image(usable(frame))
    height, width = picture.shape[:2]
    long_side = round(SIZE * max(height, width) / min(height, width))
    picture = resize_long_side(picture, long_side) if min(height, width) > SIZE else picture
    stylized = stream.stylizer(to_uint8(picture))
    stream.frames += 1
    rate = stream.frames / max(time.monotonic() - stream.started, 1e-3)
    return stylized, text.webcam_status(stylized.shape[1], stylized.shape[0], rate), stream


@dataclass
class Tab:
    camera: Upload
    style: Upload
    output: gr.Image
    status: gr.Markdown
    state: gr.State


def layout(settings: ServerSettings) -> Tab:
    """Place the tab's components (inside a `gr.Tab`)."""
    gr.Markdown(text.webcam_limits(settings.webcam_seconds))
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            camera = Upload(
                label="Your camera",
                sources=["webcam"],
                streaming=True,
                type="filepath",
                elem_id="camera",
                height=260,
            )
            style = Upload(
                label="Style image",
                type="filepath",
                value=str(DEFAULT_STYLE),
                elem_id="webcam-style",
                height=180,
            )
        with gr.Column(scale=3):
            output = gr.Image(label="Stylized", interactive=False, elem_id="webcam-output")
            status = gr.Markdown(elem_id="webcam-status")
    return Tab(camera, style, output, status, gr.State())


def wire(tab: Tab, settings: ServerSettings) -> None:
    def call(request: gr.Request, **values: Any) -> tuple:
        return stylize_frame(**values, visitor=visitor_of(request, settings.proxy_hops))

    call.__name__, call.__doc__ = stylize_frame.__name__, stylize_frame.__doc__
    tab.camera.stream(
        call,
        inputs_kwargs={"frame": tab.camera, "style": tab.style, "stream": tab.state},
        outputs=[tab.output, tab.status, tab.state],
        stream_every=STREAM_EVERY,
        time_limit=int(settings.webcam_seconds),
        concurrency_limit=2,
        api_visibility="private",
        show_progress="hidden",
    )
