"""Block-wise rendering of the lite transformer (nst/fast_blocks.py) with the real ONNX weights.

A 300×200 photo (padded to 304×200 as `render_any_size` pads) in blocks of 64 px: 20 blocks,
interior ones and ones on every border and corner, the last row and column narrower. Measured
(onnxruntime 1.31.1): the block-wise image equals the one-pass image bit for bit, while
rendering each block on its own, with its own normalisation statistics, moves pixels by 0.11 on
average and up to 0.8 (starry night and swirls alike): tone jumps between tiles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nst import fast
from nst.images import load_image
from nst.options import FastOptions

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PHOTO = ASSETS / "content_chelsea.jpg"
STYLES = [ASSETS / "style_starry_night.jpg", ASSETS / "style_swirls.jpg"]
SHAPE = (200, 300)
BLOCK = 64
TOLERANCE = 2 / 255  # the bound the fast path promises between block-wise and one-pass images
NAIVE_TILES_MIN = 0.05  # mean difference; far above the tolerance, so the test tells the two apart


@pytest.fixture(scope="module")
def engine() -> fast.LiteEngine:
    return fast.get_engine("lite")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(load_image(PHOTO), long_side=max(SHAPE))


def test_blocks_render_the_one_pass_image(engine: fast.LiteEngine, photo: np.ndarray):
    assert photo.shape[:2] == SHAPE
    vector = engine.style_vector(fast.prepare_style(load_image(STYLES[0])))
    whole = fast.render_any_size(lambda batch: engine.render(batch, vector), photo)
    blocks = fast.render_any_size(lambda b: engine.render_blocks(b, vector, BLOCK), photo)
    assert np.abs(blocks - whole).max() <= TOLERANCE

    # Each block rendered on its own (with the same margin-free grid) is visibly different.
    def tiles(batch: np.ndarray) -> np.ndarray:
        out = np.empty(batch.shape[1:], np.float32)
        for top in range(0, batch.shape[1], BLOCK):
            for left in range(0, batch.shape[2], BLOCK):
                tile = batch[:, top : top + BLOCK, left : left + BLOCK]
                out[top : top + BLOCK, left : left + BLOCK] = engine.render(tile, vector)
        return out

    assert np.abs(fast.render_any_size(tiles, photo) - whole).mean() > NAIVE_TILES_MIN


def test_a_style_mix_at_partial_strength_renders_alike_in_blocks(
    photo: np.ndarray, monkeypatch: pytest.MonkeyPatch
):
    styles = [load_image(path) for path in STYLES]
    options = FastOptions(strength=0.6, engine="lite")
    whole = fast.stylize(photo, styles, (2.0, 1.0), options).image
    # Past the memory bound `stylize` renders in blocks: here every image is past it.
    monkeypatch.setattr(fast, "FAST_WHOLE_MEMORY", 0)
    monkeypatch.setattr(fast, "FAST_BLOCK_SIDE", BLOCK)
    blocks = fast.stylize(photo, styles, (2.0, 1.0), options).image
    assert np.abs(blocks - whole).max() <= TOLERANCE


def test_one_pass_up_to_2048_px_photos_and_blocks_for_a_4096_px_square():
    assert fast.fits_whole(2048 * 1365)
    assert not fast.fits_whole(4096 * 4096)
