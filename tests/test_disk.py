"""The served app's cache folder (uploads and results) stays within its limits: an upload over
the size limit is refused and leaves nothing behind, files past the age are deleted, the oldest
go first when the total would pass the bound, and files a request still needs are spared (one
being downloaded, the inputs of a queued request); and the page refuses an upload over the limit
before sending it (headless Chromium; skipped without it).

The server (conftest's `disk_server`) runs with its cache in a temporary folder and limits shrunk
by environment variable: uploads of at most 16 MB, a 48 MB total, 3 s of age, a sweep every half
second.
"""

import hashlib
import os
import socket
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import ASSETS, MB, Server
from conftest import DISK_AGE as AGE
from conftest import DISK_SWEEP as SWEEP
from conftest import DISK_TOTAL as TOTAL
from conftest import DISK_UPLOAD_LIMIT as UPLOAD_LIMIT

gradio_client = pytest.importorskip("gradio_client")
from page_inputs import page_inputs, visitor  # noqa: E402

FILE = 15 * MB  # under the limit, and more than loopback's send buffer (4 MB) holds


@pytest.fixture(scope="module")
def served(disk_server: Server) -> tuple[Server, Path]:
    return disk_server, disk_server.folder / "cache"


def _files(cache: Path) -> set[Path]:
    return {path for path in cache.rglob("*") if path.is_file()}


def _upload(url: str, data: bytes, name: str = "photo.png") -> httpx.Response:
    return httpx.post(f"{url}gradio_api/upload", files={"files": (name, data)}, timeout=60)


def _stored(url: str, data: bytes) -> Path:
    response = _upload(url, data)
    assert response.status_code == 200, response.text
    (path,) = response.json()
    return Path(path)


def _until_gone(paths: set[Path], seconds: float) -> set[Path]:
    """Wait up to ``seconds`` for ``paths`` to be deleted; those still there."""
    deadline = time.monotonic() + seconds
    while (left := {path for path in paths if path.exists()}) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(served) -> None:
    server, cache = served
    before = _files(cache)
    response = _upload(server.url, os.urandom(UPLOAD_LIMIT + MB))
    assert response.status_code == 413
    assert response.text == "⚠️ The file is larger than the upload limit of 16 MB."
    assert not _files(cache) - before, "the refused upload left a file"
    # The page refuses it before sending a byte, from the same limit.
    assert httpx.get(f"{server.url}config").json()["max_file_size"] == UPLOAD_LIMIT


def test_the_oldest_files_go_first_when_the_total_would_pass_the_bound(served) -> None:
    server, cache = served
    stored = [_stored(server.url, os.urandom(FILE)) for _ in range(4)]  # 60 MB > 48 MB
    assert not stored[0].exists()
    assert all(path.exists() for path in stored[1:])
    assert sum(path.stat().st_size for path in _files(cache)) <= TOTAL
    assert not _until_gone(set(stored), AGE + 10)


def test_uploads_and_results_past_the_age_are_deleted(served) -> None:
    server, cache = served
    examples = {path for path in _files(cache) if (ASSETS / path.name).is_file()}
    upload = _stored(server.url, os.urandom(1000))
    client = visitor(server.url)
    before = _files(cache)
    inputs = page_inputs(ASSETS / "content_chelsea.jpg", ASSETS / "style_udnie.jpg", 128)
    _, numbers = client.predict(**inputs.api("fast"), api_name="/fast")
    assert not numbers.startswith("⚠️")
    results = {path for path in _files(cache) - before if path.suffix == ".png"}
    assert results, "the fast result is not in the cache folder"
    assert not _until_gone({upload, *results}, AGE + 10)
    assert all(path.exists() for path in examples), "the examples' files were deleted"


def test_a_file_being_downloaded_is_spared_and_served_whole(served) -> None:
    server = served[0]
    data = os.urandom(FILE)
    path = _stored(server.url, data)
    address = urlsplit(server.url)
    request = f"GET /gradio_api/file={quote(str(path))} HTTP/1.1\r\nHost: {address.netloc}\r\n"
    with socket.socket() as reader:
        # A slow reader: a small window keeps most of the file on the server, open, mid-send.
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        reader.connect((address.hostname, address.port))
        reader.sendall(f"{request}Connection: close\r\n\r\n".encode())
        received = [reader.recv(4096)]
        assert received[0].startswith(b"HTTP/1.1 200")
        time.sleep(AGE + 4 * SWEEP)  # the file is past the age, and swept several times
        assert path.exists(), "a file being downloaded was deleted"
        while chunk := reader.recv(1 << 20):
            received.append(chunk)
    body = b"".join(received).split(b"\r\n\r\n", 1)[1]
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert not _until_gone({path}, AGE + 10), "the file outlived its download"


def test_a_visitor_who_leaves_mid_upload_is_one_line_in_the_log(served) -> None:
    """Closing the page while a file is on its way: no traceback, and the next upload works."""
    server = served[0]
    address = urlsplit(server.url)
    head = (
        f"POST /gradio_api/upload HTTP/1.1\r\nHost: {address.netloc}\r\n"
        f"Content-Type: multipart/form-data; boundary=part\r\nContent-Length: {4 * MB}\r\n\r\n"
        '--part\r\nContent-Disposition: form-data; name="files"; filename="photo.png"\r\n\r\n'
    )
    with socket.create_connection((address.hostname, address.port)) as sender:
        sender.sendall(head.encode() + os.urandom(256 * 1024))  # of the 4 MB it announced
    line = "a visitor left while sending /gradio_api/upload"
    deadline = time.monotonic() + 30
    while line not in server.log.read_text():
        assert time.monotonic() < deadline, "the server never noticed the visitor leave"
        time.sleep(0.2)
    assert "Traceback" not in server.log.read_text()
    assert _stored(server.url, os.urandom(1000)).is_file()


def _image(path: Path, seed: int) -> Path:
    """A picture no other test uploads (so no example's copy is its cached copy)."""
    from PIL import Image

    Image.frombytes("RGB", (96, 64), hashlib.sha256(bytes([seed])).digest() * 576).save(path)
    return path


def _until(job, words: str) -> None:
    """Until one of the job's outputs says ``words`` (or the job ends)."""
    deadline = time.monotonic() + 120
    while not any(words in str(out) for out in job.outputs()) and not job.done():
        assert time.monotonic() < deadline, f"never said {words!r}: {job.status()}"
        time.sleep(0.2)


def test_a_waiting_request_keeps_its_files(served, tmp_path: Path) -> None:
    """A request waiting for its turn past the cache's age: its files stay, and it runs."""
    server, cache = served
    first, second = (visitor(server.url) for _ in range(2))
    settings = {"init": "content", "time_budget": 10}  # the shortest optimization the page allows

    def optimize(client, photo: Path, style: Path):
        inputs = page_inputs(photo, style, 128, **settings).api("optimize")
        return client.submit(**inputs, fast_image=None, api_name="/optimize")

    running = optimize(first, ASSETS / "content_chelsea.jpg", ASSETS / "style_udnie.jpg")
    _until(running, "Optimizing: step")
    photo, style = (
        _image(tmp_path / "waiting_photo.png", 1),
        _image(tmp_path / "waiting_style.png", 2),
    )
    waiting = optimize(second, photo, style)
    _until(waiting, "ahead of yours")
    uploaded = time.monotonic()
    time.sleep(AGE + 4 * SWEEP)  # its files are past the age, and swept several times
    assert "ahead of yours" in waiting.outputs()[-1][3] and not waiting.done()
    assert {"waiting_photo.png", "waiting_style.png"} <= {p.name for p in cache.rglob("*.png")}
    running.cancel()  # now it may start
    _until(waiting, "Optimizing: step")
    assert time.monotonic() - uploaded > AGE + 2 * SWEEP, "the request did not wait past the age"
    status = waiting.outputs()[-1][3]
    waiting.cancel()
    assert not status.startswith("⚠️") and "step" in status, status


def test_the_page_refuses_an_upload_over_the_limit_in_one_line(
    served, browser, tmp_path: Path
) -> None:
    server, cache = served
    large = tmp_path / "large.png"
    large.write_bytes(os.urandom(UPLOAD_LIMIT + MB))
    before = _files(cache)
    page = browser.new_page()
    page.goto(server.url)
    page.set_input_files("#content input[type=file]", str(large))
    message = page.get_by_text("exceed the maximum allowed size")
    message.wait_for(timeout=30_000)
    text = message.inner_text()
    page.close()
    assert text.splitlines() == ['File(s) exceed the maximum allowed size of 16.0 Mb: "large.png"']
    assert not _files(cache) - before, "the refused upload left a file"
