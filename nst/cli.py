"""Command-line interface: one subcommand per task, each a thin layer over the library.

Bad input prints one line on stderr and exits with status 2; results go to files, and a short
report to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not ours

from nst.errors import InputError


def _add_shared_arguments(
    parser: argparse.ArgumentParser, output_help: str, output_name: str = "OUT"
) -> None:
    """The inputs and output options every image-making subcommand takes."""
    parser.add_argument("content", help="content photo")
    parser.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    parser.add_argument("-o", "--output", required=True, metavar=output_name, help=output_help)
    parser.add_argument("--size", type=int, default=512, help="output long side in pixels")
    parser.add_argument(
        "--style-weights", type=float, nargs="+", metavar="W", help="blend weight per style"
    )
    parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")


def _fast(args: argparse.Namespace) -> None:
    from nst import fast
    from nst.images import save_image

    result = fast.stylize(
        args.content,
        args.styles,
        style_weights=args.style_weights,
        strength=args.strength,
        size=args.size,
        preserve_color=args.preserve_color,
        engine=args.engine,
        hub_handle=args.hub_handle,
    )
    save_image(result.image, args.output)
    height, width = result.image.shape[:2]
    print(f"engine={result.engine} seconds={result.seconds:.3f} size={width}x{height}")
    print(f"wrote {args.output}")


def _add_fast(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("fast", help="stylize in about a second with Magenta's network")
    _add_shared_arguments(parser, "output image (.png, .jpg, .webp)")
    parser.add_argument("--engine", choices=("auto", "hub", "lite"), default="auto")
    parser.add_argument("--hub-handle", help="TF Hub handle or SavedModel folder for --engine hub")
    parser.add_argument(
        "--strength", type=float, default=1.0, help="0 keeps the photo's look, 1 full style"
    )
    parser.set_defaults(run=_fast)


def _optimize_options(args: argparse.Namespace) -> dict:
    """The optimizer keywords given on the command line; the library's defaults for the rest."""
    options = {
        "optimizer": args.optimizer,
        "seed": args.seed,
        "scales": args.scales,
        "steps": args.steps,
        "time_budget": args.time_budget,
    }
    return {key: value for key, value in options.items() if value is not None}


def _report(progress) -> None:
    height, width = progress.size
    print(
        f"step {progress.step} {progress.seconds:.1f}s {width}x{height} "
        f"total={progress.losses['total']:.4g}",
        file=sys.stderr,
        flush=True,
    )


def _optimize(args: argparse.Namespace) -> None:
    import json

    from nst.images import load_image, save_image

    # Decode (and so validate) the inputs before TensorFlow is imported.
    content = load_image(args.content)
    styles = [load_image(style) for style in args.styles]
    from nst import compare, losses

    preset = losses.preset_with(args.preset, args.style_weight, args.content_weight, args.tv_weight)
    init_image = None
    if args.init == "fast":
        init_image = compare.run_fast(content, styles, args.style_weights, size=args.size).image
    run = compare.OptimizeRun(
        content,
        styles,
        args.style_weights,
        size=args.size,
        preserve_color=args.preserve_color,
        init=args.init,
        init_image=init_image,
        preset=preset,
        preview_every=0,
        **_optimize_options(args),
    )
    log = []
    for progress in run:
        log.append(
            {
                "step": progress.step,
                "seconds": round(progress.seconds, 3),
                "size": list(progress.size),
                **progress.losses,
            }
        )
        if not progress.done:
            _report(progress)
    assert run.result is not None
    save_image(run.result.image, args.output)
    if args.log_json:
        Path(args.log_json).write_text(json.dumps(log, indent=1))
    print(
        f"steps={progress.step} seconds={progress.seconds:.1f} stopped_by={progress.stopped_by}"
        f" total={progress.best_losses['total']:.6g} ({args.preset} preset)"
    )
    print(f"wrote {args.output}")


def _add_optimize(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "optimize", help="optimize an image with VGG19 losses (slower, higher fidelity)"
    )
    _add_shared_arguments(parser, "output image (.png, .jpg, .webp)")
    parser.add_argument("--steps", type=int, help="loss evaluations in all (default: a schedule)")
    parser.add_argument("--time-budget", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument("--optimizer", choices=("lbfgs", "lbfgs-b", "adam"), default="lbfgs")
    parser.add_argument("--preset", choices=("default", "tutorial"), default="default")
    parser.add_argument("--init", choices=("content", "fast", "noise"), default="content")
    parser.add_argument(
        "--scales", type=int, default=1, help="coarse-to-fine scales, each half the next"
    )
    parser.add_argument("--style-weight", type=float, metavar="W", help="override the preset's")
    parser.add_argument("--content-weight", type=float, metavar="W", help="override the preset's")
    parser.add_argument("--tv-weight", type=float, metavar="W", help="override the preset's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise init")
    parser.add_argument("--log-json", metavar="FILE", help="write every step's losses here")
    parser.set_defaults(run=_optimize)


def _score(args: argparse.Namespace) -> None:
    import json

    from nst.images import load_image

    image = load_image(args.image, long_side=args.size)
    content, styles = load_image(args.content), [load_image(args.style)]
    from nst.losses import score

    print(json.dumps(score(image, content, styles), indent=1))


def _add_score(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "score", help="the tutorial's style, content and TV losses of any image, as JSON"
    )
    parser.add_argument("content", help="content photo")
    parser.add_argument("style", help="style image")
    parser.add_argument("image", help="image to score (content and style are resized to it)")
    parser.add_argument("--size", type=int, help="resize the image to this long side first")
    parser.set_defaults(run=_score)


def _compare(args: argparse.Namespace) -> None:
    from nst.images import load_image

    content = load_image(args.content)
    styles = [load_image(style) for style in args.styles]
    from nst import compare

    fast_result, optimized = compare.compare(
        content,
        styles,
        args.style_weights,
        size=args.size,
        strength=args.strength,
        preserve_color=args.preserve_color,
        init=args.init,
        time_budget=args.time_budget,
        on_progress=_report,
    )
    out = compare.write(args.output, content, fast_result, optimized)
    print(compare.caption("fast", fast_result))
    print(compare.caption("optimized", optimized))
    print(f"wrote {', '.join(sorted(path.name for path in out.iterdir()))} in {out}")


def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="fast and optimized results of the same inputs, measured the same way"
    )
    _add_shared_arguments(
        parser, "folder for fast.png, optimized.png, side_by_side.png, metrics.json", "OUT_DIR"
    )
    parser.add_argument("--strength", type=float, default=1.0, help="fast path's style strength")
    parser.add_argument(
        "--init",
        choices=("fast", "content", "noise"),
        default="fast",
        help="where the optimizer starts",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds the optimizer may take",
    )
    parser.set_defaults(run=_compare)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_fast,
    _add_optimize,
    _add_score,
    _add_compare,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nst", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nst.fast import EngineUnavailable

    try:
        args.run(args)
    except (InputError, EngineUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. the output folder does not exist or is not writable
        print(
            f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    return 0
