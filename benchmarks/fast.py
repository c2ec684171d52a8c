"""The fast path's time per image: median seconds for each engine at several sizes.

For each engine that loads here (lite always; hub only when its handle loads) and each output
long side, one warm-up call, then `--repeats` timed calls of the fast path as the page and the
CLI run it (`nst.pipeline.prepare(...).fast()`) on a content photo and a style image from
assets/. Model loading happens before any timing. Two figures per row: the whole call (decode,
resize, style prediction, rendering: what a user waits for) and the stylization alone as
`Result.seconds` reports it (what the app and CLI print). The library versions and the load
average before and after go with the table. Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/fast.py [--sizes 256 512 1024] [--repeats 7]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.notes import record  # noqa: E402
from nst import fast, pipeline  # noqa: E402
from nst.options import FastOptions, Settings  # noqa: E402

ASSETS = REPO / "assets"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    """The load average over 1, 5 and 15 minutes: other work on a shared machine."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def available_engines(handle: str | None) -> tuple[list[str], list[str]]:
    """Load every engine once (not timed): the ones that load, and a line on each."""
    engines, lines = [], []
    for name in ("lite", "hub"):
        start = time.perf_counter()
        try:
            fast.get_engine(name, handle)
        except fast.EngineUnavailable as error:
            lines.append(f"- {name}: unavailable: {error}")
            continue
        lines.append(f"- {name}: loaded in {time.perf_counter() - start:.2f} s (not counted)")
        engines.append(name)
    return engines, lines


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

    load_before = load_average()
    engines, engine_lines = available_engines(args.hub_handle)
    print("\n".join(engine_lines), flush=True)
    rows = []
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
            rows.append(
                f"| {result.recipe['engine']} | {width}×{height} | "
                f"{statistics.median(totals):.3f} | "
                f"{statistics.median(stylizations):.3f} | {min(totals):.3f}–{max(totals):.3f} |"
            )
            print(rows[-1], flush=True)

    body = (
        f"{args.content.name} with {args.style.name}, {args.repeats} timed calls after one "
        f"warm-up; onnxruntime {version('onnxruntime')}, tensorflow {version('tensorflow')}, "
        f"tensorflow-hub {version('tensorflow-hub')}, Python {platform.python_version()}. "
        "Engines:\n\n" + "\n".join(engine_lines) + "\n\n"
        "| engine | output (w×h) | median s, whole call | median s, stylization | min–max s, "
        "whole call |\n| --- | --- | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + f"\n\nLoad average (1 / 5 / 15 min): {load_before} before, {load_average()} after."
    )
    command = f"benchmarks/fast.py --sizes {' '.join(map(str, args.sizes))} "
    command += f"--repeats {args.repeats}"
    if args.content != ASSETS / "content_coffee.jpg":
        command += f" --content {args.content}"
    if args.style != ASSETS / "style_swirls.jpg":
        command += f" --style {args.style}"
    if args.hub_handle:
        command += f" --hub-handle {args.hub_handle}"
    print(record("Fast path: time per image", command, body))


if __name__ == "__main__":
    main()
