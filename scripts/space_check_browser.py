"""The browser half of `scripts/space_check.sh`: drive the served app like a first visitor.

Opens the page, uploads a photo and a painting, presses Fast (the image must appear within
60 s), then Optimize, and waits for either an optimized image or a worded error message shown
in its place. Fails on a bare "Error" badge with no words, or on a spinner that never ends.
Prints a transcript (step, seconds, the text the page shows) and saves screenshots.

Runs from the dev venv (it needs Playwright) against any URL; drives Debian's Chromium.
    .venv/bin/python scripts/space_check_browser.py http://127.0.0.1:7860/
Exit status: 0 pass, 1 the app failed a check, 2 the check itself could not run.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[1]

# --- Everything that names something on the page, in one place. ---------------------------
CONTENT_FILE = REPO / "assets" / "content_chelsea.jpg"
STYLE_FILE = REPO / "assets" / "style_swirls.jpg"
SEL = {
    "content": "#content",  # image upload components (elem_id); their <input type=file> inside
    "style": "#style",
    "fast": "#fast",  # buttons
    "optimize": "#optimize",
    "fast_image": "#fast-image",  # result components
    "fast_numbers": "#fast-numbers",
    "optimized_image": "#optimized-image",
    "optimized_numbers": "#optimized-numbers",
    # Gradio internals (6.x): a component's status overlay, its red "Error" badge, the text of
    # a Markdown component, and the toasts gr.Error / gr.Warning show at the top right.
    "status": '[data-testid="status-tracker"]',
    "error_badge": "span.error",
    "markdown": '[data-testid="markdown"]',
    "toast": '[data-testid="toast-body"]',
}
SIZE_LABEL = "number input for Output long side (px)"  # optional: left at default if absent
SIZE = 256
BUDGET_LABEL = "number input for Time budget (s)"  # optional, inside a closed accordion
BUDGET_ACCORDION = "Optimization settings"
BUDGET = 20
# What finished results say (the optimized one's numbers; the fast one's losses, folded under
# "Exact losses").
OPTIMIZED_DONE = re.compile(r"style loss|ended by", re.I)
FAST_LOSSES_DONE = re.compile(r"style loss|exact losses", re.I)
FAST_LOSSES_PENDING = re.compile(r"measuring", re.I)  # the placeholder until they arrive
# Interim text in the numbers while work is still going on, not a message.
INTERIM = re.compile(r"^\s*(optimizing|step \d+|measuring|processing|queue)", re.I)
FAST_TIMEOUT = 60
FAST_LOSSES_TIMEOUT = 60
OPTIMIZE_TIMEOUT = 150
BARE_ERROR_GRACE = 5  # seconds an "Error" badge may stand alone before a toast explains it
# --------------------------------------------------------------------------------------------

# One snapshot of what the page shows: per result component its images, status overlay text,
# error badges and markdown text; plus every toast on screen.
SNAPSHOT_JS = """
(sel) => {
  const text = (el) => (el ? el.innerText.trim() : "");
  const box = (key) => {
    const el = document.querySelector(sel[key]);
    if (!el) return null;
    const status = el.querySelector(sel.status);
    const visible = status && !status.classList.contains("hide");
    return {
      imgs: el.querySelectorAll("img").length,
      status: visible ? text(status) : "",
      errors: [...el.querySelectorAll(sel.error_badge)].map(text),
      markdown: text(el.querySelector(sel.markdown)),
    };
  };
  const out = {};
  for (const key of ["fast_image", "fast_numbers", "optimized_image", "optimized_numbers"])
    out[key] = box(key);
  out.toasts = [...document.querySelectorAll(sel.toast)].map(
    (t) => ({kind: t.className, text: text(t)}));
  out.badges = [...document.querySelectorAll(sel.error_badge)].map(text);
  return out;
}
"""


class CheckFailed(Exception):
    """The app did not do what a visitor needs."""


def _one_line(text: str, limit: int = 300) -> str:
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _worded(text: str) -> bool:
    """A message a person can act on: more than the word "Error", at least three words."""
    words = re.findall(r"[^\W\d_]{2,}", text)
    return len(words) >= 3 and text.strip().lower() not in {"error", "error!"}


SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:tmp|home|root|usr|opt|var|srv|app|work)/\S*")


def _judge_message(step: str, message: str) -> list[str]:
    """A shown error message must be one line with no traceback; server paths are noted."""
    problems = []
    if "\n" in message.strip() or "Traceback" in message:
        problems.append(f"{step}: the message is not one line of plain words")
    if paths := SERVER_PATH.findall(message):
        print(f"{'':34}NOTE: the message shows server paths: {', '.join(paths[:3])}")
    if len(message) > 300:
        print(f"{'':34}NOTE: the message is {len(message)} characters long")
    return problems


def _toast_message(toast: dict) -> str:
    """A toast's text without its title (the title is just "Error" / "Warning")."""
    lines = [line for line in toast["text"].splitlines() if line.strip() not in {"", "×"}]
    if lines and lines[0].strip().lower() in {"error", "warning", "info", "success"}:
        lines = lines[1:]
    return " ".join(line.strip() for line in lines)


class Session:
    def __init__(self, page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.start = time.monotonic()
        self.toasts_seen: list[str] = []  # one line each, in order of appearance
        self.toast_messages: list[str] = []  # the same without their titles
        self.shot_number = 0

    def log(self, step: str, seconds: float, outcome: str, shown: str = "") -> None:
        line = f"  [{time.monotonic() - self.start:6.1f} s] {step:<22} {seconds:6.1f} s  {outcome}"
        print(line + (f"\n{'':34}page shows: {_one_line(shown)}" if shown else ""), flush=True)

    def screenshot(self, name: str) -> None:
        self.shot_number += 1
        path = self.shots / f"{self.shot_number}-{name}.png"
        self.page.screenshot(path=path, full_page=True)

    def snapshot(self) -> dict:
        state = self.page.evaluate(SNAPSHOT_JS, SEL)
        for toast in state["toasts"]:
            text = _one_line(toast["text"])
            if text and text not in self.toasts_seen:
                self.toasts_seen.append(text)
                self.toast_messages.append(_toast_message(toast))
                print(f"{'':34}toast: {text}", flush=True)
        return state

    def worded_toasts(self, since: int) -> list[str]:
        """Toasts seen since index `since` whose text says more than their title."""
        return [m for m in self.toast_messages[since:] if _worded(m)]


def _describe(box: dict | None) -> str:
    if box is None:
        return "(component not found)"
    parts = []
    if box["imgs"]:
        parts.append(f"{box['imgs']} image(s)")
    if box["status"]:
        parts.append(f"status: {_one_line(box['status'])}")
    if box["markdown"]:
        parts.append(f"text: {_one_line(box['markdown'])}")
    return "; ".join(parts) or "(empty)"


def _set_number(page, label: str, value: int, opener: str | None = None) -> bool:
    field = page.get_by_label(label)
    if field.count() == 0 and opener and page.get_by_text(opener).count():
        page.get_by_text(opener).first.click()
    if field.count() == 0:
        return False
    field.first.fill(str(value))
    field.first.press("Enter")
    return True


def _upload(page, key: str, path: Path) -> None:
    page.set_input_files(f"{SEL[key]} input[type=file]", str(path))


def run(url: str, shots: Path) -> list[str]:
    """The session; returns the failures (empty: pass). Raises only when it cannot run."""
    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(30_000)
        s = Session(page, shots)
        try:
            t = time.monotonic()
            page.goto(url)
            page.wait_for_selector(f"{SEL['content']} input[type=file]", state="attached")
            s.log("open page", time.monotonic() - t, "ok", page.title())
            s.screenshot("loaded")

            t = time.monotonic()
            _upload(page, "content", CONTENT_FILE)
            _upload(page, "style", STYLE_FILE)
            page.wait_for_selector(f"{SEL['content']} img", timeout=30_000)
            page.wait_for_selector(f"{SEL['style']} img", timeout=30_000)
            sized = _set_number(page, SIZE_LABEL, SIZE)
            budget = _set_number(page, BUDGET_LABEL, BUDGET, opener=BUDGET_ACCORDION)
            settings = (f"size {SIZE} px" if sized else "size: slider not found, default") + (
                f", time budget {BUDGET} s" if budget else ", time budget: not found, default"
            )
            s.log("upload + settings", time.monotonic() - t, "ok", settings)
            s.screenshot("uploaded")

            # Fast: the image must appear within FAST_TIMEOUT.
            t = time.monotonic()
            page.click(SEL["fast"])
            deadline = t + FAST_TIMEOUT
            while True:
                state = s.snapshot()
                if state["fast_image"] and state["fast_image"]["imgs"]:
                    s.log(
                        "Fast: image",
                        time.monotonic() - t,
                        "PASS",
                        _describe(state["fast_numbers"]),
                    )
                    break
                if time.monotonic() > deadline:
                    s.log(
                        "Fast: image",
                        time.monotonic() - t,
                        "FAIL (no image)",
                        _describe(state["fast_image"]),
                    )
                    failures.append(f"Fast: no image within {FAST_TIMEOUT} s")
                    break
                page.wait_for_timeout(250)
            s.screenshot("fast")

            # Its losses follow as a separate event: losses, or a worded message, not a bare badge.
            if not failures:
                failures += _wait_fast_losses(s, time.monotonic())
                s.screenshot("fast-losses")

            # Optimize: an optimized image, or a worded message in its place.
            t = time.monotonic()
            toasts_before = len(s.toasts_seen)
            page.click(SEL["optimize"])
            failures += _wait_optimize(s, t, toasts_before)
            page.wait_for_timeout(500)
            s.snapshot()
            s.screenshot("optimize")
            final_badges = s.snapshot()["badges"]
            if final_badges:
                print(f"{'':34}error badges on the page at the end: {len(final_badges)}")
        except Exception:
            s.screenshot("check-crashed")
            raise
        finally:
            browser.close()
    return failures


def _wait_fast_losses(s: Session, t: float) -> list[str]:
    deadline = t + FAST_LOSSES_TIMEOUT
    toasts_before = 0
    badge_since = None
    while True:
        state = s.snapshot()
        box = state["fast_numbers"] or {"imgs": 0, "status": "", "errors": [], "markdown": ""}
        if FAST_LOSSES_DONE.search(box["markdown"]):
            s.log("Fast: losses", time.monotonic() - t, "PASS", box["markdown"])
            return []
        settled = box["markdown"] and not box["status"] and not box["errors"]
        if settled and not FAST_LOSSES_PENDING.search(box["markdown"]):
            # The placeholder was replaced by something other than losses: a message.
            s.log("Fast: losses", time.monotonic() - t, "PASS (message)", box["markdown"])
            if not _worded(box["markdown"]):
                return ["Fast: the losses were replaced by no message"]
            return _judge_message("Fast: losses", box["markdown"].split("\n", 1)[-1])
        if box["errors"]:
            worded = s.worded_toasts(toasts_before)
            if worded:
                s.log("Fast: losses", time.monotonic() - t, "PASS (message in a toast)", worded[-1])
                return _judge_message("Fast: losses", worded[-1])
            badge_since = badge_since or time.monotonic()
            if time.monotonic() - badge_since > BARE_ERROR_GRACE:
                s.log("Fast: losses", time.monotonic() - t, "FAIL (bare Error)", _describe(box))
                return ["Fast: the losses under the fast image show a bare 'Error' with no words"]
        if time.monotonic() > deadline:
            s.log("Fast: losses", time.monotonic() - t, "FAIL (timeout)", _describe(box))
            return [f"Fast: the losses neither appeared nor failed within {FAST_LOSSES_TIMEOUT} s"]
        s.page.wait_for_timeout(250)


def _wait_optimize(s: Session, t: float, toasts_before: int) -> list[str]:
    deadline = t + OPTIMIZE_TIMEOUT
    badge_since = None
    last_progress = ""
    while True:
        state = s.snapshot()
        image, numbers = state["optimized_image"], state["optimized_numbers"]
        if image is None or numbers is None:
            raise CheckFailed("the optimized result components are not on the page")
        running = bool(image["status"] or numbers["status"]) and not (
            image["errors"] or numbers["errors"]
        )
        text = numbers["markdown"]
        if image["imgs"] and OPTIMIZED_DONE.search(text):
            s.log("Optimize", time.monotonic() - t, "PASS (image)", text)
            return []
        progress = _one_line(numbers["status"] or image["status"])
        if running and progress and progress != last_progress and "step" in progress:
            last_progress = progress
        worded = s.worded_toasts(toasts_before)
        message_in_place = text and not INTERIM.search(text) and not running
        if message_in_place and _worded(text):
            s.log("Optimize", time.monotonic() - t, "PASS (message)", text)
            return _judge_message("Optimize", text)
        if image["errors"] or numbers["errors"]:
            if worded:
                s.log("Optimize", time.monotonic() - t, "PASS (message in a toast)", worded[-1])
                return _judge_message("Optimize", worded[-1])
            badge_since = badge_since or time.monotonic()
            if time.monotonic() - badge_since > BARE_ERROR_GRACE:
                s.log(
                    "Optimize",
                    time.monotonic() - t,
                    "FAIL (bare Error)",
                    f"image: {_describe(image)}; numbers: {_describe(numbers)}",
                )
                return [
                    "Optimize: the page shows a bare 'Error' with no words in place of the "
                    "optimized image"
                ]
        if time.monotonic() > deadline:
            what = "a spinner that never ends" if running else "nothing"
            s.log(
                "Optimize",
                time.monotonic() - t,
                f"FAIL (timeout: {what})",
                f"image: {_describe(image)}; numbers: {_describe(numbers)}",
            )
            return [
                f"Optimize: neither an image nor a message within {OPTIMIZE_TIMEOUT} s "
                f"({what}; last progress: {last_progress or 'none'})"
            ]
        s.page.wait_for_timeout(250)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--screenshots", type=Path, default=REPO / "test-output" / "space-check")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"space check: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return 2
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for old in args.screenshots.glob("*.png"):
        old.unlink()
    print(f"browser session: {args.url} (Chromium {CHROMIUM}; screenshots in {args.screenshots})")
    try:
        failures = run(args.url, args.screenshots)
    except Exception as error:  # selectors gone, page never loaded, browser crashed
        print(f"space check could not complete the session: {type(error).__name__}: {error}")
        return 2
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
