"""Coarse to fine against one scale, at equal time: which reaches the lower loss at an output size.

Each run optimizes Tübingen × Starry Night (the team's shared test images) with the default
preset until a time budget ends it, once at the output size alone (`--scales 1`) and once with
the default schedule (`nst.schedule`: from the device's working size up, each scale twice the
previous), then scores the result under the tutorial's definition, as `python -m nst score`
does. With ``--out``, it writes each result as a PNG to look at.

    python benchmarks/schedule.py --size 1024 --budgets 60 120 240 --out /tmp/schedule
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from PIL import Image

from benchmarks.slow import load, peak_memory_mib, problem
from nst import device, losses, optimize
from nst.images import to_uint8
from nst.options import DEVICE_DEFAULTS, OptimizeOptions
from nst.schedule import scale_count
from nst.targets import Targets


def run(size: int, scales: int, budget: float, out: Path | None) -> str:
    content, style = problem(size)
    targets = Targets((style,))
    options = OptimizeOptions(time_budget=budget, scales=scales)  # only time ends it
    started = time.perf_counter()
    *_, final = optimize.optimize(content, targets, options, preview_every=0)
    seconds = time.perf_counter() - started
    scored = losses.score(final.preview, content, targets)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        name = f"{size}px-{budget:g}s-{scales}scales.png"
        Image.fromarray(to_uint8(final.preview)).save(out / name)
    return (
        f"| {size} | {budget:g} | {scales} | {final.step} | {seconds:.0f} | "
        f"{scored['style_loss'] + scored['content_loss']:.4g} | {scored['style_loss']:.4g} | "
        f"{scored['content_loss']:.4g} | {load()} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="the output's long side, px")
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="seconds")
    parser.add_argument("--out", type=Path, help="write each result here as a PNG")
    args = parser.parse_args()
    working = DEVICE_DEFAULTS[device.current().kind].size
    schedules = sorted({1, scale_count(args.size, working)})
    print(f"{device.current().label}, oneDNN: {device.onednn()}, working size {working} px\n")
    print(
        "| px | budget, s | scales | evaluations | seconds | style + content | style | "
        "content | load |\n|---|---|---|---|---|---|---|---|---|"
    )
    for budget in args.budgets:
        for scales in schedules:
            print(run(args.size, scales, budget, args.out), flush=True)
    print(f"\npeak RSS {peak_memory_mib():.0f} MiB")


if __name__ == "__main__":
    main()
