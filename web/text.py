"""What the page says in words: headers, labels, progress and estimates, one place for all.

Results are described in the library's words (`nst.report`), shared with the command line; this
module holds what only the page says.
"""

from __future__ import annotations

from nst import report
from nst.device import Device
from nst.optimize import Progress

TITLE = "Neural style transfer: fast vs optimized"
MEASURING = "*measuring losses…*"
STARTING = "Optimizing: starting from the fast result…"
ESTIMATING = "*measuring this server's speed…*"
INIT_LABELS = {"fast": "fast result", "content": "content photo", "noise": "noise"}
COLOR_LABELS = report.COLOR_LABELS
STYLE_LOSS_LABELS = report.STYLE_LOSS_LABELS
OPTIMIZED_SERIES, FAST_SERIES = "optimized (best so far)", "fast result"
PAINTED = (
    "Painted: the style (the first, with two). Unpainted: the photo kept (the second style, "
    "with two). Or upload a mask: white and black, grey mixes."
)
INSIDE_VGG = (
    "What the optimizer matches. Early layers respond to color and fine texture, deep ones to "
    "outlines. The *style* it reproduces is, at each style layer, the Gram matrix (channel "
    "correlations) or, with the Wasserstein statistic, the features' means and covariance."
)
INSIDE_VGG_REGIONS = (
    "With a mask (*Where the style goes*): the mask as this layer sees it, and the Gram matrix "
    "each region's features are matched to."
)


def header(where: Device, precision: str) -> str:
    return (
        f"## {TITLE}\n"
        "A photo and a painting, or one click on an example. **Fast**: Magenta's network, in "
        "about a second. **Optimize**: the image itself against VGG19's statistics of the "
        f"painting (Gatys et al.), a minute or two on this server's {where.label}, {precision}."
    )


def duration(seconds: float) -> str:
    """A time as a person reads it: "45 s", "3 min"."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def progress(step: Progress, fraction: float) -> str:
    """The optimization's step, the time it has left, and a progress bar (``fraction`` done)."""
    left = f" · {duration(step.seconds * (1 - fraction) / fraction)} left" if fraction else ""
    bar = f'<progress value="{fraction:.3f}" max="1"></progress>'
    scale = ""
    if step.scales > 1:
        scale = f" (scale {step.scale} of {step.scales}, {max(step.size)} px)"
    return f"Optimizing: step {step.step}{scale}{left}\n\n{bar}"


def waiting(ahead: int, what: str) -> str:
    """Where a request is in line."""
    return f"Waiting for the server: {ahead} {what}{'' if ahead == 1 else 's'} ahead of yours…"


def estimate(
    long_side: int, seconds: float | None, scales: int, where: Device, budget: float | None
) -> str:
    """How long Optimize takes at this size, before it starts."""
    if seconds is None:
        return ESTIMATING
    over = f" over {scales} scales" if scales > 1 else ""
    text = f"Optimize at {long_side} px: about {duration(seconds)}{over} on {where.label}"
    if budget and budget < seconds:
        text += f"; the time budget ends it after {duration(budget)}"
    return f"*{text}.*"


def exact_losses(losses: dict) -> str:
    """The measured losses, one click away (an HTML <details> in the Markdown)."""
    return f"<details><summary>Exact losses</summary>{report.losses_line(losses)}</details>"


def versus(summary: str, losses: dict, fast_losses: dict, style_loss: str) -> str:
    """The Markdown under the optimized result: what made it, how it compares with the fast
    result in words, and both results' exact losses one click away."""
    exact = (
        "<details><summary>Exact losses</summary>"
        f"Optimized: {report.losses_line(losses)}<br>"
        f"Fast: {report.losses_line(fast_losses)}</details>"
    )
    words = report.versus_fast(fast_losses, losses, style_loss)
    return f"{summary}  \n**{words}.**  \n{exact}"


def video_limits(seconds: float, size: int) -> str:
    """The Video tab's limits, as the host set them."""
    return (
        f"A clip of at most {duration(seconds)}, stylized frame by frame with its motion kept "
        f"steady, at most {size} px on its short side, with its sound."
    )


def webcam_limits(seconds: float) -> str:
    """The Webcam tab's limits, as the host set them."""
    return (
        "Your camera, stylized live (allow the page to use it, then press the camera's record "
        f"button); one stream at a time, for at most {duration(seconds)}."
    )


def webcam_status(width: int, height: int, rate: float) -> str:
    return f"{width}×{height} px · {rate:.1f} frames a second"


def layer_note(layer: str, channels: int, width: int, height: int) -> str:
    return f"{layer}: {channels} channels, {width}×{height} px for a 256 px photo"
