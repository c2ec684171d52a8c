"""The app's API as a Space exposes it, driven through gradio_client against the served app."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url: str):
    return gradio_client.Client(app_url, verbose=False)


def _shared_inputs(content: Path, style: Path, size: int = 192) -> list:
    handle = gradio_client.handle_file
    return [handle(str(content)), handle(str(style)), None, 0.5, 1.0, size, False]


def test_fast_then_optimize_from_it(client, photo: Path, painting: Path) -> None:
    inputs = _shared_inputs(photo, painting)
    fast_path, fast_numbers = client.predict(*inputs, api_name="/fast")
    fast_image = np.asarray(Image.open(fast_path))
    assert fast_image.shape == (128, 192, 3)
    assert "lite" in fast_numbers and "measuring losses" in fast_numbers
    with_losses = client.predict(
        *inputs[:4], gradio_client.handle_file(fast_path), fast_numbers, api_name="/fast_losses"
    )
    assert "style loss" in with_losses and "lite" in with_losses

    job = client.submit(
        *_shared_inputs(photo, painting), "fast", 10, "balanced",
        gradio_client.handle_file(fast_path), api_name="/optimize",
    )  # fmt: skip
    *_, optimized_path, numbers, curve = job.result(timeout=300)
    optimized = np.asarray(Image.open(optimized_path))
    assert optimized.shape == fast_image.shape
    assert not np.array_equal(optimized, fast_image)
    assert "lbfgs" in numbers and "from fast" in numbers and "style loss" in numbers
    series = {row[2] for row in curve["data"]}
    assert series == {"optimized (best so far)", "fast result"}
    best = [row[1] for row in curve["data"] if row[2] == "optimized (best so far)"]
    fast_line = [row[1] for row in curve["data"] if row[2] == "fast result"]
    assert best == sorted(best, reverse=True)  # best so far never rises
    assert best[0] == pytest.approx(fast_line[0], rel=1e-3)  # it starts from the fast image


def test_non_image_gets_a_message_and_the_server_keeps_serving(
    client, tmp_path: Path, photo: Path, painting: Path
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"GIF89a but not really")
    with pytest.raises(gradio_client.exceptions.AppError, match=r"is damaged|is not an image"):
        client.predict(*_shared_inputs(fake, painting), api_name="/fast")
    path, _ = client.predict(*_shared_inputs(photo, painting), api_name="/fast")
    assert Path(path).is_file()


def test_inside_vgg_shows_feature_maps_and_the_gram_matrix(
    client, photo: Path, painting: Path
) -> None:
    handle = gradio_client.handle_file
    content_maps, style_maps, gram = client.predict(
        handle(str(photo)), handle(str(painting)), "block3_conv1", api_name="/inside_vgg"
    )
    gram_image = np.asarray(Image.open(gram))
    assert gram_image.shape[0] == gram_image.shape[1]  # a channels × channels matrix
    # 16 tiles in 4 columns of block3 maps (1/4 of 256 px wide landscape images), 2 px apart.
    for maps in (content_maps, style_maps):
        assert Image.open(maps).width == 4 * 64 + 3 * 2
