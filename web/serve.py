"""Serving the page: start-up work, the queue, the guard in front of Gradio, the cache sweep.

`serve` says where Optimize runs, warms the fast engine and times this machine's evaluations
(`nst.clock`) in the background, then listens. In front of Gradio's routes stands `Guard`, an
ASGI middleware that refuses before reading a byte of the body: an upload over the size limit
or one the cache has no room for, a request body over its bound (Gradio keeps them in memory),
and the routes where Gradio itself would decode or fetch what a visitor sends (its recording
route runs ffmpeg on the upload; ``file=`` with a URL fetches it). A visitor who leaves while
sending a body is one line in the log, not a traceback.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

# Gradio reads this as it loads: the page sends nothing anywhere.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect

from nst import device, fast, optimize
from nst.errors import plain_message
from web.cache import Cache
from web.page import CSS
from web.settings import MB, ServerSettings
from web.visitors import LANES

log = logging.getLogger("nst.app")
# Gradio's worker threads for the handlers: more than every lane's places together (each
# request waiting in a lane holds one), so a full line never blocks the light events.
THREADS = 64
# Request bodies Gradio reads whole into memory: a queued request's values (a webcam frame as a
# data URL among them), the mask editor's canvas. An upload's limit is the host's.
MAX_BODY = 16 * MB
# What a multipart upload adds to its file: boundaries and the part's headers.
ENVELOPE = 64 * 1024
# How often Gradio's queue looks for a new event, and for progress to send, in seconds. Its own
# values off Windows, 0.001 and 0.01, keep an idle server busy (several percent of a core,
# `benchmarks/idle.py`); these are its values on Windows, and cost an event at most 50 ms
# before it starts.
QUEUE_POLL, PROGRESS_POLL = 0.05, 0.1

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Guard:
    """ASGI middleware in front of Gradio's routes (see the module's docstring). Uploads under
    way count against the cache's bound until they end."""

    def __init__(self, app: Callable, cache: Cache, max_upload: int) -> None:
        self.app, self.cache, self.max_upload = app, cache, max_upload
        self.under_way = 0  # bytes of the uploads being received

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if "/process_recording" in path or "/file=http" in path or "/file=//" in path:
            await _refuse(send, 404, "Not here.")
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"").decode()
        if not length.isdigit():
            await _refuse(send, 411, "The upload must state its length (Content-Length).")
            return
        size = int(length)
        if not path.endswith("/upload"):
            if size > MAX_BODY:
                await _refuse(send, 413, f"The request is larger than {MAX_BODY // MB} MB.")
                return
            await _received(self.app, scope, receive, send)
            return
        if size > self.max_upload + ENVELOPE:
            limit = self.max_upload / MB
            await _refuse(send, 413, f"The file is larger than the upload limit of {limit:g} MB.")
            return
        self.under_way += size
        try:
            if not await self.cache.make_room(self.under_way):
                await _refuse(
                    send, 507, "The server has no room for uploads now; try again in a minute."
                )
                return
            await _received(self.app, scope, receive, send)
        finally:
            self.under_way -= size


async def _received(app: Callable, scope: Scope, receive: Receive, send: Send) -> None:
    """``app`` on a request with a body, of which the visitor may not send the whole: closing
    the page mid-upload is no server error (the cache sweep deletes what it left)."""
    try:
        await app(scope, receive, send)
    except ClientDisconnect:
        log.info("a visitor left while sending %s", scope["path"])


async def _refuse(send: Send, status: int, message: str) -> None:
    body = f"⚠️ {message}".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def files_in_use(demo: gr.Blocks) -> set[str]:
    """The files the cache sweep spares: the examples' copies, and those of every request that
    waits or runs in a lane."""
    kept = {path for block in demo.blocks.values() for path in block.keep_in_cache}
    return kept | {path for lane in LANES.values() for path in lane.files()}


def serve(demo: gr.Blocks, settings: ServerSettings) -> None:
    """Serve the page: say where Optimize runs, warm the fast engine up and time this machine's
    evaluations, then listen, keeping uploads and results within the cache's limits."""
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("nst.app", "nst.cache", "nst.clock"):  # what each sweep deleted, and such
        logging.getLogger(name).setLevel(logging.INFO)
    where = device.current()
    log.info("Optimize runs on %s", where.label)
    if warning := device.gpu_warning(where, device.nvidia_driver_present()):
        log.warning(warning)
    # Before the first request needs them: the fast engine (hub when reachable, else lite), and
    # the clock's measurement of this machine, which the page's estimate waits for.
    threading.Thread(target=fast.get_engine, name="warm-up", daemon=True).start()
    threading.Thread(target=_calibrate, name="clock", daemon=True).start()
    cache = Cache(
        Path(gr.utils.get_upload_folder()),
        settings.cache_max_age,
        settings.cache_max_bytes,
        lambda: files_in_use(demo),
    )
    demo.queue(default_concurrency_limit=1)
    poll_calmly(demo)
    demo.launch(
        css=CSS,
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=settings.max_upload,
        max_threads=THREADS,
        app_kwargs={
            "lifespan": cache.lifespan(settings.cache_sweep_interval),
            "middleware": [Middleware(Guard, cache=cache, max_upload=settings.max_upload)],
        },
    )


def poll_calmly(demo: gr.Blocks) -> None:
    """Set the queue's polling intervals to `QUEUE_POLL` and `PROGRESS_POLL`. Gradio offers no
    setting for them, so this sets its queue's attributes, and says so in the log if a Gradio
    without them leaves the server polling at its own rate (a test checks the pinned one)."""
    queue = getattr(demo, "_queue", None)
    names = ("sleep_when_free", "progress_update_sleep_when_free")
    if not all(hasattr(queue, name) for name in names):
        log.warning("this Gradio's queue has no polling intervals to set; it polls at its own")
        return
    queue.sleep_when_free, queue.progress_update_sleep_when_free = QUEUE_POLL, PROGRESS_POLL


def _calibrate() -> None:
    try:
        optimize.calibrate()
    except Exception as error:  # the clock then learns from the first runs instead
        reason = plain_message(error) or f"{type(error).__name__}: {error}"
        log.warning("timing this machine's evaluations failed: %s", " ".join(reason.split()))
    else:
        log.info("timed this machine's evaluations")
