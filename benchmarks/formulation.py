"""Seconds per L-BFGS evaluation with each formulation of VGG19's convolutions, as TensorFlow
runs them in this process (with oneDNN unless told otherwise; see nst/__init__.py).

Tübingen × Starry Night from the team's shared test images, the `tutorial` preset, the median of
six evaluations after two (`benchmarks/slow.py`'s timing). Run it twice to compare:

    .venv/bin/python benchmarks/formulation.py --size 512
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python benchmarks/formulation.py --size 512
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.slow import load, seconds_per_step
from nst import device
from nst.device import FORMULATIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="the image's long side, px")
    size = parser.parse_args().size
    chosen = device.formulation(device.current())
    print(f"{device.current().label}, oneDNN: {device.onednn()}, the library chooses {chosen}")
    for formulation in FORMULATIONS:
        device.formulation = lambda _device, _onednn=None, forced=formulation: forced
        seconds = seconds_per_step(size, "lbfgs")
        print(f"{size} px, {formulation}: {seconds:.2f} s an evaluation, load {load()}", flush=True)


if __name__ == "__main__":
    main()
