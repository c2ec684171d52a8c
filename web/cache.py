"""Keeps the server's cache folder (uploads and results) within an age and a total size.

A served app stores every upload and every result it returns as a file in one folder, and
nothing else ever deletes them. `Cache.sweep` deletes the files untouched for longer than the
age, then the oldest until the total is within the bound, but never a file a request still
needs: one the caller names as in use (the files of the requests waiting or running in
`web.visitors`' lanes, the examples'), or one this process holds open (a download being served).
`Cache.lifespan` sweeps on a schedule while a server runs, and `web.serve`'s guard refuses an
upload over the size limit or one the cache has no room for (`Cache.make_room`) before any of
it is stored, so the bound holds between sweeps too. (Gradio's own ``delete_cache`` ages files
but bounds no total, and spares only the examples' files.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Iterator,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web.settings import MB

log = logging.getLogger("nst.cache")
# An empty folder is left this long: the server makes one for each file just before writing
# the file into it.
EMPTY_FOLDER_GRACE = 60.0  # seconds


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    touched: float  # the later of the last write and the last change of metadata (a rename)


@dataclass(frozen=True)
class Swept:
    """What one sweep did."""

    deleted: int
    freed: int  # bytes
    remaining: int  # bytes left in the folder


@dataclass
class Cache:
    """The cache folder and its limits; ``in_use`` names the files requests still need."""

    folder: Path
    max_age: float  # seconds
    max_bytes: int
    in_use: Callable[[], Collection[str]] = frozenset
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def entries(self) -> list[Entry]:
        """Every file in the folder, oldest first."""
        return sorted(_walk(self.folder), key=lambda entry: entry.touched)

    def size(self) -> int:
        return folder_size(self.folder)

    def sweep(self, in_use: Collection[str] = (), room: int = 0) -> Swept:
        """Delete the files older than the age, then the oldest until the folder holds at most
        the bound less ``room`` bytes, sparing the files in ``in_use`` and those open here."""
        with self._lock:  # the scheduled sweep and an upload's must not count each other's
            entries = self.entries()
            spared = {os.path.realpath(path) for path in in_use} | _open_files()
            now, total = time.time(), sum(entry.size for entry in entries)
            deleted = freed = 0
            for entry in entries:
                expired = now - entry.touched > self.max_age
                if not (expired or total + room > self.max_bytes):
                    continue
                if os.path.realpath(entry.path) in spared or not _remove_if_unchanged(entry):
                    continue
                deleted, freed, total = deleted + 1, freed + entry.size, total - entry.size
            _remove_empty_folders(self.folder, now)
        return Swept(deleted, freed, total)

    async def make_room(self, size: int) -> bool:
        """Sweep, if need be, so that ``size`` more bytes fit within the bound; False when they
        cannot (the files left are in use)."""
        if size > self.max_bytes:
            return False
        if await asyncio.to_thread(self.size) + size <= self.max_bytes:
            return True
        swept = await asyncio.to_thread(self.sweep, self.in_use(), size)
        return swept.remaining + size <= self.max_bytes

    async def keep_swept(self, interval: float) -> None:
        """Sweep every ``interval`` seconds, for good (cancel the task to stop). ``in_use`` is
        read here, on the server's event loop, and the sweep runs in a thread."""
        while True:
            await asyncio.sleep(interval)
            try:
                swept = await asyncio.to_thread(self.sweep, self.in_use())
            except Exception:  # logged each time, but no reason to stop sweeping for good
                log.exception("cache sweep failed")
                continue
            if swept.deleted:
                log.info(
                    "cache: deleted %d files (%.1f MB), %.1f MB left",
                    swept.deleted,
                    swept.freed / MB,
                    swept.remaining / MB,
                )

    def lifespan(self, interval: float) -> Callable[[Any], contextlib.AbstractAsyncContextManager]:
        """A server lifespan (Starlette's form: called with the app) that sweeps every
        ``interval`` seconds while the server runs."""

        @contextlib.asynccontextmanager
        async def sweeping(app: Any) -> AsyncIterator[None]:
            task = asyncio.create_task(self.keep_swept(interval))
            try:
                yield
            finally:
                task.cancel()

        return sweeping


def folder_size(folder: Path) -> int:
    """Bytes in the files under ``folder``."""
    return sum(entry.size for entry in _walk(folder))


def _walk(folder: Path) -> Iterator[Entry]:
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                yield _entry(Path(root, name))
            except FileNotFoundError:  # deleted meanwhile
                continue


def _entry(path: Path) -> Entry:
    stat = path.lstat()
    return Entry(path, stat.st_size, max(stat.st_mtime, stat.st_ctime))


def _remove_if_unchanged(entry: Entry) -> bool:
    """Delete the file if it is still as listed; False when it was written or touched since
    (the server writes an upload or a result of the same content to the same path again)."""
    try:
        if _entry(entry.path) != entry:
            return False
        entry.path.unlink()
    except FileNotFoundError:  # deleted meanwhile: gone all the same
        pass
    return True


def _open_files() -> set[str]:
    """The files this process holds open (Linux; elsewhere none are known)."""
    paths = set()
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return paths
    for descriptor in descriptors:
        try:
            paths.add(os.readlink(f"/proc/self/fd/{descriptor}"))
        except OSError:  # closed meanwhile
            continue
    return paths


def _remove_empty_folders(folder: Path, now: float) -> None:
    for root, _, files in os.walk(folder, topdown=False):
        if Path(root) == folder or files:
            continue
        try:
            if not os.listdir(root) and now - os.stat(root).st_mtime > EMPTY_FOLDER_GRACE:
                os.rmdir(root)
        except OSError:  # filled or removed meanwhile
            continue
