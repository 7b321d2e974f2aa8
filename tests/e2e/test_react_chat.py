"""The `useChat` example (``examples/react-chat``: React, Vite, ``@ai-sdk/react``) in a real
browser against a real ``booking serve`` process, the way an airline's frontend would use us.

The built ``dist/`` is served by a tiny static server on another origin (so CORS is real:
``BOOKING_CORS_ORIGINS``); its ``config.json`` points the app at the API. The build must exist:
``scripts/test`` runs ``npm ci && npm run build`` in ``examples/react-chat`` first, and this test
fails (never skips) without it. Chromium is Debian's, launched as in ``test_web_page.py``.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.api import MakeKey
from tests.support.server import ROOT, SpawnServer

CHROMIUM = Path("/usr/bin/chromium")
APP = ROOT / "examples" / "react-chat"
DIST = APP / "dist"
#: This module's ports (helpers' ranges must not collide).
PORTS = range(19050, 19100)
WAIT_MS = 30_000
SLOW_WAIT_MS = 90_000

ASK = "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"
BOOK = "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"
REFERENCE = re.compile(r"^[A-Z0-9]{6}$")
VND = re.compile(r"\d{1,3}(\.\d{3})+\s₫")


class StaticSite:
    """``dist/`` over HTTP, with ``config.json`` answered from the test (the API's address)."""

    def __init__(self) -> None:
        #: Set once the API runs (it needs this site's origin first, for CORS).
        self.api_url = ""
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/config.json":
                    config = json.dumps({"apiUrl": site.api_url}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(config)))
                    self.end_headers()
                    self.wfile.write(config)
                    return
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        handler = functools.partial(Handler, directory=str(DIST))
        self.httpd = _bind(handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _bind(handler: Any) -> ThreadingHTTPServer:
    for port in PORTS:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    raise AssertionError(f"no free port in {PORTS}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (DIST / "index.html").exists():
        pytest.fail(
            f"{DIST} is missing: run `npm ci && npm run build` in examples/react-chat "
            "(scripts/test does when npm exists)."
        )
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN", viewport={"width": 420, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Tin nhắn")
    box.fill(text)
    expect(page.get_by_role("button", name="Gửi")).to_be_enabled()
    box.press("Enter")


def test_use_chat_example_streams_approves_and_resumes(
    spawn: SpawnServer, make_key: MakeKey, page: Page
) -> None:
    # The site's origin is known first: the API allows exactly that origin (CORS).
    site = StaticSite()
    try:
        api = spawn(deployed=True, offline_pace_ms=60, cors_origins=json.dumps([site.url]))
        site.api_url = api.base_url
        _journey(page, site.url, api.base_url, make_key())
    finally:
        site.close()


def _journey(page: Page, site_url: str, api_url: str, key: str) -> None:
    page.goto(site_url)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    # The API wants a key (401 on the history): the app asks for it and keeps it in the tab.
    key_field = page.get_by_label("Khóa API")
    expect(key_field).to_have_attribute("type", "password")
    key_field.fill(key)
    page.get_by_role("button", name="Lưu").click()
    expect(key_field).to_be_hidden()
    chat_id = page.evaluate("new URL(location.href).searchParams.get('chat')")
    assert isinstance(chat_id, str)
    assert chat_id.startswith("web-")

    # 1. Streamed text and tool parts: the Stop button shows while the text grows.
    send(page, ASK)
    answer = page.locator("article.msg.assistant").last
    expect(answer.locator(".text")).not_to_be_empty()
    expect(page.get_by_role("button", name="Dừng")).to_be_visible()
    table = answer.locator(".tool-search_flights table.flights")
    expect(table).to_be_visible(timeout=SLOW_WAIT_MS)
    expect(table.locator("caption")).to_contain_text("Hà Nội → Đà Nẵng")
    assert table.locator("tbody tr").count() >= 1
    expect(table.locator("tbody tr").first).to_contain_text(VND)
    expect(answer.locator(".tool-get_weather")).to_contain_text("°C")
    expect(page.get_by_role("button", name="Gửi")).to_be_visible(timeout=SLOW_WAIT_MS)
    # Developer details exist, folded away.
    details = answer.locator("details.dev")
    expect(details).to_be_visible()
    expect(details.locator("dl")).to_be_hidden()

    # 2. A booking: one approval through addToolApprovalResponse, then the booking card.
    send(page, BOOK)
    answer = page.locator("article.msg.assistant").last
    approve = answer.get_by_role("button", name="Đồng ý")
    expect(approve).to_be_visible(timeout=SLOW_WAIT_MS)
    expect(answer.locator(".approval")).to_contain_text("Nguyễn Văn An")
    expect(answer.locator(".approval")).to_contain_text(VND)
    approve.focus()
    page.keyboard.press("Enter")  # keyboard only
    card = answer.locator(".booking")
    expect(card).to_be_visible(timeout=SLOW_WAIT_MS)
    reference = card.locator(".reference").inner_text()
    assert REFERENCE.match(reference), reference
    status = card.get_attribute("data-status")
    assert status in ("held", "confirmed"), status
    expect(page.get_by_role("button", name="Gửi")).to_be_visible(timeout=SLOW_WAIT_MS)
    # The approval continued the same assistant message (no second bubble for the result).
    expect(page.locator("article.msg.assistant")).to_have_count(2)
    with httpx2.Client(base_url=api_url, headers={"authorization": f"Bearer {key}"}) as client:
        stored = client.get(f"/v1/bookings/{reference}")
        assert stored.status_code == 200, stored.text
        assert stored.json()["status"] == status

    # 3. Reload mid-answer: the history comes back and the running reply resumes live.
    send(page, ASK)
    answer = page.locator("article.msg.assistant").nth(2)
    expect(answer.locator(".text")).not_to_be_empty()
    expect(page.get_by_role("button", name="Dừng")).to_be_visible()
    with page.expect_response(
        lambda r: r.request.method == "GET" and r.url.endswith("/stream"), timeout=WAIT_MS
    ) as resume:
        page.reload()
    # useChat's resume (resume: true) found the reply running: 200, not 204.
    assert resume.value.status == 200
    resumed = page.locator("article.msg.assistant").nth(2)
    expect(resumed.locator(".tool-search_flights table.flights")).to_be_visible(
        timeout=SLOW_WAIT_MS
    )
    expect(page.get_by_role("button", name="Gửi")).to_be_visible(timeout=SLOW_WAIT_MS)
    assert page.evaluate("new URL(location.href).searchParams.get('chat')") == chat_id
    # Nothing doubled: three answers, one table in the resumed one, the booking still there.
    expect(page.locator("article.msg.assistant")).to_have_count(3)
    expect(resumed.locator("table.flights")).to_have_count(1)
    expect(page.locator(f'.booking[data-reference="{reference}"]')).to_be_visible()
    with httpx2.Client(base_url=api_url, headers={"authorization": f"Bearer {key}"}) as client:
        conversation = client.get(f"/v1/conversations/{chat_id}").json()
    assert conversation["running_turn_id"] is None
    last = "".join(p["text"] for p in conversation["messages"][-1]["parts"] if p["type"] == "text")
    tail = last.replace("*", "").strip().splitlines()[-1].strip()
    expect(resumed.locator(".text").last).to_contain_text(tail[-30:])
