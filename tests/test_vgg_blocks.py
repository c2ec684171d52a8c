"""Block-wise evaluation (`nst.vgg_blocks`): the same loss and gradient as the whole image's.

Real VGG19 weights, the cat from assets/ at 128 px (128×85) in blocks of 64 px, so that each
block has an inner edge on the image's edge and one inside it (with crops that all meet the
image's edges), and a 64×451 strip of it in blocks of 96 px, where a block's margin also ends
inside the image on both sides. Both sizes leave the last block's edge off the 16 px grid, so
'VALID' pooling floors it. The targets are computed in blocks too. Measured relative errors:
about 2e-7 for values and gradients, here and at 384 px (384×255 in blocks of 128 px).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import vgg_blocks
from nst.images import load_image, resize
from nst.losses import StyleLoss
from nst.options import NORMALIZED, TUTORIAL, LossPreset
from nst.targets import Targets, build_targets
from nst.vgg import LOSS_LAYERS, feature_extractor

SCREAM = Path(__file__).resolve().parents[1] / "assets" / "style_the_scream.jpg"
SIZE, BLOCK = 128, 64
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def images(photo: Path, painting: Path) -> dict[str, np.ndarray]:
    return {
        "content": load_image(photo, SIZE),
        "starry": load_image(painting, SIZE),
        "scream": load_image(SCREAM, SIZE),
        "photo": load_image(photo),  # 451×300
    }


def left_half(shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.float32)
    mask[:, : shape[1] // 2] = 1.0
    return mask


def start(content: np.ndarray) -> tf.Tensor:
    noisy = content + np.random.default_rng(1).normal(0, 0.1, content.shape)
    return tf.constant(np.clip(noisy, 0, 1)[None], tf.float32)


def relative_error(ours: tf.Tensor, theirs: tf.Tensor) -> float:
    """The larger of the norm-wise and the largest element-wise error, relative to ``theirs``."""
    difference = ours - theirs
    return max(
        float(tf.norm(difference) / tf.norm(theirs)),
        float(tf.reduce_max(tf.abs(difference)) / tf.reduce_max(tf.abs(theirs))),
    )


def assert_blockwise_equals_whole(
    content: np.ndarray,
    targets: Targets,
    preset: LossPreset,
    size: int,
    formulation: str,
    statistic: str = "gram",
) -> None:
    extractor = feature_extractor(formulation=formulation)
    statistics = (statistic,)
    whole = StyleLoss(content, targets, preset, extractor, None, statistics)
    blockwise = StyleLoss(content, targets, preset, extractor, size, statistics)
    for name, target in whole.content_targets.items():
        assert relative_error(blockwise.content_targets[name], target) < TOLERANCE
    for ours, theirs in zip(blockwise.regions, whole.regions, strict=True):
        for name, target in theirs.grams.items():
            assert relative_error(ours.grams[name], target) < TOLERANCE
        # The style's side of W2: its mean and its covariance's trace. (Its square root magnifies
        # float32 rounding along the covariance's smallest directions; the loss and its
        # gradient, checked below, are what must agree.)
        for name, gaussian in theirs.gaussians.items():
            for mine, its in zip(ours.gaussians[name][:2], gaussian[:2], strict=True):
                assert relative_error(mine, its) < TOLERANCE
    image = start(content)
    with tf.GradientTape() as tape:
        tape.watch(image)
        values = whole(image)
    gradient = tape.gradient(values["total"], image)
    # What the optimizer calls for a loss in blocks: the two passes over the blocks.
    values_by_block, gradient_by_block = blockwise.value_and_grad()(image)
    assert set(values_by_block) == set(values)
    for name, value in values.items():
        assert relative_error(values_by_block[name], value) < TOLERANCE, name
    assert relative_error(gradient_by_block, gradient) < TOLERANCE


# Each preset, each way styles combine (a mix: no regions; a mask: regions, the photo's own
# statistics as the second with one style). One style alone is a mix of one.
CASES = {
    "style mix": (
        NORMALIZED,
        lambda i: build_targets(i["content"], (i["starry"], i["scream"]), (0.3, 0.7)),
    ),
    # The black half keeps the photo's own statistics over that half.
    "mask, one style": (
        NORMALIZED,
        lambda i: build_targets(i["content"], (i["starry"],), mask=left_half(i["content"].shape)),
    ),
    "mask, two styles": (
        TUTORIAL,
        lambda i: build_targets(
            i["content"], (i["starry"], i["scream"]), mask=left_half(i["content"].shape)
        ),
    ),
}


@pytest.mark.parametrize(
    ("case", "formulation", "statistic"),
    [(case, "transposed", "gram") for case in CASES]
    + [(case, "transposed", "w2") for case in ("style mix", "mask, two styles")]
    + [("mask, one style", "direct", "gram")],
)
def test_blockwise_loss_and_gradient_equal_the_whole_images(
    images, case, formulation, statistic
) -> None:
    preset, targets = CASES[case]
    assert len(vgg_blocks.tile(images["content"].shape[:2], BLOCK, preset.layers)) == 4
    assert_blockwise_equals_whole(
        images["content"], targets(images), preset, BLOCK, formulation, statistic
    )


def test_blocks_whose_margins_end_inside_the_image_are_exact_too(images) -> None:
    strip = images["photo"][100:164]  # 64×451
    inside = [
        block
        for block in vgg_blocks.tile(strip.shape[:2], 96, LOSS_LAYERS)
        if block.crop[1].start > 0 and block.crop[1].stop < strip.shape[1]
    ]
    assert inside, "no block whose margin ends inside the image on both sides"
    styles = (resize(images["starry"], (64, 96)),)
    targets = build_targets(strip, styles, mask=left_half(strip.shape))
    assert_blockwise_equals_whole(strip, targets, NORMALIZED, 96, "transposed")


def test_the_loss_alone_in_blocks_scores_as_the_whole_image(images) -> None:
    content, targets = images["content"], Targets((images["starry"],))
    image = start(content)
    whole = StyleLoss(content, targets, TUTORIAL, block_size=None)(image)
    blockwise = StyleLoss(content, targets, TUTORIAL, block_size=BLOCK)(image)
    for name, value in whole.items():
        assert relative_error(blockwise[name], value) < TOLERANCE, name


def test_margin_covers_the_receptive_field_worked_out_from_the_layers() -> None:
    before, after = vgg_blocks.receptive_field(LOSS_LAYERS)
    stride = vgg_blocks.strides(LOSS_LAYERS)["block5_conv2"]
    assert (stride, before + stride + after) == (16, 188)  # block5_conv2 sees 188 px
    assert vgg_blocks.margin(LOSS_LAYERS) == 96
    assert vgg_blocks.receptive_field(["block1_conv2"]) == (2, 2)


@pytest.mark.parametrize("shape", [(85, 128), (300, 451), (1000, 17)])
def test_inner_parts_tile_every_layers_grid_once(shape) -> None:
    strides = vgg_blocks.strides(LOSS_LAYERS)
    tiles = vgg_blocks.tile(shape, 48, LOSS_LAYERS)
    for name, (height, width) in vgg_blocks.layer_shapes(shape, LOSS_LAYERS).items():
        covered = np.zeros((height, width), int)
        for block in tiles:
            covered[block.window(strides[name])] += 1
        assert (covered == 1).all(), name
    reach = vgg_blocks.margin(LOSS_LAYERS)
    for block in tiles:
        for inner, crop, length in zip(block.inner, block.crop, shape, strict=True):
            assert inner.start % 16 == 0 and crop.start % 16 == 0
            assert inner.stop == length or inner.stop % 16 == 0
            assert crop.start == max(0, inner.start - reach)
            assert crop.stop == min(length, inner.stop + reach)
