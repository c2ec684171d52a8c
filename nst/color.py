"""Color control, shared by both paths (Gatys et al. 2017, "Controlling Perceptual Factors in
Neural Style Transfer", section 5).

- `preserve_color`: luminance-only transfer. The result's luminance with the photo's chroma, in
  YIQ; applied to a finished result.
- `match_colors`: color histogram matching. The style image recolored so that its colors
  have the photo's mean and covariance; applied to the style before stylizing, so the result
  keeps the style's own brightness-color relations in the photo's palette.
"""

import numpy as np

from nst.images import resize

RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float32,
)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ).astype(np.float32)
# Covariance eigenvalues below this (a standard deviation under 1/255 along some color
# direction, as in a grey painting) are raised to it before inverting, so that JPEG noise along
# a direction the style does not use is not magnified without bound.
_MIN_VARIANCE = (1 / 255) ** 2


def preserve_color(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylized image's luminance with the content's chrominance, at the stylized size."""
    content = resize(content, stylized.shape[:2])
    yiq = content @ RGB_TO_YIQ.T
    yiq[..., 0] = stylized @ RGB_TO_YIQ[0]
    return np.clip(yiq @ YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)


def color_statistics(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean (3,) and covariance (3, 3) of an image's RGB values, in float64."""
    pixels = image.reshape(-1, 3)
    mean = pixels.mean(axis=0, dtype=np.float64)
    centred = pixels - mean.astype(pixels.dtype)
    return mean, (centred.T @ centred).astype(np.float64) / len(pixels)


def _matrix_power(covariance: np.ndarray, power: float) -> np.ndarray:
    """covariance ** power for a symmetric positive semi-definite matrix, by eigendecomposition."""
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, _MIN_VARIANCE if power < 0 else 0.0)
    return (vectors * values**power) @ vectors.T


def match_colors(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """``style`` recolored with the content's color mean and covariance, clipped to [0, 1].

    The linear map x -> A (x - mu_s) + mu_c with A = Sigma_c^(1/2) Sigma_s^(-1/2) (symmetric
    square roots; the paper's "image analogies" variant). Clipping moves the statistics a
    little where the map leaves the RGB cube.
    """
    style_mean, style_cov = color_statistics(style)
    content_mean, content_cov = color_statistics(content)
    matrix = _matrix_power(content_cov, 0.5) @ _matrix_power(style_cov, -0.5)
    pixels = style.reshape(-1, 3) - style_mean.astype(np.float32)
    matched = pixels @ matrix.T.astype(np.float32) + content_mean.astype(np.float32)
    return np.clip(matched, 0.0, 1.0).reshape(style.shape).astype(np.float32)
