"""The time `make test` takes on this machine, and its slowest tests.

Runs the test command of the Makefile (two pytest-xdist workers) in this checkout, with the
venv's Python, ``--runs`` times (one run varies by a tenth: time budgets and the order in which
the workers meet), and writes each run's wall time, their median, the outcome and the ten
slowest tests of the median run into its section of docs/measurements.md.

    .venv/bin/python benchmarks/suite.py --runs 3
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.notes import REPO, record

COMMAND = [sys.executable, "-m", "pytest", "--numprocesses", "2", "--dist", "loadgroup"]


def _run() -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(COMMAND, cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - started, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="how many times to run it")
    runs = [_run() for _ in range(parser.parse_args().runs)]
    walls = [seconds for seconds, _ in runs]
    median = statistics.median_low(walls)
    done = runs[walls.index(median)][1]
    output = done.stdout
    summary = [line.strip("= ") for line in output.splitlines() if re.search(r" in [\d.]+s", line)]
    slowest = re.findall(r"^\s*([\d.]+)s (call|setup)\s+(\S+)", output, re.M)[:10]
    rows = "\n".join(f"| {float(s):.1f} s | {phase} | `{name}` |" for s, phase, name in slowest)
    each = ", ".join(f"{wall:.0f} s" for wall in walls)
    failed = sum(outcome.returncode != 0 for _, outcome in runs)
    body = (
        f"`make test`'s pytest command, {len(runs)} run{'s' * (len(runs) > 1)}: {each} of wall "
        f"time; median **{median:.0f} s**: {summary[-1] if summary else 'no summary'} "
        f"({failed} of {len(runs)} runs failed).\n\n"
        f"The ten slowest in the median run:\n\n"
        f"| seconds | phase | test |\n| ---: | --- | --- |\n{rows}"
    )
    print(record("make test", "benchmarks/suite.py --runs " + str(len(runs)), body))
    sys.exit(max(outcome.returncode for _, outcome in runs))


if __name__ == "__main__":
    main()
