"""Shared test fixtures: a photo and a painting from the project's own assets/, the team's
reference files in ../shared (only the parity tests need them; skipped where it is absent), and
the app served on localhost."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (`python app.py`) served on a free localhost port for the whole session."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("app") / "server.log").open("w")
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    server = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")], cwd=REPO, env=env, stdout=log, stderr=log
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
            pytest.fail(f"the app did not start; see {log.name}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
