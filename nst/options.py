"""Every choice a person makes and every limit the library enforces, defined once.

Three frozen dataclasses hold a job's settings: `Settings` (what both paths share), `FastOptions`
and `OptimizeOptions`. Each field carries its own help text, so the CLI derives its options from
them (names, defaults, choices) as crowsonkb/style-transfer-pytorch derives its CLI from
`stylize`'s keywords, and the page takes its choices from the same constants. Constructing one
validates it and raises `InputError` with a one-line message.

This module does not import TensorFlow, so the CLI answers ``--help`` and refuses bad input
without loading it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nst.errors import InputError

# Images. Below MIN_SIDE no network has anything to work with (VGG19 pools four times before
# block5, Magenta's transformer downsamples 8x); 40 megapixels is a large phone photo, a
# decompression bomb is far more.
MIN_SIDE = 16
MAX_INPUT_PIXELS = 40_000_000
# An image file: 2 bytes a pixel of the largest input, rounded up (80 MB). PNGs of photos take
# 1.0-2.0 bytes a pixel and JPEGs 0.2-0.5, so any photo the pixel limit admits fits.
MAX_IMAGE_BYTES = 80 * 2**20
# Videos (`nst.video`): frames up to 4K UHD, up to 240 frames a second (phones' slow motion), at
# most an hour by what the container declares and by the frames' own timestamps; a web host
# sets its own, shorter limit. A file up to 2 GB (an hour of 1080p from a phone is about 10 GB,
# a minute of 4K about 0.4 GB).
MAX_VIDEO_PIXELS = 3840 * 2160
MAX_VIDEO_FPS = 240
MAX_VIDEO_SECONDS = 3600.0
MAX_VIDEO_BYTES = 2 * 2**30
# Output long side: up to print size (4096 px is 35 cm at 300 dpi). Memory stays bounded: the
# slow path's VGG19 passes run in blocks above a size and its L-BFGS history is sized by memory
# (HISTORY_BYTES); the fast path renders in blocks beyond FAST_WHOLE_MEMORY.
SIZE_LIMITS = (64, 4096)
# The lite engine renders the whole image in one pass while that pass's estimated peak memory,
# FAST_BYTES_PER_PIXEL a pixel (peak RSS over pixels, measured at 2048 and 4096 px), stays within
# FAST_WHOLE_MEMORY; a larger image is rendered FAST_BLOCK_SIDE px square at a time with the
# whole image's normalisation statistics (`nst.fast_blocks`): the same image in bounded memory.
FAST_BYTES_PER_PIXEL = 300
FAST_WHOLE_MEMORY = 2 * 2**30
FAST_BLOCK_SIDE = 1024
# The slow path evaluates its loss and gradient block by block (`nst.vgg_blocks`, exactly the whole
# image's) when the output's long side exceeds the device's `DeviceDefaults.blockwise_above`;
# peak memory then follows the block, BLOCK_SIZE px square (its inner part, plus a margin of 96
# px each side), not the image. In blocks an evaluation costs about BLOCKWISE_COST times the whole
# graph's time per pixel: two forward passes instead of one, over blocks 1.9x their inner area with
# the margins (docs/measurements.md, "Print size").
BLOCK_SIZE = 512
BLOCKWISE_COST = 2.8

# The page's tighter limits for a shared 2-core host (the library and the CLI take the above).
# The page's largest output is the device's (`DeviceDefaults.page_max_size`).
PAGE_MIN_SIZE = 128
# Up to 10 minutes: a print-size result on a CPU (the page shows the estimate before it starts).
PAGE_TIME_BUDGET_LIMITS = (10, 600)

ENGINES = ("auto", "hub", "lite")
OPTIMIZERS = ("lbfgs", "lbfgs-b", "adam")
INITS = ("content", "fast", "noise")
# VGG19's number format in the slow path (`nst.device.precision`): bfloat16 where the CPU computes
# it natively, else float32. The Gram matrices, the losses, the image and the optimizer's state
# are float32 in both; bfloat16 only keeps float32's exponent range with fewer digits, which the
# convolutions tolerate (the loss within 1e-3, tests/test_precision.py).
PRECISIONS = ("auto", "float32", "bfloat16")
# The slow path's loss definitions (`nst.losses`): which VGG19 layers count and how much.
TUTORIAL_STYLE_LAYERS = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)


@dataclass(frozen=True)
class LossPreset:
    """Which layers count and how much. Layer weights multiply the global style/content weights."""

    style_layers: dict[str, float]
    content_layers: dict[str, float]
    style_weight: float
    content_weight: float
    tv_weight: float
    # False: the tutorial's plain mean squared errors and summed TV (which grows with the image).
    # True: each layer's error is relative to its target's mean square, so every layer counts
    # alike whatever its activation scale, and TV is a per-pixel mean: the same weights then
    # work at any resolution and for any style image.
    normalized: bool = False
    name: str = field(default="custom", compare=False)

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.style_layers, *self.content_layers]))


TUTORIAL = LossPreset(
    style_layers={name: 1 / 5 for name in TUTORIAL_STYLE_LAYERS},
    content_layers={"block5_conv2": 1.0},
    style_weight=1e-2,
    content_weight=1e4,
    tv_weight=30.0,
    name="tutorial",
)
# The optimizer's objective: the tutorial's layers, each normalised (so no single layer dominates,
# as block4_conv1 does in the tutorial's sums). Content at block5_conv2 also scored better under
# the tutorial's definition than block4_conv2 at equal time. Weights chosen by eye on Tübingen x
# Starry Night.
NORMALIZED = LossPreset(
    style_layers={name: 1 / 5 for name in TUTORIAL_STYLE_LAYERS},
    content_layers={"block5_conv2": 1.0},
    style_weight=10.0,
    content_weight=1.0,
    tv_weight=1.0,
    normalized=True,
    name="normalized",
)
PRESETS = {preset.name: preset for preset in (NORMALIZED, TUTORIAL)}


# Which statistic of a style layer's features the optimizer matches (`nst.losses`): their Gram
# matrix (correlations, Gatys et al.), or the Gaussian fitted to them under the Wasserstein-2
# distance (distributions; `nst.wasserstein`). Every result is scored with both.
STYLE_LOSSES = ("gram", "w2")
# W2 under the normalized preset: each layer's W2² over the style's mean squared feature norm,
# times this, so the default style weight balances style and content as with Gram matrices
# (docs/measurements.md, "Style statistics").
W2_BALANCE = 1.5

# Whose colors the result has (Gatys et al. 2017, "Controlling Perceptual Factors in Neural
# Style Transfer", section 5): the style's; the photo's, by taking only luminance from the
# result (`nst.color.preserve_color`); or the style's recolored to the photo's color mean and
# covariance before stylizing (`nst.color.match_colors`).
COLORS = ("style", "luminance", "histogram")
# Brush size: the style image's scale relative to the output (1: as given; 2: the style twice as
# large, so broader strokes; `nst.images.resize_style`, `nst.fast.prepare_style`). The range is
# where both paths respond: below 1 the fast path barely changes, its strokes already nearly its
# finest (docs/measurements.md, "Colors and brush size").
STYLE_SCALE_LIMITS = (1.0, 4.0)
# The slow path's style image at scale S has S times the output's long side, but at most the
# largest output's: VGG19's activations of a larger style would need more memory than any
# output the library makes.
MAX_STYLE_SIDE = SIZE_LIMITS[1]
# Style emphasis multiplies the loss preset's style weight.
STYLE_EMPHASIS = {"subtle": 0.3, "balanced": 1.0, "strong": 3.0}

# Video (`nst.video`): how much of the previous output each frame takes where the flow is
# trusted: the largest weight (in steps of 0.1) whose warping error is at most half frame by
# frame's and whose outputs stay within a perceptual distance of 0.06 of the frame-by-frame
# ones on every clip `benchmarks/video.py` measures; a larger one drifts too far on a fast pan
# (docs/measurements.md, "Video").
DEFAULT_TEMPORAL = 0.4
# Output short side: the smallest the network still draws strokes at, up to 4K's.
VIDEO_SIZE_LIMITS = (64, 2160)


@dataclass(frozen=True)
class DeviceDefaults:
    """What a good result costs on one kind of device: the page's output size (also the working
    size that larger outputs are solved at first, `nst.schedule`), the optimizer's evaluations
    when no time budget ends the run first, the page's largest output, and the long side above
    which VGG19's passes run in blocks (`block_size`). How long an evaluation takes is measured
    on the machine itself (`nst.clock`)."""

    size: int
    steps: int
    page_max_size: int
    blockwise_above: int

    def block_size(self, shape: tuple[int, int]) -> int | None:
        """The block size of the slow path's passes over an image of ``shape`` (height, width):
        `BLOCK_SIZE` above `blockwise_above`, else None (the whole image at once)."""
        return BLOCK_SIZE if max(shape) > self.blockwise_above else None


# A CPU's working size is where 50 L-BFGS evaluations, a good result, take about a minute on 2
# cores; a GPU's is twice that, where 500 evaluations (a converged result) take about a minute on
# a T4 by the GPU figures of ../shared/notes/gpu-anchor.md. The page's largest output is the one
# whose default run the page's longest time budget can still see through on a CPU, print size on
# a GPU. Blocks start on a CPU where the whole graph stops being the smaller in memory (it is
# always the faster); on a GPU where it no longer fits a T4's 16 GB (docs/measurements.md, "Print
# size").
DEVICE_DEFAULTS = {
    "CPU": DeviceDefaults(size=512, steps=50, page_max_size=2048, blockwise_above=1024),
    "GPU": DeviceDefaults(size=1024, steps=500, page_max_size=4096, blockwise_above=2048),
}
# Moves in color (zero mean over R, G, B) change VGG19's features far less than moves in
# brightness, so the loss is flatter along them and L-BFGS's one-number initial Hessian steps too
# timidly there: color steps COLOR_GAIN times larger reached the tutorial's loss in fewer
# evaluations (docs/measurements.md, "Optimizer").
COLOR_GAIN = 4.0
# L-BFGS history: longer histories took fewer evaluations to the same loss, with diminishing
# returns past 40 (docs/measurements.md, "Optimizer"). Each step kept costs two image-sized
# float32 tensors, so its memory is bounded by HISTORY_BYTES: all 40 steps up to about 1500 px,
# 4 at 4096×3072.
HISTORY = 40
HISTORY_BYTES = 1_500_000_000


def _option(default: Any, help: str, **cli: Any) -> Any:
    """A dataclass field whose metadata is its command-line help (and argparse extras; ``aliases``
    are older option names still accepted)."""
    return field(default=default, metadata={"help": help, **cli})


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


def check_sides(width: int, height: int, advice: str = "", what: str = "The image is") -> None:
    """Refuse an image with a side under `MIN_SIDE`, in one line ending with ``advice``: the one
    check of the least size, wherever an image is made or given."""
    message = f"{what} {width}×{height} pixels; both sides need at least {MIN_SIDE}."
    _check(min(width, height) >= MIN_SIDE, f"{message} {advice}".strip())


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _choice(name: str, value: str, choices: Sequence[str]) -> None:
    _check(value in choices, f"Unknown {name} '{value}'; choose one of {', '.join(choices)}.")


def _check_size(size: int, limits: tuple[int, int]) -> None:
    low, high = limits
    _check(
        isinstance(size, int) and low <= size <= high,
        f"Output size must be between {low} and {high} pixels, not {size}.",
    )


def _check_style_scale(scale: float) -> None:
    low, high = STYLE_SCALE_LIMITS
    _check(
        _finite(scale) and low <= scale <= high,
        f"Style scale must be between {low:g} and {high:g}, not {scale}.",
    )


def _check_strength(strength: float) -> None:
    _check(
        _finite(strength) and 0.0 <= strength <= 1.0,
        f"Style strength must be between 0 and 1, not {strength}.",
    )


@dataclass(frozen=True)
class Settings:
    """What both paths share: the output size, the mix of several styles, the colors and the
    brush size."""

    size: int = _option(512, "output long side in pixels")
    style_mix: tuple[float, ...] | None = _option(
        None,
        "weight of each style image in the mix (default equal)",
        type=float,
        nargs="+",
        metavar="W",
    )
    colors: str = _option(
        "style",
        "the style's colors, the photo's (luminance from the result), or the style's "
        "matched to the photo's color histogram",
        choices=COLORS,
    )
    style_scale: float = _option(
        1.0,
        f"brush size, {STYLE_SCALE_LIMITS[0]:g} to {STYLE_SCALE_LIMITS[1]:g}: the style's "
        "scale relative to the output (larger: broader strokes)",
        metavar="S",
    )

    def __post_init__(self) -> None:
        _check_size(self.size, SIZE_LIMITS)
        _choice("colors", self.colors, COLORS)
        _check_style_scale(self.style_scale)
        if self.style_mix is not None:
            object.__setattr__(self, "style_mix", tuple(float(w) for w in self.style_mix))


def normalize_mix(style_mix: Sequence[float] | None, count: int) -> tuple[float, ...]:
    """The style mix as weights summing to 1, one per style image (equal when not given)."""
    _check(count >= 1, "Give at least one style image.")
    if style_mix is None:
        return (1.0 / count,) * count
    weights = [float(w) for w in style_mix]
    _check(
        len(weights) == count,
        f"Give one mix weight per style image ({count}), not {len(weights)}.",
    )
    _check(
        all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0,
        "Style mix weights must be zero or positive numbers, and not all zero.",
    )
    total = sum(weights)
    return tuple(w / total for w in weights)


@dataclass(frozen=True)
class FastOptions:
    """The fast path's own options (Magenta's network)."""

    strength: float = _option(1.0, "0 keeps the photo's look, 1 is the full style")
    engine: str = _option("auto", "hub: the full model, lite: the offline one", choices=ENGINES)
    hub_handle: str | None = _option(
        None, "TF Hub handle or SavedModel folder for the hub engine", type=str
    )

    def __post_init__(self) -> None:
        _check_strength(self.strength)
        _choice("engine", self.engine, ENGINES)


@dataclass(frozen=True)
class OptimizeOptions:
    """The slow path's options (Gatys et al.'s optimization against VGG19)."""

    optimizer: str = _option("lbfgs", "the optimizer", choices=OPTIMIZERS)
    init: str = _option("content", "where the optimization starts", choices=INITS)
    steps: int | None = _option(
        None,
        "loss evaluations in all (default: 50 on a CPU, 500 on a GPU, or what the time "
        "budget allows)",
        type=int,
    )
    time_budget: float | None = _option(None, "stop after S seconds", type=float, metavar="S")
    preset: str = _option(
        "normalized",
        "the loss definition: each layer normalised, or exactly TF's tutorial's",
        choices=tuple(PRESETS),
    )
    emphasis: str = _option(
        "balanced", "how much the style counts against the content", choices=tuple(STYLE_EMPHASIS)
    )
    style_loss: str = _option(
        "gram",
        "the style statistic matched: correlations (gram: Gram matrices) or distributions (w2: "
        "Wasserstein-2 between Gaussians of the features)",
        choices=STYLE_LOSSES,
    )
    style_weight: float | None = _option(None, "override the preset's", type=float, metavar="W")
    content_weight: float | None = _option(None, "override the preset's", type=float, metavar="W")
    tv_weight: float | None = _option(None, "override the preset's", type=float, metavar="W")
    scales: int | None = _option(
        None,
        "coarse-to-fine scales, each twice the previous (default: from the device's working "
        "size, 512 px on a CPU, up to the output)",
        type=int,
    )
    seed: int = _option(0, "seed of the noise start")
    history: int = _option(HISTORY, "L-BFGS history (steps kept)")
    color_gain: float = _option(
        COLOR_GAIN, "L-BFGS: how much larger steps are in color", aliases=("--colour-gain",)
    )
    precision: str = _option(
        "auto",
        "VGG19's number format; auto: bfloat16 where the CPU computes it natively (AVX512_BF16 "
        "or AMX), else float32 (bfloat16 without them is emulated, and many times slower)",
        choices=PRECISIONS,
    )

    @property
    def loss_preset(self) -> LossPreset:
        """The loss preset these options name, with their weight overrides and emphasis."""
        preset = PRESETS[self.preset]
        weights = {
            name: getattr(preset, name) if getattr(self, name) is None else getattr(self, name)
            for name in ("style_weight", "content_weight", "tv_weight")
        }
        weights["style_weight"] *= STYLE_EMPHASIS[self.emphasis]
        return replace(preset, **weights)

    def __post_init__(self) -> None:
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("init", self.init, INITS)
        _choice("preset", self.preset, tuple(PRESETS))
        _choice("emphasis", self.emphasis, tuple(STYLE_EMPHASIS))
        _choice("style loss", self.style_loss, STYLE_LOSSES)
        _choice("precision", self.precision, PRECISIONS)
        for name in ("style_weight", "content_weight", "tv_weight"):
            value = getattr(self, name)
            _check(
                value is None or (_finite(value) and value >= 0),
                f"{name.replace('_', ' ').capitalize()} must be a non-negative number, "
                f"not {value}.",
            )
        _check(self.steps is None or self.steps >= 0, "Steps must be zero or more.")
        _check(
            self.time_budget is None or (_finite(self.time_budget) and self.time_budget > 0),
            f"The time budget must be a positive number of seconds, not {self.time_budget}.",
        )
        _check(self.scales is None or self.scales >= 1, "Scales must be at least 1.")
        _check(self.history >= 1, "The L-BFGS history must be at least 1.")
        _check(_finite(self.color_gain) and self.color_gain > 0, "The color gain must be positive.")


@dataclass(frozen=True)
class VideoOptions:
    """What a person chooses for a video: the fast path's controls that make sense on video,
    and how strongly frames are tied to their predecessors."""

    size: int = _option(360, "output short side in pixels (rounded to even)")
    strength: float = _option(1.0, "0 keeps the video's look, 1 is the full style")
    style_mix: tuple[float, ...] | None = _option(
        None,
        "weight of each style image in the mix (default equal)",
        type=float,
        nargs="+",
        metavar="W",
    )
    style_scale: float = _option(
        1.0,
        f"brush size, {STYLE_SCALE_LIMITS[0]:g} to {STYLE_SCALE_LIMITS[1]:g}: the style's "
        "scale relative to the output (larger: broader strokes)",
        metavar="S",
    )
    colors: str = _option(
        "style",
        "the style's colors, the video's (luminance from the result, frame by frame), or the "
        "style's matched once to the colors of the clip's first second",
        choices=COLORS,
    )
    temporal: float = _option(
        DEFAULT_TEMPORAL,
        "0 to 1: how much of the previous frame's result, moved along the motion, each frame "
        "keeps (0: frame by frame; more: less flicker, more smearing)",
        metavar="T",
    )

    def __post_init__(self) -> None:
        _check_size(self.size, VIDEO_SIZE_LIMITS)
        _check_strength(self.strength)
        _check_style_scale(self.style_scale)
        _choice("colors", self.colors, COLORS)
        _check(
            _finite(self.temporal) and 0.0 <= self.temporal <= 1.0,
            f"Temporal must be between 0 and 1, not {self.temporal}.",
        )
        if self.style_mix is not None:
            object.__setattr__(self, "style_mix", tuple(float(w) for w in self.style_mix))


# The optimization that refines a fast result, for a minute: what `compare` (the CLI subcommand
# and the page) runs after the fast path.
REFINE_FAST = OptimizeOptions(init="fast", time_budget=60.0)
