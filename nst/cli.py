"""Command-line interface: one subcommand per task, each a thin layer over the library.

Bad input prints one line on stderr and exits with status 2; results go to files, and a short
report to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not ours

from nst.errors import InputError


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
    parser.add_argument("content", help="content photo")
    parser.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s)")
    parser.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, .webp)")
    parser.add_argument("--engine", choices=("auto", "hub", "lite"), default="auto")
    parser.add_argument("--hub-handle", help="TF Hub handle or SavedModel folder for --engine hub")
    parser.add_argument(
        "--strength", type=float, default=1.0, help="0 keeps the photo's look, 1 full style"
    )
    parser.add_argument(
        "--style-weights", type=float, nargs="+", metavar="W", help="blend weight per style"
    )
    parser.add_argument("--size", type=int, default=512, help="output long side in pixels")
    parser.add_argument("--preserve-color", action="store_true", help="keep the photo's colours")
    parser.set_defaults(run=_fast)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_fast]


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
