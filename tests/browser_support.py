"""Launching Debian's chromium through playwright, the one way every browser test does it.

Never `playwright install`: the browser comes from Debian's `chromium` package (the Makefile's
`browser` target installs it). Without the background-networking flags chromium tries the
network at start, which this machine refuses."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)),
    reason=f"*** BROWSER TESTS SKIPPED: {CHROMIUM} is missing; `make browser` installs "
    "Debian's chromium (never `playwright install`) ***",
)


@contextmanager
def chromium_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
