"""The web chat page's rendering: markdown through a sanitizer, one format per language, booking
cards that follow the booking's state, and colours that stay readable.

Same setup as ``test_web_page.py``: Debian's Chromium against the real app with the offline
model over the run's seeded database; the browser's clock reads the server's (TEST_NOW).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from playwright.sync_api import Browser, Route, expect

from tests.conftest import TEST_NOW
from tests.support.server import StartServer
from tests.support.web_page import (
    assistant,
    browser,
    new_context,
    send,
    wait_answered,
    watch_errors,
)

__all__ = ["browser"]

ASK_VI = "Vé từ Hà Nội đi Đà Nẵng ngày 12/6"
ASK_EN = "Flights from Hanoi to Da Nang on 12 June"
HOLD = "Giữ chỗ chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"

#: What a hostile (or confused) model might write: every way of getting markup or script in.
HOSTILE = (
    "**Bold** and a list:\n\n- one\n- two\n\n"
    '<img src="x" onerror="window.__pwned = 1">'
    "<script>window.__pwned = 2</script>"
    "[click](javascript:window.__pwned=3) "
    '<a href="javascript:window.__pwned=4">raw link</a> '
    '<iframe src="javascript:window.__pwned=5"></iframe>'
    '<svg onload="window.__pwned=6"></svg>'
    "![tracker](http://127.0.0.1:9/pixel.png) "
    '<form action="/v1/chat"><button>go</button></form>'
    "[fine](https://example.com/ok)"
)


def _sse(parts: list[dict[str, Any]]) -> str:
    events = [f"id: {i}\ndata: {json.dumps(p)}\n\n" for i, p in enumerate(parts, 1)]
    return "".join(events) + "data: [DONE]\n\n"


def answer_with(body: str) -> Callable[[Route], None]:
    """A route handler answering ``POST /v1/chat`` with this SSE body (a model's reply)."""

    def fulfil(route: Route) -> None:
        route.fulfill(
            status=200,
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            body=body,
        )

    return fulfil


def test_hostile_markdown_never_reaches_the_dom_unsanitized(
    start: StartServer, browser: Browser
) -> None:
    """The model's text goes through marked then DOMPurify: formatting survives, scripts,
    handlers, images, frames, forms and javascript: links do not, even split across deltas."""
    server = start(auth="off")
    context = new_context(browser)
    try:
        page = context.new_page()
        errors = watch_errors(page)
        # The reply of a model that writes HOSTILE, in three deltas cut inside the tags.
        cuts = [0, 40, 131, len(HOSTILE)]
        deltas = [HOSTILE[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
        parts: list[dict[str, Any]] = [
            {"type": "start", "messageId": "m-hostile"},
            {"type": "text-start", "id": "t1"},
            *[{"type": "text-delta", "id": "t1", "delta": d} for d in deltas],
            {"type": "text-end", "id": "t1"},
            {"type": "finish", "finishReason": "stop"},
        ]
        page.route("**/v1/chat", answer_with(_sse(parts)))
        page.goto(server.base_url)
        send(page, "xin chào")
        text = wait_answered(page).locator(".text")
        # The markdown is rendered...
        expect(text.locator("strong")).to_have_text("Bold")
        expect(text.locator("ul > li")).to_have_text(["one", "two"])
        expect(text.get_by_role("link", name="fine")).to_have_attribute(
            "href", "https://example.com/ok"
        )
        expect(text.get_by_role("link", name="fine")).to_have_attribute(
            "rel", "noopener noreferrer nofollow"
        )
        # ...and nothing active survives.
        for selector in (
            "img",
            "script",
            "iframe",
            "svg",
            "form",
            "button",
            "[onerror]",
            "[onload]",
        ):
            expect(text.locator(selector)).to_have_count(0)
        hrefs = text.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert all(h is None or h.startswith("https://") for h in hrefs), hrefs
        assert "javascript" not in text.inner_html()
        assert page.evaluate("window.__pwned") is None
        # No request ever left for the tracker image.
        assert not [e for e in errors if "pixel.png" in e], errors
        assert not [e for e in errors if "script error" in e], errors
    finally:
        context.close()


def test_money_dates_and_titles_follow_the_language(start: StartServer, browser: Browser) -> None:
    """One formatter per language (Intl, CLDR): vi "1.008.000 ₫" and "Thứ Sáu, 12/6", en
    "₫1,008,000" and "Fri 12 Jun"; the table's title and headers in the same language."""
    server = start(auth="off")
    for locale, ask, label, caption, money, header in (
        (
            "vi-VN",
            ASK_VI,
            "Tin nhắn",
            "Hà Nội → Đà Nẵng · Thứ Sáu, 12/6 · 1 khách · phổ thông",
            r"^\d{1,3}(\.\d{3})+\s₫$",
            "Giá",
        ),
        (
            "en-GB",
            ASK_EN,
            "Message",
            "Hanoi → Da Nang · Fri 12 Jun · 1 passenger · Economy",
            r"^₫\d{1,3}(,\d{3})+$",
            "Price",
        ),
    ):
        context = new_context(browser, locale=locale)
        try:
            page = context.new_page()
            page.goto(server.base_url)
            send(page, ask, label=label)
            table = wait_answered(page).locator("table.flights")
            expect(table.locator("caption")).to_have_text(caption)
            expect(table.locator("thead th").nth(4)).to_have_text(header)
            prices = table.locator("tbody td.num.nowrap").all_inner_texts()
            assert prices, caption
            assert all(re.match(money, p) for p in prices), prices
            # Every count on screen agrees: a table that shows every flight says nothing more.
            rows = table.locator("tbody tr").count()
            shown = assistant(page).locator(".shown")
            if shown.count():
                expect(shown).to_contain_text(f"{rows}")
        finally:
            context.close()


def test_a_hold_that_runs_out_reads_expired_in_place(start: StartServer, browser: Browser) -> None:
    """The hold card says until when; once that time has passed (the browser's clock moves on)
    the same card says the hold expired, without a reload or a new message."""
    server = start(auth="off")
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(server.base_url)
        send(page, ASK_VI)
        wait_answered(page)
        send(page, HOLD)
        assistant(page).get_by_role("button", name="Đồng ý").click()
        card = assistant(page).locator(".booking[data-reference]")
        expect(card.locator(".badge")).to_have_text("Đang giữ chỗ")
        until = card.locator(".hold-until").inner_text()
        match = re.search(r"(\d\d):(\d\d)", until)
        assert match, until

        context.clock.set_fixed_time(TEST_NOW + timedelta(hours=6))
        expect(card.locator(".badge")).to_have_text("Hết hạn giữ chỗ")
        expect(card.locator(".badge")).to_have_attribute("data-status", "expired")
        expect(card.locator(".hold-until")).to_contain_text(f"Hết hạn giữ chỗ lúc {match[0]}")
        expect(page.get_by_text("Đang giữ chỗ")).to_have_count(0)
    finally:
        context.close()


def _contrast(page_colors: dict[str, str]) -> float:
    def channels(css: str) -> tuple[float, float, float]:
        r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
        return r, g, b

    def luminance(css: str) -> float:
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels(css)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(page_colors["color"]), luminance(page_colors["background"])))
    return (b + 0.05) / (a + 0.05)


def test_language_buttons_stay_readable_on_hover(start: StartServer, browser: Browser) -> None:
    """Hovering the inactive language button kept its dark blue text on a dark blue hover
    background (1.3:1); now both buttons keep at least 4.5:1 (WCAG AA) under the pointer."""
    server = start(auth="off")
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(server.base_url)
        for name in ("EN", "VI"):
            button = page.get_by_role("button", name=name, exact=True)
            button.hover()
            page.wait_for_function("e => e.matches(':hover')", arg=button.element_handle())
            colors = button.evaluate(
                "e => ({color: getComputedStyle(e).color,"
                " background: getComputedStyle(e).backgroundColor})"
            )
            assert _contrast(colors) >= 4.5, (name, colors)
    finally:
        context.close()


def test_cards_follow_the_conversations_language(start: StartServer, browser: Browser) -> None:
    """A message whose metadata says the conversation is Vietnamese draws its cards in
    Vietnamese on a page switched to English (and vice versa): one language per answer."""
    server = start(auth="off")
    flight = {
        "airline_code": "VJ", "airline_name": "VietJet Air", "flight_number": "VJ126",
        "departs_at": "2026-06-12T05:30:00+07:00", "arrives_at": "2026-06-12T06:50:00+07:00",
        "duration_minutes": 80, "total_vnd": 1008000, "seats_left": 9,
    }  # fmt: skip
    search = {
        "query": {
            "from": {"city": "Hà Nội", "city_en": "Hanoi"},
            "to": {"city": "Đà Nẵng", "city_en": "Da Nang"},
            "date": "2026-06-12", "passengers": 1, "cabin": "economy",
        },
        "flights": [flight], "total_matches": 1,
    }  # fmt: skip

    def reply(language: str) -> str:
        return _sse([
            {"type": "start", "messageId": f"m-{language}"},
            {"type": "message-metadata", "messageMetadata": {"language": language}},
            {"type": "tool-input-available", "toolCallId": f"c-{language}",
             "toolName": "search_flights", "input": {}},
            {"type": "tool-output-available", "toolCallId": f"c-{language}", "output": search},
            {"type": "finish", "finishReason": "stop"},
        ])  # fmt: skip

    for locale, label, language, caption, price in (
        (
            "en-GB",
            "Message",
            "vi",
            "Hà Nội → Đà Nẵng · Thứ Sáu, 12/6 · 1 khách · phổ thông",
            "1.008.000\u00a0₫",
        ),
        (
            "vi-VN",
            "Tin nhắn",
            "en",
            "Hanoi → Da Nang · Fri 12 Jun · 1 passenger · Economy",
            "₫1,008,000",
        ),
    ):
        context = new_context(browser, locale=locale)
        try:
            page = context.new_page()
            page.route("**/v1/chat", answer_with(reply(language)))
            page.goto(server.base_url)
            send(page, "…", label=label)
            answer = wait_answered(page)
            expect(answer).to_have_attribute("lang", language)
            expect(answer.locator("caption")).to_have_text(caption)
            expect(answer.locator("tbody td.num.nowrap")).to_have_text(price)
        finally:
            context.close()
