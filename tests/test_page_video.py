"""The Video and Webcam tabs' handlers called as the served page calls them, with no server."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from test_video import frames_panning, make_clip

from nst.door import open_video
from web.settings import ServerSettings
from web.video import VideoInputs, run_video
from web.visitors import Visitor
from web.webcam import STREAMS, stylize_frame

ASSETS = Path(__file__).resolve().parents[1] / "assets"
STYLE = str(ASSETS / "style_the_scream.jpg")


def test_a_clip_is_stylized_with_its_progress_then_plays(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", count=8, size=(64, 96), sound="aac")
    answers = list(run_video(VideoInputs(clip=str(clip), style=STYLE, size=64)))
    *progress, (video, words) = answers
    assert any("Stylizing: frame" in str(status) for _, status in progress)
    assert words.startswith("Fast · lite engine · 8 frames, 96×64 px, sound")
    with open_video(video) as result:  # through the door, as any clip
        assert result.video.codec_context.name == "h264" and result.audio is not None
        assert sum(1 for _ in result.container.decode(result.video)) == 8


def test_without_a_clip_or_with_a_photo_it_says_so_in_one_line(tmp_path: Path) -> None:
    assert list(run_video(VideoInputs(style=STYLE))) == [
        (None, "Upload a clip first (MP4, MOV, MKV or WebM with H.264, H.265, VP8, VP9 or AV1).")
    ]
    photo = tmp_path / "holiday.mp4"
    photo.write_bytes((ASSETS / "content_coffee.jpg").read_bytes())
    ((video, line),) = list(run_video(VideoInputs(clip=str(photo), style=STYLE)))
    assert video is None and line.startswith("⚠️ 'holiday.mp4' is an image, not a video")


def test_the_host_limits_the_clips_length_and_size(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", count=30, rate=10)  # 3 s
    short = ServerSettings(video_max_seconds=2)
    ((video, line),) = list(run_video(VideoInputs(clip=str(clip), style=STYLE), short))
    assert video is None and "the limit is 2 s" in line
    big = VideoInputs(clip=str(clip), style=STYLE, size=720)
    ((video, line),) = list(run_video(big, ServerSettings(video_max_size=480)))
    assert video is None and "at most 480 px" in line


def test_one_visitor_makes_one_video_at_a_time(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", count=4)
    visitor = Visitor("session", "10.9.9.9")
    first = run_video(VideoInputs(clip=str(clip), style=STYLE, size=64), visitor=visitor)
    next(first)  # the first holds its place while it runs
    ((video, line),) = list(
        run_video(VideoInputs(clip=str(clip), style=STYLE, size=64), visitor=visitor)
    )
    assert video is None and line == "⚠️ Your video is still being made: wait for it."
    assert list(first)[-1][0] is not None


def _jpeg(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "JPEG")
    return buffer.getvalue()


def test_camera_frames_are_stylized_at_a_size_the_cpu_keeps_up_with() -> None:
    stream = None
    for frame in frames_panning(3, (480, 640)):
        image, status, stream = stylize_frame(_jpeg(frame), STYLE, stream)
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    assert "320×240 px" in status and "frames a second" in status and stream.frames == 3


def test_a_camera_frame_that_is_no_jpeg_is_one_line_and_one_stream_a_visitor() -> None:
    image, line, _ = stylize_frame(b"%!PS-Adobe-3.0\n(x) (w) file\n", STYLE, None)
    assert image is None and line.startswith("⚠️ The upload is a PostScript program")
    frame = _jpeg(frames_panning(1, (240, 320))[0])
    mine, other = Visitor("tab-1", "10.8.8.8"), Visitor("tab-2", "10.8.8.8")
    assert stylize_frame(frame, STYLE, None, mine)[0] is not None
    image, line, _ = stylize_frame(frame, STYLE, None, other)
    assert image is None and "another tab" in line
    assert STREAMS.admit(mine)
