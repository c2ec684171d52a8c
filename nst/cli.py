"""Command-line interface: one subcommand per task, each a thin layer over `nst.pipeline`.

Every option comes from the fields of `nst.options`' dataclasses (name, default, choices, help),
so the CLI and the library cannot disagree. Bad input prints one line on stderr and exits with
status 2; results go to files, a short report to stdout, progress to stderr (a bar on a
terminal, one line per scale or photo otherwise). TensorFlow is imported only once the inputs
are known to be good, and quietly (`nst.runtime`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from nst.door import IMAGE_SUFFIXES
from nst.errors import InputError, plain_message
from nst.options import REFINE_FAST, FastOptions, OptimizeOptions, Settings, VideoOptions

if TYPE_CHECKING:
    from nst.optimize import Progress

MASK_HELP = (
    "image whose white part takes the first style and black part the second style, or keeps "
    "the photo with one style (grey mixes)"
)


def _add_fields(parser: argparse.ArgumentParser, defaults: Any) -> argparse._ArgumentGroup:
    """One ``--option`` per field of the options dataclass ``defaults``, with its default; returns
    their group."""
    group = parser.add_argument_group(type(defaults).__name__)
    for option in dataclasses.fields(defaults):
        flag = "--" + option.name.replace("_", "-")
        extra = dict(option.metadata)
        aliases = extra.pop("aliases", ())
        help_text, default = extra.pop("help"), getattr(defaults, option.name)
        if isinstance(default, bool):
            group.add_argument(flag, action="store_true", help=help_text)
            continue
        if default is not None:
            help_text += " (default: %(default)s)"
        extra.setdefault("type", type(default))
        group.add_argument(flag, *aliases, default=default, help=help_text, **extra)
    return group


def _build(kind: type, args: argparse.Namespace) -> Any:
    return kind(**{option.name: getattr(args, option.name) for option in dataclasses.fields(kind)})


def _job(args: argparse.Namespace, content: str | None = None):
    """The validated job of the command line: options first, then the images are decoded."""
    settings = _build(Settings, args)
    fast_options = _build(FastOptions, args) if "engine" in args else FastOptions()
    optimize_options = _build(OptimizeOptions, args) if "optimizer" in args else REFINE_FAST
    from nst import pipeline

    return pipeline.prepare(
        content or args.content, args.styles, settings, fast_options, optimize_options, args.mask
    )


def _add_inputs(
    parser: argparse.ArgumentParser, output_help: str, output_name: str = "OUT", styles: str = "+"
) -> None:
    parser.add_argument("content", help="content photo")
    parser.add_argument("styles", nargs=styles, metavar="STYLE", help="style image(s)")
    parser.add_argument("-o", "--output", required=True, metavar=output_name, help=output_help)
    parser.add_argument("--mask", metavar="FILE", help=MASK_HELP)
    settings = _add_fields(parser, Settings())
    # The flag of earlier versions, kept for scripts that use it.
    settings.add_argument(
        "--preserve-color",
        action="store_const",
        dest="colors",
        const="luminance",
        help="the same as --colors luminance",
    )


class Bar:
    """Progress on stderr: one line redrawn in place on a terminal (a bar, what is done, the time
    left), and elsewhere (a log, a pipe) only the lines that ``final`` marks."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.drawn = 0  # characters of the line drawn last, to blank what a shorter one leaves

    def show(self, fraction: float, text: str, final: bool = False) -> None:
        if self.live:
            filled = round(self.WIDTH * min(max(fraction, 0.0), 1.0))
            line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {text}"
            self.stream.write("\r" + line.ljust(self.drawn) + ("\n" if final else ""))
            self.drawn = 0 if final else len(line)
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live and self.drawn:
            self.stream.write("\n")
            self.drawn = 0


class OptimizationBar:
    """An optimization's progress for `Bar`: the step, the loss and the time left, and on each
    scale's last step (or the run's end) a line that stays."""

    def __init__(self, time_budget: float | None, bar: Bar | None = None) -> None:
        self.time_budget, self.bar = time_budget, bar or Bar()
        self.last: Progress | None = None

    def __call__(self, progress: Progress) -> None:
        previous, self.last = self.last, progress
        if previous is not None and progress.scale != previous.scale:
            self._show(previous, final=True)  # the scale before ended
        if not progress.done:
            self._show(progress, final=False)

    def close(self) -> None:
        if self.last is not None:
            self._show(self.last, final=True)
        self.bar.close()

    def _show(self, progress: Progress, final: bool) -> None:
        height, width = progress.size
        scale = f"scale {progress.scale}/{progress.scales} " if progress.scales > 1 else ""
        steps = f"/{progress.planned_steps}" if progress.planned_steps else ""
        loss = progress.best_losses.get("total", progress.losses.get("total", float("nan")))
        left = progress.seconds_left(self.time_budget)
        timing = f"{progress.seconds:.0f} s" if final or left is None else f"{left:.0f} s left"
        text = f"{scale}{width}×{height}: step {progress.step}{steps} · loss {loss:.4g} · {timing}"
        self.bar.show(progress.fraction(self.time_budget), text, final)


def _photos(inputs: Sequence[str]) -> list[Path]:
    """The photos of the command line: files as given, and each folder's photos by name."""
    photos: list[Path] = []
    for given in map(Path, inputs):
        if given.is_dir():
            photos += sorted(p for p in given.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            photos.append(given)
    if not photos:
        raise InputError("No photos found: give image files or a folder that holds some.")
    return photos


def _fast(args: argparse.Namespace) -> int:
    from nst.images import save_image
    from nst.report import summary

    if args.style_files is None:  # one photo: `nst fast PHOTO STYLE... -o OUT`
        if not args.styles:
            raise InputError("Give a style image after the photo (or photos, then -s STYLE).")
        result = _job(args).fast()
        save_image(result.image, args.output)
        print(summary(result))
        print(f"wrote {args.output}")
        return 0
    return _fast_batch(args, save_image)


def _fast_batch(args: argparse.Namespace, save_image) -> int:
    """`nst fast PHOTO... -s STYLE -o FOLDER`: one result per photo with the styles' vector made
    once; a photo that cannot be used is one line, and the batch goes on (exit status 2 then)."""
    from nst import pipeline
    from nst.images import load_image

    photos = _photos([args.content, *args.styles])
    settings, options = _build(Settings, args), _build(FastOptions, args)
    styles = [load_image(style) for style in args.style_files]  # decoded once, for every photo
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    bar, failed, started = Bar(), 0, time.perf_counter()
    for done, photo in enumerate(photos, 1):
        target = out / f"{photo.stem}.png"
        try:
            job = pipeline.prepare(photo, styles, settings, options, mask=args.mask)
            save_image(job.fast().image, target)
            line = f"{photo.name} -> {target}"
        except Exception as error:
            message = plain_message(error)
            if message is None:
                raise
            failed += 1
            line = f"error: {photo.name}: {message}"
        seconds = time.perf_counter() - started
        left = seconds / done * (len(photos) - done)
        bar.show(done / len(photos), f"{done}/{len(photos)} · {left:.0f} s left · {line}")
        if line.startswith("error:") or not bar.live:
            bar.show(done / len(photos), line, final=True)
    bar.close()
    print(f"wrote {len(photos) - failed} of {len(photos)} results in {out}")
    return 2 if failed else 0


def _optimize(args: argparse.Namespace) -> int:
    from nst.images import save_image
    from nst.report import losses_line, summary

    job = _job(args)
    fast_image = job.fast().image if job.optimize_options.init == "fast" else None
    log = []
    bar = OptimizationBar(job.optimize_options.time_budget)

    def on_progress(progress: Progress) -> None:
        entry = {"step": progress.step, "seconds": round(progress.seconds, 3)}
        log.append({**entry, "size": list(progress.size), **progress.losses})
        bar(progress)

    try:
        result = job.optimize(fast_image, preview_every=0).run(on_progress)
    finally:
        bar.close()
    save_image(result.image, args.output)
    if args.log_json:
        Path(args.log_json).write_text(json.dumps(log, indent=1))
    print(summary(result))
    print(f"objective {bar.last.best_losses['total']:.6g} ({args.preset} preset)")
    print(f"scored: {losses_line(job.scored(result).losses)}")  # both statistics, as `score`
    print(f"wrote {args.output}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from nst import pipeline, report

    job = _job(args)
    bar = OptimizationBar(job.optimize_options.time_budget)
    try:
        fast_result, optimized = pipeline.compare(job, on_progress=bar)
    finally:
        bar.close()
    out = report.write(args.output, job, fast_result, optimized)
    print(report.caption(fast_result))
    print(report.caption(optimized))
    print(f"wrote {', '.join(sorted(path.name for path in out.iterdir()))} in {out}")
    return 0


def _video(args: argparse.Namespace) -> int:
    """`nst video CLIP STYLE... -o OUT.mp4`: the fast path on every frame, without flicker."""
    from nst.video import stylize_video

    bar = Bar()

    def on_progress(progress) -> None:
        expected = progress.expected
        fraction = progress.frames / expected if expected else 0.0
        left = progress.seconds * (1 - fraction) / fraction if fraction else None
        of = f"/{expected}" if expected else ""
        timing = f"{left:.0f} s left" if left is not None else f"{progress.seconds:.0f} s"
        bar.show(fraction, f"frame {progress.frames}{of} · {timing}")

    try:
        result = stylize_video(
            args.content, args.styles, args.output, _build(VideoOptions, args), on_progress
        )
    finally:
        bar.close()
    width, height = result.size
    sound = f"sound {result.audio}" if result.audio else "no sound"
    print(
        f"Video · lite engine · {result.frames} frames, {width}×{height} px, {sound}, "
        f"{result.cuts} scene cuts · {result.seconds:.1f} s "
        f"({result.frames / result.seconds:.1f} frames a second)"
    )
    print(f"wrote {args.output}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from nst.images import load_image

    image = load_image(args.image, long_side=args.size)
    from nst import pipeline

    # The styles as a job of this image's size compares them (mixed equally, or in regions).
    job = pipeline.prepare(
        args.content, args.styles, Settings(size=max(image.shape[:2])), mask=args.mask
    )
    print(json.dumps(job.score(image), indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nst", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    fast = commands.add_parser(
        "fast",
        help="stylize in about a second with Magenta's network",
        description="`fast PHOTO STYLE... -o OUT` stylizes one photo; with -s, "
        "`fast PHOTO_OR_FOLDER... -s STYLE -o FOLDER` stylizes each photo with the same style.",
    )
    _add_inputs(fast, "output image (.png, .jpg, .webp), or a folder with -s", styles="*")
    fast.add_argument(
        "-s",
        "--style",
        dest="style_files",
        action="append",
        metavar="STYLE",
        help="a style image (repeat for a mix): every positional argument is then a photo or a "
        "folder of photos, and OUT a folder for one PNG per photo",
    )
    _add_fields(fast, FastOptions())
    fast.set_defaults(run=_fast)

    optimize = commands.add_parser(
        "optimize", help="optimize an image with VGG19 losses (slower, higher fidelity)"
    )
    _add_inputs(optimize, "output image (.png, .jpg, .webp)")
    _add_fields(optimize, OptimizeOptions())
    optimize.add_argument("--log-json", metavar="FILE", help="write every step's losses here")
    optimize.set_defaults(run=_optimize)

    score = commands.add_parser(
        "score", help="the tutorial's style, content and TV losses of any image, as JSON"
    )
    score.add_argument("content", help="content photo")
    score.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s), mixed equally")
    score.add_argument("image", help="image to score (content and styles are resized to it)")
    score.add_argument("--size", type=int, help="resize the image to this long side first")
    score.add_argument("--mask", metavar="FILE", help=MASK_HELP + "; adds each region's loss")
    score.set_defaults(run=_score)

    compare = commands.add_parser(
        "compare", help="fast and optimized results of the same inputs, measured the same way"
    )
    _add_inputs(
        compare, "folder for fast.png, optimized.png, side_by_side.png, metrics.json", "OUT_DIR"
    )
    _add_fields(compare, FastOptions())
    _add_fields(compare, REFINE_FAST)
    compare.set_defaults(run=_compare)

    video = commands.add_parser(
        "video", help="stylize a clip with Magenta's network, steady from frame to frame"
    )
    video.add_argument("content", metavar="CLIP", help="video (MP4, MOV, MKV, WebM)")
    video.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    video.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="output MP4")
    _add_fields(video, VideoOptions())
    video.set_defaults(run=_video)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except Exception as error:
        message = plain_message(error)
        if message is None:  # a bug: say what it was, still in one line
            print(f"error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        detail = getattr(error, "detail", "")
        print(f"error: {message}" + (f" {detail}" if detail else ""), file=sys.stderr)
        return 2
