"""The measurement notes, docs/measurements.md: each benchmark writes its own section there.

A section is headed "## Title" and stamped on its next line with the machine it ran on (the CPU
model, its cores and the instruction sets that decide TensorFlow's speed), the commit and the
date, so no figure is typed by hand and every figure names its machine. A run replaces its
section (or appends it the first time); the others stay as they are.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from pathlib import Path

from nst import device

REPO = Path(__file__).resolve().parents[1]
NOTES = REPO / "docs" / "measurements.md"
HEADER = """# Measurements

Written by the benchmarks in `benchmarks/`, each run replacing its own section; every section
names the machine, the commit and the date it was measured on, and the command that made it.
"""


def commit() -> str:
    """The checkout's commit (with "+" when it has uncommitted changes)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = "+" if git("status", "--porcelain", "--untracked-files=no") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


def stamp() -> str:
    """The machine, the commit and the date, as a section's first line."""
    cpu = device.cpu_info()
    features = ", ".join(cpu.features()) or "no AVX2"
    generation = f" ({cpu.generation})" if cpu.generation else ""
    return (
        f"Machine: {cpu.model or 'unknown CPU'}{generation}, {device.cpu_threads()} cores "
        f"({features}) · commit {commit()} · {datetime.date.today().isoformat()}"
    )


def record(title: str, command: str, body: str, notes: Path = NOTES) -> str:
    """Write the section ``title`` (made by ``command``) with ``body`` into the notes, in place
    of its last version; returns the section as written."""
    section = f"## {title}\n\n{stamp()}\n\n`{command}`\n\n{body.strip()}\n"
    text = notes.read_text() if notes.is_file() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text(text.rstrip() + "\n")
    return section
