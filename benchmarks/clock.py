"""The page's estimate of Optimize's time against the time a run takes, on this machine.

As a server does: the clock is calibrated first (`nst.optimize.calibrate`), then before each
default run (the device's evaluations, coarse to fine from the working size) the estimate the
page would show is read, and the run is timed from its start to its result. Each run also feeds
the clock, as on a server. Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/clock.py [--sizes 256 512 1024]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.notes import record
from nst import device, optimize, pipeline
from nst.clock import CLOCK
from nst.options import OptimizeOptions, Settings
from nst.schedule import scale_count, schedule

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    args = parser.parse_args()
    started = time.perf_counter()
    optimize.calibrate()
    calibration = time.perf_counter() - started
    defaults = device.defaults()
    rows = []
    for size in args.sizes:
        job = pipeline.prepare(
            ASSETS / "content_chelsea.jpg",
            [ASSETS / "style_starry_night.jpg"],
            Settings(size=size),
            optimize_options=OptimizeOptions(),
        )
        shape = job.content.shape[:2]
        scales = schedule(shape, defaults.steps, scale_count(max(shape), defaults.size))
        estimate = CLOCK.estimate(scales, defaults)
        started = time.perf_counter()
        job.optimize(preview_every=0).run()
        actual = time.perf_counter() - started
        steps = " + ".join(f"{s.steps} at {max(s.shape)} px" for s in scales)
        rows.append(
            f"| {shape[1]}×{shape[0]} | {steps} | {estimate:.1f} s | {actual:.1f} s | "
            f"{estimate / actual - 1:+.0%} |"
        )
        print(rows[-1], flush=True)
    body = (
        f"Calibration (two sizes, {optimize.CALIBRATION_STEPS} evaluations each, as a server "
        f"starts): {calibration:.1f} s. Then default runs of Chelsea × The Starry Night, each "
        "estimated just before it started (by the calibration and the runs before it), on "
        f"{device.current().label}, {device.precision('auto', device.current())}:\n\n"
        "| output | evaluations | estimated | took | error |\n| --- | --- | ---: | ---: | ---: |\n"
        + "\n".join(rows)
    )
    print(record("The page's time estimate", "benchmarks/clock.py", body))


if __name__ == "__main__":
    main()
