"""Load run: start the app on localhost and send it a bounded burst through gradio_client.

40 fast requests from 8 clients plus 2 optimizations at once (by default), then report how many
completed, failed, or were rejected with a message; p50/p95 latency of the fast requests that
ran while an optimization was running; and the server's memory before, at peak and after.

    .venv/bin/python benchmarks/load.py [--fast 40] [--clients 8] [--optimizations 2]

Traffic goes only to 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
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

from web.inputs import PageInputs  # noqa: E402

CONTENT = REPO / "assets" / "content_chelsea.jpg"
STYLE = REPO / "assets" / "style_swirls.jpg"


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


def start_server(port: int, **settings: str) -> subprocess.Popen:
    """The app on ``port``, with ``settings`` added to its environment."""
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        **settings,
    }
    server = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the app did not start within 120 s")


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
            client.predict(
                **shared.api("fast_losses"),
                fast_image=handle_file(path),
                numbers=numbers,
                api_name="/fast_losses",
            )
        else:
            optimize = replace(shared, time_budget=budget).api("optimize")
            client.predict(**optimize, fast_image=None, api_name="/optimize")
        return Outcome(kind, started, time.monotonic(), first)
    except Exception as error:  # the message is the result being measured
        return Outcome(kind, started, time.monotonic(), first, str(error) or type(error).__name__)


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
    print(
        f"# Load run: {args.fast} fast requests from {args.clients} clients + "
        f"{args.optimizations} optimizations, {args.size} px, {os.cpu_count()} CPUs\n"
    )
    print("| measure | value |\n| --- | --- |")
    print(f"| completed | {len(outcomes) - len(failed)} of {len(outcomes)} in {wall:.0f} s |")
    print(f"| rejected or failed, with a message | {sum(bool(o.error.strip()) for o in failed)} |")
    print(f"| failed without a message | {sum(not o.error.strip() for o in failed)} |")
    for label, values in (("image", image_during), ("image and its losses", during)):
        if values:
            print(
                f"| fast, {label}, during an optimization: p50 / p95 | "
                f"{statistics.median(values):.2f} s / {percentile(values, 0.95):.2f} s "
                f"({len(values)} requests) |"
            )
    print(
        f"| optimizations, seconds each | "
        f"{', '.join(f'{o.seconds:.0f}' for o in optimizations) or '-'} |"
    )
    print(f"| server memory before / peak / after | {before:.0f} / {peak:.0f} / {after:.0f} MiB |")
    print(f"| after vs before | {100 * (after - before) / before:+.1f} % |")
    for outcome in failed:
        print(f"\n{outcome.kind} failed after {outcome.seconds:.1f} s: {outcome.error}")


if __name__ == "__main__":
    main()
