"""The page's handlers called as the served app calls them, with no server: a `PageInputs` of
real assets in, what the page shows out."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import app
from app import MEASURING, PageInputs, measure_fast, run_fast, run_optimize
from nst.images import load_image
from nst.optimize import Progress


def _inputs(photo: Path, painting: Path, **values) -> PageInputs:
    return PageInputs(content=str(photo), style=str(painting), size=128, **values)


def test_the_api_parameters_are_the_page_inputs_fields() -> None:
    """The API's names and order, which API users rely on, come from `PageInputs`."""
    endpoints = app.demo.get_api_info()["named_endpoints"]
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
            "fast_image",
        ],
        "/inside_vgg": ["content", "style", "second_style", "mask", "mask_file", "layer"],
    }


def test_fast_then_its_losses(photo: Path, painting: Path) -> None:
    inputs = _inputs(photo, painting)
    image, numbers = run_fast(inputs)
    assert image.shape == (85, 128, 3) and image.dtype == np.uint8  # Chelsea is 451×300
    assert "lite engine" in numbers and MEASURING in numbers
    measured = measure_fast(inputs, image, numbers)
    assert "style loss" in measured and "<details>" in measured and MEASURING not in measured


def test_a_painted_mask_keeps_the_photo_where_nothing_is_painted(
    photo: Path, painting: Path
) -> None:
    strokes = np.zeros((300, 451, 4), np.uint8)
    strokes[:, :200] = 255  # the left part painted white, as the editor's RGBA layer holds it
    inputs = _inputs(photo, painting, mask={"background": str(photo), "layers": [strokes]})
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


def test_optimize_from_the_fast_result_it_makes_then_compares_with_it(
    photo: Path, painting: Path
) -> None:
    shown = list(run_optimize(_inputs(photo, painting, time_budget=4), None))
    fast_image, fast_numbers, *_ = shown[0]  # made first, and shown at once
    assert fast_image.shape == (85, 128, 3) and MEASURING in fast_numbers
    _, fast_numbers, optimized, numbers, curve = shown[-1]
    assert optimized.shape == fast_image.shape  # (how far it got depends on the machine's load)
    assert "style loss" in fast_numbers and MEASURING not in fast_numbers  # measured here
    assert "Optimized · lbfgs from fast" in numbers and "to the painting" in numbers
    assert numbers.count("style loss") == 2  # both results' exact losses, one click away
    assert len(curve) and curve["step"].dtype.kind == "i"  # whole steps
    ends = curve.groupby("series")["step"].max()  # at the end, the fast line spans the steps made
    assert ends[app.FAST_SERIES] == ends[app.OPTIMIZED_SERIES]


def test_while_it_runs_the_curve_spans_the_runs_expected_length() -> None:
    """The fast result's line reaches the run's expected end, so the axis spans the whole run
    from the start instead of stretching at every preview."""
    step = Progress(step=5, seconds=15.0, size=(85, 128), losses={"total": 1.0})
    fraction = app._fraction(step, time_budget=60.0)
    assert fraction == 0.25
    assert app._fraction(replace(step, planned_steps=10), time_budget=60.0) == 0.5  # sooner
    points = [{"step": n, "loss": 2.0 / n, "series": app.OPTIMIZED_SERIES} for n in range(1, 6)]
    curve = app._curve(points, 0.5, round(step.step / fraction))
    ends = curve.groupby("series")["step"].max()
    assert (ends[app.OPTIMIZED_SERIES], ends[app.FAST_SERIES]) == (5, 20)
    assert curve["step"].dtype.kind == "i"


def test_the_page_refuses_sizes_beyond_its_device_limit(photo: Path, painting: Path) -> None:
    """The page's largest output is enforced on the server, not only by the slider."""
    largest = app.DEVICE_DEFAULTS[app.device.current().kind].page_max_size
    image, numbers = run_fast(replace(_inputs(photo, painting), size=largest + 32))
    assert image is None
    assert numbers.startswith("⚠️") and f"{largest} px" in numbers and "\n" not in numbers


def test_the_estimate_grows_with_the_size_and_names_the_budget(photo: Path) -> None:
    small = app.optimize_estimate(512, None, str(photo))
    large = app.optimize_estimate(2048, 60, str(photo))
    assert "512 px" in small and "scales" not in small and "budget" not in small
    assert "2048 px" in large and "over 3 scales" in large and "ends it after 60 s" in large
    # Without a photo (or with a file that is not one) it estimates for a 3:2 one.
    assert app.optimize_estimate(1024, None, None) == app.optimize_estimate(1024, None, "nope")
