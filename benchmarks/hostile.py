"""The hostile corpus (tests/hostile.py) through a served app's API, in every role an image has.

    python benchmarks/hostile.py [--url URL --pid PID] [--representatives] [--roles content ...]

Without ``--url`` it serves the app itself (``python app.py`` on a free localhost port, its
uploads and results in a scratch folder) and stops it at the end. Every uploadable kind goes to
``/fast`` as the content, the style, the second style, the mask file and the mask editor's
value (a canvas whose background, layer and composite are all the kind), with the page's
defaults otherwise. Per request: the outcome (a result, the one-line refusal in its place, an
error of Gradio's, or no answer), whether it is the kind's expected one, the seconds, the
server's memory (RSS) before and after, and whether the server still serves its page; a
PostScript kind's canary file must never appear. Prints a Markdown table, failures first.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import hostile  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from page_inputs import page_inputs, visitor  # noqa: E402

from benchmarks.notes import record  # noqa: E402
from nst.options import PAGE_MIN_SIZE  # noqa: E402

CONTENT, STYLE = hostile.GOOD_PHOTO, REPO / "assets" / "style_swirls.jpg"
ROLES = ("content", "style", "second_style", "mask_file", "mask")
FAILED = "⚠️"  # begins the line the app answers in place of a result
REQUEST_TIMEOUT = 120.0  # seconds: a request still unanswered then counts as no answer


@dataclass
class Row:
    kind: hostile.Kind
    role: str
    outcome: str  # "result", "refused: …", "gradio error: …", "no answer: …"
    expected: bool
    seconds: float
    rss_before: int  # MB
    rss_after: int
    serving: bool

    def cells(self) -> list[str]:
        mark = "ok" if self.expected and self.serving else "**FAIL**"
        outcome = self.outcome.replace("|", "\\|").replace("\n", " ")[:110]
        return [
            mark,
            self.kind.name,
            self.role,
            outcome,
            self.kind.expect.describe().replace("|", "\\|")[:70],
            f"{self.seconds:.2f}",
            f"{self.rss_before} → {self.rss_after}",
            "yes" if self.serving else "**no**",
        ]


def _inputs(kind: hostile.Kind, role: str) -> dict:
    """The /fast endpoint's values with ``kind`` as ``role`` (the page's defaults otherwise)."""
    path = str(kind.path)
    content, style, extra = CONTENT, STYLE, {}
    if role == "content":
        content = kind.path
    elif role == "style":
        style = kind.path
    elif role == "mask":
        extra["mask"] = {
            "background": handle_file(path),
            "layers": [handle_file(path)],
            "composite": handle_file(path),
        }
    else:
        extra[role] = handle_file(path)
    return page_inputs(content, style, PAGE_MIN_SIZE, **extra).api("fast")


def _request(client: Client, kind: hostile.Kind, role: str) -> tuple[str, float]:
    """One /fast request: its outcome in words and its seconds."""
    from gradio_client.exceptions import AppError

    started = time.perf_counter()
    try:
        job = client.submit(**_inputs(kind, role), api_name="/fast")
        image, text = job.result(timeout=REQUEST_TIMEOUT)
        if image is not None:
            outcome = "result"
        elif isinstance(text, str) and text.startswith(FAILED):
            outcome = "refused: " + text.removeprefix(FAILED).strip()
        else:
            outcome = f"no image, and: {text!r}"
    except AppError as error:
        outcome = f"gradio error: {error}"
    except Exception as error:  # a dropped connection, a timeout: what the client saw
        outcome = f"no answer: {type(error).__name__}: {error}"
    return outcome, time.perf_counter() - started


def _rss(pid: int) -> int:
    """The process's resident memory in MB (with its children's), 0 once it has gone."""
    total = 0
    for process in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+)", status)[1]) // 1024
    return total


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as page:
            return page.status == 200
    except OSError:
        return False


def _serve(folder: Path) -> tuple[subprocess.Popen, str]:
    """``python app.py`` on a free localhost port with its cache in ``folder``, once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    environment = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_TEMP_DIR": str(folder / "cache"),
    }
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO, env=environment, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        if _serving(url):
            return server, url
        time.sleep(1)
    server.terminate()
    sys.exit(f"the app did not start; see {folder / 'server.log'}")


def run(url: str, pid: int, kinds: list[hostile.Kind], roles: tuple[str, ...]) -> list[Row]:
    rows = []
    client = visitor(url)  # one visitor, one request at a time: within the page's limits
    for kind in kinds:
        for role in roles:
            before = _rss(pid)
            outcome, seconds = _request(client, kind, role)
            serving = _serving(url)
            canary = kind.canary_path()
            if canary is not None and canary.exists():
                outcome += " — THE POSTSCRIPT RAN (canary written)"
                canary.unlink()
            expected = (
                hostile.served_as_expected(kind, role, outcome, PAGE_MIN_SIZE, ("/tmp/", str(REPO)))
                and "canary" not in outcome
            )
            rows.append(Row(kind, role, outcome, expected, seconds, before, _rss(pid), serving))
            print(f"{'ok  ' if expected else 'FAIL'} {kind.name} {role}: {outcome[:100]}",
                  file=sys.stderr, flush=True)  # fmt: skip
            if not serving:
                return rows
    return rows


def report(rows: list[Row]) -> str:
    """A line per family (every kind in every role), then every request not as expected."""
    failed = [row for row in rows if not (row.expected and row.serving)]
    lines = [
        f"{len(rows)} requests ({len({row.kind.name for row in rows})} kinds × "
        f"{len({row.role for row in rows})} roles), {len(failed)} not as expected; server RSS "
        f"{rows[0].rss_before} MB at the start, {rows[-1].rss_after} MB at the end, "
        f"{max(row.rss_after for row in rows)} MB at most.",
        "",
        "| family | kinds | requests | as expected | results | refusals | slowest s | serving |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    families: dict[str, list[Row]] = {}
    for row in rows:
        families.setdefault(row.kind.family, []).append(row)
    for family, group in families.items():
        lines.append(
            f"| {family} | {len({row.kind.name for row in group})} | {len(group)} | "
            f"{sum(row.expected for row in group)} | "
            f"{sum(row.outcome == 'result' for row in group)} | "
            f"{sum(row.outcome.startswith('refused') for row in group)} | "
            f"{max(row.seconds for row in group):.2f} | "
            f"{'yes' if all(row.serving for row in group) else '**no**'} |"
        )
    if failed:
        heading = ["", "kind", "role", "outcome", "expected", "s", "server RSS MB", "serves"]
        lines += ["", "Not as expected:", "", "| " + " | ".join(heading) + " |"]
        lines += ["|" + "---|" * len(heading)]
        lines += ["| " + " | ".join(row.cells()) + " |" for row in failed]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (else one is started here)")
    parser.add_argument("--pid", type=int, help="the running app's process, for its memory")
    parser.add_argument("--representatives", action="store_true", help="one kind per family")
    parser.add_argument("--roles", nargs="+", choices=ROLES, default=ROLES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as scratch:
        folder = Path(scratch)
        (folder / "corpus").mkdir()
        kinds = [kind for kind in hostile.corpus(folder / "corpus") if kind.uploadable]
        if args.representatives:
            kinds = hostile.representatives(kinds)
        server = None
        if args.url is None:
            server, url = _serve(folder)
            pid = server.pid
        else:
            url, pid = args.url, args.pid or 0
        try:
            rows = run(url, pid, kinds, tuple(args.roles))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
        command = "benchmarks/hostile.py" + (" --representatives" if args.representatives else "")
        print(record("The hostile corpus through the served page", command, report(rows)))


if __name__ == "__main__":
    main()
