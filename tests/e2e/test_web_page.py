"""The web chat page (``booking/api/static``) in a real browser against the real app.

Chromium is Debian's (``/usr/bin/chromium``, installed by CI); Playwright never downloads one.
Each test serves the app with the built-in offline model over the run's seeded database
(TEST_NOW is 2026-06-01 09:00 in Vietnam) and drives the page as a traveller would: typing,
pressing Enter, clicking. Assertions wait with Playwright's ``expect`` (generous timeouts, the CI
machine is slow) and are about what the page shows, never about how long it took.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.support.api import MakeKey
from tests.support.server import ROOT, StartServer
from tests.support.web_page import (
    SLOW_WAIT_MS,
    WAIT_MS,
    assistant,
    browser,
    new_context,
    send,
    shown_markdown,
    wait_answered,
    watch_errors,
)

__all__ = ["browser"]  # the module-scoped fixture, shared with the other page tests

SCREENSHOT = ROOT / "test-artifacts" / "web-chat.png"

ASK = "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"
HOLD = "Giữ chỗ chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"
BOOK = "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"
CONFIRM = "xác nhận"
#: Money as the page writes it in Vietnamese (Intl, CLDR: a no-break space before the sign).
VND = re.compile(r"\d{1,3}(\.\d{3})+\s₫")
REFERENCE = re.compile(r"^[A-Z0-9]{6}$")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """The page; any uncaught script error or failed request fails the test."""
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    assert not [e for e in errors if "script error" in e], errors


def stored_text(page: Page, conversation: dict[str, Any]) -> str:
    """The last message's text in ``GET /v1/conversations/{id}``, as the page shows it (through
    the page's own markdown renderer)."""
    message = conversation["messages"][-1]
    markdown = "".join(p["text"] for p in message["parts"] if p["type"] == "text")
    return shown_markdown(page, markdown)


# The whole journey ---------------------------------------------------------------------------


def test_search_hold_confirm_with_a_key_then_reload(
    start: StartServer, make_key: MakeKey, page: Page
) -> None:
    server = start()  # keys on
    key = make_key()
    requests: list[Request] = []
    failed: list[str] = []
    page.on("request", lambda r: requests.append(r))
    page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url}: {r.failure}"))
    page.goto(server.base_url)
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")

    # No key yet: the server says 401, the page asks for one and gives the text back.
    send(page, ASK)
    key_field = page.get_by_label("Khóa API (chỉ lưu trong thẻ này)")
    expect(key_field).to_be_visible()
    expect(key_field).to_have_attribute("type", "password")
    expect(page.locator("#key-message")).to_contain_text("cần khóa API")
    expect(page.locator("#status")).to_contain_text("Khóa API bị thiếu hoặc không hợp lệ")
    expect(page.get_by_label("Tin nhắn")).to_have_value(ASK)
    expect(page.locator("#log article.msg")).to_have_count(0)
    key_field.fill(key)
    page.get_by_role("button", name="Lưu").click()
    page.get_by_label("Tin nhắn").press("Enter")

    # Search and weather: a real table, a weather card, the text rendered as markdown.
    answer = wait_answered(page)
    table = answer.locator("table.flights")
    expect(table.locator("caption")).to_contain_text("Hà Nội → Đà Nẵng")
    assert table.locator("tbody tr").count() >= 3
    first_row = table.locator("tbody tr").first
    expect(first_row.locator("td").nth(1)).to_have_text(re.compile(r"^\d\d:\d\d–\d\d:\d\d$"))
    expect(first_row).to_contain_text(VND)
    weather = answer.locator(".tool-get_weather")
    expect(weather).to_contain_text("Thời tiết Đà Nẵng")
    expect(weather).to_contain_text("°C")
    shown = answer.locator(".text").all_inner_texts()
    assert shown
    assert "**" not in "".join(shown), shown
    lines = [line.lstrip() for text in shown for line in text.splitlines()]
    assert not [line for line in lines if line.startswith(("- ", "* "))], shown
    # Developer details are off by default; the switch shows them and is remembered.
    expect(answer.locator(".meta")).to_have_count(0)
    details = page.get_by_role("button", name="Chi tiết kỹ thuật")
    expect(details).to_have_attribute("aria-pressed", "false")
    details.click()
    expect(details).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".meta")).to_contain_text("offline")
    expect(answer.locator(".meta")).to_contain_text("token đầu sau")
    details.click()
    expect(answer.locator(".meta")).to_have_count(0)

    # Ask to hold only: an approval card with the summary; approve; the booking is held.
    send(page, HOLD)
    card = assistant(page).locator(".tool.approval")
    expect(card).to_contain_text("Giữ chỗ chuyến bay này")
    expect(card).to_contain_text("Nguyễn Văn An")
    expect(card).to_contain_text("HAN → DAD")
    expect(card).to_contain_text(VND)
    message_id = assistant(page).get_attribute("data-message-id")
    assert message_id
    held_bubble = page.locator(f'article[data-message-id="{message_id}"]')
    card.get_by_role("button", name="Đồng ý").click()
    expect(page.get_by_role("button", name="Đồng ý")).to_have_count(0)
    # The continuation is the same assistant message: the booking lands in the same bubble.
    held = held_bubble.locator(".booking[data-reference]")
    expect(held).to_have_count(1)
    expect(held.locator(".reference")).to_have_text(REFERENCE)
    expect(held.locator(".badge")).to_have_text("Đang giữ chỗ")
    expect(held.locator(".badge")).to_have_attribute("data-status", "held")
    expect(held.locator(".hold-until")).to_contain_text("Giữ chỗ đến")
    reference = held.locator(".reference").inner_text()
    expect(page.locator("#log article.msg.assistant")).to_have_count(2)
    wait_answered(page)
    expect(held_bubble.locator(".text")).to_contain_text(reference)

    # Confirm: a second approval, then the booking is confirmed, and the earlier hold card
    # says so too (one booking, one state: no stale "held until").
    send(page, CONFIRM)
    card = assistant(page).locator(".tool.approval")
    expect(card).to_contain_text("Xác nhận (xuất vé) đặt chỗ này?")
    expect(card).to_contain_text(reference)
    card.get_by_role("button", name="Đồng ý").click()
    confirmed = assistant(page).locator(f'.booking[data-reference="{reference}"]')
    expect(confirmed.locator(".badge")).to_have_text("Đã xác nhận")
    expect(held.locator(".badge")).to_have_text("Đã xác nhận")
    expect(page.locator(".hold-until")).to_have_count(0)
    expect(page.get_by_text("Đang giữ chỗ")).to_have_count(0)
    wait_answered(page)

    # Nothing came from anywhere but the server, and no request was cut off (the approval's
    # stream is read to its end, not cancelled: no net::ERR_ABORTED).
    assert all(r.url.startswith((server.base_url, "data:")) for r in requests), requests
    assert not failed, failed
    # The key went in the Authorization header of every API call, never in a URL.
    api_requests = [r for r in requests if "/v1/" in r.url]
    assert api_requests
    assert all(key not in r.url for r in api_requests)
    assert all(r.headers.get("authorization") == f"Bearer {key}" for r in api_requests[1:])

    # English, then a reload: the conversation comes back from the server; the page's own words
    # are English, while the answers and their cards stay in the conversation's language
    # (Vietnamese here: the server marks each answer with the traveller's language).
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.locator("#log article.msg.user")).to_have_count(3)
    expect(page.locator("#log article.msg.assistant")).to_have_count(3)
    expect(page.locator("table.flights tbody tr").first).to_be_visible()
    expect(page.locator(".tool-get_weather")).to_contain_text("Thời tiết Đà Nẵng")
    expect(page.locator(f'.booking[data-reference="{reference}"] .badge')).to_have_text(
        ["Đã xác nhận", "Đã xác nhận"]
    )
    expect(page.locator(".reference").last).to_have_text(reference)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.locator(".meta")).to_have_count(0)
    expect(page.locator("#status")).to_be_empty()
    # The artifact shows the whole conversation: grow the window to its height.
    height = page.evaluate("document.getElementById('log').scrollHeight") + 200
    page.set_viewport_size({"width": 900, "height": min(height, 5000)})
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # A new conversation starts empty, and stays so across a reload (the server never saw it).
    old_id = page.evaluate("localStorage.getItem('booking.conversation')")
    page.get_by_role("button", name="New chat").click()
    expect(page.locator("#log article.msg")).to_have_count(0)
    new_id = page.evaluate("localStorage.getItem('booking.conversation')")
    assert new_id != old_id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", new_id)
    page.reload()
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#status")).to_be_empty()


# Declining, on a phone-sized screen ----------------------------------------------------------


def test_decline_on_a_phone(start: StartServer, browser: Browser) -> None:
    server = start(auth="off")
    context = new_context(browser, width=360, height=740)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.base_url)
        # The page's words are the catalogue's, loaded before anything is drawn.
        expect(page.get_by_role("button", name="Gửi")).to_be_visible()

        # Keyboard: Tab shows a focus ring; Shift+Enter is a new line and sends nothing.
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        expect(focused).to_have_text("VI")
        assert focused.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
        box = page.get_by_label("Tin nhắn")
        box.click()
        page.keyboard.type("Xin")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("chào")
        expect(box).to_have_value("Xin\nchào")
        expect(page.locator("#log article.msg")).to_have_count(0)

        send(page, ASK)
        expect(wait_answered(page).locator("table.flights tbody tr").first).to_be_visible()
        send(page, HOLD)
        card = assistant(page).locator(".tool.approval")
        expect(card).to_contain_text("Nguyễn Văn An")
        expect(card).to_contain_text(VND)

        # A decision the server cannot take yet (409 turn_running) is explained and can be retried.
        page.route("**/approvals/*", _problem(409, "turn_running", "A reply is running."))
        card.get_by_role("button", name="Đồng ý").click()
        expect(card).to_contain_text("Trợ lý vẫn đang viết câu trả lời")
        expect(card.get_by_role("button", name="Đồng ý")).to_be_enabled()
        page.unroute("**/approvals/*")

        # Hold the decision in flight to see both buttons disabled once one is clicked.
        held: list[Route] = []
        page.route("**/approvals/*", lambda route: held.append(route))
        card.get_by_role("button", name="Từ chối").click()
        expect(card.get_by_role("button", name="Từ chối")).to_be_disabled()
        expect(card.get_by_role("button", name="Đồng ý")).to_be_disabled()
        for _ in range(WAIT_MS // 100):  # the route event reaches us on Playwright's next turn
            if held:
                break
            page.wait_for_timeout(100)
        assert len(held) == 1
        assert held[0].request.post_data_json == {"approved": False}
        assert held[0].request.headers["accept"] == "text/event-stream"
        held[0].continue_()

        denied = assistant(page).locator(".tool-hold_booking")
        expect(denied).to_contain_text("Bạn đã từ chối")
        expect(denied).to_have_attribute("data-state", "output-denied")
        wait_answered(page)
        expect(page.locator(".reference")).to_have_count(0)
        expect(page.locator("#log article.msg.assistant")).to_have_count(2)

        # Nothing sticks out sideways at 360 px (the flight table fits or scrolls in its box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert not errors, errors
    finally:
        context.close()


# Stopping a slow reply -----------------------------------------------------------------------


#: Records the text of every "tool running" card the page shows, however briefly.
RECORD_RUNNING_CARDS = """
window.runningCards = [];
new MutationObserver((mutations) => {
  for (const m of mutations) for (const node of m.addedNodes) {
    if (node.nodeType === 1 && node.matches(".tool.running")) window.runningCards.push(node.textContent);
  }
}).observe(document, { subtree: true, childList: true });
"""


def test_stop_a_streaming_reply(start: StartServer, page: Page) -> None:
    server = start(auth="off", offline_pace_ms=200)
    page.add_init_script(RECORD_RUNNING_CARDS)
    page.goto(server.base_url)
    send(page, ASK)
    answer = assistant(page)
    expect(answer.locator(".text")).not_to_be_empty()
    # While the tools ran, their cards showed a spinner, then the query once it was known.
    cards = page.evaluate("window.runningCards")
    assert any("Đang tìm chuyến bay…" in c and "HAN → DAD" in c for c in cards), cards
    assert any("Đang xem thời tiết…" in c for c in cards), cards
    expect(answer.locator(".tool-search_flights table")).to_be_visible()

    # A reload mid-reply shows what was written so far and follows the rest live.
    page.reload()
    text = assistant(page).locator(".text")
    expect(text).not_to_be_empty()
    stop = page.get_by_role("button", name="Dừng")
    expect(stop).to_be_visible()
    written = len(text.inner_text())
    page.wait_for_function(
        "n => document.querySelector('#log article.assistant .text').textContent.length > n",
        arg=written,
    )

    stop.click()
    expect(assistant(page).locator(".stopped")).to_have_text("Đã dừng.")
    expect(stop).to_be_hidden()
    expect(page.get_by_role("button", name="Gửi")).to_be_enabled()
    # Hydrated text and live text joined without a gap or a repeat: exactly what was stored.
    conversation_id = page.evaluate("localStorage.getItem('booking.conversation')")
    with server.client() as client:
        stored = client.get(f"/v1/conversations/{conversation_id}").json()
    assert stored["running_turn_id"] is None
    assert text.inner_text() == stored_text(page, stored)
    # The stored reply is the stopped one: another reload shows it stopped as well.
    page.reload()
    expect(assistant(page).locator(".stopped")).to_have_text("Đã dừng.")
    expect(page.get_by_role("button", name="Dừng")).to_be_hidden()


# Resuming after the connection drops ---------------------------------------------------------


class Relay:
    """A TCP relay in front of the app that can drop every open connection and refuse new ones,
    like a network outage between the browser and the server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.refusing = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            _shutdown(s)

    def drop(self) -> None:
        """Cut every open connection and refuse new ones until :meth:`restore`."""
        self.refusing = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            _shutdown(s)
            s.close()

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        _shutdown(self.listener)  # wakes the accept loop
        self.listener.close()
        self.drop()


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


@pytest.fixture
def relay_factory() -> Iterator[list[Relay]]:
    relays: list[Relay] = []
    yield relays
    for relay in relays:
        relay.close()


def test_resume_after_the_connection_drops(
    start: StartServer, page: Page, relay_factory: list[Relay]
) -> None:
    server = start(auth="off", offline_pace_ms=120)
    relay = Relay(server.port)
    relay_factory.append(relay)
    resumes: list[Request] = []
    page.on("request", lambda r: resumes.append(r) if r.url.endswith("/events") else None)
    page.goto(relay.base_url)
    send(page, ASK)
    text = assistant(page).locator(".text")
    expect(text).to_contain_text("VJ126")  # the reply is streaming

    relay.drop()
    expect(page.locator("#status")).to_have_text("Mất kết nối, đang kết nối lại…")
    relay.restore()

    wait_answered(page, timeout=SLOW_WAIT_MS)
    expect(page.locator("#status")).to_be_empty()
    expect(page.get_by_role("button", name="Gửi")).to_be_enabled()
    shown = text.inner_text()
    # Exactly the stored reply: nothing lost, nothing twice.
    conversation_id = page.evaluate("localStorage.getItem('booking.conversation')")
    with server.client() as client:
        stored = client.get(f"/v1/conversations/{conversation_id}").json()
    assert shown == stored_text(page, stored)
    # It resumed from the last id it had seen, with the header (not a query parameter).
    assert resumes
    cursor = resumes[-1].headers.get("last-event-id")
    assert cursor is not None
    assert cursor.isdigit()
    assert 0 < int(cursor) < stored["last_event_id"]
    assert "after=" not in resumes[-1].url


# Errors in plain words -----------------------------------------------------------------------


def _problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Any:
    def fulfil(route: Route) -> None:
        body = {"type": f"https://booking.dev/problems/{code}", "title": code, "status": status}
        body |= {"detail": detail, "code": code}
        route.fulfill(
            status=status,
            content_type="application/problem+json",
            headers=headers or {},
            body=json.dumps(body),
        )

    return fulfil


@pytest.mark.parametrize(
    ("status", "code", "headers", "shown"),
    [
        (409, "turn_running", {}, "Trợ lý vẫn đang viết câu trả lời"),
        (429, "rate_limited", {"Retry-After": "7"}, "Thử lại sau 7 giây"),
        (503, "server_busy", {"Retry-After": "3"}, "Máy chủ đang bận. Thử lại sau 3 giây"),
        (None, "", {}, "Không kết nối được máy chủ"),
    ],
)
def test_errors_in_plain_words(
    start: StartServer,
    page: Page,
    status: int | None,
    code: str,
    headers: dict[str, str],
    shown: str,
) -> None:
    server = start(auth="off")
    if status is None:
        page.route("**/v1/chat", lambda route: route.abort("internetdisconnected"))
    else:
        page.route("**/v1/chat", _problem(status, code, "x", headers))
    page.goto(server.base_url)
    send(page, "Vé Hà Nội đi Huế ngày 15/6")
    expect(page.locator("#status")).to_contain_text(shown)
    # The message was not taken: its bubble goes and the text is back in the box.
    expect(page.locator("#log article.msg")).to_have_count(0)
    expect(page.get_by_label("Tin nhắn")).to_have_value("Vé Hà Nội đi Huế ngày 15/6")
    expect(page.get_by_role("button", name="Gửi")).to_be_enabled()
