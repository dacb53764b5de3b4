"""Debian's Chromium driven by Playwright for Python (no browser download), for the page tests.

A Tab records the console's errors and every URL the browser requests, from Playwright's
events, so a test can assert that a page loaded cleanly and fetched nothing from elsewhere.
Chromium comes from `scripts/ensure-chromium.sh` (run by `make test`); without it the tests
fail, they do not skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@dataclass
class Tab:
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        """Go to url and wait until the page says it is ready (data-ready on <body>)."""
        self.page.goto(url)
        self.page.wait_for_function("() => document.body && document.body.dataset.ready === 'true'",
                                    timeout=30_000)

    def js(self, expression: str) -> object:
        return self.page.evaluate(expression)

    def outside(self, server: str) -> list[str]:
        """Requests to anywhere but the server (data: and about: URLs aside)."""
        return [u for u in self.requests
                if not u.startswith((server, "data:", "about:"))]


@contextmanager
def chromium_tab(size: tuple[int, int] = (1280, 1000)) -> Iterator[Tab]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run scripts/ensure-chromium.sh (`make test` does) "
                    "to install Debian's chromium package", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            tab = Tab(page)

            def console(msg: ConsoleMessage) -> None:
                if msg.type == "error":
                    tab.errors.append(msg.text)

            page.on("console", console)
            page.on("pageerror", lambda exc: tab.errors.append(f"uncaught: {exc}"))
            page.on("request", lambda req: tab.requests.append(req.url))
            yield tab
        finally:
            browser.close()
