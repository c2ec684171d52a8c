"""Seconds per L-BFGS evaluation with each formulation of VGG19's convolutions, as TensorFlow
runs them in this process: with oneDNN (the library turns it on, `nst/__init__.py`) unless
TF_ENABLE_ONEDNN_OPTS=0 is given on the command line.

Tübingen × Starry Night from the team's shared test images, the `tutorial` preset, VGG19 in
``--precision`` (default: the device's, as the optimizer resolves it), the median of six
evaluations after two (`benchmarks/slow.py`'s timing), each formulation forced in turn
(`nst.device.formulation`). Run it twice to compare; each run writes its section of
docs/measurements.md, "Convolution formulation: oneDNN on" or "... off". Without oneDNN,
TensorFlow computes bfloat16 on generic code, many times slower: the CPUs that run without it
(AVX2 only) compute in float32, so compare in float32 where `auto` would choose bfloat16:

    .venv/bin/python benchmarks/formulation.py --size 512 --precision float32
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python benchmarks/formulation.py --size 512 \\
        --precision float32
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.notes import record
from benchmarks.slow import load, seconds_per_step, setup
from nst import device
from nst.device import FORMULATIONS
from nst.options import PRECISIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[512], help="long side(s), px")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="VGG19's")
    args = parser.parse_args()
    sizes = args.size
    precision = device.precision(args.precision, device.current())
    onednn = device.onednn()
    chosen = device.formulation(device.current())
    rows = []
    for size in sizes:
        seconds = {}
        for formulation in FORMULATIONS:
            device.formulation = lambda _device, _onednn=None, forced=formulation: forced
            seconds[formulation] = seconds_per_step(size, "lbfgs", precision=precision)
            print(f"{size} px, {formulation}: {seconds[formulation]:.3f} s", flush=True)
        rows.append(
            f"| {size} | "
            + " | ".join(f"{seconds[formulation]:.3f}" for formulation in FORMULATIONS)
            + f" | {seconds['direct'] / seconds['transposed']:.2f} | {load()} |"
        )
    body = (
        f"{setup(precision=False)}, VGG19 in {precision}. Seconds per L-BFGS evaluation "
        "(median of six after two) on the tutorial's objective with each formulation; the "
        f"library chooses **{chosen}** here:\n\n"
        "| px | "
        + " | ".join(f"{formulation} s" for formulation in FORMULATIONS)
        + " | direct / transposed | load 1/5/15 min |\n| --- |"
        + " ---: |" * (len(FORMULATIONS) + 1)
        + " --- |\n"
        + "\n".join(rows)
    )
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")
    command = f"benchmarks/formulation.py --size {' '.join(map(str, sizes))}"
    command += f" --precision {args.precision}"
    if setting != "1":
        command = f"TF_ENABLE_ONEDNN_OPTS={setting} {command}"
    title = f"Convolution formulation: oneDNN {'on' if onednn else 'off'}"
    print(record(title, command, body))


if __name__ == "__main__":
    main()
