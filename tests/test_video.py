"""`nst.video.stylize_video` end to end on small clips made here with PyAV: the MP4 it writes
(codec, frames, timestamps, sound, orientation, index first), that it holds O(1) frames, and
that every hostile file ends in a correct result or a one-line `InputError` with nothing left
behind."""

from __future__ import annotations

import os
import threading
import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from nst.errors import InputError
from nst.options import VideoOptions
from nst.video import PIPELINE_DEPTH, FrameStylizer, Progress, stylize_video

ASSETS = Path(__file__).resolve().parents[1] / "assets"
STYLE = ASSETS / "style_starry_night.jpg"
CLIP = Path(__file__).resolve().parents[2] / "shared" / "videos" / "big_buck_bunny.mp4"
SMALL = VideoOptions(size=64)


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture, uint8: something the flow can follow everywhere."""
    rng = np.random.default_rng(seed)
    layers = [
        cv2.GaussianBlur(rng.random((height, width, 3), np.float32), (0, 0), sigma)
        for sigma in (2, 6)
    ]
    image = sum(cv2.normalize(layer, None, 0, 1, cv2.NORM_MINMAX) for layer in layers) / 2
    return (image * 255).astype(np.uint8)


def frames_panning(count: int, size: tuple[int, int], step: tuple[int, int] = (2, 1)):
    """``count`` (height, width) crops of one texture, each ``step`` (x, y) pixels further."""
    height, width = size
    canvas = texture(height + count * step[1] + 1, width + count * step[0] + 1)
    return [
        canvas[i * step[1] : i * step[1] + height, i * step[0] : i * step[0] + width]
        for i in range(count)
    ]


def make_clip(
    path: Path,
    count: int = 6,
    size: tuple[int, int] = (64, 96),
    rate: int = 25,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    sound: str | None = None,
    rotation: int | None = None,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    frames: list[np.ndarray] | None = None,
) -> Path:
    """A clip of ``count`` frames of (height, width) ``size`` at ``path`` (its container by its
    suffix), optionally with its own timestamps, a sound stream and a display rotation."""
    frames = frames if frames is not None else frames_panning(count, size)
    audio = None
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=rate)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = pix_fmt
        if time_base is not None:
            video.time_base = video.codec_context.time_base = time_base
        if rotation is not None:
            video.set_display_rotation(rotation)
        if sound is not None:
            audio = out.add_stream(sound, rate=48000, options={"strict": "experimental"})
            audio.layout = "stereo"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], video.codec_context.time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio is not None:
            samples = int(48000 * len(frames) / rate)
            tone = (0.3 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(
                np.stack([tone, tone]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = 48000, 0
            out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
    return path


def probe(path: Path) -> dict:
    """What a player sees in an MP4: its streams, the video's frames' timestamps and the first
    frame, and the order of the top-level boxes."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        codec = video.codec_context
        audio = [s.codec_context.codec.canonical_name for s in container.streams.audio]
        decoded = list(container.decode(video))
        return {
            "codec": codec.codec.canonical_name,
            "pix_fmt": codec.pix_fmt,
            "size": (codec.width, codec.height),
            "times": [frame.time for frame in decoded],
            "first": decoded[0].to_ndarray(format="rgb24"),
            "audio": audio,
            "boxes": top_level_boxes(path),
        }


def input_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [frame.time for frame in container.decode(video=0)]


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, position = path.read_bytes(), [], 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        boxes.append(data[position + 4 : position + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        if size < 8:
            break
        position += size
    return boxes


def stylize(source: Path, out: Path, options: VideoOptions = SMALL, **keywords):
    return stylize_video(source, [STYLE], out, options, **keywords)


def test_output_is_h264_with_the_inputs_frames_timestamps_and_sound(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.mp4", count=8, sound="aac")
    seen: list[Progress] = []
    result = stylize(source, tmp_path / "out.mp4", on_progress=seen.append)
    out = probe(result.path)
    assert (out["codec"], out["pix_fmt"]) == ("h264", "yuv420p")
    assert out["size"] == result.size == (96, 64)
    assert out["times"] == pytest.approx(input_times(source), abs=1e-6)
    assert out["audio"] == ["aac"] and result.audio == "copied (aac)"
    assert out["boxes"].index("moov") < out["boxes"].index("mdat")  # faststart
    assert [p.frames for p in seen] == list(range(1, 9))
    assert seen[-1].expected == 8 and seen[-1].seconds > 0
    assert set(result.timings) == {"decode", "stylize", "flow", "blend", "encode"}
    assert sorted(os.listdir(tmp_path)) == ["in.mp4", "out.mp4"]


def test_variable_frame_rate_keeps_every_timestamp(tmp_path: Path) -> None:
    """Irregular gaps in a millisecond time base, and enough frames that the encoder writes
    the header (and MP4 changes the stream's time base) while frames still come."""
    gaps = np.random.default_rng(1).integers(10, 200, 39)
    pts = [0, *np.cumsum(gaps).tolist()]
    source = make_clip(tmp_path / "vfr.mkv", count=40, pts=pts, time_base=Fraction(1, 1000))
    result = stylize(source, tmp_path / "out.mp4")
    assert probe(result.path)["times"] == pytest.approx([p / 1000 for p in pts], abs=1e-6)


def test_sound_mp4_cannot_take_is_converted_to_aac(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "vorbis.mkv", sound="vorbis")
    result = stylize(source, tmp_path / "out.mp4")
    assert result.audio == "converted to aac"
    assert probe(result.path)["audio"] == ["aac"]


def test_no_sound_in_no_sound_out(tmp_path: Path) -> None:
    result = stylize(make_clip(tmp_path / "in.mp4"), tmp_path / "out.mp4")
    assert result.audio is None and probe(result.path)["audio"] == []


@pytest.mark.parametrize("rotation", [90, 180, -90])
def test_rotated_video_comes_out_upright(tmp_path: Path, rotation: int) -> None:
    # A dark frame, bright in its top-left quarter as coded; at strength 0 the result keeps the
    # photo's look, so its brightest quarter shows where that corner went.
    coded = np.full((64, 96, 3), 30, np.uint8)
    coded[:32, :48] = 230
    source = make_clip(tmp_path / "rotated.mp4", frames=[coded] * 3, rotation=rotation)
    options = VideoOptions(size=64, strength=0.0, temporal=0.0)
    out = probe(stylize(source, tmp_path / "out.mp4", options).path)
    upright = np.rot90(coded, rotation // 90)
    height, width = out["first"].shape[:2]
    assert min(height, width) == 64 and (height > width) == (upright.shape[0] > upright.shape[1])
    quarters = {
        (row, column): out["first"][
            row * height // 2 : (row + 1) * height // 2,
            column * width // 2 : (column + 1) * width // 2,
        ].mean()
        for row in (0, 1)
        for column in (0, 1)
    }
    expected = np.unravel_index(np.argmax(upright.mean(axis=2)), upright.shape[:2])
    assert max(quarters, key=quarters.get) == (
        expected[0] * 2 // upright.shape[0],
        expected[1] * 2 // upright.shape[1],
    )


def test_odd_dimensions_come_out_even(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "odd.webm", size=(65, 97), codec="libvpx-vp9")
    result = stylize(source, tmp_path / "out.mp4", VideoOptions(size=65))
    width, height = probe(result.path)["size"]
    assert width % 2 == height % 2 == 0 and result.size == (width, height)


def test_luminance_keeps_the_videos_colors(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.mp4", count=4)
    styled = probe(stylize(source, tmp_path / "styled.mp4").path)["first"]
    luminance = VideoOptions(size=64, colors="luminance")
    kept = probe(stylize(source, tmp_path / "kept.mp4", luminance).path)
    original = probe(source)["first"]

    def chroma(image: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float32)

    assert np.abs(chroma(kept["first"]) - chroma(original)).mean() < 3
    assert np.abs(chroma(styled) - chroma(original)).mean() > 10


def test_histogram_colors_two_styles_and_strength(tmp_path: Path) -> None:
    """The style recolored once from the clip's first second, a mix of two styles and half
    strength: the options that need the clip's own look, read ahead without losing a frame."""
    source = make_clip(tmp_path / "in.mp4", count=30, sound="aac")
    options = VideoOptions(size=64, colors="histogram", strength=0.5, style_mix=(2, 1))
    result = stylize_video(
        source, [STYLE, ASSETS / "style_the_scream.jpg"], tmp_path / "out.mp4", options
    )
    out = probe(result.path)
    assert out["times"] == pytest.approx(input_times(source), abs=1e-6) and out["audio"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", 10), ("temporal", 1.5), ("strength", -1), ("colors", "sepia"), ("style_scale", 9)],
)
def test_options_out_of_range(field: str, value: object) -> None:
    with pytest.raises(InputError) as error:
        VideoOptions(**{field: value})
    assert "\n" not in str(error.value)


def test_temporal_zero_is_frame_by_frame_exactly() -> None:
    frames = frames_panning(4, (64, 96))
    streamed = FrameStylizer([STYLE], VideoOptions(temporal=0.0))
    each = [FrameStylizer([STYLE], VideoOptions(temporal=0.0))(frame) for frame in frames]
    for frame, alone in zip(frames, each, strict=True):
        np.testing.assert_array_equal(streamed(frame), alone)


def test_the_pipeline_holds_a_constant_number_of_frames(tmp_path: Path) -> None:
    """The Python-allocated memory (numpy's included) while frames stream: its highest during
    a 40-frame clip exceeds its highest during an 8-frame one by less than the two queues'
    frames (how full they happen to be varies with the machine's load), where keeping the
    frames would add 32."""
    short = make_clip(tmp_path / "short.mp4", count=8, size=(128, 160))
    long = make_clip(tmp_path / "long.mp4", count=40, size=(128, 160))
    options = VideoOptions(size=128)
    stylize(short, tmp_path / "warm.mp4", options)  # the engine and style loaded once
    highest = []
    tracemalloc.start()
    try:
        for source in (short, long):
            during: list[int] = []

            def measure(_: Progress, during: list[int] = during) -> None:
                during.append(tracemalloc.get_traced_memory()[0])

            stylize(source, tmp_path / "out.mp4", options, on_progress=measure)
            highest.append(max(during))
    finally:
        tracemalloc.stop()
    frame_bytes = 128 * 160 * 3 * 4  # one float32 frame
    assert highest[1] - highest[0] < 2 * PIPELINE_DEPTH * frame_bytes, highest


def test_real_clip_end_to_end(tmp_path: Path) -> None:
    if not CLIP.exists():
        pytest.skip(f"needs the shared clip at {CLIP} (not part of a fresh clone)")
    result = stylize(CLIP, tmp_path / "bunny.mp4")
    out = probe(result.path)
    assert result.frames == 132 and out["size"] == (114, 64)
    assert out["times"] == pytest.approx(input_times(CLIP), abs=1e-6)
    assert out["audio"] == ["aac"] and result.audio == "copied (aac)"
    assert result.cuts == 0


# --- Hostile files ------------------------------------------------------------------------------


def refused(source: Path, out: Path, match: str, **keywords) -> None:
    """``source`` ends in a one-line InputError matching ``match``, and no output is left."""
    before = set(os.listdir(out.parent))
    with pytest.raises(InputError, match=match) as error:
        stylize(source, out, **keywords)
    assert "\n" not in str(error.value)
    assert set(os.listdir(out.parent)) == before - {out.name}


def test_not_a_video(tmp_path: Path) -> None:
    source = tmp_path / "notes.mp4"
    source.write_text("just some text, no video here\n")
    refused(source, tmp_path / "out.mp4", "not a video we can read")


def test_an_image_named_mp4(tmp_path: Path) -> None:
    source = tmp_path / "photo.mp4"
    source.write_bytes((ASSETS / "content_chelsea.jpg").read_bytes())
    refused(source, tmp_path / "out.mp4", "an image, not a video")


def test_truncated_before_its_index(tmp_path: Path) -> None:
    data = make_clip(tmp_path / "full.mp4", count=12).read_bytes()
    source = tmp_path / "cut.mp4"
    source.write_bytes(data[: len(data) * 6 // 10])  # PyAV writes the index last: gone
    refused(source, tmp_path / "out.mp4", "cut.mp4")


@pytest.mark.parametrize("kept", [0.3, 0.6, 0.9])
def test_truncated_in_its_pictures(tmp_path: Path, kept: float) -> None:
    """With the index first, a cut loses pictures only: the job renders those before the cut,
    at their timestamps (as a player shows them), or, when the decoder fails on the cut
    picture, ends in the one-line error; nothing else is left either way."""
    source = make_clip(tmp_path / "full.mp4", count=12)
    data = stylize(source, tmp_path / "first.mp4").path.read_bytes()  # the index first
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * kept)])
    out = tmp_path / "out.mp4"
    try:
        result = stylize(cut, out)
    except InputError as error:
        assert "damaged or truncated" in str(error) and "\n" not in str(error)
        assert not out.exists()
    else:
        times = probe(result.path)["times"]
        assert 0 < result.frames == len(times) < 12
        assert times == pytest.approx(input_times(source)[: len(times)], abs=1e-6)
    assert sorted(os.listdir(tmp_path)) in (
        ["cut.mp4", "first.mp4", "full.mp4"],
        ["cut.mp4", "first.mp4", "full.mp4", "out.mp4"],
    )


def test_zero_frames(tmp_path: Path) -> None:
    source = tmp_path / "empty.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        out.start_encoding()
    refused(source, tmp_path / "out.mp4", "empty.mp4")


def test_sound_only(tmp_path: Path) -> None:
    source = tmp_path / "song.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    refused(source, tmp_path / "out.mp4", "has no video")


def test_a_declared_frame_of_100000_pixels_square(tmp_path: Path) -> None:
    """Matroska's header declares 100000×100000 (patched in place of 96×64); FFmpeg's probe
    reads the real size from the H.264 stream, so the result is the clip's, correct."""
    data = make_clip(tmp_path / "small.mkv").read_bytes()
    # The Video element: PixelWidth 96, PixelHeight 64, DisplayUnit; rewritten at its length.
    declared = bytes.fromhex("e08ab08160ba814054b28104")
    huge = bytes.fromhex("e08ab0830186a0ba830186a0")
    assert data.count(declared) == 1, "the muxer's Video element changed: update the patch"
    source = tmp_path / "huge.mkv"
    source.write_bytes(data.replace(declared, huge))
    result = stylize(source, tmp_path / "out.mp4")
    assert result.frames == 6 and result.size == (96, 64)


def test_a_frame_larger_than_the_header_said(tmp_path: Path) -> None:
    """30 frames of 32×32, enough for FFmpeg's probe to settle on that size, then one of
    4096×2304 (9.4 megapixels, new headers in the stream): refused when it is decoded."""
    source = tmp_path / "grows.mkv"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for image in frames_panning(30, (32, 32)):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
        large = av.CodecContext.create("libx264", "w")
        large.width, large.height, large.pix_fmt = 4096, 2304, "yuv420p"
        large.time_base = Fraction(1, 25)
        large.options = {"preset": "ultrafast", "x264-params": "repeat-headers=1"}
        frame = av.VideoFrame.from_ndarray(np.zeros((2304, 4096, 3), np.uint8), format="rgb24")
        frame.pts = 0
        for packet in [*large.encode(frame), *large.encode(None)]:
            packet.stream, packet.time_base = stream, Fraction(1, 1000)
            packet.pts = packet.dts = 30 * 40
            out.mux(packet)
    refused(source, tmp_path / "out.mp4", "a frame of 4096×2304 pixels")


def test_a_declared_duration_of_days(tmp_path: Path) -> None:
    """Two days in the movie and media headers: FFmpeg takes the length from the sample table,
    so the result is the clip's, correct."""
    data = bytearray(make_clip(tmp_path / "clip.mp4").read_bytes())
    for box in (b"mvhd", b"mdhd"):
        start = data.find(box) + 4  # version 0: flags, two dates, timescale, duration
        timescale = int.from_bytes(data[start + 12 : start + 16], "big")
        data[start + 16 : start + 20] = min(timescale * 2 * 86400, 2**32 - 1).to_bytes(4, "big")
    source = tmp_path / "days.mp4"
    source.write_bytes(bytes(data))
    assert stylize(source, tmp_path / "out.mp4").frames == 6


def test_timestamps_past_the_limit_end_the_job(tmp_path: Path) -> None:
    """The header declares 0.2 s, the frames' own timestamps reach 20 s: stopped there."""
    base = Fraction(1, 1000)
    pts = [0, 40, 80, 20_000, 20_040]
    source = make_clip(tmp_path / "jump.mp4", count=5, pts=pts, time_base=base)
    refused(source, tmp_path / "out.mp4", "lasts over 10 s", max_seconds=10)


def test_a_thousand_frames_a_second(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "fast.mp4", count=10, rate=1000)
    refused(source, tmp_path / "out.mp4", "1000 frames a second")


def test_a_burst_of_frames_past_the_rate_limit(tmp_path: Path) -> None:
    """500 frames a millisecond apart, then a long gap that averages the rate the header
    declares down to 5 a second: the decoded rate is checked too."""
    base = Fraction(1, 1000)
    pts = [*range(500), 100_000]
    source = make_clip(
        tmp_path / "burst.mp4", count=501, size=(32, 32), pts=pts, time_base=base, rate=5
    )
    refused(source, tmp_path / "out.mp4", "frames a second")


def fifo_untouched(tmp_path: Path, listing: str, name: str) -> None:
    """A list naming a FIFO, saved as .mp4, is refused, and nothing opens the FIFO to read:
    a writer waiting on it stays blocked throughout."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    source = tmp_path / name
    source.write_text(listing.format(fifo=fifo))
    opened = threading.Event()

    def writer() -> None:
        with open(fifo, "wb"):  # blocks until a reader opens the FIFO
            opened.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        refused(source, tmp_path / "out.mp4", "not a video we can read")
        assert not opened.wait(0.2)
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # releases the writer
        thread.join(5)


def test_hls_playlist_naming_a_local_file(tmp_path: Path) -> None:
    fifo_untouched(
        tmp_path,
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{fifo}\n#EXT-X-ENDLIST\n",
        "playlist.mp4",
    )


def test_ffconcat_list_naming_a_local_file(tmp_path: Path) -> None:
    fifo_untouched(tmp_path, "ffconcat version 1.0\nfile '{fifo}'\n", "list.mp4")
