"""Benchmark of the fast path: median seconds per image for each engine at several sizes.

    python benchmarks/fast.py [--repeats 7] [--sizes 256 512 1024]

For each engine that loads here (lite always; hub only when its handle loads) and each output
long side, one warm-up call, then `--repeats` timed calls of the fast path as the page and the
CLI run it (`nst.pipeline.prepare(...).fast()`) on a content photo and a style image from
assets/. Model loading happens before any timing. Two figures per row: the whole call (decode,
resize, style prediction, rendering: what a user waits for) and the stylization alone as
`Result.seconds` reports it (what the app and CLI print).
Prints a markdown table with the machine, library versions and the load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nst import fast, pipeline
from nst.options import FastOptions, Settings

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def available_engines(handle: str | None) -> list[str]:
    """Load every engine once (not timed); report the ones that cannot load and why."""
    engines = []
    for name in ("lite", "hub"):
        start = time.perf_counter()
        try:
            fast.get_engine(name, handle)
        except fast.EngineUnavailable as error:
            print(f"- {name}: unavailable: {error}")
            continue
        print(f"- {name}: loaded in {time.perf_counter() - start:.2f} s (not counted below)")
        engines.append(name)
    return engines


def whole_call(
    content: Path, style: Path, settings: Settings, options: FastOptions
) -> pipeline.Result:
    """What the page and the CLI do for Fast: decode, resize, predict, render."""
    return pipeline.prepare(content, [style], settings, options).fast()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--content", type=Path, default=ASSETS / "content_coffee.jpg")
    parser.add_argument("--style", type=Path, default=ASSETS / "style_swirls.jpg")
    parser.add_argument("--hub-handle", help="TF Hub handle or SavedModel folder (default: hub's)")
    args = parser.parse_args()

    print("## Fast path benchmark\n")
    print(f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.platform()}")
    print(
        f"- onnxruntime {version('onnxruntime')}, tensorflow {version('tensorflow')}, "
        f"tensorflow-hub {version('tensorflow-hub')}, Python {platform.python_version()}"
    )
    print(f"- images: {args.content.name} with {args.style.name}; {args.repeats} timed runs")
    print(f"- load average at start (1, 5, 15 min): {load_average()}")
    engines = available_engines(args.hub_handle)
    print()
    print("| engine | output (w×h) | median s, whole call | median s, stylization | min–max s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for engine in engines:
        for size in args.sizes:
            settings = Settings(size=size)
            options = FastOptions(engine=engine, hub_handle=args.hub_handle)
            result = whole_call(args.content, args.style, settings, options)  # warm-up
            totals, stylizations = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = whole_call(args.content, args.style, settings, options)
                totals.append(time.perf_counter() - start)
                stylizations.append(result.seconds)
            height, width = result.image.shape[:2]
            print(
                f"| {result.recipe['engine']} | {width}×{height} | "
                f"{statistics.median(totals):.3f} | "
                f"{statistics.median(stylizations):.3f} | {min(totals):.3f}–{max(totals):.3f} |"
            )
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
