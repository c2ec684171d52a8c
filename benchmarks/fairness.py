"""One greedy client against an ordinary visitor: how long the ordinary one waits, with and
without the greedy one.

Starts the app on localhost. The greedy client (one address) sends as many requests as it can:
optimizations and fast results from many threads, each thread sending again as soon as it is
answered, refused or not. Meanwhile the ordinary visitor (another address) does what a person
does: a fast result, then an optimization, several times; its waits are the time to its fast
image and the time until its optimization's first step. The same visitor alone gives the waits
without the greedy client. Each visitor's address reaches the app as a proxy's X-Forwarded-For
would (the app trusts it from localhost). Writes its section of docs/measurements.md.

    .venv/bin/python benchmarks/fairness.py [--rounds 3] [--threads 12] [--budget 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from page_inputs import page_inputs, visitor  # noqa: E402

from benchmarks.load import free_port, start_server  # noqa: E402
from benchmarks.notes import record  # noqa: E402

CONTENT = REPO / "assets" / "content_chelsea.jpg"
STYLE = REPO / "assets" / "style_swirls.jpg"
SIZE = 256


def ordinary(url: str, rounds: int, budget: float) -> tuple[list[float], list[float]]:
    """An ordinary visitor's waits: to its fast image, and to its optimization's first step."""
    client = visitor(url)
    fast_waits, optimize_waits = [], []
    for _ in range(rounds):
        inputs = page_inputs(CONTENT, STYLE, SIZE, time_budget=budget, init="content")
        started = time.monotonic()
        client.predict(**inputs.api("fast"), api_name="/fast")
        fast_waits.append(time.monotonic() - started)
        started = time.monotonic()
        job = client.submit(**inputs.api("optimize"), fast_image=None, api_name="/optimize")
        while not any("Optimizing: step" in str(out) for out in job.outputs()):
            if job.done():
                raise SystemExit(f"the ordinary visitor's optimization ended: {job.outputs()}")
            time.sleep(0.1)
        optimize_waits.append(time.monotonic() - started)
        job.result(timeout=budget + 600)
    return fast_waits, optimize_waits


def greedy(url: str, threads: int, budget: float, stop: threading.Event) -> dict[str, int]:
    """As many requests as ``threads`` threads can send from one address, until ``stop``."""
    counts = {"sent": 0, "refused at once": 0}
    lock = threading.Lock()
    client = visitor(url)  # one client, one address: every request comes from it

    def send(kind: str) -> None:
        inputs = page_inputs(CONTENT, STYLE, SIZE, time_budget=budget, init="content")
        while not stop.is_set():
            if kind == "optimize":
                answer = client.predict(**inputs.api("optimize"), fast_image=None,
                                        api_name="/optimize")  # fmt: skip
                refused = answer[3].startswith("⚠️")
            else:
                refused = client.predict(**inputs.api("fast"), api_name="/fast")[1].startswith("⚠️")
            with lock:
                counts["sent"] += 1
                counts["refused at once"] += refused
            if refused:
                time.sleep(0.05)  # a script would retry at once; this keeps the log readable

    with ThreadPoolExecutor(threads) as pool:
        for index in range(threads):
            pool.submit(send, "optimize" if index % 2 else "fast")
        stop.wait()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="the ordinary visitor's rounds")
    parser.add_argument("--threads", type=int, default=12, help="the greedy client's threads")
    parser.add_argument("--budget", type=float, default=20, help="each optimization's budget, s")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(port)
    try:
        ordinary(url, 1, 10)  # warm: models loaded, graphs traced
        alone = ordinary(url, args.rounds, args.budget)
        stop = threading.Event()
        counts: dict[str, int] = {}
        crowd = threading.Thread(
            target=lambda: counts.update(greedy(url, args.threads, args.budget, stop))
        )
        crowd.start()
        try:
            time.sleep(5)  # the greedy client holds all it can
            crowded = ordinary(url, args.rounds, args.budget)
        finally:  # the greedy threads end, whatever happened to the ordinary visitor
            stop.set()
            crowd.join()
    finally:
        server.terminate()
        server.wait(timeout=60)

    def waits(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s (max {max(values):.1f} s)"

    rows = [
        ("fast image", alone[0], crowded[0]),
        ("start of an optimization", alone[1], crowded[1]),
    ]
    body = (
        f"An ordinary visitor's waits over {args.rounds} rounds (a fast result, then an "
        f"optimization of {args.budget:g} s at {SIZE} px), alone and while one greedy client "
        f"sends from {args.threads} threads (half optimizations, half fast results) as fast as "
        f"it is answered: {counts.get('sent', 0)} requests, {counts.get('refused at once', 0)} "
        "of them refused at once.\n\n"
        "| the ordinary visitor's wait for | alone: median (max) | with the greedy client |\n"
        "| --- | ---: | ---: |\n"
        + "\n".join(f"| {label} | {waits(a)} | {waits(b)} |" for label, a, b in rows)
        + f"\n\nOne optimization's budget: {args.budget:g} s."
    )
    print(record("One greedy client against an ordinary visitor", "benchmarks/fairness.py", body))


if __name__ == "__main__":
    main()
