"""The web chat page for everyone: axe-core finds no serious or critical violation in either
language, in the approval state and after a booking; booking works with the keyboard alone.

The same journeys save the README's screenshots (phone width, the run's seeded data at TEST_NOW):
into ``docs/screenshots/`` with ``BOOKING_UPDATE_SCREENSHOTS=1``, else under ``.booking/``.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.support.server import StartServer
from tests.support.web_page import (
    PHONE_HEIGHT,
    PHONE_WIDTH,
    SCREENSHOTS,
    assistant,
    axe_violations,
    browser,
    new_context,
    send,
    wait_answered,
    watch_errors,
)

__all__ = ["browser"]

ASK_VI = "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"
BOOK_VI = "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"
ASK_EN = "Weather in Da Nang and flights from Hanoi to Da Nang on 12 June"
BOOK_EN = "Book the cheapest flight for John Smith, phone 0901234567"


def shot(page: Page, name: str, target: str) -> None:
    """Save ``{SCREENSHOTS}/{name}.png``: the phone screen with ``target`` scrolled into view."""
    page.locator(target).last.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


def book_in_one_decision(page: Page, ask: str, book: str, label: str, approve: str) -> None:
    """Search, ask to book, check the page at each step with axe, approve, see it confirmed."""
    assert axe_violations(page) == []  # the empty page
    send(page, ask, label=label)
    expect(wait_answered(page).locator("table.flights tbody tr").first).to_be_visible()
    assert axe_violations(page) == []  # a flight table and a weather card
    send(page, book, label=label)
    card = assistant(page).locator(".tool.approval")
    expect(card.get_by_role("button", name=approve, exact=True)).to_be_enabled()
    assert axe_violations(page) == []  # the approval


def test_axe_in_both_languages_and_screenshots(start: StartServer, browser: Browser) -> None:
    server = start(auth="off")
    for locale, lang, ask, book, label, approve, confirmed in (
        ("vi-VN", "vi", ASK_VI, BOOK_VI, "Tin nhắn", "Đặt vé", "Đã xác nhận"),
        ("en-GB", "en", ASK_EN, BOOK_EN, "Message", "Book", "Confirmed"),
    ):
        context = new_context(browser, locale=locale, width=PHONE_WIDTH, height=PHONE_HEIGHT)
        try:
            page = context.new_page()
            errors = watch_errors(page)
            page.goto(server.base_url)
            expect(page.locator("html")).to_have_attribute("lang", lang)
            book_in_one_decision(page, ask, book, label, approve)
            shot(page, f"{lang}-approval", ".tool.approval")
            # The search's table, from the top of the answer.
            page.locator("#log article.msg.assistant").first.locator(
                "table.flights"
            ).scroll_into_view_if_needed()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(SCREENSHOTS / f"{lang}-flights.png"), animations="disabled", caret="hide"
            )
            card = assistant(page).locator(".tool.approval")
            card.get_by_role("button", name=approve, exact=True).click()
            booking = assistant(page).locator(".booking[data-reference]")
            expect(booking.locator(".badge")).to_have_text(confirmed)
            wait_answered(page)
            assert axe_violations(page) == []  # the confirmed booking
            shot(page, f"{lang}-confirmed", ".booking[data-reference]")
            assert not errors, errors
        finally:
            context.close()


def test_keyboard_only_booking(start: StartServer, browser: Browser) -> None:
    """Tab, typing, Enter and Space only: ask, book, approve, see the booking confirmed."""
    server = start(auth="off")
    context = new_context(browser, width=PHONE_WIDTH, height=PHONE_HEIGHT)
    try:
        page = context.new_page()
        errors = watch_errors(page)
        page.goto(server.base_url)
        expect(page.get_by_role("button", name="Gửi")).to_be_visible()
        box = page.get_by_label("Tin nhắn", exact=True)

        def tab_to(predicate: str, limit: int = 40) -> None:
            """Press Tab until the focused element matches ``predicate`` (JS, on ``e``)."""
            for _ in range(limit):
                page.keyboard.press("Tab")
                if page.evaluate(f"(e => {predicate})(document.activeElement)"):
                    return
            raise AssertionError(f"Tab never reached an element where {predicate}")

        tab_to("e.id === 'input'")
        page.keyboard.type(ASK_VI)
        page.keyboard.press("Enter")
        expect(wait_answered(page).locator("table.flights")).to_be_visible()
        expect(box).to_be_focused()  # focus stays in the composer while the answer streams
        page.keyboard.type(BOOK_VI)
        expect(page.locator("#send")).to_be_enabled()
        page.keyboard.press("Enter")
        approve = assistant(page).get_by_role("button", name="Đặt vé", exact=True)
        expect(approve).to_be_enabled()
        tab_to("e.classList.contains('approve')")
        # The focused control is visibly focused.
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        page.keyboard.press("Space")
        booking = assistant(page).locator(".booking[data-reference]")
        expect(booking.locator(".badge")).to_have_text("Đã xác nhận")
        wait_answered(page)
        assert not errors, errors
    finally:
        context.close()
