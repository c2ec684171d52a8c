"""What a served app costs while no one uses it: its CPU time over a quiet minute.

Serves the app (``python app.py`` on a free localhost port), waits for its start-up work (the
fast engine's warm-up, the clock's timing) to end, then reads the process's CPU time over
``--seconds``; the same again with Gradio's own polling intervals in place of
`web.serve.QUEUE_POLL` and `PROGRESS_POLL`. Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/idle.py [--settle 30] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load import free_port, rss_mib, start_server
from benchmarks.notes import record
from web.serve import PROGRESS_POLL, QUEUE_POLL

VARIANTS = {
    f"as served ({QUEUE_POLL * 1000:g} ms and {PROGRESS_POLL * 1000:g} ms)": ("app.py",),
    "with Gradio's own intervals": (
        "-c",
        "import runpy, web.serve; web.serve.poll_calmly = lambda demo: None; "
        "runpy.run_path('app.py', run_name='__main__')",
    ),
}


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(arguments: tuple[str, ...], settle: float, seconds: float) -> tuple[float, float]:
    """The served app's CPU time per second of wall time while idle, and its memory (MiB)."""
    server = start_server(free_port(), arguments)
    try:
        time.sleep(settle)
        before, started = cpu_seconds(server.pid), time.monotonic()
        time.sleep(seconds)
        used = cpu_seconds(server.pid) - before
        return used / (time.monotonic() - started), rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=30, help="seconds after the start")
    parser.add_argument("--seconds", type=float, default=60, help="seconds measured")
    args = parser.parse_args()
    rows = []
    for name, arguments in VARIANTS.items():
        share, rss = idle_share(arguments, args.settle, args.seconds)
        rows.append(f"| {name} | {share:.1%} | {share * 3600:.0f} s | {rss:.0f} MiB |")
        print(rows[-1], flush=True)
    body = (
        f"A served app with no visitor, {args.seconds:g} s measured from {args.settle:g} s "
        "after its page first answered. Gradio's queue wakes up to look for work; how often "
        "decides what an idle server costs.\n\n"
        "| queue polling | share of a core | CPU per hour idle | memory |\n"
        "| --- | ---: | ---: | ---: |\n" + "\n".join(rows)
    )
    command = f"benchmarks/idle.py --settle {args.settle:g} --seconds {args.seconds:g}"
    print(record("An idle server", command, body))


if __name__ == "__main__":
    main()
