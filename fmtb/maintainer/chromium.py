"""Debian's Chromium, headless, through Playwright: the one way the screenshots and the
browser tests start it (a test tool's own browser download fails where this runs).
``FMTB_CHROMIUM`` names another executable."""
from __future__ import annotations

import contextlib
import os

CHROMIUM = os.environ.get("FMTB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
WEBGL_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader",
              "--enable-webgl", "--ignore-gpu-blocklist"]


def launch(playwright, webgl: bool = True):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=CHROMIUM_ARGS + (WEBGL_ARGS if webgl else []))


@contextlib.contextmanager
def browser_page(viewport: dict):
    """A page of a headless chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser.new_page(viewport=viewport)
        finally:
            browser.close()
