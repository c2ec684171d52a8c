"""Fast versus optimized: run both paths on the same inputs and measure them the same way.

Each result is scored with `nst.losses.score` (the tutorial's Gatys losses, VGG19 at the
result's own resolution), on exactly the pixels that are saved as PNG, so the numbers equal
what `python -m nst score` prints for the saved files.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from nst import fast
from nst.color import preserve_color as keep_content_colors
from nst.images import ImageSource, load_image, resize, save_image, to_pil, to_uint8
from nst.losses import DEFAULT, StyleLoss, score
from nst.optimize import Progress, optimize


@dataclass
class Result:
    """One path's image with what made it, how long it took and its losses."""

    image: np.ndarray
    seconds: float
    made_by: dict[str, Any]  # method and its settings, e.g. {"method": "fast", "engine": "lite"}
    losses: dict[str, float] = field(default_factory=dict)  # style_loss, content_loss, tv, total

    def metrics(self) -> dict[str, Any]:
        height, width = self.image.shape[:2]
        return {
            **self.losses,
            "seconds": round(self.seconds, 3),
            "size": [width, height],
            **self.made_by,
        }


def as_saved(image: np.ndarray) -> np.ndarray:
    """The image as it will be stored in an 8-bit file: what gets scored and shown."""
    return to_uint8(image).astype(np.float32) / 255.0


def measure(
    result: Result,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    style_weights: Sequence[float] | None = None,
) -> Result:
    """Fill `result.losses` with the `score` definition, computed on the saved pixels."""
    result.image = as_saved(result.image)
    result.losses = score(result.image, content, styles, style_weights)
    return result


def run_fast(
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    style_weights: Sequence[float] | None = None,
    *,
    size: int,
    strength: float = 1.0,
    preserve_color: bool = False,
) -> Result:
    """The fast path at `size` px long side, unscored."""
    result = fast.stylize(
        content,
        list(styles),
        style_weights=style_weights,
        strength=strength,
        size=size,
        preserve_color=preserve_color,
    )
    return Result(result.image, result.seconds, {"method": "fast", "engine": result.engine})


class OptimizeRun:
    """The slow path at `size` px long side as an iterable: iterate it for `Progress` (stream
    previews, stop it through `stop`); afterwards `result` holds the final, unscored Result.

    Options not given take the optimizer's defaults.
    """

    def __init__(
        self,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        style_weights: Sequence[float] | None = None,
        *,
        size: int,
        preserve_color: bool = False,
        init: str = "content",
        init_image: np.ndarray | None = None,
        stop: threading.Event | None = None,
        **options: Any,
    ) -> None:
        self.content = load_image(content, long_side=size)
        self.styles = [load_image(style, long_side=size) for style in styles]
        self.style_weights = style_weights
        self.preserve_color = preserve_color
        self.init, self.init_image, self.stop, self.options = init, init_image, stop, options
        self.result: Result | None = None

    def objective(self, image: np.ndarray) -> dict[str, float]:
        """The optimizer's own losses for any image at the run's size (e.g. the fast result)."""
        preset = self.options.get("preset", DEFAULT)
        loss = StyleLoss(self.content, self.styles, preset, self.style_weights)
        values = loss(tf.constant(resize(image, *self.content.shape[1::-1])[None], tf.float32))
        return {name: float(value) for name, value in values.items()}

    def __iter__(self) -> Iterator[Progress]:
        started = time.perf_counter()
        progress = None
        for progress in optimize(
            self.content,
            self.styles,
            style_blend=self.style_weights,
            init=self.init,
            init_image=self.init_image,
            stop=self.stop,
            **self.options,
        ):
            yield progress
        assert progress is not None and progress.done and progress.preview is not None
        image = progress.preview
        if self.preserve_color:
            image = keep_content_colors(image, self.content)
        made_by = {
            "method": "optimize",
            "optimizer": self.options.get("optimizer", "lbfgs"),
            "init": self.init,
            "steps": progress.step,
            "stopped_by": progress.stopped_by,
        }
        self.result = Result(image, time.perf_counter() - started, made_by)


def compare(
    content: ImageSource,
    styles: Sequence[ImageSource],
    style_weights: Sequence[float] | None = None,
    *,
    size: int = 512,
    strength: float = 1.0,
    preserve_color: bool = False,
    init: str = "fast",
    time_budget: float | None = 60.0,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Result, Result]:
    """Both paths on the same inputs, both scored; the optimizer may start from the fast result."""
    content_image = load_image(content)
    style_images = [load_image(style) for style in styles]
    fast_result = run_fast(
        content_image,
        style_images,
        style_weights,
        size=size,
        strength=strength,
        preserve_color=preserve_color,
    )
    run = OptimizeRun(
        content_image,
        style_images,
        style_weights,
        size=size,
        preserve_color=preserve_color,
        init=init,
        init_image=fast_result.image if init == "fast" else None,
        time_budget=time_budget,
    )
    for progress in run:
        if on_progress:
            on_progress(progress)
    optimized = run.result
    assert optimized is not None
    for result in (fast_result, optimized):
        measure(result, content_image, style_images, style_weights)
    return fast_result, optimized


def caption(name: str, result: Result) -> str:
    """Two lines for a result: what made it and its time, then its losses."""
    made_by = result.made_by.get("engine") or result.made_by.get("optimizer", "")
    losses = result.losses
    return (
        f"{name} ({made_by}) · {result.seconds:.1f} s\n"
        f"style {losses['style_loss']:.3g} · content {losses['content_loss']:.3g} · "
        f"total {losses['total']:.3g}"
    )


def side_by_side(panels: Sequence[tuple[str, np.ndarray]], gap: int = 12) -> np.ndarray:
    """Images scaled to a common height next to each other, each with its label above it.

    The label font shrinks until every label fits above its own image.
    """
    height = max(image.shape[0] for _, image in panels)
    widths = [round(image.shape[1] * height / image.shape[0]) for _, image in panels]
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    size = max(10, height // 24)
    while size > 8:
        font = ImageFont.load_default(size=size)
        if all(
            draw.multiline_textbbox((0, 0), label, font=font)[2] <= width
            for (label, _), width in zip(panels, widths, strict=True)
        ):
            break
        size -= 1
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


def write(out_dir: str | Path, content: np.ndarray, fast_result: Result, optimized: Result) -> Path:
    """Write fast.png, optimized.png, side_by_side.png and metrics.json into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_image(fast_result.image, out / "fast.png")
    save_image(optimized.image, out / "optimized.png")
    height, width = fast_result.image.shape[:2]
    panels = [
        ("Content", load_image(content, long_side=max(height, width))),
        (caption("Fast", fast_result), fast_result.image),
        (caption("Optimized", optimized), optimized.image),
    ]
    save_image(side_by_side(panels), out / "side_by_side.png")
    metrics = {
        "fast": fast_result.metrics(),
        "optimized": optimized.metrics(),
        "losses": "nst.losses.score: TF tutorial definition, VGG19 at the image's size",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return out
