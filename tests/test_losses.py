"""Losses: the tutorial preset against the tutorial's formula, Gram matrices, blends, score."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tutorial  # the TF tutorial's code, transcribed: this file's oracle

from nst import losses
from nst.errors import InputError
from nst.images import load_image, resize
from nst.options import NORMALIZED, PRESETS, STYLE_EMPHASIS, TUTORIAL, OptimizeOptions
from nst.targets import Targets


@pytest.fixture(scope="module")
def images(photo: Path, painting: Path) -> tuple[np.ndarray, np.ndarray]:
    return load_image(photo, 64), load_image(painting, 64)


def test_tutorial_preset_equals_the_tutorial_code_in_value_and_gradient(images) -> None:
    content, style = images
    image = np.clip(content + np.random.default_rng(1).normal(0, 0.1, content.shape), 0, 1)
    image = tf.constant(image[None], tf.float32)
    loss = losses.StyleLoss(content, Targets((style,)), TUTORIAL)
    recipe = tutorial.Recipe(content, style)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(image)
        ours, theirs = loss(image), recipe.loss(image)[0]
    assert float(ours["total"]) == pytest.approx(float(theirs), rel=1e-5)
    assert float(ours["total"]) == pytest.approx(
        float(ours["style"]) + float(ours["content"]) + float(ours["tv"]), rel=1e-6
    )
    # Our convolutions and Gram error bring their own gradients: they must be autodiff's.
    ours_grad = tape.gradient(ours["total"], image).numpy()
    theirs_grad = tape.gradient(theirs, image).numpy()
    scale = np.abs(theirs_grad).max()
    assert scale > 0
    np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-3, atol=1e-4 * scale)


def test_gram_sum_gradient_is_autodiffs_for_any_features_and_upstream() -> None:
    rng = np.random.default_rng(2)
    features = tf.constant(rng.normal(size=(1, 5, 7, 4)), tf.float32)
    upstream = tf.constant(rng.normal(size=(1, 4, 4)), tf.float32)  # not symmetric
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(features)
        ours = losses.gram_sum(features)
        direct = tf.einsum("bijc,bijd->bcd", features, features)
    np.testing.assert_allclose(ours, direct, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        tape.gradient(ours, features, upstream),
        tape.gradient(direct, features, upstream),
        rtol=1e-4,
        atol=1e-5,
    )


def test_gram_matrix_averages_channel_products_over_locations() -> None:
    features = tf.constant(np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3))
    flat = features.numpy().reshape(4, 3)
    np.testing.assert_allclose(losses.gram_matrix(features)[0], flat.T @ flat / 4)


def test_style_mix_mixes_gram_targets(images) -> None:
    content, style = images
    image = tf.constant(content[None])
    once = losses.StyleLoss(content, Targets((style,)), TUTORIAL)(image)
    twice = losses.StyleLoss(content, Targets((style, style), (0.2, 0.6)), TUTORIAL)(image)
    assert float(twice["style"]) == pytest.approx(float(once["style"]), rel=1e-5)
    with pytest.raises(InputError, match="one mix weight per style"):
        Targets((style, style), (1.0,))


def test_default_preset_is_normalised_by_size(images) -> None:
    content, style = images
    # Four tiles of the same image: four times the pixels, the same local statistics.
    tiled = np.tile(content, (2, 2, 1))
    terms = {}
    for preset in (NORMALIZED, TUTORIAL):
        for image in (content, tiled):
            values = losses.StyleLoss(image, Targets((style,)), preset)(tf.constant(image[None]))
            terms[preset.name, image.shape] = values
    one, four = content.shape, tiled.shape
    for term in ("style", "tv"):
        assert float(terms["normalized", four][term]) / float(terms["normalized", one][term]) == (
            pytest.approx(1.0, rel=0.25)
        )
    # The tutorial's total variation is a sum over pixels, so it grows with the image.
    assert float(terms["tutorial", four]["tv"]) / float(terms["tutorial", one]["tv"]) > 3.5


def test_score_of_the_content_itself_has_no_content_loss(photo, painting) -> None:
    content, style = load_image(photo), load_image(painting, 64)
    image = resize(content, (48, 64))
    scores = losses.score(image, content, Targets((style,)))
    assert set(scores) == {"style_loss", "style_loss_w2", "content_loss", "tv_loss", "total"}
    assert scores["content_loss"] == 0.0
    assert scores["style_loss"] > 0 and scores["style_loss_w2"] > 0 and scores["tv_loss"] > 0
    assert scores["total"] == pytest.approx(
        scores["style_loss"] + scores["content_loss"] + scores["tv_loss"], rel=1e-6
    )


def test_loss_preset_applies_the_overrides_and_the_emphasis() -> None:
    preset = OptimizeOptions(preset="tutorial", style_weight=2.0).loss_preset
    assert preset.style_weight == 2.0 and preset.content_weight == TUTORIAL.content_weight
    strong = OptimizeOptions(emphasis="strong").loss_preset
    assert strong.style_weight == NORMALIZED.style_weight * STYLE_EMPHASIS["strong"]
    assert OptimizeOptions().loss_preset == NORMALIZED
    assert set(PRESETS) == {"normalized", "tutorial"}
    with pytest.raises(InputError, match="Tv weight"):
        OptimizeOptions(tv_weight=-1.0)
    with pytest.raises(InputError, match="preset"):
        OptimizeOptions(preset="fancy")


def test_losses_of_one_structure_share_a_graph_each_computing_from_its_own_targets(
    images, photo: Path
) -> None:
    """One compiled graph serves every loss of the same structure, traced once (not once per
    run), and gives each loss its own values and gradient: its content, styles (of other sizes,
    which bound W2's ranks), mask and weights."""
    content, style = images
    other = resize(load_image(photo.with_name("content_coffee.jpg"), 64), content.shape[:2])
    painting = load_image(photo.with_name("style_great_wave.jpg"), 64)
    assert painting.shape != style.shape
    mask = np.zeros(content.shape[:2], np.float32)
    mask[:, : content.shape[1] // 3] = 1.0
    strong = OptimizeOptions(emphasis="strong").loss_preset
    whole = [(content, Targets((style,)), NORMALIZED), (other, Targets((painting,)), strong)]
    masked = [
        (other, Targets((painting, style), None, (mask, 1 - mask)), NORMALIZED),
        (content, Targets((style, painting), None, (1 - mask, mask)), strong),
    ]
    image = tf.constant(np.clip(content[None] + 0.05, 0, 1))
    for statistic, problems in (("gram", masked), ("w2", whole)):
        made = [
            losses.StyleLoss(c, t, p, block_size=None, statistics=(statistic,))
            for c, t, p in problems
        ]
        graph = losses._compiled(made[0])
        assert losses._compiled(made[1]) is graph
        for loss in made:
            values, gradient = loss.value_and_grad()(image)
            with tf.GradientTape() as tape:
                tape.watch(image)
                eager = loss(image)
            for name, value in eager.items():
                np.testing.assert_allclose(values[name], value, rtol=1e-5, err_msg=name)
            expected = tape.gradient(eager["total"], image)
            scale = float(tf.reduce_max(tf.abs(expected)))
            np.testing.assert_allclose(gradient, expected, atol=1e-5 * scale)
        assert graph.experimental_get_tracing_count() == 1
