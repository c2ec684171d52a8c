"""The optimizers on real weights and images: loss falls, stop, time budget, seeds, odd sizes."""

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from nst import cli, losses, optimize
from nst.errors import InputError
from nst.images import load_image, resize_long_side
from nst.options import HISTORY_BYTES, INITS, OPTIMIZERS, TUTORIAL, OptimizeOptions
from nst.targets import Targets


@pytest.fixture(scope="module")
def images(photo: Path, painting: Path) -> tuple[np.ndarray, np.ndarray]:
    return load_image(photo, 48), load_image(painting, 48)


def run(content, style, start=None, preview_every=10, **options) -> list[optimize.Progress]:
    """Every Progress of a run under the tutorial's losses; ``options`` are OptimizeOptions'."""
    options = OptimizeOptions(preset="tutorial", **options)
    targets = Targets((style,))
    return list(
        optimize.optimize(content, targets, options, start=start, preview_every=preview_every)
    )


@pytest.mark.parametrize(  # each start with the default optimizer, each optimizer from the photo
    ("init", "optimizer"),
    [(init, OPTIMIZERS[0]) for init in INITS] + [(INITS[0], other) for other in OPTIMIZERS[1:]],
)
def test_loss_falls(images, optimizer: str, init: str) -> None:
    content, style = images
    fast_result = np.clip(content * 0.5 + style.mean(axis=(0, 1)) * 0.5, 0, 1)  # a stand-in
    fast_result = fast_result.astype(np.float64)  # as the app passes it: uint8 / 255
    progress = run(
        content,
        style,
        optimizer=optimizer,
        init=init,
        start=fast_result,
        steps=6,
        preview_every=2,
    )
    final = progress[-1]
    assert final.done and final.stopped_by == "steps"
    assert [p.step for p in progress] == [1, 2, 3, 4, 5, 6, 6]
    assert {p.planned_steps for p in progress} == {6}
    assert final.preview.shape == content.shape
    assert final.preview.min() >= 0.0 and final.preview.max() <= 1.0
    assert final.best_losses["total"] < progress[0].losses["total"]
    assert all(p.preview is not None for p in progress[:-1] if p.step % 2 == 0)


def test_gradients_are_finite(images) -> None:
    content, style = images
    loss = losses.StyleLoss(content, Targets((style,)), TUTORIAL)
    noise = optimize.initial_image(content, "noise", seed=1)
    values, grad = loss.value_and_grad()(tf.constant(noise[None]))
    assert np.isfinite(grad.numpy()).all() and np.abs(grad.numpy()).max() > 0
    assert all(np.isfinite(float(value)) for value in values.values())


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_stop_returns_the_best_image_within_one_step(images, optimizer: str) -> None:
    content, style = images
    stop = threading.Event()
    seen = []
    options = OptimizeOptions(optimizer=optimizer, steps=1000)
    for progress in optimize.optimize(
        content, Targets((style,)), options, stop=stop, preview_every=0
    ):
        seen.append(progress)
        if progress.step == 3:
            stop.set()
    final = seen[-1]
    assert final.done and final.stopped_by == "stop"
    assert final.step <= 4
    assert final.preview.shape == content.shape


def test_time_budget_ends_the_run(images) -> None:
    content, style = images
    final = run(content, style, steps=1000, time_budget=1e-6)[-1]
    assert final.stopped_by == "time" and final.step == 1


def test_seed_makes_noise_reproducible(images) -> None:
    content, _ = images
    first = optimize.initial_image(content, "noise", seed=7)
    assert np.array_equal(first, optimize.initial_image(content, "noise", seed=7))
    assert not np.array_equal(first, optimize.initial_image(content, "noise", seed=8))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_tiny_and_non_square_images(images, optimizer: str) -> None:
    content, style = images
    tiny = np.ascontiguousarray(content[:17, :45])
    final = run(tiny, style[:20, :30], optimizer=optimizer, steps=3)[-1]
    assert final.preview.shape == (17, 45, 3)


def test_coarse_to_fine_ends_at_full_size(images) -> None:
    content, style = images
    progress = run(content, style, scales=2, steps=5)  # 3 coarse, then 2
    assert content.shape[:2] == (32, 48)
    assert [p.size for p in progress[:-1]] == [(16, 24)] * 3 + [(32, 48)] * 2
    assert progress[-1].preview.shape == content.shape
    assert [(p.scale, p.scales) for p in progress[:-1]] == [(1, 2)] * 3 + [(2, 2)] * 2


def test_the_history_is_sized_by_memory() -> None:
    assert optimize.fitted_history(40, (341, 512)) == 40  # 2 MB an image: all of it
    # 4096 px: two 134 MB tensors a step, within HISTORY_BYTES.
    assert optimize.fitted_history(40, (2730, 4096)) == HISTORY_BYTES // (2 * 2730 * 4096 * 3 * 4)
    assert optimize.fitted_history(40, (20000, 20000)) == 1  # never none


def test_bad_options_are_input_errors(images) -> None:
    content, style = images
    with pytest.raises(InputError, match="optimizer"):
        run(content, style, optimizer="sgd")
    with pytest.raises(InputError, match="init"):
        run(content, style, init="blank")


def test_cli_optimize_then_score_matches_the_library(
    photo: Path, painting: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    output, log = tmp_path / "out.png", tmp_path / "log.json"
    status = cli.main(
        [
            "optimize",
            str(photo),
            str(painting),
            "-o",
            str(output),
            "--size",
            "64",
            "--steps",
            "3",
            "--preset",
            "tutorial",
            "--log-json",
            str(log),
        ]
    )
    assert status == 0 and output.is_file()
    assert [entry["step"] for entry in json.loads(log.read_text())] == [1, 2, 3, 3]
    capsys.readouterr()
    assert cli.main(["score", str(photo), str(painting), str(output)]) == 0
    printed = json.loads(capsys.readouterr().out)
    # The tutorial's losses, the style at the image's long side.
    style = resize_long_side(load_image(painting), 64)
    expected = losses.score(load_image(output), load_image(photo), Targets((style,)))
    assert printed == expected


def test_cli_bad_input_is_one_line_and_nonzero(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = tmp_path / "missing.jpg"
    status = cli.main(["optimize", str(photo), str(missing), "-o", str(tmp_path / "o.png")])
    error = capsys.readouterr().err
    assert status != 0 and error.startswith("error:") and error.count("\n") == 1


@pytest.mark.parametrize("statistic, words", [("gram", "(Gram)"), ("w2", "(Wasserstein)")])
def test_cli_optimizes_either_statistic_says_which_and_scores_both(
    statistic: str, words: str, photo: Path, painting: Path, tmp_path: Path, capsys
) -> None:
    output = tmp_path / "out.png"
    argv = ["optimize", str(photo), str(painting), "-o", str(output), "--size", "64"]
    assert cli.main([*argv, "--steps", "3", "--style-loss", statistic]) == 0
    printed = capsys.readouterr().out
    assert words in printed.splitlines()[0]  # what made it
    scored = next(line for line in printed.splitlines() if line.startswith("scored:"))
    assert "style loss" in scored and "style loss (W2)" in scored and "content loss" in scored
