"""Peak memory (RSS) and seconds of the lite engine's rendering in one pass and in blocks.

    python benchmarks/fast_blocks.py [--sizes 2048x1362 4096x2725 4096x4096] [--modes whole blocks]

Each run is a process of its own, so its peak RSS is its own: `nst.fast.stylize` of a photo
resized to WIDTHxHEIGHT with a painting, forced to one pass (`whole`) or to blocks of
`FAST_BLOCK_SIDE` (`blocks`) whatever `FAST_WHOLE_MEMORY` says, one run each. One pass of a
4096x4096 image needs about 5 GB. Prints a markdown table and the load average (2 shared cores
make the seconds noisy; the memory is not).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def child(width: int, height: int, mode: str, content: Path, style: Path) -> None:
    """One rendering; prints its seconds."""
    from nst import fast
    from nst.images import load_image, resize

    fast.FAST_WHOLE_MEMORY = 0 if mode == "blocks" else 2**62
    photo = resize(load_image(content), (height, width))
    result = fast.stylize(photo, [load_image(style)], (1.0,))
    print(f"{result.seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2048x1362", "4096x2725", "4096x4096"])
    parser.add_argument("--modes", nargs="+", default=["whole", "blocks"])
    parser.add_argument("--content", type=Path, default=ASSETS / "content_chelsea.jpg")
    parser.add_argument("--style", type=Path, default=ASSETS / "style_starry_night.jpg")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        width, height, mode = args.child
        child(int(width), int(height), mode, args.content, args.style)
        return

    print(f"{args.content.name} with {args.style.name}; load average {os.getloadavg()}\n")
    print("| output (w×h) | rendering | stylize s | peak RSS GB |")
    print("| --- | --- | ---: | ---: |")
    for size in args.sizes:
        width, height = size.split("x")
        for mode in args.modes:
            command = [sys.executable, __file__, "--child", width, height, mode]
            command += ["--content", str(args.content), "--style", str(args.style)]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            seconds = process.stdout.read().strip()
            _, status, usage = os.wait4(process.pid, 0)
            peak = usage.ru_maxrss / 2**20  # kilobytes on Linux
            seconds = seconds if status == 0 else "failed"
            print(f"| {width}×{height} | {mode} | {seconds} | {peak:.2f} |")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
