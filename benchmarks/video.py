"""Benchmark of video on the fast path (`nst.video`): flicker, closeness to frame-by-frame
rendering, losses, speed and memory, printed and written as its section of
docs/measurements.md.

    .venv/bin/python benchmarks/video.py --parts quality [--plot FILE.png]  # about 8 min
    .venv/bin/python benchmarks/video.py --parts flow speed [--repeats 3]   # about 8 min
    .venv/bin/python benchmarks/video.py --parts memory                     # about 5 min

(minutes on 2 cores of an AMD EPYC; `--parts` takes any of them, `quality` by default). Each
run's figures go with the load average; the notes stamp the machine, the commit and the date.

On the shared clip (../shared/videos/big_buck_bunny.mp4, 1280×720, 132 frames) at 360 px short
side with Starry Night, and on two clips with faster motion made here (the clip's frames taken
every third, and a crop panning 13 px a frame across Tübingen, through H.264):

- quality: the warping error of Lai et al. 2018 (mean over frames of the squared RGB difference
  between output t and output t-1 warped by the INPUT's flow, over the pixels Ruder et al.'s
  occlusion test keeps), the flow being Farneback's, not the pipeline's DIS; the input's own
  beside it. With it, the perceptual distance of each output to the frame-by-frame output
  (VGG19 block1_conv1..block5_conv1: squared difference over the frame-by-frame features' mean
  square, mean over layers and every 10th frame), for several `temporal` weights and for plain
  averaging (an exponential moving average of the frame-by-frame output), and the largest
  weight within the issue's targets on every clip. Then the style and content losses
  (`nst.losses.score`, as `nst.pipeline.Job.score`) of every 10th frame, frame by frame and at
  the default.
- flow: DIS's presets and the flow's resolution at the default weight (what chose them).
- speed: `stylize_video` at 256, 360 and 480 px (median of --repeats runs): frames a second,
  each stage's time a frame, and the whole job's time over the network's (in the same run, and
  alone just before it).
- memory: peak RSS of a child process stylizing the 5-second clip and a 60-second one (the clip
  looped), at 360 px.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.notes import record  # noqa: E402
from nst import fast, temporal  # noqa: E402
from nst.door import open_video  # noqa: E402
from nst.images import load_image, resize_style, to_uint8  # noqa: E402
from nst.options import DEFAULT_TEMPORAL, VideoOptions  # noqa: E402
from nst.video import stylize_video  # noqa: E402

CLIP = REPO.parent / "shared" / "videos" / "big_buck_bunny.mp4"
PHOTO = REPO.parent / "shared" / "images" / "tubingen.jpg"
STYLE = REPO / "assets" / "style_starry_night.jpg"
SIZE = 360
TEMPORALS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
AVERAGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
EVERY = 10  # frames between those the perceptual distance and the losses look at
PARTS = ("quality", "flow", "speed", "memory")
VGG_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
# The targets.
MAX_WARP_RATIO, MAX_DISTANCE, MAX_LOSS_RATIO, MAX_TIME_RATIO, MAX_MEMORY_GROWTH = (
    0.5,
    0.06,
    1.15,
    1.5,
    0.10,
)
PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


# --- Clips --------------------------------------------------------------------------------------


def decode(path: Path, short_side: int = SIZE, every: int = 1) -> list[np.ndarray]:
    """The clip's frames as the pipeline sees them: uint8 RGB, short side ``short_side``."""
    with open_video(path) as video:
        frames = [
            frame.reformat(*_size(frame, short_side), "rgb24", interpolation="AREA").to_ndarray()
            for i, frame in enumerate(video.container.decode(video.video))
            if i % every == 0
        ]
    return frames


def _size(frame: av.VideoFrame, short_side: int) -> tuple[int, int]:
    scale = short_side / min(frame.width, frame.height)
    return 2 * round(frame.width * scale / 2), 2 * round(frame.height * scale / 2)


def make_pan(path: Path, count: int = 60) -> Path:
    """A 640×360 crop panning 13.37 px a frame (and swaying 60 px up and down) across the photo
    enlarged 1.5×, encoded as H.264 at CRF 18."""
    photo = np.asarray(load_image(PHOTO) * 255, np.uint8)
    photo = cv2.resize(photo, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(count):
            shift = np.float32([[1, 0, -13.37 * i], [0, 1, -(600 + 60 * np.sin(i / 9))]])
            image = cv2.warpAffine(photo, shift, (640, 360), flags=cv2.INTER_LINEAR)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def make_loop(path: Path, seconds: float) -> Path:
    """The clip repeated (pictures re-encoded with continuing timestamps, sound copied) for
    ``seconds``; each repeat starts where the longer of its streams ended."""
    with av.open(str(CLIP)) as source, av.open(str(path), "w") as out:
        video_in, audio_in = source.streams.video[0], source.streams.audio[0]
        video = out.add_stream("libx264", rate=video_in.average_rate, options={"crf": "18"})
        video.width, video.height, video.pix_fmt = video_in.width, video_in.height, "yuv420p"
        video.time_base = video.codec_context.time_base = video_in.time_base
        audio = out.add_stream_from_template(audio_in)
        start = end = 0.0  # seconds
        while start < seconds:
            source.seek(0)
            for packet in source.demux(video_in, audio_in):
                if packet.pts is None:
                    if packet.stream is video_in:
                        for frame in packet.decode():
                            frame.pts += round(start / frame.time_base)
                            out.mux(video.encode(frame))
                    continue
                end = max(end, start + float((packet.pts + packet.duration) * packet.time_base))
                offset = round(start / packet.time_base)
                if packet.stream is audio_in:
                    packet.pts, packet.dts = packet.pts + offset, packet.dts + offset
                    packet.stream = audio
                    out.mux(packet)
                    continue
                for frame in packet.decode():
                    frame.pts += offset
                    out.mux(video.encode(frame))
            start = end
        out.mux(video.encode(None))
    return path


# --- Rendering and blending ---------------------------------------------------------------------


def render(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each frame stylized on its own, float32 (as `FrameStylizer` has it before blending)."""
    engine = fast.get_engine("lite")
    vector = engine.style_vector(fast.prepare_style(load_image(STYLE)))
    return [
        fast.render_any_size(lambda batch: engine.render(batch, vector), f / np.float32(255))
        for f in frames
    ]


def blended(
    frames: Sequence[np.ndarray],
    renders: Sequence[np.ndarray],
    weight: float,
    flow: temporal.Flow | None = None,
) -> tuple[list[np.ndarray], list[float]]:
    """`FrameStylizer`'s outputs from ``renders`` at ``weight``; the flow's seconds a frame."""
    tracker, blender = temporal.Tracker(flow), temporal.Blender(weight)
    outputs, seconds = [], []
    for frame, image in zip(frames, renders, strict=True):
        motion = tracker(frame)
        outputs.append(to_uint8(blender(image, motion)))
        seconds.append(motion.flow_seconds)
    return outputs, seconds


def averaged(renders: Sequence[np.ndarray], weight: float) -> list[np.ndarray]:
    """Plain averaging: an exponential moving average of the frame-by-frame renders."""
    outputs, mean = [], None
    for image in renders:
        mean = image if mean is None else (1 - weight) * image + weight * mean
        outputs.append(to_uint8(mean))
    return outputs


# --- Measures -----------------------------------------------------------------------------------


class Clip:
    """One clip measured once for every part: its frames at the output size, their renders
    frame by frame, the input's motion by another method than the pipeline's (Farneback's flow
    back to each previous frame, and where Ruder et al.'s occlusion test keeps it), and the
    VGG19 features of every 10th frame-by-frame output."""

    def __init__(self, name: str, frames: list[np.ndarray]) -> None:
        from nst import vgg

        self.name, self.frames = name, frames
        self.renders = render(frames)
        self.alone = [to_uint8(image) for image in self.renders]
        grey = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
        self._backward, self._kept = [], []
        for before, now in itertools.pairwise(grey):
            backward = _farneback(now, before)
            self._backward.append(backward)
            self._kept.append(~temporal.disoccluded(backward, _farneback(before, now)))
        self._extractor = vgg.feature_extractor(VGG_LAYERS)
        self._reference = [self._features(image) for image in self.alone[::EVERY]]
        self.base = self.warping_error(self.alone)

    def warping_error(self, outputs: Sequence[np.ndarray]) -> float:
        errors = []
        for t, (backward, kept) in enumerate(zip(self._backward, self._kept, strict=True), 1):
            previous = temporal.warp(outputs[t - 1].astype(np.float32) / 255, backward)
            squared = np.sum((outputs[t].astype(np.float32) / 255 - previous) ** 2, axis=-1)
            errors.append(float(squared[kept].mean()))
        return float(np.mean(errors))

    def distance(self, outputs: Sequence[np.ndarray]) -> float:
        """The perceptual distance to the frame-by-frame outputs."""
        distances = []
        for image, reference in zip(outputs[::EVERY], self._reference, strict=True):
            features = self._features(image)
            distances += [
                np.mean((features[k] - reference[k]) ** 2) / np.mean(reference[k] ** 2)
                for k in VGG_LAYERS
            ]
        return float(np.mean(distances))

    def measure(self, outputs: Sequence[np.ndarray]) -> tuple[float, float]:
        """(warping error over frame by frame's, perceptual distance)."""
        return self.warping_error(outputs) / self.base, self.distance(outputs)

    def _features(self, image: np.ndarray) -> dict[str, np.ndarray]:
        from nst.runtime import tf

        batch = tf.constant(image[None].astype(np.float32) / 255)
        return {k: v.numpy() for k, v in self._extractor(batch).items() if k in VGG_LAYERS}


def _farneback(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(source, target, None, 0.5, 5, 15, 3, 7, 1.5, 0)


def scores(outputs: Sequence[np.ndarray], frames: Sequence[np.ndarray]) -> tuple[float, float]:
    """Mean style and content losses (the tutorial's, `nst.losses.score`) of every 10th frame,
    against the style at the output's size as `nst.pipeline.Job.score` has it."""
    from nst import losses
    from nst.targets import Targets

    targets = Targets((resize_style(load_image(STYLE), max(frames[0].shape[:2])),))
    values = [
        losses.score(out.astype(np.float32) / 255, frame.astype(np.float32) / 255, targets)
        for out, frame in zip(outputs[::EVERY], frames[::EVERY], strict=True)
    ]
    return (
        float(np.mean([v["style_loss"] for v in values])),
        float(np.mean([v["content_loss"] for v in values])),
    )


def on_averaging_curve(points: list[tuple[float, float]], distance: float) -> float | None:
    """Averaging's warping error at ``distance``, linearly between its measured (error,
    distance) points; None outside them."""
    points = sorted((d, e) for e, d in points)
    for (d0, e0), (d1, e1) in itertools.pairwise(points):
        if d0 <= distance <= d1:
            return e0 + (e1 - e0) * (distance - d0) / (d1 - d0)
    return None


# --- Parts --------------------------------------------------------------------------------------


def quality(clip: Clip, temporals: Sequence[float], averages: Sequence[float]) -> dict:
    """The warping error and perceptual distance of each weight of both methods on one clip."""
    frames = clip.frames
    print(f"\n#### {clip.name}: {len(frames)} frames, {frames[0].shape[1]}×{frames[0].shape[0]}\n")
    print(f"Input's own warping error: {clip.warping_error(frames):.5f}.\n")
    print("| method | weight | warping error | × frame by frame | perceptual distance |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| frame by frame | 0 | {clip.base:.5f} | 1.000 | 0 |")
    curves: dict[str, dict[float, tuple[float, float]]] = {"temporal": {}, "averaging": {}}
    outputs: dict[float, list[np.ndarray]] = {}
    for method, weights in (("temporal", temporals), ("averaging", averages)):
        for weight in weights:
            if method == "temporal":
                made = outputs[weight] = blended(frames, clip.renders, weight)[0]
            else:
                made = averaged(clip.renders, weight)
            ratio, distance = curves[method][weight] = clip.measure(made)
            mark = " (default)" if method == "temporal" and weight == DEFAULT_TEMPORAL else ""
            print(
                f"| {method}{mark} | {weight} | {ratio * clip.base:.5f} | {ratio:.3f} | "
                f"{distance:.4f} |"
            )
    ratio, distance = curves["temporal"][DEFAULT_TEMPORAL]
    averaging = on_averaging_curve(list(curves["averaging"].values()), distance)
    verdict = "outside its measured range" if averaging is None else f"{averaging:.3f}×"
    print(
        f"\nAt the default's perceptual distance ({distance:.4f}) plain averaging's warping "
        f"error (interpolated): {verdict} frame by frame's; the default's: {ratio:.3f}×."
    )
    return {"curves": curves, "averaging": averaging, "default": outputs[DEFAULT_TEMPORAL]}


def losses_table(clip: Clip, default: list[np.ndarray]) -> tuple[float, float]:
    print("| frames | style loss | content loss |")
    print("| --- | ---: | ---: |")
    style_alone, content_alone = scores(clip.alone, clip.frames)
    style, content = scores(default, clip.frames)
    print(f"| frame by frame | {style_alone:.4g} | {content_alone:.4g} |")
    print(f"| temporal {DEFAULT_TEMPORAL} (default) | {style:.4g} | {content:.4g} |")
    ratios = style / style_alone, content / content_alone
    print(f"| ratio | {ratios[0]:.3f} | {ratios[1]:.3f} |")
    return ratios


def flow_table(clips: Sequence[Clip]) -> None:
    """DIS's presets and the flow's resolution at the default weight, on each clip."""
    print("| clip | DIS preset | flow short side | warping error × frame by frame |", end="")
    print(" perceptual distance | flow ms a frame (median) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for clip in clips:
        for preset in PRESETS:
            for side in (180, 360):
                flow = temporal.Flow(PRESETS[preset], side)
                outputs, seconds = blended(clip.frames, clip.renders, DEFAULT_TEMPORAL, flow)
                ratio, distance = clip.measure(outputs)
                milliseconds = 1000 * statistics.median(seconds[1:])
                print(
                    f"| {clip.name} | {preset} | {side} | {ratio:.3f} | {distance:.4f} | "
                    f"{milliseconds:.1f} |"
                )


def speed_table(repeats: int) -> float:
    """The whole job at three sizes; returns the default size's whole-over-network ratio."""
    print("| short side | output | frames/s | decode | flow | stylize | blend | encode |", end="")
    print(" network alone | whole ÷ stylize | whole ÷ network alone |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    ratio_at_default = 0.0
    median = statistics.median
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.mp4"
        stylize_video(CLIP, [STYLE], out, VideoOptions(size=256))  # warm-up: engine, caches
        for size, weight in ((256, None), (SIZE, None), (SIZE, 0.0), (480, None)):
            options = VideoOptions(size=size, temporal=DEFAULT_TEMPORAL if weight is None else 0)
            frames = decode(CLIP, size, every=8)
            runs, alone = [], []
            for _ in range(repeats):  # the network alone just before each run: the load drifts
                alone.append(network_alone(frames))
                runs.append(stylize_video(CLIP, [STYLE], out, options))
            stage = {
                k: median(r.timings[k] / r.frames for r in runs) * 1000 for k in runs[0].timings
            }
            ratio = median(r.seconds / r.timings["stylize"] for r in runs)
            fps = median(r.frames / r.seconds for r in runs)
            over_alone = median(
                r.seconds / r.frames * 1000 / a for r, a in zip(runs, alone, strict=True)
            )
            label = f"{size}" + (" (frame by frame)" if weight == 0 else "")
            width, height = runs[0].size
            print(
                f"| {label} | {width}×{height} | {fps:.1f} | {stage['decode']:.1f} | "
                f"{stage['flow']:.1f} | {stage['stylize']:.1f} | {stage['blend']:.1f} | "
                f"{stage['encode']:.1f} | {median(alone):.1f} | {ratio:.2f} | {over_alone:.2f} |"
            )
            if size == SIZE and weight is None:
                ratio_at_default = ratio
    print("\nms a frame: each stage's busy time (decoding with the flow, and encoding, run in")
    print("threads of their own beside the network, so they overlap it and slow it); the")
    print("network alone: the median render of 16 of the clip's frames with nothing else")
    print("running, just before each run; whole ÷ network alone: the job's time a frame over it.")
    return ratio_at_default


def network_alone(frames: Sequence[np.ndarray]) -> float:
    """The network's median ms a frame on ``frames`` with nothing else running."""
    engine = fast.get_engine("lite")
    vector = engine.style_vector(fast.prepare_style(load_image(STYLE)))
    times = []
    for frame in frames:
        started = time.perf_counter()
        fast.render_any_size(lambda batch: engine.render(batch, vector), frame / np.float32(255))
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times[1:])


def memory_table() -> float:
    """Peak RSS of a child process per clip length; returns the 60 s clip's growth over 5 s."""
    print("\n| clip | frames | peak RSS (MiB) | seconds |")
    print("| --- | ---: | ---: | ---: |")
    peaks = []
    with tempfile.TemporaryDirectory() as folder:
        for seconds, source in ((5, CLIP), (60, make_loop(Path(folder) / "loop.mp4", 60))):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(source), str(Path(folder) / "o.mp4")],
                capture_output=True,
                text=True,
                check=True,
            )
            frames, peak, wall = done.stdout.split()
            peaks.append(float(peak))
            print(f"| {seconds} s | {frames} | {float(peak):.0f} | {float(wall):.0f} |")
    return peaks[1] / peaks[0] - 1


def child(source: str, out: str) -> None:
    """One job in this process; prints its frames, peak RSS in MiB and seconds."""
    result = stylize_video(source, [STYLE], out, VideoOptions())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(result.frames, f"{peak:.1f}", f"{result.seconds:.1f}")


def draw(path: Path, plots: dict[str, dict]) -> None:
    """Warping error (× frame by frame, 0 to 1 up the side) against perceptual distance (0 to
    the largest measured, along the bottom), one panel per clip: the temporal blend in blue,
    plain averaging in orange, both from frame by frame at (0, 1)."""
    from PIL import Image, ImageDraw

    panel, margin = 360, 40
    image = Image.new("RGB", (panel * len(plots), panel), "white")
    pen = ImageDraw.Draw(image)
    for k, (name, curves) in enumerate(plots.items()):
        left = k * panel
        widest = max(d for curve in curves.values() for _, d in curve.values()) * 1.1
        pen.rectangle([left + margin, margin, left + panel - 10, panel - margin], outline="black")
        pen.text((left + margin, 10), f"{name}: warping error / distance", fill="black")
        pen.text((left + margin, panel - margin + 5), f"distance 0 .. {widest:.3f}", fill="black")
        for method, color in (("temporal", "blue"), ("averaging", "orange")):
            line = [
                (
                    left + margin + distance / widest * (panel - margin - 10),
                    panel - margin - ratio * (panel - 2 * margin),
                )
                for ratio, distance in sorted(
                    [(1.0, 0.0), *curves[method].values()], key=lambda p: p[1]
                )
            ]
            pen.line(line, fill=color, width=2)
            for x, y in line:
                pen.ellipse([x - 3, y - 3, x + 3, y + 3], fill=color)
    image.save(path)


# --- Report -------------------------------------------------------------------------------------


def header() -> None:
    print(f"Load average at start (1, 5, 15 min): {_load()}. Style: {STYLE.name}.")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def check(label: str, passed: bool, figures: str) -> None:
    print(f"- {'✓' if passed else '✗'} {label}: {figures}")


def main() -> None:
    """Run the parts asked for, printing their figures as they come, then write them as the
    section "Video: PARTS" of docs/measurements.md."""
    shown = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, shown)):
        parts = measure()
    if parts:
        command = " ".join(["benchmarks/video.py", *sys.argv[1:]])
        record(f"Video: {', '.join(parts)}", command, shown.getvalue())


class _Tee:
    """Writes to two streams: the terminal, and what goes into the notes."""

    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def measure() -> list[str]:
    """The parts asked for on the command line (none for a child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["quality"], choices=PARTS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", type=Path, help="also draw the quality curves into this PNG")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return []
    if not CLIP.exists():
        sys.exit(f"needs the shared clip at {CLIP}")
    started = time.perf_counter()
    header()
    checks: list[Callable[[], None]] = []
    clips: dict[str, Clip] = {}
    if {"quality", "flow"} & set(args.parts):
        with tempfile.TemporaryDirectory() as folder:
            pan = decode(make_pan(Path(folder) / "pan.mp4"))
        clips = {
            "Big Buck Bunny": Clip("Big Buck Bunny", decode(CLIP)),
            "every third frame": Clip("every third frame", decode(CLIP, every=3)),
            "fast pan": Clip("fast pan", pan),
        }
    if "quality" in args.parts:
        print("\n### Flicker against closeness to frame by frame\n")
        print("Warping error with Farneback's flow (the pipeline uses DIS); perceptual distance")
        print("to the frame-by-frame output (VGG19, every 10th frame); the outputs as the")
        print("pipeline hands them to the encoder.")
        results = {name: quality(clip, TEMPORALS, AVERAGES) for name, clip in clips.items()}
        chosen = choose(results)
        print(
            f"\nThe largest weight whose warping error is at most {MAX_WARP_RATIO}× frame by "
            f"frame's and whose perceptual distance is at most {MAX_DISTANCE} on every clip: "
            f"{chosen} (`nst.options.DEFAULT_TEMPORAL` is {DEFAULT_TEMPORAL})."
        )
        bunny = results["Big Buck Bunny"]
        print(f"\n#### Losses of every 10th frame, Big Buck Bunny at {SIZE} px\n")
        ratios = losses_table(clips["Big Buck Bunny"], bunny["default"])
        if args.plot:
            draw(args.plot, {name: result["curves"] for name, result in results.items()})
            print(
                f"\n![Warping error (× frame by frame's, up) against perceptual distance "
                f"(along), one panel per clip: the temporal blend in blue, plain averaging in "
                f"orange]({args.plot.name})\n\nBlue: the temporal blend; orange: plain "
                "averaging; both start at frame by frame (top left). Lower is steadier, further "
                "right is further from frame by frame."
            )
        ratio, distance = bunny["curves"]["temporal"][DEFAULT_TEMPORAL]
        averaging = bunny["averaging"]
        checks += [
            lambda: check(
                f"warping error ≤ {MAX_WARP_RATIO}× frame by frame at distance ≤ {MAX_DISTANCE}",
                ratio <= MAX_WARP_RATIO and distance <= MAX_DISTANCE,
                f"{ratio:.3f}× at {distance:.4f}",
            ),
            lambda: check(
                "below plain averaging at the same distance",
                averaging is not None and ratio < averaging,
                f"{ratio:.3f}× against {averaging:.3f}×" if averaging else "not measured",
            ),
            lambda: check(
                f"style and content losses ≤ {MAX_LOSS_RATIO}× frame by frame's",
                max(ratios) <= MAX_LOSS_RATIO,
                f"{ratios[0]:.3f}×, {ratios[1]:.3f}×",
            ),
        ]
    if "flow" in args.parts:
        print(f"\n### The flow: DIS presets at temporal {DEFAULT_TEMPORAL}\n")
        flow_table([clips["Big Buck Bunny"], clips["fast pan"]])
    if "speed" in args.parts:
        print(f"\n### Speed, Big Buck Bunny (132 frames), median of {args.repeats}\n")
        speed = speed_table(args.repeats)
        checks.append(
            lambda: check(
                f"whole job ≤ {MAX_TIME_RATIO}× the network's time at {SIZE} px",
                speed <= MAX_TIME_RATIO,
                f"{speed:.2f}×",
            )
        )
    if "memory" in args.parts:
        print(f"\n### Peak memory at {SIZE} px (a child process each)\n")
        growth = memory_table()
        checks.append(
            lambda: check(
                f"60 s clip's peak RSS within {MAX_MEMORY_GROWTH:.0%} of the 5 s clip's",
                abs(growth) <= MAX_MEMORY_GROWTH,
                f"{growth:+.1%}",
            )
        )
    if checks:
        print("\n### The issue's checks\n")
        for run in checks:
            run()
    print(f"\nLoad average at end: {_load()}; {time.perf_counter() - started:.0f} s in all.")
    return list(args.parts)


def choose(results: dict[str, dict]) -> float | None:
    """The largest temporal weight within both targets on every clip that measured it."""
    weights = sorted(results["Big Buck Bunny"]["curves"]["temporal"], reverse=True)
    for weight in weights:
        measured = [r["curves"]["temporal"].get(weight) for r in results.values()]
        if all(m is None or (m[0] <= MAX_WARP_RATIO and m[1] <= MAX_DISTANCE) for m in measured):
            return weight
    return None


if __name__ == "__main__":
    main()
