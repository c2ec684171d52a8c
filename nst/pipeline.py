"""One job from uploads to results: the flow that the page, the CLI and `compare` share.

`prepare` validates the inputs and settings and decodes the images once (the content at its
output size); the `Job` it returns makes the fast result (`Job.fast`), runs the optimization
(`Job.optimize`: iterate it for `Progress`, the flow from the fast result written here once) and
scores any result under the tutorial's definition (`Job.score`). `compare` is the whole flow:
fast, then optimize from it, both scored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from nst import device, fast
from nst.color import match_colors, preserve_color
from nst.errors import InputError
from nst.images import (
    ImageSource,
    load_image,
    load_mask,
    resize,
    resize_long_side,
    resize_style,
    to_uint8,
)
from nst.options import REFINE_FAST, FastOptions, OptimizeOptions, Settings, normalize_mix
from nst.targets import Targets, build_targets

# The slow path's modules import TensorFlow, which takes seconds: they are imported where the
# slow path runs, so that the fast path and the checks of a request never wait for it.
if TYPE_CHECKING:
    from nst.optimize import Progress


@dataclass
class Result:
    """One path's image with what made it, how long it took and (once scored) its losses."""

    image: np.ndarray
    seconds: float
    recipe: dict[str, Any]  # the method and its settings, e.g. {"method": "fast", "engine": "lite"}
    losses: dict[str, float] = field(default_factory=dict)  # `losses.score`'s, once scored

    def metrics(self) -> dict[str, Any]:
        """What `metrics.json` holds of it: its size and seconds, its losses, its recipe."""
        height, width = self.image.shape[:2]
        return {
            "seconds": round(self.seconds, 3),
            "size": [width, height],
            "losses": self.losses,
            "recipe": self.recipe,
        }


@dataclass(frozen=True)
class Job:
    """Validated inputs of one request, decoded once. Build it with `prepare`."""

    content: np.ndarray  # at the output size
    # As decoded (recolored when `Settings.colors` is "histogram"): the fast path crops its own
    # 256 px square, the slow path resizes them (`styles_at_size`).
    styles: tuple[np.ndarray, ...]
    style_mix: tuple[float, ...]  # one weight per style, summing to 1
    settings: Settings
    fast_options: FastOptions
    optimize_options: OptimizeOptions
    # (H, W) in [0, 1] at the output size: white takes the first style, black the second (with
    # one style, black keeps the photo); grey mixes them.
    mask: np.ndarray | None = None

    @cached_property
    def styles_at_size(self) -> tuple[np.ndarray, ...]:
        """What VGG19 compares the image with: the styles at the style scale times the output's
        long side (`images.resize_style`)."""
        long_side, scale = max(self.content.shape[:2]), self.settings.style_scale
        return tuple(resize_style(style, long_side, scale) for style in self.styles)

    @cached_property
    def targets(self) -> Targets:
        return build_targets(self.content, self.styles_at_size, self.style_mix, self.mask)

    def fast(self) -> Result:
        """The fast path's image, unscored. With a mask, each style is rendered over the whole
        photo and the renderings are composited through the mask, feathered over a few pixels."""
        options, scale = self.fast_options, self.settings.style_scale
        if self.mask is None:
            made = [fast.stylize(self.content, self.styles, self.style_mix, options, scale)]
            image = made[0].image
        else:
            made = [
                fast.stylize(self.content, [style], (1.0,), options, scale) for style in self.styles
            ]
            white = _feather(self.mask)[..., None]
            black = made[1].image if len(made) == 2 else self.content
            image = white * made[0].image + (1.0 - white) * black
        engine = made[0].engine
        # onnxruntime runs the lite network on the CPU; the hub model runs where TensorFlow does.
        where = device.cpu() if engine == "lite" else device.current()
        recipe = {"method": "fast", "engine": engine, "device": where.label, **self._perceptual()}
        return Result(self._colors(image), sum(m.seconds for m in made), recipe)

    def optimize(
        self,
        fast_image: np.ndarray | None = None,
        stop: threading.Event | None = None,
        preview_every: int = 10,
    ) -> Optimization:
        """The optimization, to iterate for `Progress` or `Optimization.run` to its end.
        ``fast_image`` is the fast result's image (the caller makes it, with `fast`): the start
        when the options start from it, else only scored, for comparison
        (`Optimization.fast_loss`)."""
        if self.optimize_options.init == "fast" and fast_image is None:
            raise ValueError("the optimization starts from the fast result: pass its image")
        return Optimization(self, fast_image, stop, preview_every)

    def scored(self, result: Result) -> Result:
        """``result`` as it will be saved (8-bit), with its losses under `losses.score`."""
        result.image = to_uint8(result.image).astype(np.float32) / 255.0
        result.losses = self.score(result.image)
        return result

    def score(self, image: np.ndarray) -> dict[str, float]:
        """The tutorial's losses of any image at the output size (`losses.score`), against the
        styles as both paths use them (recolored, at the style scale), per region too when there
        is a mask."""
        from nst import losses

        return losses.score(image, self.content, self.targets)

    def _colors(self, image: np.ndarray) -> np.ndarray:
        """A finished result with the photo's colors when the settings ask for luminance only."""
        return preserve_color(image, self.content) if self.settings.colors == "luminance" else image

    def _perceptual(self) -> dict[str, Any]:
        """The perceptual controls for `Result.recipe`."""
        return {"colors": self.settings.colors, "style_scale": self.settings.style_scale}


def _feather(mask: np.ndarray) -> np.ndarray:
    """The mask blurred over about 0.4% of the image's long side (2 px at 512 px), so that the
    fast path's two renderings meet without a visible seam."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(mask, sigma=max(1.0, 0.004 * max(mask.shape)))


def prepare(
    content: ImageSource,
    styles: Sequence[ImageSource],
    settings: Settings = Settings(),
    fast_options: FastOptions = FastOptions(),
    optimize_options: OptimizeOptions = REFINE_FAST,
    mask: ImageSource | None = None,
) -> Job:
    """Decode and check everything a request gives; raises `InputError` with one line if bad.

    ``mask`` is any image (or an (H, W) array in [0, 1]): it is resized to the output and its
    brightness read as the share of the first style.
    """
    style_mix = normalize_mix(settings.style_mix, len(styles))
    content_image = resize_long_side(load_image(content), settings.size)
    style_images = tuple(load_image(style) for style in styles)
    if settings.colors == "histogram":
        # Recolored once, before anything uses them: both paths, the optimizer's targets and
        # the scoring then see the same styles.
        style_images = tuple(match_colors(style, content_image) for style in style_images)
    mask_map = None
    if mask is not None:
        if len(styles) > 2:
            raise InputError("A mask splits the photo in two: give one or two style images.")
        mask_map = load_mask(mask, content_image.shape[:2])
        if len(styles) == 1 and mask_map.max() < 0.5 / 255:
            raise InputError(
                "The mask is all black, so no part of the photo would take the style: paint "
                "(in white) where the style should go."
            )
    return Job(
        content_image, style_images, style_mix, settings, fast_options, optimize_options, mask_map
    )


class Optimization:
    """The slow path of a job: iterate it for `Progress` (previews, losses), or `run` it to its
    end; stop it through ``stop``. Afterwards `result` holds the final image, unscored."""

    def __init__(
        self,
        job: Job,
        fast_image: np.ndarray | None,
        stop: threading.Event | None,
        preview_every: int,
    ) -> None:
        self.job, self.fast_image, self.stop = job, fast_image, stop
        self.preview_every = preview_every
        self.fast_loss: float | None = None  # the fast image under the optimizer's objective
        self.result: Result | None = None

    def __iter__(self) -> Iterator[Progress]:
        from nst.optimize import optimize

        job, options = self.job, self.job.optimize_options
        started = time.perf_counter()
        progress = None
        for progress in optimize(
            job.content,
            job.targets,
            options,
            start=self.fast_image,
            stop=self.stop,
            preview_every=self.preview_every,
        ):
            if progress.step == 1 and progress.scales == 1 and self.fast_image is not None:
                # The fast image under the same objective, for comparison on one scale (the
                # losses of coarser scales do not compare with it). From the fast result, the
                # first evaluation is the fast image itself.
                fast_loss = progress.losses["total"] if options.init == "fast" else None
                self.fast_loss = fast_loss or self._objective(self.fast_image)
            yield progress
        assert progress is not None and progress.done and progress.preview is not None
        where = device.current()
        precision = device.precision(options.precision, where)  # as `optimize` resolved it
        recipe = {
            "method": "optimize",
            "optimizer": options.optimizer,
            "style_loss": options.style_loss,
            "init": options.init,
            "steps": progress.step,
            "stopped_by": progress.stopped_by,
            "scales": progress.scales,
            "device": f"{where.label}, {precision}",
            "precision": precision,
            **job._perceptual(),
        }
        image = job._colors(progress.preview)
        self.result = Result(image, time.perf_counter() - started, recipe)

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> Result:
        """Run to the end (calling ``on_progress`` with each `Progress`); the result, unscored."""
        for progress in self:
            if on_progress:
                on_progress(progress)
        assert self.result is not None  # set by the iteration's end
        return self.result

    def _objective(self, image: np.ndarray) -> float:
        from nst import losses
        from nst.runtime import tf

        job = self.job
        options = job.optimize_options
        loss = losses.StyleLoss(
            job.content, job.targets, options.loss_preset, statistics=(options.style_loss,)
        )
        image = resize(np.asarray(image, np.float32), job.content.shape[:2])
        return float(loss(tf.constant(image[None]))["total"])


def compare(
    job: Job, on_progress: Callable[[Progress], None] | None = None
) -> tuple[Result, Result]:
    """Both paths on the job's inputs, both scored; the optimizer starts as the job says
    (by default from the fast result)."""
    fast_result = job.fast()
    optimized = job.optimize(fast_result.image, preview_every=0).run(on_progress)
    return job.scored(fast_result), job.scored(optimized)
