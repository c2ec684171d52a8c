"""Command-line interface: one subcommand per task, each a thin layer over `nst.pipeline`.

Every option comes from the fields of `nst.options`' dataclasses (name, default, choices, help),
so the CLI and the library cannot disagree. Bad input prints one line on stderr and exits with
status 2; results go to files, and a short report to stdout. TensorFlow is imported only once
the inputs are known to be good.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not ours

from nst.errors import plain_message
from nst.options import COMPARE, FastOptions, OptimizeOptions, Settings

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


def _job(args: argparse.Namespace, optimize_defaults: OptimizeOptions = COMPARE):
    """The validated job of the command line: options first, then the images are decoded."""
    settings = _build(Settings, args)
    fast_options = _build(FastOptions, args) if "engine" in args else FastOptions()
    optimize_options = _build(OptimizeOptions, args) if "optimizer" in args else optimize_defaults
    from nst import pipeline

    return pipeline.prepare(
        args.content, args.styles, settings, fast_options, optimize_options, args.mask
    )


def _add_inputs(
    parser: argparse.ArgumentParser, output_help: str, output_name: str = "OUT"
) -> None:
    parser.add_argument("content", help="content photo")
    parser.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
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


def _report(progress) -> None:
    height, width = progress.size
    print(
        f"step {progress.step} {progress.seconds:.1f}s {width}x{height} "
        f"total={progress.losses['total']:.4g}",
        file=sys.stderr,
        flush=True,
    )


def _fast(args: argparse.Namespace) -> None:
    from nst.images import save_image
    from nst.report import made_by

    result = _job(args).fast()
    save_image(result.image, args.output)
    print(made_by(result))
    print(f"wrote {args.output}")


def _optimize(args: argparse.Namespace) -> None:
    from nst.images import save_image
    from nst.report import made_by

    job = _job(args)
    fast_image = job.fast().image if job.optimize_options.init == "fast" else None
    log, last = [], []

    def on_progress(progress) -> None:
        size = list(progress.size)
        log.append({"step": progress.step, "seconds": round(progress.seconds, 3), "size": size})
        log[-1].update(progress.losses)
        if not progress.done:
            _report(progress)
        last[:] = [progress]

    result = job.optimize(fast_image, preview_every=0).run(on_progress)
    save_image(result.image, args.output)
    if args.log_json:
        Path(args.log_json).write_text(json.dumps(log, indent=1))
    print(made_by(result))
    print(f"total={last[0].best_losses['total']:.6g} ({args.preset} preset)")
    print(f"wrote {args.output}")


def _compare(args: argparse.Namespace) -> None:
    from nst import pipeline, report

    job = _job(args)
    fast_result, optimized = pipeline.compare(job, on_progress=_report)
    out = report.write(args.output, job, fast_result, optimized)
    print(report.caption(fast_result))
    print(report.caption(optimized))
    print(f"wrote {', '.join(sorted(path.name for path in out.iterdir()))} in {out}")


def _score(args: argparse.Namespace) -> None:
    from nst.images import load_image

    image = load_image(args.image, long_side=args.size)
    from nst import pipeline

    # The styles as a job of this image's size compares them (mixed equally, or in regions).
    job = pipeline.prepare(
        args.content, args.styles, Settings(size=max(image.shape[:2])), mask=args.mask
    )
    print(json.dumps(job.score(image), indent=1))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nst", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    fast = commands.add_parser("fast", help="stylize in about a second with Magenta's network")
    _add_inputs(fast, "output image (.png, .jpg, .webp)")
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
    _add_fields(compare, COMPARE)
    compare.set_defaults(run=_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except Exception as error:
        message = plain_message(error)
        if message is None:  # a bug: say what it was, still in one line
            print(f"error: unexpected {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        detail = getattr(error, "detail", "")
        print(f"error: {message}" + (f" {detail}" if detail else ""), file=sys.stderr)
        return 2
    return 0
