"""The app's API as a Space exposes it, driven through gradio_client against the served app."""

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gradio_client = pytest.importorskip("gradio_client")
from page_inputs import page_inputs, visitor  # noqa: E402


@pytest.fixture(scope="module")
def client(app_url: str):
    return visitor(app_url)


def test_fast_then_optimize_from_it(client, photo: Path, painting: Path) -> None:
    # The page's shortest budget, at 128 px (0.2 s an evaluation): room for many evaluations
    # even on a busy 2-core machine. (The budget includes computing the targets; at 192 px, under
    # load, 10 s once left only the fast image's own evaluation.)
    inputs = page_inputs(photo, painting, 128, time_budget=10)
    fast_path, fast_numbers = client.predict(**inputs.api("fast"), api_name="/fast")
    fast_image = np.asarray(Image.open(fast_path))
    assert fast_image.shape == (85, 128, 3)
    assert "lite" in fast_numbers and "measuring losses" in fast_numbers
    fast_shown = gradio_client.handle_file(fast_path)
    with_losses = client.predict(
        **inputs.api("fast_losses"),
        fast_image=fast_shown,
        numbers=fast_numbers,
        api_name="/fast_losses",
    )
    assert "style loss" in with_losses and "lite" in with_losses

    job = client.submit(**inputs.api("optimize"), fast_image=fast_shown, api_name="/optimize")
    *_, optimized_path, numbers, curve = job.result(timeout=300)
    optimized = np.asarray(Image.open(optimized_path))
    assert optimized.shape == fast_image.shape
    assert not np.array_equal(optimized, fast_image)
    assert "lbfgs" in numbers and "from fast" in numbers and "style loss" in numbers
    assert "CPU, 1 thread" in numbers  # the threads the test server gives TensorFlow (conftest)
    assert "to the painting" in numbers  # compared with the fast result in words
    series = {row[2] for row in curve["data"]}
    assert series == {"optimized (best so far)", "fast result"}
    best = [row[1] for row in curve["data"] if row[2] == "optimized (best so far)"]
    fast_line = [row[1] for row in curve["data"] if row[2] == "fast result"]
    assert best == sorted(best, reverse=True)  # best so far never rises
    assert best[0] == pytest.approx(fast_line[0], rel=1e-3)  # it starts from the fast image


def test_histogram_colors_are_made_and_measured_with_the_matched_style(
    client, photo: Path, painting: Path
) -> None:
    inputs = page_inputs(photo, painting, 192, colors="histogram")
    path, numbers = client.predict(**inputs.api("fast"), api_name="/fast")
    assert "colors: the style's, matched to the photo" in numbers
    handle = gradio_client.handle_file
    matched, plain = (
        client.predict(
            **replace(inputs, colors=colors).api("fast_losses"),
            fast_image=handle(path),
            numbers=numbers,
            api_name="/fast_losses",
        )
        for colors in ("histogram", "style")
    )
    # The same image scores differently against the recolored style than against the painting.
    assert "style loss" in matched and "style loss" in plain and matched != plain


def test_non_image_gets_a_message_and_the_server_keeps_serving(
    client, tmp_path: Path, photo: Path, painting: Path
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"GIF89a but not really")
    path, numbers = client.predict(**page_inputs(fake, painting, 192).api("fast"), api_name="/fast")
    assert path is None and numbers.startswith("⚠️") and "is not an image" in numbers
    path, _ = client.predict(**page_inputs(photo, painting, 192).api("fast"), api_name="/fast")
    assert Path(path).is_file()


def test_inside_vgg_shows_feature_maps_the_gram_matrix_and_the_moments(
    client, photo: Path, painting: Path, tmp_path: Path
) -> None:
    handle = gradio_client.handle_file
    content_maps, style_maps, gram, means, covariance, note, *regions = client.predict(
        handle(str(photo)),
        handle(str(painting)),
        None,
        None,
        None,
        "block3_conv1",
        api_name="/inside_vgg",
    )
    assert note.startswith("block3_conv1: 256 channels") and regions == [None] * 3
    gram_image, covariance_image = (np.asarray(Image.open(g)) for g in (gram, covariance))
    assert gram_image.shape[0] == gram_image.shape[1]  # a channels × channels matrix
    assert covariance_image.shape == gram_image.shape  # the same channels, centred
    assert Image.open(means).width == gram_image.shape[1]  # one cell a channel
    # 16 tiles in 4 columns of block3 maps (1/4 of 256 px wide landscape images), 2 px apart.
    for maps in (content_maps, style_maps):
        assert Image.open(maps).width == 4 * 64 + 3 * 2


FAILURES = {  # server fixture: what the one line says
    "no_weights_server": "VGG19 weights the optimizer needs are not available",
    "broken_optimizer_server": "Something went wrong on the server (RuntimeError)",
}


@pytest.mark.parametrize("server_name", FAILURES)
def test_a_failed_optimization_returns_one_line_and_the_server_keeps_serving(
    request: pytest.FixtureRequest, server_name: str, photo: Path, painting: Path
) -> None:
    server = request.getfixturevalue(server_name)
    client = visitor(server.url)
    inputs = page_inputs(photo, painting, 128)
    started = time.monotonic()
    job = client.submit(**inputs.api("optimize"), fast_image=None, api_name="/optimize")
    fast_path, fast_numbers, optimized, numbers, _curve = job.result(timeout=120)
    assert time.monotonic() - started < 60  # the failure ends the request; nothing waits
    assert optimized is None
    assert numbers.startswith("⚠️") and FAILURES[server_name] in numbers and "\n" not in numbers
    assert "Traceback" not in numbers and "/" not in numbers.split("(")[0]
    assert Path(fast_path).is_file() and "lite engine" in fast_numbers  # made to start from

    # The fast path still works; its losses need the weights too.
    path, fast_numbers = client.predict(**inputs.api("fast"), api_name="/fast")
    assert Path(path).is_file()
    losses = client.predict(
        **inputs.api("fast_losses"),
        fast_image=gradio_client.handle_file(path),
        numbers=fast_numbers,
        api_name="/fast_losses",
    )
    if server_name == "no_weights_server":
        assert "⚠️ The VGG19 weights" in losses and "measuring" not in losses
    else:
        assert "style loss" in losses
    log = server.log.read_text()
    detail = "Traceback" if server_name == "broken_optimizer_server" else "NST_VGG19_WEIGHTS to"
    assert 1 <= log.count(detail) <= 2  # once per failed request (the optimization, the losses)


def test_inside_vgg_shows_the_mask_at_the_layer_and_each_regions_target(
    client, photo: Path, painting: Path, tmp_path: Path
) -> None:
    left = np.zeros((300, 451), np.uint8)
    left[:, :225] = 255
    Image.fromarray(left).save(mask := tmp_path / "left.png")
    handle = gradio_client.handle_file
    *_, mask_view, white, black = client.predict(
        handle(str(photo)),
        handle(str(painting)),
        None,
        None,
        handle(str(mask)),
        "block3_conv1",
        api_name="/inside_vgg",
    )
    shown = np.asarray(Image.open(mask_view).convert("RGB"), np.float32)
    assert shown.shape[1] == 256  # 64 cells of block3's 64×43 map, 4 px each
    assert shown[:, :100].mean() > shown[:, -100:].mean() + 50  # bright (yellow) on the left
    white_gram, black_gram = (np.asarray(Image.open(g), np.float32) for g in (white, black))
    assert white_gram.shape == black_gram.shape and np.abs(white_gram - black_gram).mean() > 5
