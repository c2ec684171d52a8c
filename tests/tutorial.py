"""TensorFlow's style-transfer tutorial, transcribed: the reference for our `tutorial` preset.

https://www.tensorflow.org/tutorials/generative/style_transfer, names as there. Two things are
checked against it: `tests/test_losses.py` (beside it) asserts that the `tutorial` preset's value
and gradient equal this code's, and `benchmarks/slow.py` times `Recipe.train_step` as "the tutorial
recipe". The only change: the VGG19 weights come from `nst.vgg.resolve_weights` (the same file
Keras would download) instead of `weights="imagenet"`, since nothing here reaches the internet.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nst import vgg

CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
STYLE_WEIGHT = 1e-2
CONTENT_WEIGHT = 1e4
TOTAL_VARIATION_WEIGHT = 30


def vgg_layers(layer_names: list[str]) -> tf.keras.Model:
    model = tf.keras.applications.VGG19(include_top=False, weights=None)
    model.load_weights(str(vgg.resolve_weights()))
    model.trainable = False
    outputs = [model.get_layer(name).output for name in layer_names]
    return tf.keras.Model([model.input], outputs)


def gram_matrix(input_tensor: tf.Tensor) -> tf.Tensor:
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = tf.shape(input_tensor)
    num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
    return result / num_locations


class StyleContentModel(tf.keras.models.Model):
    def __init__(self, style_layers: list[str], content_layers: list[str]) -> None:
        super().__init__()
        self.vgg = vgg_layers(style_layers + content_layers)
        self.style_layers = style_layers
        self.content_layers = content_layers
        self.num_style_layers = len(style_layers)
        self.vgg.trainable = False

    def call(self, inputs: tf.Tensor) -> dict:
        inputs = inputs * 255.0
        preprocessed_input = tf.keras.applications.vgg19.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs = [gram_matrix(output) for output in outputs[: self.num_style_layers]]
        content_outputs = outputs[self.num_style_layers :]
        return {
            "content": dict(zip(self.content_layers, content_outputs, strict=True)),
            "style": dict(zip(self.style_layers, style_outputs, strict=True)),
        }


class Recipe:
    """The tutorial's optimization of one (content, style) pair, both (H, W, 3) in [0, 1]."""

    def __init__(self, content: np.ndarray, style: np.ndarray) -> None:
        self.extractor = StyleContentModel(STYLE_LAYERS, CONTENT_LAYERS)
        self.style_targets = self.extractor(tf.constant(style[None]))["style"]
        self.content_targets = self.extractor(tf.constant(content[None]))["content"]
        self.image = tf.Variable(content[None])
        self.opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    def style_content_loss(self, outputs: dict) -> tf.Tensor:
        style_outputs, content_outputs = outputs["style"], outputs["content"]
        style_loss = (
            tf.add_n(
                [
                    tf.reduce_mean((style_outputs[name] - self.style_targets[name]) ** 2)
                    for name in style_outputs
                ]
            )
            * STYLE_WEIGHT
            / len(STYLE_LAYERS)
        )
        content_loss = (
            tf.add_n(
                [
                    tf.reduce_mean((content_outputs[name] - self.content_targets[name]) ** 2)
                    for name in content_outputs
                ]
            )
            * CONTENT_WEIGHT
            / len(CONTENT_LAYERS)
        )
        return style_loss + content_loss

    def loss(self, image: tf.Tensor) -> tf.Tensor:
        """What `train_step` differentiates: style + content + weighted total variation."""
        loss = self.style_content_loss(self.extractor(image))
        return loss + TOTAL_VARIATION_WEIGHT * tf.image.total_variation(image)

    @tf.function
    def train_step(self) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = self.loss(self.image)
        grad = tape.gradient(loss, self.image)
        self.opt.apply_gradients([(grad, self.image)])
        self.image.assign(tf.clip_by_value(self.image, clip_value_min=0.0, clip_value_max=1.0))
        return loss
