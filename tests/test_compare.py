"""`python -m nst compare`: both paths, four files, and metrics that equal `python -m nst score`."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import cli

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "assets" / "content_chelsea.jpg"
STYLE = REPO / "assets" / "style_swirls.jpg"


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m nst compare` (`sys.exit(cli.main())`), run in this process: a new one would
    spend 10 s importing TensorFlow."""
    out = tmp_path_factory.mktemp("compare")
    args = ["compare", str(CONTENT), str(STYLE), "-o", str(out), "--size", "128"]
    assert cli.main([*args, "--steps", "5"]) == 0  # steps, not seconds: the same on a busy machine
    return out


def test_compare_writes_the_four_files(compared: Path) -> None:
    names = {"fast.png", "optimized.png", "side_by_side.png", "metrics.json"}
    assert {path.name for path in compared.iterdir()} == names
    fast, optimized = (np.asarray(Image.open(compared / f"{n}.png")) for n in ("fast", "optimized"))
    assert fast.shape == optimized.shape == (85, 128, 3)
    assert not np.array_equal(fast, optimized)
    side_by_side = Image.open(compared / "side_by_side.png")
    assert side_by_side.width > 3 * 128 and side_by_side.height > 85  # three panels and labels


def test_metrics_say_what_made_each_image(compared: Path) -> None:
    metrics = json.loads((compared / "metrics.json").read_text())
    fast, optimized = metrics["fast"]["recipe"], metrics["optimized"]["recipe"]
    assert fast["method"] == "fast" and fast["engine"] in ("hub", "lite")
    assert optimized["method"] == "optimize" and optimized["style_loss"] == "gram"
    assert optimized["init"] == "fast" and optimized["steps"] > 0
    for key in ("fast", "optimized"):
        assert metrics[key]["seconds"] > 0
        losses = metrics[key]["losses"]
        assert {"style_loss", "style_loss_w2", "content_loss", "total"} <= set(losses)
    # The optimizer starts from the fast result and keeps its best image: lower total loss.
    assert metrics["optimized"]["losses"]["total"] < metrics["fast"]["losses"]["total"]


@pytest.mark.parametrize("name", ["fast", "optimized"])
def test_metrics_equal_what_score_prints(
    compared: Path, name: str, capsys: pytest.CaptureFixture
) -> None:
    assert cli.main(["score", str(CONTENT), str(STYLE), str(compared / f"{name}.png")]) == 0
    scored = json.loads(capsys.readouterr().out)
    metrics = json.loads((compared / "metrics.json").read_text())[name]["losses"]
    for key in ("style_loss", "style_loss_w2", "content_loss", "total"):
        assert metrics[key] == pytest.approx(scored[key], rel=1e-6)
