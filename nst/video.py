"""Video on the fast path: every frame of a clip stylized by Magenta's lite network, blended over
time so that it does not flicker (`nst.temporal`), and encoded to H.264 in an MP4 with the
input's timestamps and sound.

`stylize_video` is the whole job, from a person's file (opened only through `nst.door`) to an
MP4; `FrameStylizer` is its per-frame core, usable on any stream of frames (a webcam). Frames
stream through decode → stylize → blend → encode one at a time, so memory does not grow with
the clip's length. Every problem with the input is an `InputError` with one line, and a job
that fails leaves no file behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nst import fast, temporal
from nst.color import match_colors, preserve_color
from nst.door import VideoInput, open_video
from nst.errors import InputError
from nst.images import ImageSource, load_image, to_uint8
from nst.options import (
    MAX_VIDEO_FPS,
    MAX_VIDEO_PIXELS,
    MAX_VIDEO_SECONDS,
    MIN_SIDE,
    VideoOptions,
    normalize_mix,
)

if TYPE_CHECKING:
    import av.container
    import av.packet
    import av.stream

# H.264 for every player. On 360p frames stylized frame by frame (AMD EPYC, 2 cores), x264's
# "medium" took 13.7 ms a frame for 29.5 dB at CRF 20, "veryfast" 4.9 ms for 28.6 dB (and
# 13% fewer bits); CRF 23 lost another 1.3 dB of the strokes for 40% fewer bits.
ENCODER = "libx264"
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "20"}
PIXEL_FORMAT = "yuv420p"
MP4_OPTIONS = {"movflags": "+faststart"}  # the index before the data: plays while downloading
# Sound in these codecs is copied into the MP4 as it is; any other (of `nst.door`'s, i.e.
# Vorbis) is converted to AAC.
MP4_AUDIO_CODECS = ("aac", "mp3", "opus", "ac3", "eac3", "flac")
AUDIO_FALLBACK = "aac"
# The colors of "histogram" and the clip's own style (strength below 1) come from the frames
# of the clip's first second, at most this many: once per clip, so they cannot flicker.
REFERENCE_SECONDS = 1.0
REFERENCE_FRAMES = 25
# Sound packets held while the first picture is decoded (the output's size is known only
# then): a well-interleaved file has a few; more means its sound and pictures are far apart.
MAX_EARLY_AUDIO_PACKETS = 2000
# Items (frames or sound packets) each pipeline stage may be ahead of the next.
PIPELINE_DEPTH = 4


@dataclass(frozen=True)
class Progress:
    frames: int  # done so far
    expected: int | None  # as the container declares, when it does
    seconds: float  # since the job started


@dataclass(frozen=True)
class VideoResult:
    path: Path
    frames: int
    size: tuple[int, int]  # (width, height)
    seconds: float  # the whole job
    audio: str | None  # "copied (aac)", "converted to aac", or None: no sound
    cuts: int  # scene cuts found (the temporal history dropped)
    # Seconds spent in each stage: decode (with resizing), stylize (the network), flow, blend
    # (the rest of the temporal blend and the colors), encode (with writing the file).
    timings: dict[str, float] = field(default_factory=dict)


class FrameStylizer:
    """The frames of one stream stylized one at a time, each blended with its predecessors.

    Build one per stream: it computes the style vector once (from the first frame given, or
    from ``reference`` frames, when the colors or strength need the video's own look) and keeps
    the temporal state. Call it with uint8 RGB frames (H, W, 3), already at the output size;
    `reset` drops the history (as a scene cut does by itself).
    """

    def __init__(
        self,
        styles: Sequence[ImageSource],
        options: VideoOptions = VideoOptions(),
        reference: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.options = options
        self._styles = tuple(load_image(style) for style in styles)
        self._weights = normalize_mix(options.style_mix, len(self._styles))
        self._engine = fast.get_engine("lite")
        self._vector = None if reference is None else self._style_vector(reference)
        frame_by_frame = options.temporal == 0
        self._tracker = None if frame_by_frame else temporal.Tracker()
        self._blender = None if frame_by_frame else temporal.Blender(options.temporal)
        self.timings = {"stylize": 0.0, "flow": 0.0, "blend": 0.0}
        self.cuts = 0

    def _style_vector(self, reference: Sequence[np.ndarray]) -> np.ndarray:
        """The clip's style vector: the styles' mix (recolored to the reference frames' colors
        for "histogram"), moved toward the first reference frame's own by 1 - strength."""
        frames = [frame.astype(np.float32) / 255.0 for frame in reference]
        styles = self._styles
        if self.options.colors == "histogram":
            pixels = np.concatenate([frame.reshape(-1, 3) for frame in frames])[None]
            styles = tuple(match_colors(style, pixels) for style in styles)
        prepared = [fast.prepare_style(style, self.options.style_scale) for style in styles]
        return fast.mix_vectors(
            self._engine, frames[0], prepared, self._weights, self.options.strength
        )

    def reset(self) -> None:
        if self._tracker is not None and self._blender is not None:
            self._tracker.reset()
            self._blender.reset()

    def track(self, frame: np.ndarray) -> temporal.Motion | None:
        """The motion from the previous frame to ``frame`` (None frame by frame): what `__call__`
        computes first, for a caller that computes it ahead, in another thread."""
        return None if self._tracker is None else self._tracker(frame)

    def __call__(self, frame: np.ndarray, motion: temporal.Motion | None = None) -> np.ndarray:
        """The stylized uint8 RGB frame of the same size as ``frame`` (its ``motion`` from
        `track`, computed here when not given)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise InputError(
                f"A frame must be a uint8 H×W×3 array, not {frame.dtype} {frame.shape}."
            )
        if motion is None:
            motion = self.track(frame)
        if self._vector is None:
            self._vector = self._style_vector([frame])
        started = time.perf_counter()
        content = frame.astype(np.float32) / 255.0
        vector = self._vector
        image = fast.render_any_size(lambda batch: self._engine.render(batch, vector), content)
        rendered = time.perf_counter()
        self.timings["stylize"] += rendered - started
        if self._blender is not None and motion is not None:
            image = self._blender(image, motion)
            self.cuts += motion.cut
            self.timings["flow"] += motion.flow_seconds
            self.timings["blend"] += motion.test_seconds
        if self.options.colors == "luminance":
            image = preserve_color(image, content)
        result = to_uint8(image)
        self.timings["blend"] += time.perf_counter() - rendered
        return result


def stylize_video(
    source: str | os.PathLike,
    styles: Sequence[ImageSource],
    out_path: str | os.PathLike,
    options: VideoOptions = VideoOptions(),
    on_progress: Callable[[Progress], None] | None = None,
    max_seconds: float = MAX_VIDEO_SECONDS,
) -> VideoResult:
    """Stylize the video at ``source`` with ``styles`` into an MP4 at ``out_path``.

    The output is H.264 (yuv420p, even sides, short side ``options.size``), upright, with the
    input's frames at the input's timestamps and its sound (copied when MP4 takes its codec,
    else converted to AAC), its index at the front. ``max_seconds`` is the host's limit on the
    video's length, by its header and by its frames' own timestamps. ``on_progress`` is called
    after every frame.
    """
    started = time.perf_counter()
    style_images = [load_image(style) for style in styles]  # bad styles fail before the video
    normalize_mix(options.style_mix, len(style_images))
    count = 0
    with open_video(source, max_seconds) as video, _Output(Path(out_path), video) as output:
        frames = _Frames(video, options.size, max_seconds)
        reference = None
        if options.colors == "histogram" or options.strength < 1.0:
            reference = frames.first_second()
        stylizer = FrameStylizer(style_images, options, reference)
        expected = video.video.frames or None

        def tracked() -> Iterator[tuple[_Picture, temporal.Motion | None] | av.packet.Packet]:
            for item in frames:
                yield (item, stylizer.track(item.pixels)) if isinstance(item, _Picture) else item

        # Three threads: decoding and the flow, the network, encoding. Each hands on at most
        # `PIPELINE_DEPTH` items, so memory does not grow with the clip.
        with _Ahead(tracked()) as items, _Behind(output.write) as encoder:
            for item in items:
                if not isinstance(item, tuple):
                    encoder.put(item)  # sound, copied or converted in order
                    continue
                picture, motion = item
                encoder.put(_Picture(stylizer(picture.pixels, motion), picture.pts))
                count += 1
                if on_progress is not None:
                    on_progress(Progress(count, expected, time.perf_counter() - started))
        if count == 0:
            raise InputError(f"{video.name} has no frames that could be decoded.")
        output.finish()
        return VideoResult(
            Path(out_path),
            count,
            frames.output_size,
            time.perf_counter() - started,
            output.audio_kind,
            stylizer.cuts,
            {"decode": frames.seconds, **stylizer.timings, "encode": output.seconds},
        )


_END = object()  # the end of a pipeline's items


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Ahead:
    """An iterator run in a thread of its own, at most `PIPELINE_DEPTH` items ahead of its
    consumer; its error is raised in the consumer. Leaving the context stops it."""

    def __init__(self, items: Iterator) -> None:
        self._queue: queue.Queue = queue.Queue(PIPELINE_DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name="video-decode")

    def __enter__(self) -> _Ahead:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator:
        while (item := self._queue.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not _put(self._queue, item, self._stop):
                    return
        except BaseException as error:
            _put(self._queue, _Failed(error), self._stop)
            return
        _put(self._queue, _END, self._stop)


class _Behind:
    """A consumer run in a thread of its own, at most `PIPELINE_DEPTH` items behind; its error
    is raised in the producer (at its next `put`, or on leaving the context)."""

    def __init__(self, consume: Callable[[object], None]) -> None:
        self._queue: queue.Queue = queue.Queue(PIPELINE_DEPTH)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(consume,), name="video-encode")

    def __enter__(self) -> _Behind:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            _put(self._queue, _END, self._stop)
        else:
            self._stop.set()
        self._thread.join()
        if kind is None and self._error is not None:
            raise self._error

    def put(self, item: object) -> None:
        if not _put(self._queue, item, self._stop):
            assert self._error is not None
            raise self._error

    def _run(self, consume: Callable[[object], None]) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                consume(item)
        except BaseException as error:
            self._error = error
            self._stop.set()


_POLL = 0.05  # seconds between looks at a stop flag while a queue is full or empty


def _put(items: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            items.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


@dataclass(frozen=True)
class _Picture:
    pixels: np.ndarray  # uint8 RGB at the output size, upright
    pts: int  # the input's, in the video stream's time base


class _Frames:
    """The input's decoded pictures, checked, upright and at the output size, in order, with
    its sound packets where they come. Any FFmpeg error is the file's fault: an `InputError`."""

    def __init__(self, video: VideoInput, short_side: int, max_seconds: float) -> None:
        self.video, self.short_side, self.max_seconds = video, short_side, max_seconds
        self.seconds = 0.0  # decoding and resizing
        self.output_size: tuple[int, int] = (0, 0)  # (width, height), once a frame is decoded
        self.rotation = 0  # counter-clockwise quarter turns to make frames upright
        self._count = 0
        self._first_pts: int | None = None
        self._last_pts: int | None = None
        self._held: list[_Picture | av.packet.Packet] = []  # read ahead by `first_second`
        self._items = self._read()

    def __iter__(self) -> Iterator[_Picture | av.packet.Packet]:
        yield from self._held
        self._held = []
        yield from self._items

    def first_second(self) -> list[np.ndarray]:
        """The pictures of the clip's first second (at most `REFERENCE_FRAMES`), read ahead and
        held until iterated (the sound packets among them too)."""
        pictures: list[np.ndarray] = []
        for item in self._items:
            self._held.append(item)
            if isinstance(item, _Picture):
                pictures.append(item.pixels)
                seconds = (item.pts - (self._first_pts or 0)) * self.video.video.time_base
                if len(pictures) >= REFERENCE_FRAMES or seconds >= REFERENCE_SECONDS:
                    break
        if not pictures:
            raise InputError(f"{self.video.name} has no frames that could be decoded.")
        return pictures

    def _read(self) -> Iterator[_Picture | av.packet.Packet]:
        video = self.video
        audio = video.audio
        streams = [video.video] if audio is None else [video.video, audio]
        video.video.codec_context.thread_type = "AUTO"  # frame threads: decoding at 2x
        with _damaged(video.name):
            for packet in video.container.demux(streams):
                # By its stream, not its stream_index: PyAV's closing empty packets all have
                # index 0, and the sound's, decoded here, would flush the sound's decoder.
                if packet.stream is audio:
                    if packet.dts is not None:
                        yield packet
                    continue
                started = time.perf_counter()
                for frame in packet.decode():
                    picture = self._picture(frame)
                    self.seconds += time.perf_counter() - started
                    yield picture
                    started = time.perf_counter()
                self.seconds += time.perf_counter() - started

    def _picture(self, frame) -> _Picture:
        """One decoded frame checked (size, time, rate) and converted."""
        name = self.video.name
        width, height = frame.width, frame.height
        if min(width, height) < MIN_SIDE or width * height > MAX_VIDEO_PIXELS:
            raise InputError(
                f"{name} has a frame of {width}×{height} pixels; frames must be {MIN_SIDE} to "
                f"{MAX_VIDEO_PIXELS / 1e6:.1f} megapixels (4K)."
            )
        pts = self._pts(frame.pts)
        seconds = float((pts - self._first_pts) * self.video.video.time_base)
        if seconds > self.max_seconds:
            raise InputError(f"{name} lasts over {self.max_seconds:.0f} s, the limit.")
        self._count += 1
        if self._count > MAX_VIDEO_FPS * (seconds + 1):
            raise InputError(f"{name} has over {MAX_VIDEO_FPS} frames a second, the limit.")
        if self._count == 1:
            self._size_for(frame)
        out_width, out_height = self.output_size
        if self.rotation % 2:
            out_width, out_height = out_height, out_width
        rgb = frame.reformat(out_width, out_height, "rgb24", interpolation="AREA").to_ndarray()
        return _Picture(np.ascontiguousarray(np.rot90(rgb, self.rotation)), pts)

    def _pts(self, pts: int | None) -> int:
        """The frame's timestamp, made strictly increasing (a missing or repeated one follows
        its predecessor by one frame's duration)."""
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            step = 1
            rate, base = self.video.frame_rate, self.video.video.time_base
            if rate and base:
                step = max(1, round(1 / (rate * base)))
            pts = 0 if self._last_pts is None else self._last_pts + step
        if self._first_pts is None:
            self._first_pts = pts
        self._last_pts = pts
        return pts

    def _size_for(self, frame) -> None:
        """The output's (width, height), upright: the short side `short_side`, both even, the
        frame's display aspect ratio kept; and the quarter turns that make it upright."""
        self.rotation = round(frame.rotation / 90) % 4
        aspect = self.video.video.codec_context.sample_aspect_ratio
        width = frame.width * (float(aspect) if aspect else 1.0)
        height = float(frame.height)
        if self.rotation % 2:
            width, height = height, width
        scale = self.short_side / min(width, height)
        self.output_size = (_even(width * scale), _even(height * scale))


def _even(length: float) -> int:
    return max(2, 2 * round(length / 2))


@contextlib.contextmanager
def _damaged(name: str) -> Iterator[None]:
    """FFmpeg's errors on a file's bytes, as the one line a person can act on."""
    import av

    try:
        yield
    except (av.FFmpegError, UnicodeDecodeError):
        raise InputError(f"{name} is damaged or truncated and cannot be decoded.") from None


class _Output:
    """The MP4 being written: to a hidden temporary file beside ``path``, renamed to it by
    `finish`; removed if the job ends any other way."""

    def __init__(self, path: Path, video: VideoInput) -> None:
        self.path, self.video = path, video
        self.seconds = 0.0
        self.audio_kind: str | None = None
        self._container: av.container.OutputContainer | None = None
        self._video: av.stream.Stream | None = None
        self._audio: av.stream.Stream | None = None
        self._early_audio: list[av.packet.Packet] = []
        self._resampler = None
        self._temporary: Path | None = None

    def __enter__(self) -> _Output:
        # Not `tempfile.mkstemp`: its file is private (0600), and it becomes the result.
        name = self.path.with_name(f".{self.path.stem}.{secrets.token_hex(4)}.partial.mp4")
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        self._temporary = name
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            return
        if self._container is not None:
            with contextlib.suppress(Exception):  # the file goes anyway
                self._container.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)

    def write(self, item: _Picture | av.packet.Packet) -> None:
        """A stylized picture, or a sound packet of the input, in the input's order."""
        if not isinstance(item, _Picture):
            self._write_audio(item)
            return
        started = time.perf_counter()
        if self._container is None:
            self._open(item.pixels.shape[1], item.pixels.shape[0])
        self._write_video(item.pixels, item.pts)
        self.seconds += time.perf_counter() - started

    def _open(self, width: int, height: int) -> None:
        """Create the streams once the first picture has set the output's size, then write the
        sound that came before it."""
        import av

        video = self.video
        container = av.open(str(self._temporary), "w", format="mp4", options=MP4_OPTIONS)
        self._container = container
        rate = video.frame_rate or Fraction(25)
        stream = container.add_stream(ENCODER, rate=rate, options=ENCODER_OPTIONS)
        stream.width, stream.height = width, height
        stream.pix_fmt = PIXEL_FORMAT
        stream.time_base = stream.codec_context.time_base = video.video.time_base
        self._video = stream
        if video.audio is not None:
            self._audio = self._audio_stream(container, video.audio)
        for packet in self._early_audio:
            self._mux_audio(packet)
        self._early_audio = []

    def _audio_stream(self, container, source: av.stream.Stream) -> av.stream.Stream:
        codec = source.codec_context.codec.canonical_name
        if codec in MP4_AUDIO_CODECS:
            self.audio_kind = f"copied ({codec})"
            return container.add_stream_from_template(source)
        import av

        self.audio_kind = f"converted to {AUDIO_FALLBACK}"
        context = source.codec_context
        stream = container.add_stream(AUDIO_FALLBACK, rate=context.sample_rate)
        stream.layout = context.layout if context.layout.nb_channels <= 8 else "stereo"
        self._resampler = av.AudioResampler("fltp", stream.layout, context.sample_rate)
        return stream

    def _write_audio(self, packet: av.packet.Packet) -> None:
        if self._container is None:
            if len(self._early_audio) >= MAX_EARLY_AUDIO_PACKETS:
                raise InputError(f"{self.video.name} has its sound far ahead of its pictures.")
            self._early_audio.append(packet)
            return
        started = time.perf_counter()
        self._mux_audio(packet)
        self.seconds += time.perf_counter() - started

    def _mux_audio(self, packet: av.packet.Packet) -> None:
        assert self._container is not None and self._audio is not None
        with _damaged(self.video.name):
            if self._resampler is None:
                packet.stream = self._audio
                self._container.mux(packet)
                return
            for frame in packet.decode():
                for converted in self._resampler.resample(frame):
                    self._container.mux(self._audio.encode(converted))

    def _write_video(self, pixels: np.ndarray, pts: int) -> None:
        import av

        assert self._container is not None and self._video is not None
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        # The encoder's time base, the input's: the stream's is the muxer's once it has written
        # the header (MP4 raises one below 1/10000 to its own, e.g. 1/1000 to 1/16000).
        frame.pts, frame.time_base = pts, self._video.codec_context.time_base
        self._container.mux(self._video.encode(frame))

    def finish(self) -> None:
        """Flush the encoders, write the index (moved to the front) and put the file in place."""
        assert self._container is not None and self._video is not None
        started = time.perf_counter()
        self._container.mux(self._video.encode(None))
        if self._resampler is not None:
            assert self.video.audio is not None
            with _damaged(self.video.name):
                decoded = self.video.audio.codec_context.decode(None)
            for frame in [*decoded, None]:
                for converted in self._resampler.resample(frame):
                    self._container.mux(self._audio.encode(converted))
            self._container.mux(self._audio.encode(None))
        self._container.close()
        os.replace(self._temporary, self.path)
        self._temporary = None
        self.seconds += time.perf_counter() - started
