"""Benchmark of block-wise evaluation (`nst.vgg_blocks`) against the whole image's graph.

Seconds per loss evaluation (value and gradient, as the optimizer calls it; wall and CPU time,
the latter a fairer figure on a shared machine) and peak memory, for Tübingen x Starry Night
(../shared) under the default preset. One configuration per process, so the peak RSS is that
configuration's; run it under `/usr/bin/time -v` for the kernel's figure.

    /usr/bin/time -v python benchmarks/vgg_blocks.py --size 1024 --whole
    /usr/bin/time -v python benchmarks/vgg_blocks.py --size 2048 --block 512
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.slow import load, peak_memory_mib, problem
from nst.losses import StyleLoss
from nst.options import BLOCK_SIZE, NORMALIZED
from nst.targets import Targets


def main() -> None:
    import tensorflow as tf  # after nst, which turns oneDNN on before TensorFlow loads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True, help="the image's long side, px")
    parser.add_argument("--block", type=int, default=BLOCK_SIZE, help="block size, px")
    parser.add_argument("--whole", action="store_true", help="the whole image's graph instead")
    parser.add_argument("--evaluations", type=int, default=2)
    args = parser.parse_args()
    content, style = problem(args.size)
    block_size = None if args.whole else args.block
    started = time.perf_counter()
    loss = StyleLoss(content, Targets((style,)), NORMALIZED, block_size=block_size)
    built = time.perf_counter() - started
    evaluate = loss.value_and_grad()
    image = tf.constant(content[None])
    seconds = []  # (wall, CPU) per evaluation
    for _ in range(args.evaluations):
        started = time.perf_counter(), time.process_time()
        values, gradient = evaluate(image)
        float(values["total"]), gradient.numpy()
        seconds.append((time.perf_counter() - started[0], time.process_time() - started[1]))
    how = "whole" if block_size is None else f"blocks of {block_size} px"
    print(
        f"{content.shape[1]}x{content.shape[0]} px, {how}: targets {built:.1f} s, "
        f"evaluations {', '.join(f'{wall:.1f} s ({cpu:.1f} s CPU)' for wall, cpu in seconds)}, "
        f"peak RSS {peak_memory_mib():.0f} MiB, load {load()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
