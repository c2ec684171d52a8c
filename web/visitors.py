"""Fair turns for visitors: one optimization per visitor, a bound on everything else, no one
holding the line.

Every request that computes goes through a `Lane`: the fast path, the losses (VGG19), the
optimizations, the videos. A lane runs ``capacity`` requests at a time in the order they came,
keeps at most ``waiting`` more in line, and lets each visitor hold at most ``per_visitor`` of its
places (running or waiting). A request over a limit is refused at once, in one line, and never
waits: a script that sends sixteen optimizations gets one, and the next visitor waits for at most
that one. A visitor is the browser session and, for an API client (which can make up sessions),
the client's address: a request counts against both.

The lanes wait inside the handlers, which Gradio starts at once (their events have no
concurrency limit of Gradio's own), so the page can say where a request is in line, and the
cache sweep knows the files of every request that waits or runs (`Lanes.files`).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from nst.errors import InputError


@dataclass(frozen=True)
class Visitor:
    """Who sent a request: the browser session and the client's address (either may be "")."""

    session: str
    address: str

    def same(self, other: Visitor) -> bool:
        return bool(self.session and self.session == other.session) or bool(
            self.address and self.address == other.address
        )


def address_of(peer: str, forwarded_for: str | None, proxy_hops: int) -> str:
    """The visitor's address: the connecting peer's, or behind ``proxy_hops`` proxies the entry
    the outermost one added to X-Forwarded-For (entries before it are the visitor's own claims,
    which anyone can write)."""
    if proxy_hops <= 0 or not forwarded_for:
        return peer
    entries = [entry.strip() for entry in forwarded_for.split(",") if entry.strip()]
    return entries[-proxy_hops] if len(entries) >= proxy_hops else peer


def visitor_of(request: Any, proxy_hops: int) -> Visitor:
    """Who sent a `gradio.Request`: its session, and the address it came from."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for")
    return Visitor(request.session_hash or "", address_of(peer, forwarded, proxy_hops))


class Refused(InputError):
    """A request over a lane's limits, refused at once; `str` says what to do."""


@dataclass(eq=False)
class Ticket:
    """One request's place in a lane: ``files`` are the paths it was given (kept from the cache
    sweep while it waits or runs)."""

    visitor: Visitor
    files: tuple[str, ...]
    number: int
    admitted: threading.Event = field(default_factory=threading.Event)


@dataclass
class Lane:
    """Requests of one kind: ``capacity`` run at a time, first come first served, at most
    ``waiting`` in line, at most ``per_visitor`` places each; ``busy`` is the line a refused
    visitor reads."""

    name: str
    capacity: int
    waiting: int
    per_visitor: int
    busy: str
    _tickets: list[Ticket] = field(default_factory=list)  # in order: running, then waiting
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    @contextlib.contextmanager
    def enter(self, visitor: Visitor, files: Iterable[str] = ()) -> Iterator[Ticket]:
        """A place in the lane for ``visitor``'s request (raises `Refused` at once when over a
        limit); wait on it with `wait`, and the place is given up when the block ends."""
        with self._lock:
            if sum(ticket.visitor.same(visitor) for ticket in self._tickets) >= self.per_visitor:
                raise Refused(self.busy)
            if len(self._tickets) >= self.capacity + self.waiting:
                raise Refused(
                    f"The server is busy: {len(self._tickets)} requests are in line for "
                    f"{self.name}. Try again in a few minutes."
                )
            ticket = Ticket(visitor, tuple(files), next(self._numbers))
            self._tickets.append(ticket)
            self._admit()
        try:
            yield ticket
        finally:
            with self._lock:
                self._tickets.remove(ticket)
                self._admit()

    def wait(self, ticket: Ticket, timeout: float | None = None) -> bool:
        """Wait until ``ticket``'s turn (True) or ``timeout`` seconds (False)."""
        return ticket.admitted.wait(timeout)

    def ahead(self, ticket: Ticket) -> int:
        """How many requests will run before ``ticket``'s."""
        with self._lock:
            return max(0, self._tickets.index(ticket) - self.capacity + 1)

    def files(self) -> set[str]:
        with self._lock:
            return {path for ticket in self._tickets for path in ticket.files}

    def _admit(self) -> None:
        for ticket in self._tickets[: self.capacity]:
            ticket.admitted.set()


def make_lanes() -> dict[str, Lane]:
    """The page's lanes, by the kind of request. Chosen for 2 CPU cores: two fast renders at
    once (each takes under a second and one leaves a core idle while it decodes), one VGG19
    computation of losses or feature maps, one optimization, one video; the lines are short
    enough that every request in them gets a thread of the server's (`web.serve.THREADS`)."""
    return {
        "fast": Lane(
            "the fast path", capacity=2, waiting=8, per_visitor=2,
            busy="Your earlier fast results are still being made: wait for them.",
        ),
        "losses": Lane(
            "VGG19", capacity=1, waiting=8, per_visitor=2,
            busy="Your earlier results are still being measured: wait for them.",
        ),
        "optimize": Lane(
            "optimizations", capacity=1, waiting=6, per_visitor=1,
            busy="Your optimization is still running: stop it or wait for it.",
        ),
        "video": Lane(
            "videos", capacity=1, waiting=3, per_visitor=1,
            busy="Your video is still being made: wait for it.",
        ),
    }  # fmt: skip


# The server's lanes: the machine's cores are the process's.
LANES = make_lanes()


class Place:
    """A request's place in a lane, or none (a handler called outside a server)."""

    def __init__(self, lane: Lane | None, ticket: Ticket | None) -> None:
        self.lane, self.ticket = lane, ticket

    def waiting(self, every: float = 1.0) -> Iterator[int]:
        """Until the request's turn comes, how many will run before it, every ``every`` seconds
        (nothing when it is its turn already)."""
        while self.lane and self.ticket and not self.lane.wait(self.ticket, every):
            yield self.lane.ahead(self.ticket)


@contextlib.contextmanager
def place(lane: str, visitor: Visitor | None, files: Iterable[str] = ()) -> Iterator[Place]:
    """``visitor``'s place in ``lane`` for the block (raises `Refused` at once when over a limit);
    no place without a visitor."""
    if visitor is None:
        yield Place(None, None)
        return
    with LANES[lane].enter(visitor, files) as ticket:
        yield Place(LANES[lane], ticket)


@contextlib.contextmanager
def turn(lane: str, visitor: Visitor | None, files: Iterable[str] = ()) -> Iterator[None]:
    """Wait for ``visitor``'s turn in ``lane`` and hold it for the block."""
    with place(lane, visitor, files) as held:
        for _ in held.waiting(every=3600):
            pass
        yield
