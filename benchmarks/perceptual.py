"""Measures of the perceptual controls (`Settings.style_scale`, `Settings.colors`) in both paths.

    .venv/bin/python benchmarks/perceptual.py [--size 320] [--steps 30] \\
        [--scales 0.25 0.35 0.5 0.7 1 1.4 2 2.8 4] [--paths fast slow] [--only scale|colors]

(a) Brush size: the high-frequency energy of the output (`high_frequency_energy`: the mean
squared Laplacian of its luminance) at each style scale; larger strokes leave less of it. The
fast path with the lite engine; the slow path with `--steps` L-BFGS evaluations from the content
(so the runs stay short and every scale gets the same work). For each column the table says over
which scales the energy falls monotonically.

(b) Colors: for "style", "luminance" and "histogram", the distance of the output's mean color
from the photo's (`mean_color_distance`) and the style loss under `losses.score` (the tutorial's
definition, as `Job.scored` reports it) against the style image as that job uses it (the
recolored one for "histogram"), its ratio to the "style" run's, the photo's own style loss
against the same style image (where the optimization starts; the tutorial's loss is not
normalised, so a recolored style with less color variance has smaller losses throughout), and
the result's style loss against the painting as given.

Each measure writes its section of docs/measurements.md, "Colors and brush size: brush size"
(with the style images' own high-frequency energy at each scale, which both paths copy) and
"Colors and brush size: colors", with the load average before and after.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # nst and benchmarks

from benchmarks.fast import load_average
from benchmarks.notes import record
from nst import pipeline
from nst.images import load_image, resize_style
from nst.metrics import high_frequency_energy, mean_color_distance
from nst.options import COLORS, FastOptions, OptimizeOptions, Settings

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PATHS = ("fast", "slow")
# The settings expose only the scales where both paths respond (`options.STYLE_SCALE_LIMITS`);
# these figures are how that range was chosen, so they go beyond it.
MEASURED_SCALE_LIMITS = (0.25, 4.0)
PAIRS = (
    ("content_chelsea.jpg", "style_starry_night.jpg"),
    ("content_coffee.jpg", "style_great_wave.jpg"),
    ("content_chelsea.jpg", "style_udnie.jpg"),
    ("content_coffee.jpg", "style_the_scream.jpg"),
)


def falling_range(scales: list[float], values: list[float]) -> tuple[float, float]:
    """The widest range of consecutive scales around the one nearest 1 over which ``values``
    strictly fall."""
    low = high = min(range(len(scales)), key=lambda i: abs(scales[i] - 1))
    while low > 0 and values[low - 1] > values[low]:
        low -= 1
    while high < len(values) - 1 and values[high + 1] < values[high]:
        high += 1
    return scales[low], scales[high]


def run(
    path: str, content: Path, style: Path, settings: Settings, steps: int
) -> tuple[pipeline.Job, pipeline.Result]:
    """One path's result for these settings: the lite engine, or ``steps`` L-BFGS evaluations
    from the content."""
    job = pipeline.prepare(
        content,
        [style],
        settings,
        FastOptions(engine="lite"),
        OptimizeOptions(init="content", steps=steps),
    )
    if path == "fast":
        return job, job.fast()
    return job, job.optimize(preview_every=0).run()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _beyond_the_range(settings: Settings, scale: float) -> Settings:
    """``settings`` with a style scale that may lie outside `options.STYLE_SCALE_LIMITS`: these
    figures are how that range was chosen, so they go beyond it (`MEASURED_SCALE_LIMITS`). The
    validation is skipped for this one object; nothing global changes."""
    low, high = MEASURED_SCALE_LIMITS
    if not low <= scale <= high:
        raise SystemExit(f"--scales must lie in {low:g}-{high:g}")
    object.__setattr__(settings, "style_scale", scale)
    return settings


def brush_size(args: argparse.Namespace) -> str:
    columns = [(path, pair) for path in args.paths for pair in PAIRS]
    energies: dict[tuple, list[float]] = {column: [] for column in columns}
    photos = {}
    for path, (content, style) in columns:
        for scale in args.scales:
            settings = _beyond_the_range(Settings(size=args.size), scale)
            job, result = run(path, ASSETS / content, ASSETS / style, settings, args.steps)
            energies[path, (content, style)].append(high_frequency_energy(result.image))
            photos[content] = high_frequency_energy(job.content)
            log(f"{path} {content} × {style} scale {scale:g}: {result.seconds:.1f} s")

    lines = [
        f"High-frequency energy of the output (mean squared Laplacian of its luminance, ×1000) "
        f"at {args.size} px, by style scale:",
        "",
    ]
    names = [f"{path}: {Path(c).stem[8:]} × {Path(s).stem[6:]}" for path, (c, s) in columns]
    lines.append("| style scale | " + " | ".join(names) + " |")
    lines.append("| ---: |" + " ---: |" * len(columns))
    for row, scale in enumerate(args.scales):
        cells = [f"{energies[column][row] * 1000:.3f}" for column in columns]
        lines.append(f"| {scale:g} | " + " | ".join(cells) + " |")
    photo_cells = [f"{photos[content] * 1000:.3f}" for _, (content, _) in columns]
    lines.append("| the photo | " + " | ".join(photo_cells) + " |")
    runs = [falling_range(args.scales, energies[column]) for column in columns]
    lines.append("| falls over | " + " | ".join(f"{low:g}–{high:g}" for low, high in runs) + " |")

    # What both paths copy: the style image's own fine detail at the size the slow path uses.
    lines += [
        "",
        f"The style images' own high-frequency energy (×1000) at S × {args.size} px:",
        "",
    ]
    styles = list(dict.fromkeys(style for _, style in PAIRS))
    lines.append("| style scale | " + " | ".join(Path(style).stem[6:] for style in styles) + " |")
    lines.append("| ---: |" + " ---: |" * len(styles))
    images = {style: load_image(ASSETS / style) for style in styles}
    for scale in args.scales:
        cells = [
            f"{high_frequency_energy(resize_style(images[style], args.size, scale)) * 1000:.1f}"
            for style in styles
        ]
        lines.append(f"| {scale:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def colors(args: argparse.Namespace) -> str:
    lines = [
        f"At {args.size} px, style scale 1:",
        "",
        "| path | photo × style | colors | mean color distance to the photo | style loss | "
        'ratio to "style" | the photo\'s own style loss | style loss against the painting '
        "as given |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for path in args.paths:
        for content, style in PAIRS:
            plain_loss = None
            as_given = pipeline.prepare(ASSETS / content, [ASSETS / style], Settings(args.size))
            for colors in COLORS:
                settings = Settings(size=args.size, colors=colors)
                job, result = run(path, ASSETS / content, ASSETS / style, settings, args.steps)
                loss = job.scored(result).losses["style_loss"]
                plain_loss = plain_loss or loss  # "style" comes first
                photo_loss = job.score(job.content)["style_loss"]
                loss_as_given = as_given.score(result.image)["style_loss"]
                distance = mean_color_distance(result.image, job.content)
                pair = f"{Path(content).stem[8:]} × {Path(style).stem[6:]}"
                lines.append(
                    f"| {path} | {pair} | {colors} | {distance:.3f} | {loss:.3g} | "
                    f"{loss / plain_loss:.2f} | {photo_loss:.3g} | {loss_as_given:.3g} |"
                )
                print(lines[-1], flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=320, help="output long side (px)")
    parser.add_argument("--steps", type=int, default=30, help="slow path: L-BFGS evaluations")
    parser.add_argument(
        "--scales", type=float, nargs="+", default=[0.25, 0.35, 0.5, 0.7, 1, 1.4, 2, 2.8, 4]
    )
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--only", choices=("scale", "colors"), help="one of the two measures")
    args = parser.parse_args()
    setting = (
        f"The fast path: the lite engine; the slow path: {args.steps} L-BFGS evaluations from "
        "the photo."
    )
    command = "benchmarks/perceptual.py"
    common = f"--size {args.size} --steps {args.steps} --paths {' '.join(args.paths)}"
    for measure, title, make in (
        ("scale", "Colors and brush size: brush size", brush_size),
        ("colors", "Colors and brush size: colors", colors),
    ):
        if args.only not in (None, measure):
            continue
        load_before, started = load_average(), time.perf_counter()
        body = make(args)
        body = (
            f"{setting}\n\n{body}\n\n{time.perf_counter() - started:.0f} s; load average "
            f"(1 / 5 / 15 min) {load_before} before, {load_average()} after."
        )
        flags = f"--only {measure} {common}"
        if measure == "scale":
            flags += f" --scales {' '.join(f'{scale:g}' for scale in args.scales)}"
        print(record(title, f"{command} {flags}", body))


if __name__ == "__main__":
    main()
