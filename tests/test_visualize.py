"""The Inside VGG19 pictures: feature maps and Gram heat maps from the shared extractor."""

from pathlib import Path

import numpy as np
import pytest

from nst import visualize
from nst.images import load_image

CONTENT = Path(__file__).resolve().parents[1] / "assets" / "content_chelsea.jpg"


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return load_image(CONTENT, long_side=128)


def test_early_layers_keep_the_resolution_deep_ones_shrink_it(image: np.ndarray) -> None:
    shallow = visualize.activations(image, "block1_conv1")
    deep = visualize.activations(image, "block5_conv2")
    assert shallow.shape == (*image.shape[:2], 64)
    assert deep.shape == (image.shape[0] // 16, image.shape[1] // 16, 512)


def test_feature_grid_tiles_the_strongest_channels(image: np.ndarray) -> None:
    maps = visualize.activations(image, "block2_conv1")
    grid = visualize.feature_grid(maps, count=8, columns=4)
    height, width = maps.shape[:2]
    assert grid.shape == (2 * height + 2, 4 * width + 6, 3)
    assert grid.min() >= 0.0 and grid.max() <= 1.0
    assert not np.allclose(grid[:height, :width], grid[:height, width + 2 : 2 * width + 2])


def test_gram_heatmap_is_symmetric_and_square(image: np.ndarray) -> None:
    heat = visualize.gram_heatmap(visualize.activations(image, "block3_conv1"), channels=32)
    assert heat.shape == (32 * 4, 32 * 4, 3)
    cells = heat[::4, ::4]
    np.testing.assert_allclose(cells, cells.transpose(1, 0, 2), atol=1e-6)
