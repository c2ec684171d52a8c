"""Block-wise evaluation (`nst.vgg_blocks`) against the whole image's graph: seconds and memory.

Seconds per loss evaluation (value and gradient, as the optimizer calls it, with VGG19 in the
optimizer's precision; wall and CPU time, the latter a fairer figure on a shared machine), the
seconds to make the targets, and peak memory, for Tübingen × Starry Night (../shared) under the
default preset. Each configuration (a size, whole or in blocks of a size) runs in a process of
its own, so its peak RSS is that configuration's: the kernel's figure, as `/usr/bin/time -v`
reports it (from `os.wait4`). The ratio of an evaluation's time per pixel in blocks to the whole
graph's is what `nst.options.BLOCKWISE_COST` is read from. Writes its section of
docs/measurements.md.

    .venv/bin/python benchmarks/vgg_blocks.py [--sizes 1024 2048] [--blocks whole 512] \\
        [--evaluations 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.notes import record
from benchmarks.slow import load, peak_memory_mib, problem, setup
from nst import device
from nst.options import BLOCK_SIZE, NORMALIZED


def child(size: int, block: str, evaluations: int) -> None:
    """One configuration in this process; prints its figures as one JSON line."""
    from nst.losses import StyleLoss
    from nst.runtime import tf
    from nst.targets import Targets
    from nst.vgg import feature_extractor

    content, style = problem(size)
    block_size = None if block == "whole" else int(block)
    precision = device.precision("auto", device.current())  # as the optimizer resolves it
    extractor = feature_extractor(NORMALIZED.layers, precision=precision)
    started = time.perf_counter()
    loss = StyleLoss(content, Targets((style,)), NORMALIZED, extractor, block_size=block_size)
    built = time.perf_counter() - started
    evaluate = loss.value_and_grad()
    image = tf.constant(content[None])
    seconds = []  # (wall, CPU) per evaluation
    for _ in range(evaluations):
        started = time.perf_counter(), time.process_time()
        values, gradient = evaluate(image)
        float(values["total"]), gradient.numpy()
        seconds.append((time.perf_counter() - started[0], time.process_time() - started[1]))
    figures = {
        "shape": content.shape[:2],
        "targets": built,
        "seconds": seconds,
        "peak_mib": peak_memory_mib(),
    }
    print(json.dumps(figures), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048], help="long sides")
    parser.add_argument(
        "--blocks",
        nargs="+",
        default=["whole", str(BLOCK_SIZE)],
        help="'whole' (the whole image's graph) or a block size in px, each",
    )
    parser.add_argument("--evaluations", type=int, default=2, help="timed, in each process")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "BLOCK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.evaluations)
        return
    for block in args.blocks:
        if block != "whole" and not block.isdigit():
            parser.error(f"--blocks: 'whole' or a size in px, not {block!r}")

    rows = []
    for size in args.sizes:
        whole_per_pixel = None
        for block in args.blocks:
            command = [sys.executable, __file__, "--child", str(size), block]
            command += ["--evaluations", str(args.evaluations)]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            output = process.stdout.read().strip().splitlines()
            _, status, usage = os.wait4(process.pid, 0)
            how = "whole" if block == "whole" else f"blocks of {block} px"
            if status != 0 or not output:
                rows.append(f"| {size} | {how} | failed (status {status}) | | | | |")
                print(rows[-1], flush=True)
                continue
            figures = json.loads(output[-1])
            height, width = figures["shape"]
            last_wall, _ = figures["seconds"][-1]
            per_pixel = last_wall / (height * width)
            if block == "whole":
                whole_per_pixel = per_pixel
            ratio = f"{per_pixel / whole_per_pixel:.2f}" if whole_per_pixel else "–"
            evaluations = ", ".join(f"{w:.1f} ({c:.1f})" for w, c in figures["seconds"])
            rows.append(
                f"| {width}×{height} | {how} | {figures['targets']:.1f} | {evaluations} | "
                f"{ratio} | {usage.ru_maxrss / 1024:.0f} | {load()} |"
            )
            print(rows[-1], flush=True)
    body = (
        f"{setup()}. The default preset, one process per row; each evaluation's wall seconds "
        "(CPU seconds in brackets), the first including the graph's tracing; the last one's "
        "time per pixel relative to the whole graph's at the same size; the process's peak "
        "RSS:\n\n"
        "| image | VGG19's passes | targets s | evaluations s (CPU s) | time per pixel / whole's "
        "| peak RSS MiB | load 1/5/15 min |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n"
        + "\n".join(rows)
    )
    command = (
        f"benchmarks/vgg_blocks.py --sizes {' '.join(map(str, args.sizes))} "
        f"--blocks {' '.join(args.blocks)} --evaluations {args.evaluations}"
    )
    print(record("Print size: VGG19 in blocks", command, body))


if __name__ == "__main__":
    main()
