"""The hostile corpus (tests/hostile.py) through every path that decodes a person's file here.

The library (`nst.images.load_image` and `load_mask`, through `nst.door`) and the command line
(`python -m nst fast`, in-process) in the roles an image takes there: content, style, --mask
(which kinds in which roles: `_cli_params`).
Every kind gives a correct result or a one-line refusal within its time bound, writes nothing,
starts no program (the PostScript canary is never written), and no Pillow decoder outside the
door's formats is ever asked to look at a byte.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import io
import itertools
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import hostile
import numpy as np
import pytest
from hostile import Kind
from PIL import Image

from nst import cli, door, images
from nst.errors import InputError
from nst.options import MIN_SIDE

CONTENT = hostile.REPO / "assets" / "content_chelsea.jpg"  # 451×300
STYLE = hostile.REPO / "assets" / "style_swirls.jpg"
SIZE = 64  # the CLI's output long side: small, so a result costs little
CONTENT_OUT = (64, 43)  # CONTENT at SIZE
CLI_OVERHEAD = 1.0  # CPU seconds the command line may add to a kind's bound (the network's run)
ROLES = ("content", "style", "mask")
KINDS = hostile.kinds()


class Overtime(BaseException):
    """Raised by `deadline` in the middle of a decoder's Python loop: a BaseException, so no
    ``except Exception`` on the way turns it into an ordinary refusal."""


@contextlib.contextmanager
def deadline(cpu_seconds: float, wall_seconds: float = 60.0) -> Iterator[None]:
    """Interrupt the block once it has used ``cpu_seconds`` of this process's CPU (a busy
    machine does not count) or waited ``wall_seconds`` (a blocking system call, such as opening
    a pipe): a hang fails instead of hanging. Python code stops at once; a C decoder first
    finishes its call."""

    def expire(signum: int, frame: object) -> None:
        raise Overtime(f"still running after {cpu_seconds:.2f} s of CPU or {wall_seconds:.0f} s")

    timers = {signal.ITIMER_PROF: (signal.SIGPROF, cpu_seconds),
              signal.ITIMER_REAL: (signal.SIGALRM, wall_seconds)}  # fmt: skip
    previous = {number: signal.signal(number, expire) for number, _ in timers.values()}
    for timer, (_, seconds) in timers.items():
        signal.setitimer(timer, seconds)
    try:
        yield
    finally:
        for timer, (number, _) in timers.items():
            signal.setitimer(timer, 0)
            signal.signal(number, previous[number])


# What a decoder does besides reading: these audit events are recorded while `_recording`.
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_ACTIONS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.mkdir", "os.remove", "os.rename", "os.symlink", "os.link", "os.truncate", "os.rmdir",
    "ctypes.dlopen",
}  # fmt: skip
_recorded: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _recorded is None:
        return
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and set(mode) & set("wax+")) or (flags or 0) & _WRITES:
            _recorded.append(f"open {path!r} {mode or flags}")
    elif event in _ACTIONS:
        _recorded.append(f"{event} {args!r:.200}")


sys.addaudithook(_audit)  # cannot be removed; does nothing unless `_recording`


@contextlib.contextmanager
def _recording() -> Iterator[list[str]]:
    """Every file opened for writing, program started or folder changed meanwhile."""
    global _recorded
    _recorded = []
    try:
        yield _recorded
    finally:
        _recorded = None


def _library_params() -> list:
    """One test per kind."""
    return [pytest.param(k.name, id=k.name) for k in KINDS]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's folder."""
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def corpus(folder: Path) -> dict[str, Kind]:
    return {kind.name: kind for kind in hostile.make(KINDS, folder)}


def _listing(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, relative to it. (With strings, not `Path.rglob`:
    each of some 600 tests lists the corpus twice.)"""
    start = len(str(folder)) + 1
    return sorted(
        os.path.join(root, name)[start:]
        for root, folders, files in os.walk(folder)
        for name in folders + files
    )


def _timed(kind: Kind, decode: Callable[[Path], np.ndarray]) -> tuple[np.ndarray | str, float]:
    """``decode(kind.path)`` (or the refusal's message) and its CPU seconds in this thread,
    where decoders run (a busy machine does not count); interrupted far past the kind's bound."""
    started = time.thread_time()
    with deadline(2 * kind.expect.seconds + 0.25):
        try:
            decoded = decode(kind.path)
        except InputError as error:
            decoded = str(error)
    return decoded, time.thread_time() - started


def _decoded(kind: Kind) -> np.ndarray | str:
    """`load_image` of the kind (or its refusal), once both it and `load_mask` are known to
    agree and to take no longer than the kind's bound."""
    image, seconds = _timed(kind, images.load_image)
    assert seconds <= kind.expect.seconds, f"{seconds:.2f} s"
    mask, mask_seconds = _timed(kind, lambda path: images.load_mask(path, (40, 60)))
    assert mask_seconds <= kind.expect.seconds, f"the mask: {mask_seconds:.2f} s"
    if isinstance(image, str):
        assert mask == image
    else:
        assert mask.shape == (40, 60) and mask.dtype == np.float32
        assert np.isfinite(mask).all() and 0 <= mask.min() <= mask.max() <= 1
    return image


def _assert_refusal(kind: Kind, message: str, folder: Path) -> None:
    assert kind.expect.refusal is not None, f"refused, but a result was expected: {message}"
    assert re.search(kind.expect.refusal, message), message
    assert "\n" not in message and "Traceback" not in message and str(folder) not in message


def _assert_result(kind: Kind, image: np.ndarray) -> None:
    expect = kind.expect
    assert not expect.refuses, f"a result where /{expect.refusal}/ was expected"
    assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3
    assert np.isfinite(image).all() and 0 <= image.min() <= image.max() <= 1
    if expect.size is not None:
        assert (image.shape[1], image.shape[0]) == expect.size
    if expect.check is not None:
        assert expect.check(image), f"not {expect.result}"


# The kinds that take the most memory (40 megapixels, a 64 MB tile, 80 MB of file).
HEAVY = ("size-at-pixel-limit", "tiff-huge-tile", "size-at-byte-limit")


def _rss() -> int:
    """This process's resident memory in bytes, after giving freed memory back to the OS."""
    gc.collect()
    ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("name", _library_params())
def test_library(name: str, corpus: dict[str, Kind], folder: Path) -> None:
    """The door and `nst.images`: the expected outcome in time, nothing written or started,
    and (for the heaviest kinds) memory back to its level."""
    kind = corpus[name]
    before, rss = _listing(folder), _rss() if name in HEAVY else 0
    with _recording() as actions:
        image = _decoded(kind)
    assert actions == []
    assert _listing(folder) == before  # nothing written: the canary, or anything else
    assert kind.canary_path() is None or not kind.canary_path().exists()
    if isinstance(image, str):
        _assert_refusal(kind, image, folder)
    else:
        _assert_result(kind, image)
    del image
    assert name not in HEAVY or _rss() - rss < 64 * 2**20


def _content_refusal(size: tuple[int, int] | None) -> str | None:
    """The refusal a result of ``size`` meets as the CLI's content at SIZE px: a side below
    MIN_SIDE once the long side is SIZE."""
    if size is None:
        return None
    scale = SIZE / max(size)
    return "elongated|of more than" if min(round(s * scale) for s in size) < MIN_SIDE else None


@contextlib.contextmanager
def _warnings_printed() -> Iterator[None]:
    """Python's warnings printed to stderr as a command line prints them (pytest would record
    them instead), under the filters the process has (the door's among them)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: object = None,
        line: str | None = None,
    ) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One good run first: importing TensorFlow and loading the network are not a kind's time."""
    out = tmp_path_factory.mktemp("warm") / "out.png"
    argv = ["fast", str(CONTENT), str(STYLE), "-o", str(out), "--engine", "lite", "--size", "64"]
    assert cli.main(argv) == 0


def _cli_params() -> list:
    """Every kind through the command line: in every role the first kind of each family and
    every kind with active content; the others each in one role, taking turns (`test_library`
    has run each through both of the door's loaders, which are all the roles differ in); the
    heaviest kinds (seconds of decoding each) as the content."""
    everywhere = {kind.name for kind in hostile.representatives(KINDS)}
    turns = itertools.cycle(ROLES)

    def roles(kind: Kind) -> tuple[str, ...]:
        if kind.name in HEAVY:
            return ROLES[:1]
        if kind.name in everywhere or kind.canary:
            return ROLES
        return (next(turns),)

    return [
        pytest.param(kind.name, role, id=f"{kind.name}-{role}")
        for kind in KINDS
        for role in roles(kind)
    ]


@pytest.mark.parametrize(("name", "role"), _cli_params())
def test_cli(
    name: str,
    role: str,
    corpus: dict[str, Kind],
    folder: Path,
    warm: None,
    tmp_path: Path,
    capfd: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`python -m nst fast` with the kind as ``role``: exit 2 with one line "error: …" on
    stderr (C libraries' output included) and no output file, or exit 0 with a right output."""
    kind = corpus[name]
    before = _listing(folder)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out.png"
    inputs = {
        "content": [kind.path, STYLE],
        "style": [CONTENT, kind.path],
        "mask": [CONTENT, STYLE, "--mask", kind.path],
    }[role]
    argv = ["fast", *map(str, inputs), "-o", str(out), "--engine", "lite", "--size", str(SIZE)]
    capfd.readouterr()
    started = time.thread_time()
    with _warnings_printed(), deadline(2 * (kind.expect.seconds + CLI_OVERHEAD) + 0.25):
        status = cli.main(argv)
    seconds = time.thread_time() - started
    stderr = capfd.readouterr().err
    assert "Traceback" not in stderr
    expect = kind.expect
    content_refusal = _content_refusal(expect.size) if role == "content" else None
    if status == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
        pattern = content_refusal or expect.refusal
        assert pattern is not None, f"refused, but a result was expected: {stderr}"
        assert re.search(pattern, lines[0]), lines[0]
        assert str(folder) not in stderr and str(tmp_path) not in stderr
        assert not out.exists()
    else:
        assert status == 0, stderr
        assert not expect.refuses and content_refusal is None, "a result where a refusal was due"
        with Image.open(out) as written:
            size = written.size
        if role == "content" and expect.size is not None:
            scale = SIZE / max(expect.size)
            assert size == tuple(max(1, round(side * scale)) for side in expect.size)
        else:
            assert max(size) == SIZE and (role == "content" or size == CONTENT_OUT)
    assert seconds <= expect.seconds + CLI_OVERHEAD
    assert _listing(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["tmp", *[out.name] * out.exists()])
    assert list(scratch.iterdir()) == []


def test_no_other_decoder_sees_a_byte(
    corpus: dict[str, Kind], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Pillow plugin outside `door.IMAGE_FORMATS`, wrapped to record being asked, is
    never asked about any kind of the corpus."""
    Image.init()
    asked: list[str] = []

    def spy(fmt: str, function: Callable | None) -> Callable | None:
        if function is None:
            return None

        def wrapped(*args: object, **kwargs: object) -> object:
            asked.append(fmt)
            return function(*args, **kwargs)

        return wrapped

    others = [fmt for fmt in Image.OPEN if fmt not in door.IMAGE_FORMATS]
    assert {"EPS", "PDF", "AVIF", "JPEG2000", "PSD"} & set(others)
    for fmt in others:
        factory, accept = Image.OPEN[fmt]
        monkeypatch.setitem(Image.OPEN, fmt, (spy(fmt, factory), spy(fmt, accept)))
    for kind in corpus.values():  # a flood is cut short past its time: test_library's matter
        with contextlib.suppress(InputError, Overtime), deadline(kind.expect.seconds):
            door.open_image(kind.path)
    assert asked == []
    with contextlib.suppress(Exception):  # the spy itself works: Pillow's own open asks them
        Image.open(io.BytesIO(b"not an image at all"))
    assert asked


def test_a_scan_bomb_is_refused_at_once_and_would_be_slow(corpus: dict[str, Kind]) -> None:
    """The JPEG of thousands of scans is refused in milliseconds of CPU; decoded without the
    door's count (Pillow directly), a smaller one of the same make already takes far longer."""
    bomb = corpus["jpeg-scan-bomb"]
    started = time.thread_time()
    with pytest.raises(InputError, match="scans"):
        door.open_image(bomb.path)
    refused_in = time.thread_time() - started
    smaller = hostile.jpeg_scans(1024, 1000)  # a quarter of the pixels, a third of the scans
    started = time.thread_time()
    with Image.open(io.BytesIO(smaller)) as opened:
        opened.load()
    decoded_in = time.thread_time() - started
    assert refused_in < 0.1 and decoded_in > 20 * refused_in, (refused_in, decoded_in)


# Modes no accepted file decodes to (Pillow turns them into others while decoding), given as
# images: the library accepts those too. (mode, a pixel in it, the RGB it must give.)
IMAGE_MODES = [
    ("La", (100, 128), (227, 227, 227)),  # premultiplied grey 199 at 128, over white
    ("RGBa", (100, 15, 30, 128), (227, 142, 157)),  # premultiplied (200, 30, 60) at 128
    ("RGBX", (200, 30, 60, 0), (200, 30, 60)),
    ("YCbCr", (84, 114, 210), (200, 30, 60)),
    ("HSV", (247, 216, 200), (200, 30, 60)),
    ("LAB", (136, 128, 128), (127, 127, 127)),
    ("I;16L", (40000,), (156, 156, 156)),
    ("I;16B", (40000,), (156, 156, 156)),
]


@pytest.mark.parametrize(("mode", "pixel", "rgb"), IMAGE_MODES, ids=[m[0] for m in IMAGE_MODES])
def test_every_mode_converts_to_the_right_colour(
    mode: str, pixel: tuple[int, ...], rgb: tuple[int, int, int]
) -> None:
    image = Image.new(mode, (32, 32), pixel if len(pixel) > 1 else pixel[0])
    assert hostile.colour(rgb, 3)(images.load_image(image))
