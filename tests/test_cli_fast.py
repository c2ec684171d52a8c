"""`python -m nst fast` as a person runs it: a real process, real files, the real lite weights."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
COFFEE = REPO / "assets" / "content_coffee.jpg"  # 600×400
SWIRLS = REPO / "assets" / "style_swirls.jpg"
SHAPES = REPO / "assets" / "style_shapes.jpg"


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nst", "fast", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fast_writes_the_output_and_reports_engine_and_seconds(tmp_path: Path):
    out = tmp_path / "coffee.png"
    options = ["--engine", "lite", "--size", "203", "--strength", "0.8", "--preserve-color"]
    done = run_cli(COFFEE, SWIRLS, SHAPES, "-o", out, *options, "--style-mix", "2", "1")
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size == (203, 135)
    assert re.search(
        r"^Fast · lite engine · colors: the photo's \(luminance transfer\) · CPU, \d+ threads? · "
        r"\d+\.\d s · 203×135 px$",
        done.stdout,
        re.M,
    )
    assert f"wrote {out}" in done.stdout
    assert "Traceback" not in done.stderr


def test_auto_falls_back_to_lite_when_the_hub_cannot_load(tmp_path: Path):
    out = tmp_path / "coffee.jpg"
    unreachable = "http://127.0.0.1:9/model"  # the discard port: nothing listens
    done = run_cli(COFFEE, SWIRLS, "-o", out, "--size", "128", "--hub-handle", unreachable)
    assert done.returncode == 0, done.stderr
    assert "lite engine" in done.stdout
    assert max(Image.open(out).size) == 128


def not_an_image(tmp_path: Path) -> list[str | Path]:
    text = tmp_path / "holiday.jpg"
    text.write_text("This is a shopping list, not a photo.\n")
    return [text, SWIRLS]


@pytest.mark.parametrize(
    "make_args, message",
    [
        (not_an_image, "not an image"),
        (lambda tmp_path: [COFFEE, SWIRLS, "--strength", "1.5"], "strength"),
        (lambda tmp_path: [COFFEE, REPO / "assets" / "missing.jpg"], "does not exist"),
    ],
    ids=["text-file", "strength", "missing-style"],
)
def test_bad_input_exits_non_zero_with_one_error_line(tmp_path: Path, make_args, message: str):
    out = tmp_path / "out.png"
    done = run_cli(*make_args(tmp_path), "-o", out, "--engine", "lite")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    # TensorFlow may print its own C++ log lines when imported; ours is exactly one, the last.
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert done.stderr.splitlines()[-1] == errors[0]
    assert message in errors[0]
    assert not out.exists()
