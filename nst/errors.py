"""The errors the library raises for what a person can act on, and their one-line wording.

`InputError` is bad input the person can fix; `Unavailable` is a model or weights file that
cannot be had here (no network, nothing installed). Both carry a one-line message meant for
that person (a UI shows it in place of the result, the CLI prints it and exits non-zero).
`plain_message` words any other exception a request can meet the same way; an exception it
does not know is a bug, which the caller logs.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input (not an image, too large, out-of-range option); `str(error)` says what to do."""


class Unavailable(RuntimeError):
    """A model or weights file that cannot be had here; `str(error)` says so in one line, with
    no server paths, and ``detail`` says where it was looked for (for logs and the CLI)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def plain_message(error: BaseException) -> str | None:
    """One line a person can act on for ``error``, or None when it is not one we expect."""
    if isinstance(error, InputError | Unavailable):
        return " ".join(str(error).split())
    # TensorFlow's out-of-memory error, named rather than imported: this module loads no TF.
    if isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError":
        return "Out of memory for an image this large: choose a smaller output size."
    if isinstance(error, OSError):
        reason = error.strerror or type(error).__name__
        name = f" '{Path(error.filename).name}'" if error.filename else ""
        return f"A file{name} could not be read or written ({reason})."
    return None
