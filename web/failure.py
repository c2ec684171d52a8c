"""The one way a handler fails: every exception becomes one line in place of the result.

Bad input, a download that failed, memory, a bug in a worker thread: the page shows one line
beginning with ⚠️ where the result would be, the API returns the same line in the same place, the
server logs the detail once (a traceback only for what is not one of the library's known
errors), and it goes on serving. Every handler of the page is wrapped by `answers`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any

from nst.errors import plain_message

FAILED = "⚠️"  # begins the line shown in place of a result that failed
# In a streaming handler's failure answer: what that output showed last, which an API caller
# then gets in the final answer too (e.g. the fast result an optimization started from).
KEEP = object()
_UNCHANGED = {"__type__": "update"}  # `gradio.skip()`: an output left as it is
log = logging.getLogger("nst.web")
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform.startswith("linux") else None


def one_line(error: BaseException) -> str:
    """The line shown in place of a result that ``error`` ended; the detail goes to the log."""
    message = plain_message(error)
    if message is None:
        log.error("request failed", exc_info=error)
        message = (
            f"Something went wrong on the server ({type(error).__name__}); it has been logged. "
            "Try again, or a smaller output size."
        )
    elif detail := getattr(error, "detail", ""):
        log.warning("%s %s", message, detail)
    return f"{FAILED} {message}"


def _unchanged(value: Any) -> bool:
    return isinstance(value, dict) and value == _UNCHANGED


def return_freed_memory() -> None:
    """Give freed heap back to the OS: glibc keeps it per thread arena otherwise, and a server
    that ran a burst of requests would stay at its peak memory."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def answers(failed: Callable[[str], Any]) -> Callable[[Callable], Callable]:
    """Wrap a handler (a function, or a generator of updates) so that any exception it raises
    becomes ``failed(line)``: the handler's outputs with `one_line` in place of the result (and,
    from a generator, `KEEP` where an output keeps what it showed last)."""

    def wrap(handler: Callable) -> Callable:
        if inspect.isgeneratorfunction(handler):

            @functools.wraps(handler)
            def streaming(*args: Any, **kwargs: Any) -> Any:
                shown: dict[int, Any] = {}
                try:
                    for outputs in handler(*args, **kwargs):
                        shown |= {i: v for i, v in enumerate(outputs) if not _unchanged(v)}
                        yield outputs
                except Exception as error:
                    answer = failed(one_line(error))
                    yield tuple(shown.get(i, _UNCHANGED) if v is KEEP else v
                                for i, v in enumerate(answer))  # fmt: skip
                finally:
                    return_freed_memory()

            return streaming

        @functools.wraps(handler)
        def answering(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            except Exception as error:
                return failed(one_line(error))
            finally:
                return_freed_memory()

        return answering

    return wrap
