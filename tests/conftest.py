"""Shared test fixtures: a photo and a painting from the project's own assets/, the team's
reference files in ../shared (only the parity tests need them; skipped where it is absent), the
app served on localhost (as it is, and in the variants some tests need), and a headless browser.
Servers and the browser are started once a session: each start costs seconds."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS

# First, as in the app and CLI: importing nst turns on TensorFlow's oneDNN (nst/__init__.py)
# before any test module imports TensorFlow.
import nst  # noqa: F401

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
    folder: Path  # its own: its log, and its cache where a test sets one

    @property
    def log(self) -> Path:
        """What the server printed."""
        return self.folder / "server.log"


MB = 2**20
# The disk tests' server: its cache folder kept within limits shrunk by environment variable
# (and no start-up timing: tests/uncalibrated_app.py).
DISK_UPLOAD_LIMIT, DISK_TOTAL, DISK_AGE, DISK_SWEEP = 16 * MB, 48 * MB, 3.0, 0.5


@dataclass(frozen=True)
class ServerSpec:
    """A server the tests use: ``script`` (the app, or a test's variant of it) served with
    ``env(folder)`` added to this process's environment (a value of "" removes that variable);
    ``folder`` holds its log."""

    script: Path
    env: Callable[[Path], dict[str, str]]


APP = REPO / "app.py"
SERVERS = {  # fixture name: what it serves
    "app_server": ServerSpec(APP, lambda folder: {}),
    # As on a Space whose download of the VGG19 weights failed.
    "no_weights_server": ServerSpec(
        APP, lambda folder: {"NST_VGG19_FALLBACKS": "0", "NST_VGG19_WEIGHTS": ""}
    ),
    # Every L-BFGS run raises in the optimizer's worker thread.
    "broken_optimizer_server": ServerSpec(
        REPO / "tests" / "broken_optimizer_app.py", lambda folder: {"PYTHONPATH": str(REPO)}
    ),
    "disk_server": ServerSpec(
        REPO / "tests" / "uncalibrated_app.py",
        lambda folder: {
            "PYTHONPATH": str(REPO),
            "GRADIO_TEMP_DIR": str(folder / "cache"),
            "NST_MAX_UPLOAD_MB": str(DISK_UPLOAD_LIMIT // MB),
            "NST_CACHE_MAX_MB": str(DISK_TOTAL // MB),
            "NST_CACHE_MAX_AGE": str(DISK_AGE),
            "NST_CACHE_SWEEP_INTERVAL": str(DISK_SWEEP),
        },
    ),
}
# How long a server may take to start; several start at once on a loaded machine.
START_TIMEOUT = 300


class Launched:
    """A server process started on a free localhost port, not yet known to answer."""

    def __init__(self, folder: Path, spec: ServerSpec) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.server = Server(f"http://127.0.0.1:{port}/", folder)
        environment = {
            **os.environ,
            "GRADIO_SERVER_PORT": str(port),
            "GRADIO_SERVER_NAME": "127.0.0.1",
            # One thread for TensorFlow: the other core runs the other worker's tests, and an
            # optimization with a time budget would take both cores for all of its budget.
            "TF_NUM_INTRAOP_THREADS": "1",
            **spec.env(folder),
        }
        with self.server.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(spec.script)],
                cwd=REPO,
                env={key: value for key, value in environment.items() if value != ""},
                stdout=log,
                stderr=log,
            )
        self.answered = False

    def ready(self) -> Server:
        """The server, once its page answers (fails the test if it never does)."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answered and time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(self.server.url, timeout=2):
                    self.answered = True
            except OSError:
                time.sleep(0.5)
        if not self.answered:
            pytest.fail(f"the app did not start; see {self.server.log}")
        return self.server


def _servers_used(items: list[pytest.Item]) -> set[str]:
    """The servers these tests ask for: as fixtures, or by name as a parameter (tests that take
    the fixture with ``request.getfixturevalue``)."""
    used = set()
    for item in items:
        params = getattr(item, "callspec", None)
        values = params.params.values() if params else ()
        used |= {name for name in [*item.fixturenames, *values] if isinstance(name, str)}
    return used & SERVERS.keys()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs two workers (pytest-xdist, ``--dist loadgroup``): every test of a served
    app or of the browser goes to one of them, so each server starts once, and their waits (on
    time budgets, sweeps, the browser) overlap the other worker's computing."""
    for item in items:
        if _servers_used([item]) or "browser" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("served"))


class Servers:
    """The session's servers by fixture name, each started once."""

    def __init__(self, folders: pytest.TempPathFactory) -> None:
        self.folders = folders
        self.launched: dict[str, Launched] = {}

    def start(self, names: set[str]) -> None:
        """Start these servers (those not started yet) without waiting for them."""
        for name in sorted(names - self.launched.keys()):
            self.launched[name] = Launched(self.folders.mktemp(name), SERVERS[name])

    def get(self, name: str) -> Server:
        self.start({name})
        return self.launched[name].ready()

    def stop(self) -> None:
        """Ask every server to end, then wait for them together (each takes a second or two)."""
        for server in self.launched.values():
            server.process.terminate()
        for server in self.launched.values():
            server.process.wait(timeout=30)


@pytest.fixture(scope="session")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """Every server this session's tests use, all started when the first is needed: most of a
    start is importing TensorFlow and Gradio, which the two cores do side by side."""
    started = Servers(tmp_path_factory)
    try:
        started.start(_servers_used(request.session.items))
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def app_server(servers: Servers) -> Server:
    """The real app (`python app.py`)."""
    return servers.get("app_server")


@pytest.fixture(scope="session")
def no_weights_server(servers: Servers) -> Server:
    """The app where the VGG19 weights cannot be had (as on a Space whose download failed)."""
    return servers.get("no_weights_server")


@pytest.fixture(scope="session")
def broken_optimizer_server(servers: Servers) -> Server:
    """The app whose optimizer raises in its worker thread."""
    return servers.get("broken_optimizer_server")


@pytest.fixture(scope="session")
def disk_server(servers: Servers) -> Server:
    """The app whose cache folder (its folder's cache/) has shrunk limits (`DISK_*`)."""
    return servers.get("disk_server")


@pytest.fixture(scope="session")
def app_url(app_server: Server) -> str:
    """The real app (`python app.py`) served on a free localhost port for the whole session."""
    return app_server.url


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Chromium (Debian's, driven by Playwright) for the whole session; skips where
    either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
