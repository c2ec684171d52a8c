"""Spatial control (Gatys et al. 2017): a mask puts each style in its own region, in both paths.

Real weights, the cat from assets/ with Starry Night (left half) and The Scream (right half), at
128 px. What each half is asked to match is checked the way a person would see it: its mean
color and its Gram matrices at block3_conv1 are closer to its own style's than to the other
style's. Bands of BORDER px on each side of the mask's edge are left out of the halves: the
fast path feathers the edge over about 2 px and the optimizer's deeper layers see it blurred.

Measured (40 L-BFGS evaluations from the photo): squared distance of each half's mean color to
its own style's / the other's 0.003 / 0.05 and 0.003 / 0.02 (fast), 0.001 / 0.04 and
0.012 / 0.035 (optimized); of its block3_conv1 Gram matrix 9.0e8 / 1.05e9 and 7.2e8 / 2.1e9
(fast), 2.6e8 / 2.2e9 and 1.9e8 / 1.6e9 (optimized). With one style the optimized black half
differs from the photo by 0.022 on average (0.036 when its target was the whole photo's Gram
matrices instead of its own region's), the white half by 0.16.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import losses, pipeline
from nst.errors import InputError
from nst.images import load_image
from nst.options import OptimizeOptions, Settings
from nst.vgg import feature_extractor

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PHOTO = ASSETS / "content_chelsea.jpg"  # 451×300: 128×85 at 128 px
STARRY, SCREAM = ASSETS / "style_starry_night.jpg", ASSETS / "style_the_scream.jpg"
SIZE, BORDER = 128, 8
LEFT, RIGHT = np.s_[:, : SIZE // 2 - BORDER], np.s_[:, SIZE // 2 + BORDER :]


def half_mask(width: int = 451, height: int = 300) -> np.ndarray:
    """White on the left half, black on the right, at any size (the job resizes it)."""
    mask = np.zeros((height, width), np.float32)
    mask[:, : width // 2] = 1.0
    return mask


def job(styles: list[Path], mask, steps: int = 40) -> pipeline.Job:
    options = OptimizeOptions(init="content", steps=steps)
    return pipeline.prepare(PHOTO, styles, Settings(size=SIZE), optimize_options=options, mask=mask)


def optimized(job: pipeline.Job) -> np.ndarray:
    return job.optimize(preview_every=0).run().image


def gram(image: np.ndarray) -> np.ndarray:
    features = feature_extractor()(tf.constant(image[None], tf.float32))["block3_conv1"]
    return losses.gram_matrix(features)[0].numpy()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


@pytest.fixture(scope="module")
def two_styles() -> pipeline.Job:
    return job([STARRY, SCREAM], half_mask())


@pytest.fixture(scope="module")
def results(two_styles: pipeline.Job) -> dict[str, np.ndarray]:
    return {"fast": two_styles.fast().image, "optimized": optimized(two_styles)}


@pytest.mark.parametrize("path", ["fast", "optimized"])
def test_each_half_takes_its_own_styles_colors(results, path: str) -> None:
    starry, scream = (load_image(style).mean(axis=(0, 1)) for style in (STARRY, SCREAM))
    left, right = (results[path][half].mean(axis=(0, 1)) for half in (LEFT, RIGHT))
    assert distance(left, starry) < distance(left, scream)
    assert distance(right, scream) < distance(right, starry)


@pytest.mark.parametrize("path", ["fast", "optimized"])
def test_each_half_takes_its_own_styles_gram_matrices(two_styles, results, path: str) -> None:
    starry, scream = (gram(style) for style in two_styles.styles_at_size)
    left, right = (gram(np.ascontiguousarray(results[path][half])) for half in (LEFT, RIGHT))
    assert distance(left, starry) < distance(left, scream)
    assert distance(right, scream) < distance(right, starry)


def test_with_one_style_the_black_region_keeps_the_photo() -> None:
    one = job([STARRY], half_mask(), steps=40)
    photo = one.content
    fast, slow = one.fast().image, optimized(one)
    assert np.abs(fast[RIGHT] - photo[RIGHT]).max() < 1e-6  # the photo itself, past the feather
    assert np.abs(slow[RIGHT] - photo[RIGHT]).mean() < 0.04  # kept by its own Gram matrices
    for image in (fast, slow):  # while the white half is stylized
        assert np.abs(image[LEFT] - photo[LEFT]).mean() > 0.1


def test_the_fast_paths_seam_is_a_few_pixels_wide(two_styles: pipeline.Job) -> None:
    composite = two_styles.fast().image
    whole = [job([style], None).fast().image for style in (STARRY, SCREAM)]
    edge = SIZE // 2
    # Beyond 3 px of the edge each side is its own style's rendering, to 8-bit precision.
    np.testing.assert_allclose(composite[:, : edge - 3], whole[0][:, : edge - 3], atol=1 / 255)
    np.testing.assert_allclose(composite[:, edge + 3 :], whole[1][:, edge + 3 :], atol=1 / 255)


def test_score_reports_each_regions_style_loss(two_styles, results) -> None:
    scores = two_styles.score(results["optimized"])
    by_region = scores["style_loss_by_region"]
    assert len(by_region) == 2 and all(value > 0 for value in by_region)
    # The total is the regions' losses weighted by their shares of the image (half each).
    assert scores["style_loss"] == pytest.approx(sum(by_region) / 2, rel=0.02)
    # The optimizer lowered each region's loss from where it started (the photo).
    start = two_styles.score(two_styles.content)["style_loss_by_region"]
    assert all(end < begin for end, begin in zip(by_region, start, strict=True))


def test_a_mask_of_another_size_is_resized() -> None:
    small = job([STARRY, SCREAM], half_mask(64, 40))
    assert small.mask.shape == small.content.shape[:2]
    assert small.mask[:, :60].min() > 0.99 and small.mask[:, 68:].max() < 0.01


@pytest.mark.parametrize(
    "styles, mask, message",
    [
        ([STARRY], np.zeros((85, 128), np.float32), "all black"),
        ([STARRY, SCREAM, STARRY], half_mask(), "one or two style images"),
        ([STARRY], b"not an image", "not an image"),
    ],
    ids=["all black", "three styles", "not an image"],
)
def test_bad_masks_get_one_line(styles: list[Path], mask, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        job(styles, mask)
    assert "\n" not in str(error.value)


def test_an_all_black_mask_with_two_styles_is_the_second_style() -> None:
    black = job([STARRY, SCREAM], np.zeros((85, 128), np.float32)).fast().image
    np.testing.assert_allclose(black, job([SCREAM], None).fast().image, atol=1 / 255)


def test_with_one_style_the_black_region_is_scored_against_the_photos_own_statistics() -> None:
    """The scorer matches what the optimizer matches: with one style and a mask, the black
    region's target is the photo's Gram matrices over that region, so the photo itself scores
    (almost) nothing there, while the whole photo's statistics would not fit that half."""
    one_style = job([STARRY], half_mask())
    white, black = one_style.score(one_style.content)["style_loss_by_region"]
    assert white > 0
    assert black <= 1e-6 * white
    targets = one_style.targets
    whole_photo = losses.score(
        one_style.content, one_style.content, dataclasses.replace(targets, style_regions=None)
    )
    assert whole_photo["style_loss_by_region"][1] > 1e3 * max(black, 1e-12)
