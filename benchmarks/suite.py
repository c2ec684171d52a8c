"""The time `make test` takes on this machine, and its slowest tests.

Runs the test command of the Makefile (two pytest-xdist workers) in this checkout, with the
venv's Python, and writes the wall time, the outcome and the ten slowest tests into its section
of docs/measurements.md.

    .venv/bin/python benchmarks/suite.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.notes import REPO, record

COMMAND = [sys.executable, "-m", "pytest", "--numprocesses", "2", "--dist", "loadgroup"]


def main() -> None:
    started = time.perf_counter()
    done = subprocess.run(COMMAND, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout
    summary = [line.strip("= ") for line in output.splitlines() if re.search(r" in [\d.]+s", line)]
    slowest = re.findall(r"^\s*([\d.]+)s (call|setup)\s+(\S+)", output, re.M)[:10]
    rows = "\n".join(f"| {float(s):.1f} s | {phase} | `{name}` |" for s, phase, name in slowest)
    body = (
        f"`make test`'s pytest command: **{seconds:.0f} s** of wall time, "
        f"{summary[-1] if summary else 'no summary'} (exit status {done.returncode}).\n\n"
        f"The ten slowest:\n\n| seconds | phase | test |\n| ---: | --- | --- |\n{rows}"
    )
    print(record("make test", "benchmarks/suite.py", body))
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
