#!/usr/bin/env bash
# Build and run the app exactly as a Hugging Face Space does, then use it in a browser.
#
#  1. A fresh venv in a temp folder, with the Python the README header names, and
#     `pip install -r requirements.txt` only (pip's normal cache makes repeat runs quick).
#  2. `python app.py` from the repo as a Space starts it: GRADIO_SERVER_NAME=0.0.0.0,
#     GRADIO_SERVER_PORT (a free port here; 7860 on a Space), an empty home and temp folder (no
#     Keras or TF Hub cache, as on a new Space) and nothing of ours: no NST_* variables, no dev
#     packages, no offline weights. Not reproduced: the platform's SYSTEM=spaces and SPACE_ID,
#     with which Gradio starts its Spaces reloader (it needs the platform's `spaces` package).
#  3. scripts/space_check_browser.py (dev venv, for Playwright) drives Debian's Chromium:
#     Fast must show an image, Optimize an image or a worded message.
#
# Usage: scripts/space_check.sh (or `make space-check`). Exit status non-zero on any failure.
# Leaves the server log and screenshots in test-output/space-check/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DEV_PY=${DEV_PY:-$REPO/.venv/bin/python}
OUT=$REPO/test-output/space-check
SERVER_START_TIMEOUT=${SERVER_START_TIMEOUT:-180}

# The Python the Space uses: python_version in README.md's YAML header.
want=$(sed -n '/^---$/,/^---$/s/^python_version: *"\{0,1\}\([0-9.]*\)"\{0,1\}.*/\1/p' README.md)
want=${want:-3.11}
SPACE_PY=""
for candidate in "python$want" python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$want" ]; then
    SPACE_PY=$(command -v "$candidate")
    break
  fi
done
if [ -z "$SPACE_PY" ]; then
  echo "space check: no Python $want (the README header's python_version) on PATH" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/space-check.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  local t=$SECONDS
  rm -rf "$WORK"
  echo "cleaned up: server stopped, temp venv removed ($((SECONDS - t)) s)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$WORK/home" "$WORK/tmp"
LOG=$OUT/server.log
started=$(date +%s)
stamp() { printf '[%4ds]' $(($(date +%s) - started)); }

# 1. The Space's build: a fresh venv and requirements.txt, nothing else.
echo "$(stamp) space venv: $SPACE_PY ($("$SPACE_PY" --version 2>&1)) in $WORK/venv"
t0=$(date +%s)
"$SPACE_PY" -m venv "$WORK/venv"
if ! "$WORK/venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
  -r requirements.txt >"$OUT/pip-install.log" 2>&1; then
  tail -30 "$OUT/pip-install.log"
  echo "$(stamp) FAIL: pip install -r requirements.txt (log: $OUT/pip-install.log)"
  exit 1
fi
install_seconds=$(($(date +%s) - t0))
downloads=$(grep -c '^  Downloading ' "$OUT/pip-install.log" || true)
echo "$(stamp) installed requirements.txt in ${install_seconds} s ($downloads files downloaded," \
  "the rest from pip's cache); venv size $(du -sh "$WORK/venv" | cut -f1)"

# 2. The Space's start: `python app.py` in the repo with the platform's environment only.
PORT=$("$SPACE_PY" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
echo "$(stamp) starting: python app.py on 0.0.0.0:$PORT (log: $LOG)"
t0=$(date +%s)
env -i \
  PATH="$WORK/venv/bin:/usr/local/bin:/usr/bin:/bin" \
  HOME="$WORK/home" TMPDIR="$WORK/tmp" LANG=C.UTF-8 PYTHONUNBUFFERED=1 \
  GRADIO_SERVER_NAME=0.0.0.0 GRADIO_SERVER_PORT="$PORT" \
  "$WORK/venv/bin/python" app.py >"$LOG" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT/"
until "$SPACE_PY" -c "import urllib.request as u; u.urlopen('$URL', timeout=2)" 2>/dev/null; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -30 "$LOG"
    echo "$(stamp) FAIL: the app exited during start-up"
    exit 1
  fi
  if [ $(($(date +%s) - t0)) -gt "$SERVER_START_TIMEOUT" ]; then
    tail -30 "$LOG"
    echo "$(stamp) FAIL: the app did not answer on $URL within $SERVER_START_TIMEOUT s"
    exit 1
  fi
  sleep 1
done
echo "$(stamp) the app answers after $(($(date +%s) - t0)) s"

# 3. A visitor's session.
status=0
"$DEV_PY" scripts/space_check_browser.py "$URL" --screenshots "$OUT" || status=$?
kill -0 "$SERVER_PID" 2>/dev/null || { echo "$(stamp) FAIL: the app died during the session"; status=1; }

echo "$(stamp) warnings and tracebacks in the server log (absl's start-up notice left out):"
grep -n -E 'Warning|WARNING|Traceback' "$LOG" | grep -v 'absl::InitializeLog' | cut -c1-300 ||
  echo "  (none)"
if [ "$status" = 0 ]; then
  echo "$(stamp) space check PASSED (screenshots and server log in $OUT)"
else
  echo "$(stamp) space check FAILED (screenshots and server log in $OUT)"
fi
exit "$status"
