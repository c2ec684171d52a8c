"""Peak memory (RSS) and seconds of the lite engine's rendering in one pass and in blocks.

Each run is a process of its own, so its peak RSS is its own (the kernel's figure, from
`os.wait4`): `nst.fast.stylize` with the lite engine of a photo resized to WIDTHxHEIGHT with a
painting, forced to one pass (`whole`) or to blocks of `FAST_BLOCK_SIDE` (`blocks`) whatever
`FAST_WHOLE_MEMORY` says, one run each (the seconds of blocks include making the block renderer,
once per process). The peak over the pixels is what `FAST_BYTES_PER_PIXEL` is read from. One
pass of a 4096x4096 image needs about 5 GB. 2 shared cores make the seconds noisy; the memory
is not. Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/fast_blocks.py [--sizes 2048x1362 4096x2725 4096x4096] \\
        [--modes whole blocks]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fast import load_average  # noqa: E402
from benchmarks.notes import record  # noqa: E402

ASSETS = REPO / "assets"
SIZES = ["2048x1362", "4096x2725", "4096x4096"]
MODES = ["whole", "blocks"]


def child(width: int, height: int, mode: str, content: Path, style: Path) -> None:
    """One rendering; prints its seconds."""
    from nst import fast
    from nst.images import load_image, resize
    from nst.options import FastOptions

    fast.FAST_WHOLE_MEMORY = 0 if mode == "blocks" else 2**62  # what `fast.fits_whole` reads
    photo = resize(load_image(content), (height, width))
    result = fast.stylize(photo, [load_image(style)], (1.0,), FastOptions(engine="lite"))
    print(f"{result.seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=SIZES, help="WIDTHxHEIGHT each")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=MODES)
    parser.add_argument("--content", type=Path, default=ASSETS / "content_chelsea.jpg")
    parser.add_argument("--style", type=Path, default=ASSETS / "style_starry_night.jpg")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        width, height, mode = args.child
        child(int(width), int(height), mode, args.content, args.style)
        return

    from nst.options import FAST_BLOCK_SIDE

    load_before = load_average()
    rows = []
    for size in args.sizes:
        width, height = size.split("x")
        for mode in args.modes:
            command = [sys.executable, __file__, "--child", width, height, mode]
            command += ["--content", str(args.content), "--style", str(args.style)]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            seconds = process.stdout.read().strip()
            _, status, usage = os.wait4(process.pid, 0)
            peak = usage.ru_maxrss * 1024  # kilobytes on Linux
            seconds = seconds if status == 0 else "failed"
            how = "one pass" if mode == "whole" else f"blocks of {FAST_BLOCK_SIDE} px"
            rows.append(
                f"| {width}×{height} | {how} | {seconds} | {peak / 2**30:.2f} | "
                f"{peak / (int(width) * int(height)):.0f} |"
            )
            print(rows[-1], flush=True)
    body = (
        f"{args.content.name} with {args.style.name}, the lite engine, one run per process:\n\n"
        "| output (w×h) | rendering | stylize s | peak RSS GB | peak RSS bytes per pixel |\n"
        "| --- | --- | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + f"\n\nLoad average (1 / 5 / 15 min): {load_before} before, {load_average()} after."
    )
    command = f"benchmarks/fast_blocks.py --sizes {' '.join(args.sizes)} --modes "
    command += " ".join(args.modes)
    if args.content != ASSETS / "content_chelsea.jpg":
        command += f" --content {args.content}"
    if args.style != ASSETS / "style_starry_night.jpg":
        command += f" --style {args.style}"
    print(record("Print size: the fast path in blocks", command, body))


if __name__ == "__main__":
    main()
