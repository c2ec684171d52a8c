"""Coarse to fine against one scale, at equal time: which reaches the lower loss at an output size.

The clock is calibrated first, as a server does when it starts (`nst.optimize.calibrate`), so a
time budget is shared out over the scales as the page would share it. Then each run optimizes
Tübingen × Starry Night (the team's shared test images) with the default preset until its time
budget ends it, once at the output size alone (one scale) and once with the default schedule
(`nst.schedule`: from the device's working size up, each scale twice the previous), and scores
the result under the tutorial's definition, as `python -m nst score` does. With ``--out``, it
writes each result as a PNG to look at. Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/schedule.py --size 1024 --budgets 60 120 240 [--out /tmp/schedule]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.notes import record
from benchmarks.slow import load, peak_memory_mib, problem, setup
from nst import device, losses, optimize
from nst.images import save_image
from nst.options import OptimizeOptions
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
        save_image(final.preview, out / f"{size}px-{budget:g}s-{scales}scales.png")
    return (
        f"| {size} | {budget:g} | {scales} | {final.step} | {seconds:.0f} | "
        f"{scored['style_loss'] + scored['content_loss']:.4g} | {scored['style_loss']:.4g} | "
        f"{scored['content_loss']:.4g} | {load()} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, nargs="+", required=True, help="the output's long side(s), px"
    )
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="seconds")
    parser.add_argument("--out", type=Path, help="write each result here as a PNG")
    args = parser.parse_args()
    working = device.defaults().size
    started = time.perf_counter()
    optimize.calibrate()
    calibration = time.perf_counter() - started
    rows = []
    for size in args.size:
        schedules = sorted({1, scale_count(size, working)})
        for budget in args.budgets:
            for scales in schedules:
                rows.append(run(size, scales, budget, args.out))
                print(rows[-1], flush=True)
    body = (
        f"{setup()}; working size {working} px; the clock calibrated first ({calibration:.0f} s). "
        "Each run ends when its time budget does; its result scored under the tutorial's "
        "definition:\n\n"
        "| px | budget, s | scales | evaluations | seconds | style + content | style | "
        "content | load 1/5/15 min |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
        + "\n".join(rows)
        + f"\n\nPeak RSS of the process: {peak_memory_mib():.0f} MiB."
    )
    command = (
        f"benchmarks/schedule.py --size {' '.join(map(str, args.size))} "
        f"--budgets {' '.join(f'{budget:g}' for budget in args.budgets)}"
    )
    print(record("Print size: coarse to fine against one scale", command, body))


if __name__ == "__main__":
    main()
