"""VGG19's precision in the slow path: float32 against bfloat16, in speed, result and memory.

Tübingen × Starry Night from ../shared, our default optimizer and objective. ``--speed`` times
an L-BFGS evaluation (median after two warm-ups); ``--trajectory`` runs the same number of
evaluations from the content in both precisions and scores both results under the tutorial's
definition (in float32, as `python -m nst score`); ``--memory`` runs one evaluation in a fresh
process per size and precision and reports how much its peak RSS rose above the process's
before it (the activations kept for the gradient, and the kernels' scratch). Each part writes
its section of docs/measurements.md.

Where the CPU has no native bfloat16 (AVX512_BF16, AMX; the section's stamp lists the CPU's)
TensorFlow runs it on generic code: the figures then show what ``--precision bfloat16`` costs
there, not what it gains where native.

    .venv/bin/python benchmarks/precision.py --speed 256 512 --trajectory 64 --memory 512
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

import numpy as np

from benchmarks.notes import record
from benchmarks.slow import load, setup
from nst import device, losses, vgg
from nst.images import load_image, resize, resize_long_side
from nst.optimize import optimize
from nst.options import OptimizeOptions
from nst.targets import Targets

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"
PRECISIONS = ("float32", "bfloat16")


def problem(size: int) -> tuple[np.ndarray, Targets]:
    content = load_image(SHARED_IMAGES / "tubingen.jpg")
    style = load_image(SHARED_IMAGES / "starry_night.jpg")
    height, width = resize_long_side(content, size).shape[:2]
    return resize(content, (height, width)), Targets((resize_long_side(style, size),))


def setting() -> str:
    """What the figures depend on besides the machine, and what `auto` chooses here."""
    auto = device.precision("auto", device.current())
    return f"{setup(precision=False)}; `auto` chooses {auto} here"


def seconds_per_evaluation(size: int, precision: str, timed: int) -> float:
    content, targets = problem(size)
    options = OptimizeOptions(steps=timed + 2, precision=precision, scales=1)  # all at size
    times = [item.seconds for item in optimize(content, targets, options, preview_every=0)][:-1]
    return float(np.median(np.diff(times)[1:]))


def final_score(size: int, precision: str, steps: int) -> tuple[float, float]:
    """The tutorial's total of the best image after ``steps`` evaluations, and the objective."""
    content, targets = problem(size)
    options = OptimizeOptions(steps=steps, precision=precision)
    final = list(optimize(content, targets, options, preview_every=0))[-1]
    return losses.score(final.preview, content, targets)["total"], final.best_losses["total"]


def evaluation_memory_mib(size: int, precision: str) -> float:
    """In this process: one evaluation's rise of the peak RSS (call in a fresh process)."""
    content, targets = problem(size)
    options = OptimizeOptions(steps=1, precision=precision, scales=1)  # at size
    vgg.feature_extractor(options.loss_preset.layers, precision=precision)  # built beforehand
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    list(optimize(content, targets, options, preview_every=0))  # the targets, one evaluation
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def speed(sizes: list[int], timed: int) -> str:
    rows = []
    for size in sizes:
        seconds = [seconds_per_evaluation(size, p, timed) for p in PRECISIONS]
        rows.append(
            f"| {size} | {seconds[0]:.3f} | {seconds[1]:.3f} | {seconds[0] / seconds[1]:.2f} | "
            f"{load()} |"
        )
        print(rows[-1], flush=True)
    return (
        f"{setting()}. Seconds per L-BFGS evaluation of the default objective, median of "
        f"{timed} after two:\n\n"
        "| px | float32 s/evaluation | bfloat16 s/evaluation | float32 / bfloat16 | "
        "load 1/5/15 min |\n| --- | ---: | ---: | ---: | --- |\n" + "\n".join(rows)
    )


def trajectory(sizes: list[int], steps: int) -> str:
    rows = []
    for size in sizes:
        (f32, f32_objective), (bf16, bf16_objective) = (
            final_score(size, p, steps) for p in PRECISIONS
        )
        rows.append(
            f"| {size} | {f32:.4g} / {bf16:.4g} | {bf16 / f32 - 1:+.2%} | "
            f"{f32_objective:.4g} / {bf16_objective:.4g} | {load()} |"
        )
        print(rows[-1], flush=True)
    return (
        f"{setting()}. {steps} L-BFGS evaluations from the photo in each precision; the best "
        "image scored under the tutorial's definition in float32, and the objective as the run "
        f"saw it:\n\n| px | tutorial's loss, float32 / bfloat16 | difference | objective, "
        "float32 / bfloat16 | load 1/5/15 min |\n| --- | ---: | ---: | ---: | --- |\n"
        + "\n".join(rows)
    )


def memory(sizes: list[int]) -> str:
    rows = []
    for size in sizes:
        rises = [
            subprocess.run(
                [sys.executable, __file__, "--memory-of", str(size), p],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            for p in PRECISIONS
        ]
        rows.append(f"| {size} | {float(rises[0]):.0f} MiB | {float(rises[1]):.0f} MiB |")
        print(rows[-1], flush=True)
    return (
        f"{setting()}. The rise of the peak RSS over one evaluation of the default objective (the "
        "targets and VGG19 made before it), each in a fresh process:\n\n"
        "| px | float32 | bfloat16 |\n| --- | ---: | ---: |\n" + "\n".join(rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=int, nargs="*", metavar="SIZE", default=[])
    parser.add_argument("--timed", type=int, default=2, help="evaluations timed per run")
    parser.add_argument("--trajectory", type=int, nargs="*", metavar="SIZE", default=[])
    parser.add_argument("--steps", type=int, default=100, help="evaluations of --trajectory")
    parser.add_argument("--memory", type=int, nargs="*", metavar="SIZE", default=[])
    parser.add_argument("--memory-of", nargs=2, metavar=("SIZE", "PRECISION"), help="internal")
    args = parser.parse_args()
    if args.memory_of:
        print(evaluation_memory_mib(int(args.memory_of[0]), args.memory_of[1]))
        return
    if not SHARED_IMAGES.is_dir():
        sys.exit(f"needs the shared test images at {SHARED_IMAGES}")
    print(setting(), flush=True)
    command = "benchmarks/precision.py"
    if args.speed:
        flags = f"--speed {' '.join(map(str, args.speed))} --timed {args.timed}"
        print(record("Precision: speed", f"{command} {flags}", speed(args.speed, args.timed)))
    if args.trajectory:
        body = trajectory(args.trajectory, args.steps)
        flags = f"--trajectory {' '.join(map(str, args.trajectory))} --steps {args.steps}"
        print(record("Precision: the result", f"{command} {flags}", body))
    if args.memory:
        flags = f"--memory {' '.join(map(str, args.memory))}"
        print(record("Precision: memory", f"{command} {flags}", memory(args.memory)))


if __name__ == "__main__":
    main()
