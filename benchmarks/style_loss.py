"""Gram matrices against Wasserstein-2 as the style statistic: balance, cost, and results at
equal time, judged by a statistic neither optimizes.

- ``--balance``: on every photo × painting pair of `assets/` at 256 px, the normalized style
  loss of the photo itself (where every run starts) with each statistic; `W2_BALANCE` is set to
  their median ratio, so the default style weight weighs style against content alike.
- ``--cost``: seconds per evaluation (value and gradient) at 512 px with each, medians.
- ``--compare``: pairs that are not in the repository (../shared's Tübingen with each
  painting), each optimized from the photo for the same wall time with each statistic, then
  judged by the sliced Wasserstein distance between the result's and the painting's VGG19
  features (`nst.metrics.sliced_wasserstein`, block1 to block5) and by the content loss; and a
  side-by-side sheet, docs/style_statistics.jpg.

Writes its sections of docs/measurements.md.

    .venv/bin/python benchmarks/style_loss.py --balance --cost --compare [--seconds 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.notes import record  # noqa: E402
from nst import device, pipeline  # noqa: E402
from nst.images import load_image, resize_style, save_image  # noqa: E402
from nst.losses import StyleLoss  # noqa: E402
from nst.metrics import sliced_wasserstein  # noqa: E402
from nst.options import (  # noqa: E402
    NORMALIZED,
    TUTORIAL_STYLE_LAYERS,
    W2_BALANCE,
    OptimizeOptions,
    Settings,
)
from nst.report import side_by_side  # noqa: E402
from nst.runtime import tf  # noqa: E402
from nst.targets import Targets  # noqa: E402
from nst.vgg import feature_extractor  # noqa: E402

ASSETS = REPO / "assets"
SHARED = REPO.parent / "shared"
PHOTOS = sorted(ASSETS.glob("content_*.jpg"))
PAINTINGS = [
    ASSETS / f"style_{name}.jpg"
    for name in ("starry_night", "the_scream", "udnie", "great_wave", "camille_mauclair")
]


def balance() -> str:
    ratios = []
    for photo in PHOTOS:
        for painting in PAINTINGS:
            content = load_image(photo, 256)
            targets = Targets((resize_style(load_image(painting), 256),))
            loss = StyleLoss(content, targets, NORMALIZED, statistics=("gram", "w2"))
            values = loss(tf.constant(content[None]))
            unbalanced = float(values["style_w2"]) / W2_BALANCE
            ratios.append(float(values["style_gram"]) / unbalanced)
    return (
        f"The normalized style loss of the photo itself, Gram over W2 with `W2_BALANCE` 1, on "
        f"the {len(ratios)} photo × painting pairs of `assets/` at 256 px: median "
        f"**{statistics.median(ratios):.2f}** (from {min(ratios):.2f} to {max(ratios):.2f}). "
        "`W2_BALANCE` in `nst/options.py` is that median, rounded."
    )


def cost(size: int = 512, repeats: int = 7) -> str:
    content = load_image(ASSETS / "content_chelsea.jpg", size)
    targets = Targets((resize_style(load_image(ASSETS / "style_starry_night.jpg"), size),))
    precision = device.precision("auto", device.current())
    extractor = feature_extractor(precision=precision)
    image = tf.constant(content[None])
    rows, seconds = [], {}
    for statistic in ("gram", "w2"):
        evaluate = StyleLoss(content, targets, NORMALIZED, extractor, statistics=(statistic,))
        evaluate = evaluate.value_and_grad()
        evaluate(image)  # traced
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            values, gradient = evaluate(image)
            float(values["total"]), gradient.numpy()
            times.append(time.perf_counter() - started)
        seconds[statistic] = statistics.median(times)
        rows.append(f"| {statistic} | {seconds[statistic]:.3f} s |")
    ratio = seconds["w2"] / seconds["gram"]
    return (
        f"One evaluation (value and gradient) at {content.shape[1]}×{content.shape[0]} px, "
        f"{precision}, median of {repeats}:\n\n| statistic | seconds |\n| --- | ---: |\n"
        + "\n".join(rows)
        + f"\n\nW2 costs **{ratio:.2f}×** a Gram evaluation."
    )


def compare(seconds: float, size: int) -> str:
    photo = SHARED / "images" / "tubingen.jpg"
    if not photo.is_file():
        sys.exit(f"--compare needs {photo} (the team's shared test images)")
    extractor = feature_extractor()
    layers = TUTORIAL_STYLE_LAYERS
    rows, panels = [], []
    for painting in PAINTINGS:
        scores = {}
        for statistic in ("gram", "w2"):
            options = OptimizeOptions(time_budget=seconds, style_loss=statistic, init="content")
            job = pipeline.prepare(photo, [painting], Settings(size=size), optimize_options=options)
            result = job.scored(job.optimize(preview_every=0).run())
            style = job.styles_at_size[0]
            ours = {k: v.numpy() for k, v in extractor(result.image[None]).items() if k in layers}
            theirs = {k: v.numpy() for k, v in extractor(style[None]).items() if k in layers}
            scores[statistic] = (
                sliced_wasserstein(ours, theirs),
                result.losses["content_loss"],
                result.recipe["steps"],
            )
            panels.append((f"{painting.stem[6:]} · {statistic}", result.image))
        (g_swd, g_content, g_steps), (w_swd, w_content, w_steps) = scores["gram"], scores["w2"]
        rows.append(
            f"| {painting.stem[6:]} | {g_swd:.4f} ({g_steps}) | {w_swd:.4f} ({w_steps}) | "
            f"{w_swd / g_swd:.2f} | {w_content / g_content:.2f} |"
        )
        print(rows[-1], flush=True)
    sheet = side_by_side(panels[:6]) if len(panels) >= 6 else side_by_side(panels)
    save_image(sheet, REPO / "docs" / "style_statistics.jpg")
    closer = sum(float(r.split("|")[4]) < 1 and float(r.split("|")[5]) <= 1.25 for r in rows)
    return (
        f"Tübingen (../shared, not in the repository) with each painting, {size} px, "
        f"optimized from the photo for {seconds:g} s with each statistic (evaluations in "
        "brackets), judged by the sliced Wasserstein distance between the result's and the "
        "painting's VGG19 features at block1_conv1 … block5_conv1 (256 random directions, "
        "relative to the painting's; lower is closer to the painting's distribution) and by "
        "the tutorial's content loss:\n\n"
        "| painting | Gram: distance (evaluations) | W2: distance (evaluations) | W2 / Gram "
        "distance | W2 / Gram content loss |\n| --- | ---: | ---: | ---: | ---: |\n"
        + "\n".join(rows)
        + f"\n\nW2 closer to the painting's distribution without giving up more than a quarter "
        f"more content loss: **{closer} of {len(rows)}** pairs. The first three pairs side by "
        "side: docs/style_statistics.jpg."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--balance", action="store_true")
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--seconds", type=float, default=60, help="each run's budget (--compare)")
    parser.add_argument("--size", type=int, default=512, help="output long side (--compare)")
    args = parser.parse_args()
    command = "benchmarks/style_loss.py"
    if args.balance:
        print(record("Style statistics: balance", f"{command} --balance", balance()))
    if args.cost:
        print(record("Style statistics: cost", f"{command} --cost", cost()))
    if args.compare:
        body = compare(args.seconds, args.size)
        flags = f"--compare --seconds {args.seconds:g} --size {args.size}"
        print(record("Style statistics: at equal time", f"{command} {flags}", body))


if __name__ == "__main__":
    main()
