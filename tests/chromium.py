"""Debian's Chromium as the tests and the Space check drive it (headless, through Playwright).

One list of its flags: without the networking ones, Chromium keeps calling Google's hosts, which
this machine's closed network refuses.
"""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
