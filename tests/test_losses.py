"""Losses: the tutorial preset against the tutorial's formula, Gram matrices, blends, score."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import losses, vgg
from nst.errors import InputError
from nst.images import load_image, resize


@pytest.fixture(scope="module")
def images(tubingen: Path, starry_night: Path) -> tuple[np.ndarray, np.ndarray]:
    return load_image(tubingen, 64), load_image(starry_night, 64)


def tutorial_loss(image: np.ndarray, content: np.ndarray, style: np.ndarray) -> float:
    """The TF style-transfer tutorial's code, transcribed: StyleContentModel, style_content_loss
    and the train step's `loss += total_variation_weight * tf.image.total_variation(image)`."""
    style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    content_layers = ["block5_conv2"]
    model = tf.keras.applications.VGG19(include_top=False, weights=None)
    model.load_weights(str(vgg.resolve_weights()))
    outputs = [model.get_layer(name).output for name in style_layers + content_layers]
    vgg_layers = tf.keras.Model([model.input], outputs)

    def gram_matrix(input_tensor):
        result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
        input_shape = tf.shape(input_tensor)
        num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
        return result / num_locations

    def call(inputs):
        inputs = inputs * 255.0
        preprocessed_input = tf.keras.applications.vgg19.preprocess_input(inputs)
        outputs = vgg_layers(preprocessed_input)
        style_outputs = [gram_matrix(output) for output in outputs[:5]]
        return {"content": dict(zip(content_layers, outputs[5:], strict=True)),
                "style": dict(zip(style_layers, style_outputs, strict=True))}  # fmt: skip

    style_targets = call(tf.constant(style[None]))["style"]
    content_targets = call(tf.constant(content[None]))["content"]
    outputs = call(tf.constant(image[None]))
    style_loss = tf.add_n([
        tf.reduce_mean((outputs["style"][name] - style_targets[name]) ** 2)
        for name in outputs["style"]
    ]) * 1e-2 / 5  # fmt: skip
    content_loss = tf.add_n([
        tf.reduce_mean((outputs["content"][name] - content_targets[name]) ** 2)
        for name in outputs["content"]
    ]) * 1e4 / 1  # fmt: skip
    return float(
        style_loss + content_loss + 30 * tf.image.total_variation(tf.constant(image[None]))[0]
    )


def test_tutorial_preset_equals_the_tutorial_formula(images) -> None:
    content, style = images
    image = np.clip(content + np.random.default_rng(1).normal(0, 0.1, content.shape), 0, 1)
    image = image.astype(np.float32)
    ours = losses.StyleLoss(content, [style], losses.TUTORIAL)(tf.constant(image[None]))
    assert float(ours["total"]) == pytest.approx(tutorial_loss(image, content, style), rel=1e-5)
    assert float(ours["total"]) == pytest.approx(
        float(ours["style"]) + float(ours["content"]) + float(ours["tv"]), rel=1e-6
    )


def test_gram_matrix_averages_channel_products_over_locations() -> None:
    features = tf.constant(np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3))
    flat = features.numpy().reshape(4, 3)
    np.testing.assert_allclose(losses.gram_matrix(features)[0], flat.T @ flat / 4)


def test_style_blend_mixes_gram_targets(images) -> None:
    content, style = images
    image = tf.constant(content[None])
    once = losses.StyleLoss(content, [style], losses.TUTORIAL)(image)
    twice = losses.StyleLoss(content, [style, style], losses.TUTORIAL, [0.2, 0.6])(image)
    assert float(twice["style"]) == pytest.approx(float(once["style"]), rel=1e-5)
    with pytest.raises(InputError, match="blend"):
        losses.StyleLoss(content, [style, style], losses.TUTORIAL, [1.0])


def test_default_preset_is_normalised_by_size(images) -> None:
    content, style = images
    # Four tiles of the same image: four times the pixels, the same local statistics.
    tiled = np.tile(content, (2, 2, 1))
    terms = {}
    for preset in (losses.DEFAULT, losses.TUTORIAL):
        for image in (content, tiled):
            values = losses.StyleLoss(image, [style], preset)(tf.constant(image[None]))
            terms[preset.name, image.shape] = values
    one, four = content.shape, tiled.shape
    for term in ("style", "tv"):
        assert float(terms["default", four][term]) / float(terms["default", one][term]) == (
            pytest.approx(1.0, rel=0.25)
        )
    # The tutorial's total variation is a sum over pixels, so it grows with the image.
    assert float(terms["tutorial", four]["tv"]) / float(terms["tutorial", one]["tv"]) > 3.5


def test_score_of_the_content_itself_has_no_content_loss(tubingen, starry_night) -> None:
    content, style = load_image(tubingen), load_image(starry_night)
    image = resize(content, 64, 48)
    scores = losses.score(image, content, [style])
    assert set(scores) == {"style_loss", "content_loss", "tv_loss", "total"}
    assert scores["content_loss"] == 0.0
    assert scores["style_loss"] > 0 and scores["tv_loss"] > 0
    assert scores["total"] == pytest.approx(
        scores["style_loss"] + scores["content_loss"] + scores["tv_loss"], rel=1e-6
    )


def test_preset_with_overrides_only_the_weights_given() -> None:
    preset = losses.preset_with("tutorial", style_weight=2.0)
    assert preset.style_weight == 2.0 and preset.content_weight == losses.TUTORIAL.content_weight
    with pytest.raises(InputError, match="tv weight"):
        losses.preset_with("default", tv_weight=-1.0)
    with pytest.raises(InputError, match="preset"):
        losses.preset_with("fancy")
