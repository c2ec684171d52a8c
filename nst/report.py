"""How results are shown: captions, the labelled side-by-side image and `metrics.json`.

The page, the CLI and `compare` describe a result with the same words and numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nst.images import save_image, to_pil
from nst.pipeline import Job, Result

LOSSES_DEFINITION = (
    "nst.losses.score: TF tutorial definition, VGG19 at the image's size, against the style "
    "images as the job used them (recolored, at the style scale)"
)
# `Settings.colors` in words, for the page's choice and the captions.
COLOR_LABELS = {
    "style": "the style's",
    "luminance": "the photo's (luminance transfer)",
    "histogram": "the style's, matched to the photo",
}


def summary(result: Result) -> str:
    """One line: the method and its settings, where it ran, the time and the size."""
    how = result.recipe
    height, width = result.image.shape[:2]
    if how["method"] == "fast":
        method = f"Fast · {how['engine']} engine"
    else:
        over = f" over {how['scales']} scales" if how.get("scales", 1) > 1 else ""
        method = (
            f"Optimized · {how['optimizer']} from {how['init']}, {how['steps']} steps{over} "
            f"(ended by {how['stopped_by']}) · {STYLE_LOSS_LABELS[how['style_loss']]}"
        )
    # The perceptual controls, when they are not the defaults.
    if how.get("colors", "style") != "style":
        method += f" · colors: {COLOR_LABELS[how['colors']]}"
    if how.get("style_scale", 1.0) != 1.0:
        method += f" · style scale {how['style_scale']:g}"
    return f"{method} · {how['device']} · {result.seconds:.1f} s · {width}×{height} px"


def losses_line(losses: dict, bold: str = "") -> str:
    """One line of the scored losses, the style loss with both statistics, and each region's
    style loss when there is a mask; ``bold`` wraps each number (e.g. "**" in Markdown)."""
    numbers = [
        ("style loss", "style_loss"),
        ("style loss (W2)", "style_loss_w2"),
        ("content loss", "content_loss"),
        ("total", "total"),
    ]
    numbers = [(label, key) for label, key in numbers if key in losses]
    line = " · ".join(f"{label} {bold}{losses[key]:.3g}{bold}" for label, key in numbers)
    if regions := losses.get("style_loss_by_region"):
        white, black = (f"{bold}{value:.3g}{bold}" for value in regions)
        line += f" · style loss in white / black {white} / {black}"
    return line


# The style statistics (`nst.options.STYLE_LOSSES`) in words, and their keys in the scores.
STYLE_LOSS_LABELS = {"gram": "correlations (Gram)", "w2": "distributions (Wasserstein)"}
STYLE_LOSS_KEYS = {"gram": "style_loss", "w2": "style_loss_w2"}
# Two losses within this factor of each other read as the same.
SAME_WITHIN = 1.1


def versus_fast(fast: dict, optimized: dict, style_loss: str = "gram") -> str:
    """The optimized result's scored losses against the fast result's, in words and ratios:
    "Style 11× closer to the painting than Fast, photo kept as well". Both are `losses.score`'s
    of the same inputs, the style compared by the statistic the optimization matched
    (``style_loss``); a lower style loss is closer to the painting, a lower content loss keeps
    more of the photo."""
    key = STYLE_LOSS_KEYS[style_loss]
    style = _ratio(fast[key], optimized[key])
    content = _ratio(fast["content_loss"], optimized["content_loss"])
    if style >= SAME_WITHIN:
        words = f"Style {_times(style)} closer to the painting than Fast"
    elif style <= 1 / SAME_WITHIN:
        words = f"Style {_times(1 / style)} further from the painting than Fast"
    else:
        words = "Style as close to the painting as Fast"
    if content >= SAME_WITHIN:
        return f"{words}, {_times(content)} closer to the photo"
    if content <= 1 / SAME_WITHIN:
        return f"{words}, {_times(1 / content)} further from the photo"
    return f"{words}, photo kept as well"


def _ratio(fast: float, optimized: float) -> float:
    """How many times lower the optimized loss is than the fast one (losses are never negative;
    a loss of zero counts as a millionth of the other, so the ratio stays finite)."""
    floor = 1e-6 * max(fast, optimized, 1e-30)
    return max(fast, floor) / max(optimized, floor)


def _times(ratio: float) -> str:
    """A ratio as a person reads it: "1.5×", "11×", "over 1000×"."""
    if ratio > 1000:
        return "over 1000×"
    return f"{ratio:.0f}×" if ratio >= 9.95 else f"{ratio:.1f}×"


def caption(result: Result) -> str:
    """Two lines for a measured result: what made it, then its losses."""
    return summary(result) + "\n" + losses_line(result.losses)


def side_by_side(panels: Sequence[tuple[str, np.ndarray]], gap: int = 12) -> np.ndarray:
    """Images scaled to a common height next to each other, each with its label above it.

    The label font shrinks until every label fits above its own image, down to 8 px; below
    that, lines break at their " · " separators. Pillow's default font has no "×", so sizes are
    written with "x" there.
    """
    height = max(image.shape[0] for _, image in panels)
    widths = [round(image.shape[1] * height / image.shape[0]) for _, image in panels]
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def fits(label: str, width: int) -> bool:
        return draw.multiline_textbbox((0, 0), label, font=font)[2] <= width

    size = max(10, height // 24)
    while True:
        font = ImageFont.load_default(size=size)
        if size == 8 or all(fits(label, w) for (label, _), w in zip(panels, widths, strict=True)):
            break
        size -= 1
    panels = [
        (_wrap(label.replace("×", "x"), width, fits), image)
        for (label, image), width in zip(panels, widths, strict=True)
    ]
    lines = max(label.count("\n") + 1 for label, _ in panels)
    label_height = round(size * 1.3 * lines) + gap
    canvas = Image.new(
        "RGB", (sum(widths) + gap * (len(panels) + 1), height + label_height + gap), "white"
    )
    draw = ImageDraw.Draw(canvas)
    left = gap
    for (label, image), width in zip(panels, widths, strict=True):
        picture = to_pil(image).resize((width, height), Image.Resampling.LANCZOS)
        canvas.paste(picture, (left, label_height))
        draw.multiline_text((left, gap // 2), label, fill="black", font=font)
        left += width + gap
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _wrap(label: str, width: int, fits: Callable[[str, int], bool]) -> str:
    """``label`` with each line broken at " · " where it would be wider than ``width``."""
    wrapped = []
    for line in label.split("\n"):
        current = ""
        for part in line.split(" · "):
            joined = f"{current} · {part}" if current else part
            if current and not fits(joined, width):
                wrapped.append(current)
                joined = part
            current = joined
        wrapped.append(current)
    return "\n".join(wrapped)


def write(out_dir: str | Path, job: Job, fast_result: Result, optimized: Result) -> Path:
    """Write fast.png, optimized.png, side_by_side.png and metrics.json into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_image(fast_result.image, out / "fast.png")
    save_image(optimized.image, out / "optimized.png")
    panels = [
        ("Content", job.content),
        (caption(fast_result), fast_result.image),
        (caption(optimized), optimized.image),
    ]
    save_image(side_by_side(panels), out / "side_by_side.png")
    metrics = {
        "fast": fast_result.metrics(),
        "optimized": optimized.metrics(),
        "losses": LOSSES_DEFINITION,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return out
