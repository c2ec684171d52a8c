"""The slow path's optimizer against the TF tutorial's Adam recipe, and its cost per step.

Same images (Tübingen × Starry Night from ../shared), same size, same objective (the `tutorial`
preset) and the same scorer as `python -m nst score`. "Loss" is style + content, as the tutorial
reports it. The tutorial's 1000-step curve takes over half an hour at 512 px, so it is recorded
once (`--record-baseline FILE`, `--steps` updates) and reused (`--baseline FILE`); its time axis
is then the seconds per step of the tutorial's own code (`tests/tutorial.py`), measured afresh in
the comparing run, under the same load as ours. That run also checks that the tutorial's code
retraces the recorded curve's first steps.

- ``--compare SIZE ...``: the time our optimizer (default: our L-BFGS, its color gain and
  history as given) takes to the loss the tutorial reaches after its recorded steps, and both
  losses at equal times;
- ``--speed SIZE ...``: the median seconds of one step (after two) of the tutorial's code, our
  Adam, our L-BFGS, scipy's L-BFGS-B, and our L-BFGS with two styles in two regions;
- ``--end-to-end SIZE ...``: a default run (default preset and schedule) scored under the
  tutorial's definition, and the tutorial's loss after as many seconds (with a baseline).

Each part writes its section of docs/measurements.md (the compare's title names a color gain
or history other than the defaults, so those runs keep their own sections).

    .venv/bin/python benchmarks/slow.py --record-baseline /tmp/slow-bench/baseline.json \\
        --size 256 512
    .venv/bin/python benchmarks/slow.py --baseline /tmp/slow-bench/baseline.json --compare 256 512
    .venv/bin/python benchmarks/slow.py --speed 256 512 1024
    .venv/bin/python benchmarks/slow.py --baseline /tmp/slow-bench/baseline.json --end-to-end 512
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # nst, benchmarks and tests

import numpy as np  # noqa: E402

from benchmarks.notes import record  # noqa: E402
from nst import device, losses, optimize  # noqa: E402
from nst.images import load_image, resize, resize_long_side  # noqa: E402
from nst.options import COLOR_GAIN, HISTORY, OptimizeOptions  # noqa: E402
from nst.targets import Targets  # noqa: E402
from tests import tutorial  # noqa: E402

SHARED_IMAGES = REPO.parent / "shared" / "images"
TUTORIAL_STEPS = 1000


def problem(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Content and style exactly as `losses.score` prepares them for an image of this size."""
    content = load_image(SHARED_IMAGES / "tubingen.jpg")
    style = load_image(SHARED_IMAGES / "starry_night.jpg")
    height, width = resize_long_side(content, size).shape[:2]
    return resize(content, (height, width)), resize_long_side(style, size)


def load() -> str:
    """The load average over 1, 5 and 15 minutes: other work on a shared machine."""
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup(precision: bool = True) -> str:
    """What the figures depend on besides the machine (which the section's stamp names): the
    TensorFlow, the device, oneDNN and (with ``precision``) the number format of VGG19 in our
    optimizer."""
    where = device.current()
    line = f"TensorFlow {version('tensorflow')}, {where.label}, oneDNN: {device.onednn()}"
    if precision:
        line += f", our optimizer's VGG19 in {device.precision('auto', where)}"
    return line


def record_baseline(size: int, steps: int) -> dict:
    """Run the tutorial's code for ``steps`` updates; ``loss[k]`` is the loss after k updates."""
    recipe = tutorial.Recipe(*problem(size))
    curve = {"size": size, "steps": steps, "loss": [], "load_before": load()}
    for step in range(steps + 1):
        curve["loss"].append(float(recipe.style_content_loss(recipe.extractor(recipe.image))))
        if step % 100 == 0:
            log(f"tutorial {size}px step {step}: {curve['loss'][-1]:.4g}")
        if step < steps:
            recipe.train_step()
    curve["load_after"] = load()
    return curve


def tutorial_seconds_per_step(size: int, steps: int = 8) -> tuple[float, list[float]]:
    """Median wall time of one step of the tutorial's own code after two warm-up steps, and the
    loss (style + content) before each step, to check against a recorded curve."""
    recipe = tutorial.Recipe(*problem(size))
    times, curve = [], []
    for _ in range(steps + 2):
        curve.append(float(recipe.style_content_loss(recipe.extractor(recipe.image))))
        started = time.perf_counter()
        recipe.train_step().numpy()
        times.append(time.perf_counter() - started)
    return float(np.median(times[2:])), curve


def seconds_per_step(
    size: int, optimizer: str, steps: int = 6, regions: bool = False, precision: str = "auto"
) -> float:
    """Median wall time of one of our steps (Adam update or L-BFGS evaluation) after two warm-up
    steps, all at ``size`` (one scale), VGG19 in ``precision``; with ``regions``, Starry Night on
    the left half and The Scream on the right (a mask)."""
    content, style = problem(size)
    options = OptimizeOptions(
        preset="tutorial", optimizer=optimizer, steps=steps + 2, scales=1, precision=precision
    )
    targets = Targets((style,))
    if regions:
        scream = resize_long_side(load_image(SHARED_IMAGES / "the_scream.jpg"), size)
        left = np.zeros(content.shape[:2], np.float32)
        left[:, : content.shape[1] // 2] = 1.0
        targets = Targets((style, scream), regions=(left, 1.0 - left))
    run = optimize.optimize(content, targets, options, preview_every=0)
    times = [item.seconds for item in run][:-1]
    return float(np.median(np.diff(times)[1:]))


def run_ours(size: int, target: float, options: OptimizeOptions) -> tuple[list, np.ndarray]:
    """Our optimizer on the tutorial objective until it beats ``target`` or time is up.

    Returns [(seconds, best loss so far)] per evaluation and the best image.
    """
    content, style = problem(size)
    curve, best, stop = [], np.inf, threading.Event()
    run = optimize.optimize(content, Targets((style,)), options, stop=stop, preview_every=0)
    for item in run:
        if item.done:
            return curve, item.preview
        best = min(best, item.losses["style"] + item.losses["content"])
        curve.append((item.seconds, best))
        if best <= target:
            stop.set()
    raise AssertionError("the generator always ends with a done item")


def first_time_below(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((seconds for seconds, loss in curve if loss <= target), None)


def loss_at(curve: list[tuple[float, float]], seconds: float) -> float:
    reached = [loss for t, loss in curve if t <= seconds]
    return reached[-1] if reached else float("nan")


def compare(size: int, baseline: dict, history: int, color_gain: float) -> list[str]:
    """A summary row and the rows of losses at equal times, for one size."""
    tutorial_step, retraced = tutorial_seconds_per_step(size)
    recorded = baseline["loss"][: len(retraced)]
    drift = max(abs(a - b) / b for a, b in zip(retraced, recorded, strict=True))
    log(
        f"{size}px: the tutorial's code retraces the recorded curve's first {len(retraced)} "
        f"steps within {drift:.1e} (relative)"
    )
    if drift > 1e-3:
        raise SystemExit(f"the recorded baseline does not match the tutorial's code at {size}px")
    steps = baseline["steps"]
    target = baseline["loss"][steps]
    tutorial_seconds = steps * tutorial_step
    tutorial_curve = [(k * tutorial_step, loss) for k, loss in enumerate(baseline["loss"])]
    log(
        f"{size}px: tutorial {tutorial_step:.3f} s/step, target {target:.4g} at "
        f"{tutorial_seconds:.0f} s; running ours (load {load()})"
    )
    options = OptimizeOptions(
        preset="tutorial",
        steps=10**6,
        time_budget=tutorial_seconds,
        history=history,
        color_gain=color_gain,
    )
    ours, image = run_ours(size, target, options)
    ours_seconds = first_time_below(ours, target)
    content, style = problem(size)
    scored = losses.score(image, content, Targets((style,)))
    budgets = [b for b in (15, 30, 60, 120, 240, 480) if b < (ours_seconds or tutorial_seconds)]
    rows = [
        f"| {size} | {budget:.0f} | {loss_at(tutorial_curve, budget):.4g} | "
        f"{loss_at(ours, budget):.4g} |"
        for budget in [*budgets, ours[-1][0]]
    ]
    speedup = f"{tutorial_seconds / ours_seconds:.1f}×" if ours_seconds else "not reached"
    summary = (
        f"| {size} | {target:.4g} | {tutorial_seconds:.0f} s ({tutorial_step:.3f} s/step) | "
        f"{f'{ours_seconds:.1f} s' if ours_seconds else 'not reached'} ({len(ours)} evaluations)"
        f" | {speedup} | "
        f"{scored['style_loss'] + scored['content_loss']:.4g} | {load()} |"
    )
    return [summary, *rows]


def compare_section(args: argparse.Namespace, baselines: dict[int, dict]) -> str:
    missing = [size for size in args.compare if size not in baselines]
    if missing:
        sys.exit(f"--compare {missing}: no curve at that size in --baseline {args.baseline}")
    steps = sorted({baselines[size]["steps"] for size in args.compare})
    summaries, details = [], []
    for size in args.compare:
        summary, *rows = compare(size, baselines[size], args.history, args.color_gain)
        print(summary, flush=True)
        summaries.append(summary)
        details += rows
    return (
        f"{setup()} (the tutorial's code in float32); our L-BFGS with color gain "
        f"{args.color_gain:g}, history {args.history}, "
        "on the tutorial's objective until it reaches the loss (style + content) the tutorial's "
        f"Adam has after its {' / '.join(map(str, steps))} recorded steps; the tutorial's time "
        "is its steps times its code's seconds per step measured in this run:\n\n"
        "| px | tutorial's loss after its steps (target) | tutorial's time to it | ours | "
        "sooner | ours, scored | load 1/5/15 min |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
        + "\n".join(summaries)
        + "\n\nThe best loss so far at equal times:\n\n"
        "| px | seconds | tutorial's loss | ours |\n| --- | ---: | ---: | ---: |\n"
        + "\n".join(details)
    )


def speed_section(sizes: list[int]) -> str:
    rows = []
    for size in sizes:
        recipe = tutorial_seconds_per_step(size)[0]
        ours = [seconds_per_step(size, name) for name in ("adam", "lbfgs", "lbfgs-b")]
        ours.append(seconds_per_step(size, "lbfgs", regions=True))
        rows.append(
            f"| {size} | {recipe:.3f} | "
            + " | ".join(f"{value:.3f}" for value in ours)
            + f" | {peak_memory_mib():.0f} | {load()} |"
        )
        print(rows[-1], flush=True)
    return (
        f"{setup()} (the tutorial's code in float32). Seconds of one step (an Adam update, or "
        "an L-BFGS evaluation), median of "
        "six after two, on the tutorial's objective; the peak RSS is the process's so far:\n\n"
        "| px | tutorial's code s/step | our Adam s/step | our L-BFGS s/evaluation | "
        "scipy L-BFGS-B s/evaluation | our L-BFGS, two styles in two regions | "
        "peak RSS MiB | load 1/5/15 min |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows)
    )


def end_to_end(size: int, baseline: dict | None) -> str:
    """A default run (default preset and schedule) at ``size``, scored under the tutorial, and
    the tutorial's recorded loss after as many seconds of its code."""
    content, style = problem(size)
    started = time.perf_counter()
    *_, final = optimize.optimize(content, Targets((style,)), preview_every=0)  # the defaults
    seconds = time.perf_counter() - started
    scored = losses.score(final.preview, content, Targets((style,)))
    ours = scored["style_loss"] + scored["content_loss"]
    theirs = "no baseline"
    if baseline:
        tutorial_step = tutorial_seconds_per_step(size)[0]
        steps = int(seconds / tutorial_step)
        if steps < len(baseline["loss"]):
            theirs = f"{baseline['loss'][steps]:.4g} ({steps} steps at {tutorial_step:.3f} s/step)"
        else:
            theirs = f"beyond the {baseline['steps']} recorded steps ({steps} steps)"
    return (
        f"| {size} | {seconds:.1f} | {final.step} | {ours:.4g} | {scored['style_loss']:.4g} | "
        f"{scored['content_loss']:.4g} | {theirs} | {load()} |"
    )


def end_to_end_section(sizes: list[int], baselines: dict[int, dict]) -> str:
    rows = []
    for size in sizes:
        rows.append(end_to_end(size, baselines.get(size)))
        print(rows[-1], flush=True)
    return (
        f"{setup()} (the tutorial's code in float32). A default run (the default preset, "
        "evaluations and schedule) timed end to "
        "end, its result scored under the tutorial's definition (style + content), and the "
        "tutorial's loss after as many seconds of its own code:\n\n"
        "| px | seconds | evaluations | ours: style + content | style | content | tutorial in "
        "the same time | load 1/5/15 min |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n" + "\n".join(rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", type=int, nargs="+", default=[256, 512], help="sizes for --record-baseline"
    )
    parser.add_argument("--record-baseline", metavar="FILE", help="write the tutorial curves")
    parser.add_argument(
        "--steps", type=int, default=TUTORIAL_STEPS, help="the tutorial's steps to record"
    )
    parser.add_argument("--baseline", metavar="FILE", help="tutorial curves recorded before")
    parser.add_argument("--compare", type=int, nargs="*", metavar="SIZE", default=[])
    parser.add_argument(
        "--color-gain",
        type=float,
        default=COLOR_GAIN,
        help="our L-BFGS's color metric (1: none), for --compare",
    )
    parser.add_argument("--history", type=int, default=HISTORY, help="our L-BFGS's, for --compare")
    parser.add_argument("--speed", type=int, nargs="*", metavar="SIZE", default=[])
    parser.add_argument("--end-to-end", type=int, nargs="*", metavar="SIZE", default=[])
    args = parser.parse_args()
    if not SHARED_IMAGES.is_dir():
        sys.exit(f"needs the shared test images at {SHARED_IMAGES}")
    if args.compare and not args.baseline:
        sys.exit("--compare needs --baseline FILE (recorded with --record-baseline)")
    if args.record_baseline:
        curves = [record_baseline(size, args.steps) for size in args.size]
        Path(args.record_baseline).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record_baseline).write_text(json.dumps(curves))
        log(f"wrote {args.record_baseline}")
    baselines = {}
    if args.baseline:
        baselines = {curve["size"]: curve for curve in json.loads(Path(args.baseline).read_text())}

    command = "benchmarks/slow.py"
    if args.compare:
        body = compare_section(args, baselines)
        title = "Optimizer: time to the tutorial's loss"
        flags = f"--baseline {args.baseline} --compare {' '.join(map(str, args.compare))}"
        if (args.color_gain, args.history) != (COLOR_GAIN, HISTORY):
            title += f", color gain {args.color_gain:g}, history {args.history}"
            flags += f" --color-gain {args.color_gain:g} --history {args.history}"
        print(record(title, f"{command} {flags}", body))
    if args.speed:
        body = speed_section(args.speed)
        flags = f"--speed {' '.join(map(str, args.speed))}"
        print(record("Optimizer: seconds per step", f"{command} {flags}", body))
    if args.end_to_end:
        body = end_to_end_section(args.end_to_end, baselines)
        flags = f"--end-to-end {' '.join(map(str, args.end_to_end))}"
        if args.baseline:
            flags = f"--baseline {args.baseline} {flags}"
        print(record("Optimizer: a default run", f"{command} {flags}", body))


if __name__ == "__main__":
    main()
