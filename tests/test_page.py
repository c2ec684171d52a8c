"""The page's handlers called as the served app calls them, with no server: a `PageInputs` of
real assets in, what the page shows out."""

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import device
from nst.clock import Clock, Timing
from nst.errors import InputError
from nst.images import load_image
from nst.optimize import Progress
from web import compare, text
from web.compare import loss_curve, optimize_estimate, run_fast, run_optimize, score_fast
from web.inputs import PageInputs, Upload, write_once
from web.page import build
from web.settings import ServerSettings


def _inputs(photo: Path, painting: Path, **values) -> PageInputs:
    return PageInputs(content=str(photo), style=str(painting), size=128, **values)


def _png(image: np.ndarray, path: Path) -> str:
    Image.fromarray(image).save(path)
    return str(path)


def test_the_api_parameters_are_the_page_inputs_fields() -> None:
    """The API's names and order, which API users rely on, come from `PageInputs`."""
    endpoints = build(ServerSettings()).get_api_info()["named_endpoints"]
    names = {
        name: [parameter["parameter_name"] for parameter in endpoint["parameters"]]
        for name, endpoint in endpoints.items()
    }
    shared = ["content", "style", "second_style", "second_style_share"]
    perceptual = ["colors", "style_scale", "mask", "mask_file"]
    assert names == {
        "/fast": [*shared, "strength", "size", *perceptual],
        "/fast_losses": [*shared, *perceptual, "fast_image", "numbers"],
        "/optimize": [
            *shared,
            "strength",
            "size",
            *perceptual,
            "init",
            "time_budget",
            "emphasis",
            "style_loss",
            "fast_image",
        ],
        "/inside_vgg": ["content", "style", "second_style", "mask", "mask_file", "layer"],
        "/video": [
            "clip",
            "style",
            "second_style",
            "second_style_share",
            "size",
            "strength",
            "colors",
            "style_scale",
            "temporal",
        ],
    }


def test_fast_then_its_losses(photo: Path, painting: Path, tmp_path: Path) -> None:
    inputs = _inputs(photo, painting)
    image, numbers = run_fast(inputs)
    assert image.shape == (85, 128, 3) and image.dtype == np.uint8  # Chelsea is 451×300
    assert "lite engine" in numbers and text.MEASURING in numbers
    measured = score_fast(inputs, _png(image, tmp_path / "fast.png"), numbers)
    assert "style loss" in measured and "<details>" in measured and text.MEASURING not in measured


def test_a_painted_mask_keeps_the_photo_where_nothing_is_painted(
    photo: Path, painting: Path, tmp_path: Path
) -> None:
    strokes = np.zeros((300, 451, 4), np.uint8)
    strokes[:, :200] = 255  # the left part painted white, as the editor's RGBA layer holds it
    layer = _png(strokes, tmp_path / "layer.png")
    inputs = _inputs(photo, painting, mask={"background": str(photo), "layers": [layer]})
    image, numbers = run_fast(inputs)
    fast = image / 255.0
    content = load_image(load_image(photo), long_side=128)
    right, left = np.s_[:, 64:], np.s_[:, 10:50]  # never painted; painted
    assert np.abs(fast[right] - content[right]).mean() < 2 / 255
    assert np.abs(fast[left] - content[left]).mean() > 0.1
    assert "measuring" in numbers


@pytest.mark.parametrize("field", ["content", "style", "mask_file"])
def test_a_file_that_is_not_an_image_gives_one_line(
    field: str, photo: Path, painting: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a picture")
    inputs = replace(_inputs(photo, painting), **{field: str(fake)})
    image, numbers = run_fast(inputs)
    assert image is None and numbers.startswith("⚠️") and "is not an image" in numbers
    assert "\n" not in numbers and "Traceback" not in numbers
    *_, (_, _, optimized, numbers, _) = run_optimize(inputs, None)
    assert optimized is None and numbers.startswith("⚠️") and "\n" not in numbers


def test_a_refusal_from_an_upload_component_is_the_handlers_one_line(
    photo: Path, painting: Path
) -> None:
    """What an upload component hands over when it had no usable file (not uploaded here)."""
    inputs = replace(_inputs(photo, painting), style=InputError("That file was not uploaded."))
    image, numbers = run_fast(inputs)
    assert image is None and numbers == "⚠️ That file was not uploaded."


def test_optimize_from_the_fast_result_it_makes_then_compares_with_it(
    photo: Path, painting: Path
) -> None:
    shown = list(run_optimize(_inputs(photo, painting, time_budget=4), None))
    fast_image, fast_numbers, *_ = shown[0]  # made first, and shown at once
    assert fast_image.shape == (85, 128, 3) and text.MEASURING in fast_numbers
    _, fast_numbers, optimized, numbers, curve = shown[-1]
    assert optimized.shape == fast_image.shape  # (how far it got depends on the machine's load)
    assert "style loss" in fast_numbers and text.MEASURING not in fast_numbers  # measured here
    assert "Optimized · lbfgs from fast" in numbers and "to the painting" in numbers
    assert numbers.count("style loss (W2)") == 2  # both results' exact losses, one click away
    assert len(curve) and curve["step"].dtype.kind == "i"  # whole steps
    ends = curve.groupby("series")["step"].max()  # at the end, the fast line spans the steps made
    assert ends[text.FAST_SERIES] == ends[text.OPTIMIZED_SERIES]


def test_while_it_runs_the_curve_spans_the_runs_expected_length() -> None:
    """The fast result's line reaches the run's expected end, so the axis spans the whole run
    from the start instead of stretching at every preview."""
    step = Progress(step=5, seconds=15.0, size=(85, 128), losses={"total": 1.0})
    fraction = step.fraction(time_budget=60.0)
    assert fraction == 0.25
    assert replace(step, planned_steps=10).fraction(time_budget=60.0) == 0.5  # sooner
    points = [{"step": n, "loss": 2.0 / n, "series": text.OPTIMIZED_SERIES} for n in range(1, 6)]
    curve = loss_curve(points, 0.5, round(step.step / fraction))
    ends = curve.groupby("series")["step"].max()
    assert (ends[text.OPTIMIZED_SERIES], ends[text.FAST_SERIES]) == (5, 20)
    assert curve["step"].dtype.kind == "i"


def test_the_page_refuses_sizes_beyond_its_device_limit(photo: Path, painting: Path) -> None:
    """The page's largest output is enforced on the server, not only by the slider."""
    largest = device.defaults().page_max_size
    image, numbers = run_fast(replace(_inputs(photo, painting), size=largest + 32))
    assert image is None
    assert numbers.startswith("⚠️") and f"{largest} px" in numbers and "\n" not in numbers


def test_the_estimate_waits_for_the_clock_then_grows_with_the_size(
    photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(compare, "CLOCK", clock)
    assert optimize_estimate(512, None, str(photo)) == text.ESTIMATING
    for shape in ((171, 256), (341, 512)):  # 0.5 s per megapixel and evaluation, no setup
        seconds = shape[0] * shape[1] / 2e6
        clock.observe(Timing(shape, False, seconds, (seconds,) * 3))
    small = optimize_estimate(512, None, str(photo))
    large = optimize_estimate(2048, 10, str(photo))
    assert small == f"*Optimize at 512 px: about 4 s on {device.current().label}.*"
    assert "2048 px" in large and "over 3 scales" in large and "ends it after 10 s" in large
    # Without a photo (or with a file that is not one) it estimates for a 3:2 one.
    assert optimize_estimate(1024, None, None) == optimize_estimate(1024, None, "nope")


def test_a_result_handed_out_again_is_never_rewritten_under_a_download(tmp_path: Path) -> None:
    """Two visitors handed the same image (one example clicked twice): the second is given the
    file the first may still be downloading, untouched. (Gradio's own saving rewrote it in
    place, and a download under way was cut short.)"""
    pixels = (np.arange(24 * 32 * 3) % 251).astype(np.uint8).reshape(24, 32, 3)
    result = Upload(format="png", interactive=False)
    result.GRADIO_CACHE = str(tmp_path)
    first = result.postprocess(pixels).path
    assert np.array_equal(load_image(first), pixels.astype(np.float32) / 255)
    # Mark the file in place: a rewrite, even with the same bytes, would remove the mark.
    Path(first).write_bytes(Path(first).read_bytes() + b"being downloaded")
    written = os.stat(first)
    assert result.postprocess(pixels).path == first
    assert Path(first).read_bytes().endswith(b"being downloaded")
    assert os.stat(first).st_ino == written.st_ino
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["image.png"]
    assert write_once(b"other", "image.png", str(tmp_path)) != first
