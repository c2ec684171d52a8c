"""Shared test fixtures: a photo and a painting from the project's own assets/, the team's
reference files in ../shared (only the parity tests need them; skipped where it is absent), and
the app served on localhost."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ASSETS = REPO / "assets"


PHOTO = ASSETS / "content_chelsea.jpg"  # 451×300
PAINTING = ASSETS / "style_starry_night.jpg"


@pytest.fixture(scope="session")
def shared() -> Path:
    """The team's shared reference files beside the checkout (models/, images/); skip without."""
    if not (SHARED / "models").is_dir():
        pytest.skip(f"needs the shared reference files at {SHARED} (not part of a fresh clone)")
    return SHARED


@pytest.fixture(scope="session")
def photo() -> Path:
    return PHOTO


@pytest.fixture(scope="session")
def painting() -> Path:
    return PAINTING


@dataclass(frozen=True)
class Server:
    url: str
    log: Path  # what the server printed


@contextlib.contextmanager
def serve(folder: Path, script: Path = REPO / "app.py", **env: str) -> Iterator[Server]:
    """``script`` (the app, or a test's variant of it) served on a free localhost port, with
    ``env`` added to this process's environment (a value of "" removes that variable)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = folder / "server.log"
    environment = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        **env,
    }
    environment = {key: value for key, value in environment.items() if value != ""}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, str(script)], cwd=REPO, env=environment, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    time.sleep(0.5)
            else:
                pytest.fail(f"the app did not start; see {log_path}")
            yield Server(url, log_path)
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (`python app.py`) served on a free localhost port for the whole session."""
    with serve(tmp_path_factory.mktemp("app")) as server:
        yield server.url


@pytest.fixture(scope="session")
def no_weights_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app where the VGG19 weights cannot be had (as on a Space whose download failed)."""
    folder = tmp_path_factory.mktemp("no-weights")
    with serve(folder, NST_VGG19_FALLBACKS="0", NST_VGG19_WEIGHTS="") as server:
        yield server


@pytest.fixture(scope="session")
def broken_optimizer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app whose optimizer raises in its worker thread."""
    folder = tmp_path_factory.mktemp("broken-optimizer")
    script = REPO / "tests" / "broken_optimizer_app.py"
    with serve(folder, script, PYTHONPATH=str(REPO)) as server:
        yield server
