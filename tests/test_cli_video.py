"""`python -m nst video` and `python -m nst fast` on several photos, in this process (as
`sys.exit(cli.main())` runs them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from test_video import make_clip

from nst import cli
from nst.door import open_video

ASSETS = Path(__file__).resolve().parents[1] / "assets"
STYLE = ASSETS / "style_udnie.jpg"


def test_video_writes_the_clip_and_says_what_it_made(tmp_path: Path, capsys) -> None:
    clip, out = make_clip(tmp_path / "clip.mkv", count=5, codec="libvpx-vp9"), tmp_path / "o.mp4"
    assert cli.main(["video", str(clip), str(STYLE), "-o", str(out), "--size", "64"]) == 0
    printed = capsys.readouterr().out
    assert "5 frames, 96×64 px, no sound" in printed and f"wrote {out}" in printed
    with open_video(out) as made:
        assert made.video.codec_context.name == "h264"


def test_a_bad_clip_is_one_line_and_status_2(tmp_path: Path, capsys) -> None:
    playlist = tmp_path / "clip.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:10,\n/etc/passwd\n")
    out = tmp_path / "o.mp4"
    assert cli.main(["video", str(playlist), str(STYLE), "-o", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("error: 'clip.mp4' is a playlist")
    assert not out.exists() and list(tmp_path.iterdir()) == [playlist]


def test_fast_on_photos_and_a_folder_writes_one_result_each(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    for name in ("coffee", "rocket"):
        (folder / f"{name}.jpg").write_bytes((ASSETS / f"content_{name}.jpg").read_bytes())
    (folder / "notes.txt").write_text("not a photo, and not taken: its name says so")
    (folder / "broken.png").write_text("not a picture either")
    out = tmp_path / "out"
    argv = [str(ASSETS / "content_chelsea.jpg"), str(folder), "-s", str(STYLE), "-o", str(out)]
    status = cli.main(["fast", *argv, "--size", "64", "--engine", "lite"])
    captured = capsys.readouterr()
    assert status == 2  # one photo could not be used
    assert sorted(p.name for p in out.iterdir()) == [
        "coffee.png",
        "content_chelsea.png",
        "rocket.png",
    ]
    assert all(max(Image.open(p).size) == 64 for p in out.iterdir())
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: broken.png: 'broken.png' is not an image we open; send a JPEG, PNG, WebP, "
        "BMP, GIF or TIFF file."
    ]
    assert "wrote 3 of 4 results" in captured.out


@pytest.mark.parametrize("argv", [["fast", "photo.jpg", "-o", "o.png"], ["fast", "-o", "o.png"]])
def test_fast_without_a_style_is_one_line(argv: list[str], capsys) -> None:
    try:
        status = cli.main(argv)
    except SystemExit as exit:  # argparse's own usage error
        status = exit.code
    assert status == 2 and capsys.readouterr().err.strip().splitlines()[-1].startswith(
        ("error:", "usage:", "python -m nst")
    )
