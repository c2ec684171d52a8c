"""Colour preservation: keep the content photo's colours and take only luminance from a result.

Gatys et al. 2016 ("Preserving color in neural artistic style transfer"): transfer in YIQ,
keeping the stylized Y channel and the content's I and Q channels. Used by both paths.
"""

import numpy as np

from nst.images import resize

_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float32,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def preserve_color(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylized image's luminance with the content's chrominance, at the stylized size."""
    content = resize(content, stylized.shape[:2])
    yiq = content @ _RGB_TO_YIQ.T
    yiq[..., 0] = stylized @ _RGB_TO_YIQ[0]
    return np.clip(yiq @ _YIQ_TO_RGB.T, 0.0, 1.0).astype(np.float32)
