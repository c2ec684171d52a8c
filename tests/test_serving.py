"""The served app under many users: queueing of slow jobs, cancellation, and what it exposes."""

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from page_inputs import page_inputs, visitor  # noqa: E402

from web.page import build  # noqa: E402
from web.serve import PROGRESS_POLL, QUEUE_POLL, poll_calmly  # noqa: E402
from web.settings import ServerSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "assets" / "content_chelsea.jpg"
STYLE = REPO / "assets" / "style_swirls.jpg"


@pytest.fixture
def client(app_url: str):
    return visitor(app_url)


def _fast(size: int = 128) -> dict:
    return page_inputs(CONTENT, STYLE, size).api("fast")


def _optimize(client, budget: float):
    inputs = page_inputs(CONTENT, STYLE, 128, init="content", time_budget=budget)
    return client.submit(**inputs.api("optimize"), fast_image=None, api_name="/optimize")


def _wait_until_optimizing(job, timeout: float = 120) -> None:
    """Until the optimization runs (not only waits for its turn)."""
    deadline = time.monotonic() + timeout
    while not any("Optimizing: step" in str(out) for out in job.outputs()) and not job.done():
        assert time.monotonic() < deadline, f"job never started: {job.status()}"
        time.sleep(0.2)


def test_fast_requests_are_served_while_an_optimization_runs(client) -> None:
    job = _optimize(client, budget=40)
    _wait_until_optimizing(job)
    path, numbers = client.predict(**_fast(), api_name="/fast")
    assert Path(path).is_file() and "lite" in numbers
    assert not job.done(), "the fast request waited for the optimization"
    job.cancel()


def test_two_optimizations_never_run_at_once(client, app_url: str) -> None:
    """A second visitor's optimization waits for the first's, and says so while it waits."""
    other = visitor(app_url)
    first = _optimize(client, budget=10)
    _wait_until_optimizing(first)
    second = _optimize(other, budget=10)
    deadline = time.monotonic() + 30
    while not any("ahead of yours" in str(out) for out in second.outputs()):
        assert time.monotonic() < deadline, f"no word of waiting: {second.outputs()}"
        time.sleep(0.2)
    assert not first.done()
    assert "1 optimization ahead of yours" in second.outputs()[-1][3]
    first.cancel()  # the waiting one runs once the slot is free
    _wait_until_optimizing(second)
    assert not second.done()
    second.cancel()


def test_one_visitor_gets_one_optimization_at_a_time(client) -> None:
    """A second optimization of the same visitor is answered at once in one line, never kept
    waiting; the first goes on."""
    first = _optimize(client, budget=10)
    _wait_until_optimizing(first)
    started = time.monotonic()
    *_, optimized, numbers, _ = _optimize(client, budget=10).result(timeout=30)
    assert time.monotonic() - started < 5
    assert optimized is None and numbers == (
        "⚠️ Your optimization is still running: stop it or wait for it."
    )
    assert not first.done()
    first.cancel()


def test_a_cancelled_optimization_frees_its_slot(client) -> None:
    long_job = _optimize(client, budget=150)
    _wait_until_optimizing(long_job)
    long_job.cancel()
    started = time.monotonic()
    next_job = _optimize(client, budget=10)
    _wait_until_optimizing(next_job)
    # Had the cancelled run kept the only optimization slot, this would wait its full 150 s.
    assert time.monotonic() - started < 100 and not next_job.done()
    next_job.cancel()


@pytest.mark.parametrize(
    "route",
    [
        "gradio_api/file=/etc/passwd",
        "file=/etc/passwd",
        "gradio_api/file=../../../../../../etc/passwd",
        "gradio_api/file=%2Fetc%2Fpasswd",
        "gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"gradio_api/file={REPO / 'app.py'}",
        "gradio_api/file=app.py",
        f"gradio_api/file={REPO / 'nst' / 'fast.py'}",
        "gradio_api/file=.venv/pyvenv.cfg",
        "static/../../../../etc/passwd",
        "assets/../app.py",
    ],
)
def test_no_file_outside_results_and_assets_is_served(app_url: str, route: str) -> None:
    try:
        with urllib.request.urlopen(app_url + route, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        assert error.code in (400, 403, 404, 405)
        return
    # Some routes answer 200 with the page itself; never with the file asked for.
    assert b"root:x:0" not in body and b"import gradio" not in body and b"home =" not in body


def test_analytics_are_off(app_url: str) -> None:
    import json

    with urllib.request.urlopen(app_url + "config", timeout=10) as response:
        config = json.loads(response.read())
    assert config["analytics_enabled"] is False


def test_the_queue_polls_at_our_intervals_not_every_millisecond() -> None:
    """`poll_calmly` finds the pinned Gradio's polling intervals (an upgrade that renamed them
    would leave an idle server polling every millisecond, `benchmarks/idle.py`) and sets them."""
    demo = build(ServerSettings()).queue(default_concurrency_limit=1)
    assert demo._queue.sleep_when_free < QUEUE_POLL  # Gradio's own, off Windows
    poll_calmly(demo)
    intervals = (demo._queue.sleep_when_free, demo._queue.progress_update_sleep_when_free)
    assert intervals == (QUEUE_POLL, PROGRESS_POLL)
