"""Load run: start the app on localhost and send it a bounded burst through gradio_client.

40 fast requests from 8 clients plus 2 optimizations at once (by default), each request from a
visitor of its own (its own address, `tests/page_inputs.visitor`), after a warm-up at the same
concurrency. Reports how many completed, failed, or were refused with a message (the page's
one line beginning with ⚠️, e.g. a lane of `web.visitors` that is full); p50/p95 latency of the
fast requests that ran while an optimization was running (an optimization's time includes its
wait for the lane); and the server's memory before, at peak and after. Writes its section of
docs/measurements.md.

    .venv/bin/python benchmarks/load.py [--fast 40] [--clients 8] [--optimizations 2] \\
        [--size 512] [--budget 30]

Traffic goes only to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the page's inputs (`web.inputs.PageInputs`)
sys.path.insert(0, str(REPO / "tests"))  # an API client per visitor (`page_inputs.visitor`)

from gradio_client import handle_file  # noqa: E402
from page_inputs import visitor  # noqa: E402

from benchmarks.notes import record  # noqa: E402
from nst.options import PAGE_TIME_BUDGET_LIMITS  # noqa: E402
from web.failure import FAILED  # noqa: E402
from web.inputs import PageInputs  # noqa: E402

CONTENT = REPO / "assets" / "content_chelsea.jpg"
STYLE = REPO / "assets" / "style_swirls.jpg"
START_TIMEOUT = 300  # seconds; a start on a loaded machine takes minutes


@dataclass
class Outcome:
    kind: str  # "fast" or "optimize"
    started: float
    ended: float
    first: float = 0.0  # when the first output (the fast image, before its losses) arrived
    error: str = ""  # the message a user would see; empty when it completed

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def rss_mib(pid: int) -> float:
    """Resident memory of the process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    """A localhost port no one listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    port: int, arguments: tuple[str, ...] = ("app.py",), **settings: str
) -> subprocess.Popen:
    """The app (Python run with ``arguments``) on ``port``, with ``settings`` added to its
    environment; its log is dropped, but its last lines are shown when it does not start."""
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        **settings,
    }
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                return server  # its stderr goes on into the (deleted) file
            except OSError:
                time.sleep(0.5)
        server.kill()
        server.wait()
        log.seek(0)
        last = log.read().decode(errors="replace").strip().splitlines()[-10:]
    why = "exited" if server.returncode not in (None, -9) else f"did not start in {START_TIMEOUT} s"
    raise SystemExit(f"the app {why}:\n" + "\n".join(last))


def inputs(size: int, variant: int = 0, content: Path = CONTENT) -> PageInputs:
    """The page's inputs; `variant` varies the style strength, as different users would.

    (Identical concurrent results share one cached output file in Gradio, which one request
    can be rewriting while another downloads it.)
    """
    return PageInputs(
        content=handle_file(str(content)),
        style=handle_file(str(STYLE)),
        strength=1.0 - 0.01 * (variant % 50),
        size=size,
    )


def call(url: str, kind: str, size: int, budget: float, variant: int = 0) -> Outcome:
    """One user's request as the page makes it: fast is the image, then its losses."""
    client = visitor(url)
    started = time.monotonic()
    first = 0.0
    shared = inputs(size, variant)
    try:
        if kind == "fast":
            path, numbers = client.predict(**shared.api("fast"), api_name="/fast")
            first = time.monotonic()
            if refused(numbers):
                return Outcome(kind, started, first, first, numbers)
            numbers = client.predict(
                **shared.api("fast_losses"),
                fast_image=handle_file(path),
                numbers=numbers,
                api_name="/fast_losses",
            )
            error = numbers if refused(numbers) else ""
        else:
            optimize = replace(shared, time_budget=budget).api("optimize")
            answer = client.predict(**optimize, fast_image=None, api_name="/optimize")
            error = answer[3] if refused(answer[3]) else ""  # the optimized result's line
        return Outcome(kind, started, time.monotonic(), first, error)
    except Exception as error:  # the message is the result being measured
        return Outcome(kind, started, time.monotonic(), first, str(error) or type(error).__name__)


def refused(line: object) -> bool:
    """Whether an output is the page's one line in place of a result (`web.failure`)."""
    return isinstance(line, str) and line.startswith(FAILED)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", type=int, default=40, help="fast requests in the burst")
    parser.add_argument("--clients", type=int, default=8, help="concurrent fast clients")
    parser.add_argument("--optimizations", type=int, default=2)
    parser.add_argument("--size", type=int, default=512, help="output long side")
    parser.add_argument("--budget", type=float, default=30, help="optimization time budget, s")
    args = parser.parse_args()
    low, high = PAGE_TIME_BUDGET_LIMITS
    if not low <= args.budget <= high:
        parser.error(f"--budget: the page takes {low}-{high} s")

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(port)
    try:
        # Warm up at the burst's size and concurrency (model loads, graph traces, per-thread
        # arenas are paid once per process), then measure the idle level.
        with ThreadPoolExecutor(args.clients + 1) as pool:
            warm = [pool.submit(call, url, "optimize", args.size, 10)]
            warm += [pool.submit(call, url, "fast", args.size, 0, i) for i in range(args.clients)]
            for future in warm:
                future.result(timeout=600)
        time.sleep(2)
        before = rss_mib(server.pid)
        peak = before
        running = threading.Event()
        running.set()

        def sample() -> None:
            nonlocal peak
            while running.is_set():
                peak = max(peak, rss_mib(server.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        with ThreadPoolExecutor(args.clients + args.optimizations) as pool:
            slow = [
                pool.submit(call, url, "optimize", args.size, args.budget, i)
                for i in range(args.optimizations)
            ]
            time.sleep(1)  # let an optimization start first
            quick = [pool.submit(call, url, "fast", args.size, 0, i) for i in range(args.fast)]
            outcomes = [future.result(timeout=900) for future in slow + quick]
        wall = time.monotonic() - started
        running.clear()
        sampler.join()
        time.sleep(5)  # let the server settle after the burst
        after = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    optimizations = [o for o in outcomes if o.kind == "optimize" and not o.error]
    busy = [(o.started, o.ended) for o in optimizations]
    fast = [o for o in outcomes if o.kind == "fast" and not o.error]
    overlapping = [o for o in fast if any(s <= o.started and o.ended <= e for s, e in busy)]
    during = [o.seconds for o in overlapping]
    image_during = [o.first - o.started for o in overlapping]  # until the image arrived
    failed = [o for o in outcomes if o.error]
    rows = [
        f"| completed | {len(outcomes) - len(failed)} of {len(outcomes)} in {wall:.0f} s |",
        f"| refused or failed, with a message | {sum(bool(o.error.strip()) for o in failed)} |",
        f"| failed without a message | {sum(not o.error.strip() for o in failed)} |",
    ]
    for label, values in (("image", image_during), ("image and its losses", during)):
        if values:
            rows.append(
                f"| fast, {label}, during an optimization: p50 / p95 | "
                f"{statistics.median(values):.2f} s / {percentile(values, 0.95):.2f} s "
                f"({len(values)} requests) |"
            )
    rows += [
        f"| optimizations, seconds each (waiting included) | "
        f"{', '.join(f'{o.seconds:.0f}' for o in optimizations) or '-'} |",
        f"| server memory before / peak / after | {before:.0f} / {peak:.0f} / {after:.0f} MiB |",
        f"| after vs before | {100 * (after - before) / before:+.1f} % |",
    ]
    messages = sorted({f"{o.kind}: {o.error.strip() or 'no message'}" for o in failed})
    body = (
        f"{args.fast} fast requests (the image, then its losses) from {args.clients} clients "
        f"and {args.optimizations} optimizations of {args.budget:g} s at once, {args.size} px, "
        "each request from a visitor of its own, after a warm-up at the same concurrency:\n\n"
        "| measure | value |\n| --- | --- |\n"
        + "\n".join(rows)
        + "".join(f"\n\n{message}" for message in messages)
    )
    command = (
        f"benchmarks/load.py --fast {args.fast} --clients {args.clients} "
        f"--optimizations {args.optimizations} --size {args.size} --budget {args.budget:g}"
    )
    print(record("Load: fast requests during optimizations", command, body))


if __name__ == "__main__":
    main()
