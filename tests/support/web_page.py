"""Driving the built-in web chat page (``booking/api/static``) in Debian's Chromium.

Shared by ``tests/e2e/test_web_page*.py``: the browser fixture, a fresh context whose clock reads
the server's (TEST_NOW: holds and dates agree with the seeded data), sending a message as a
traveller, waiting for an answer's end, and axe-core (``tests/contract/node_modules/axe-core``,
pinned by that folder's lock file) for accessibility checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from tests.conftest import TEST_NOW
from tests.support.server import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "contract" / "node_modules" / "axe-core" / "axe.min.js"
#: Where the browser tests save the page's screenshots: the README's own (docs/screenshots/) when
#: BOOKING_UPDATE_SCREENSHOTS=1, else a folder git ignores, so a test run changes no tracked file
#: (the booking reference in them is new every run).
SCREENSHOTS = ROOT / (
    "docs/screenshots"
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS") == "1"
    else ".booking/screenshots"
)
#: Playwright's auto-waiting limit for anything the page should show "soon" (the CI box is slow).
WAIT_MS = 30_000
#: A reply paced at ``offline_pace_ms`` takes a while; waiting for its end may take longer.
SLOW_WAIT_MS = 90_000
#: A phone (the layout's narrowest case that still shows everything).
PHONE_WIDTH, PHONE_HEIGHT = 390, 844


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium). "
            "These tests use the system browser and never download one."
        )
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def new_context(
    browser: Browser, width: int = 900, height: int = 1300, locale: str = "vi-VN"
) -> BrowserContext:
    """A fresh profile (empty storage) in ``locale`` whose clock reads TEST_NOW, the server's
    "now" (timers still run): a hold made at TEST_NOW is not expired in the browser's eyes."""
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    context.clock.set_fixed_time(TEST_NOW)
    return context


def watch_errors(page: Page) -> list[str]:
    """Uncaught script errors and failed requests (e.g. ``net::ERR_ABORTED``) on the page."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    page.on(
        "requestfailed",
        lambda r: errors.append(f"request failed: {r.method} {r.url}: {r.failure}"),
    )
    return errors


def send(page: Page, text: str, label: str = "Tin nhắn") -> None:
    """Type a message and press Enter, as a traveller would, once the page takes one."""
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    expect(page.locator("#send")).to_be_enabled()
    box.press("Enter")


def assistant(page: Page) -> Locator:
    """The newest assistant message."""
    return page.locator("#log article.msg.assistant").last


def wait_answered(page: Page, timeout: int = WAIT_MS) -> Locator:
    """The newest assistant message once its stream finished (``aria-busy`` back to false)."""
    answer = assistant(page)
    expect(answer).to_have_attribute("aria-busy", "false", timeout=timeout)
    return answer


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def shown_markdown(page: Page, text: str) -> str:
    """``text`` as the page shows it (its own markdown renderer), read back as visible text."""
    rendered: str = page.evaluate(
        """async (text) => {
          const { renderMarkdown } = await import('/static/markdown.js');
          const el = document.createElement('div');
          el.className = 'text md';
          el.append(renderMarkdown(text));
          document.getElementById('log').append(el);
          const shown = el.innerText;
          el.remove();
          return shown;
        }""",
        text,
    )
    return rendered
