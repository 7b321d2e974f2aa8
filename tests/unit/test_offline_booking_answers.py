"""The offline model's answers from booking results and booking errors, in Vietnamese and English."""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking.offline_model import compose_answer
from booking.offline_model.brain import respond
from booking.offline_model.receipts import booking_answer
from booking.offline_model.text import Language
from tests.support.offline_bookings import (
    HOLD_ARGS,
    SEARCH_ARGS,
    SEARCHED_EN,
    SEARCHED_VI,
    TODAY,
    booking,
    called,
    plan,
    reply_text,
    user,
)


def _answer(text: str, name: str, arguments: dict[str, Any], content: dict[str, Any]) -> str:
    response = respond([*SEARCHED_VI, *called(text, name, arguments, content, "b1")], TODAY)
    assert response.calls == ()
    assert response.text is not None
    return response.text


class TestAnswers:
    def test_held_in_vietnamese(self) -> None:
        text = _answer("đặt chuyến rẻ nhất", "hold_booking", HOLD_ARGS, {"booking": booking()})
        assert text.startswith("Đã giữ chỗ! Mã đặt chỗ: **K7QX3M**")
        for part in (
            "Liên hệ: 0901234567 · an@example.com",
            "Chỗ được giữ đến 10:15, Chủ Nhật, 22/11/2026.",
            "Trả lời 'xác nhận' để xuất vé",
        ):
            assert part in text
        # The booking's card (its data-booking part) shows the flight, passengers and total:
        # the text does not repeat them.
        for repeated in ("VJ123", "Nguyễn Văn An", "Trần Thị Bình", "3.000.000"):
            assert repeated not in text

    def test_held_in_english(self) -> None:
        text = _answer("book the cheapest", "hold_booking", HOLD_ARGS, {"booking": booking()})
        assert text.startswith("Seats held! Booking reference: **K7QX3M**")
        for part in ("held until 10:15 on Sun 22 Nov 2026", "Reply 'confirm' to confirm"):
            assert part in text
        for repeated in ("VJ123", "₫3,000,000"):
            assert repeated not in text

    @pytest.mark.parametrize("language", ["vi", "en"])
    def test_without_a_card_the_text_carries_the_details(self, language: Language) -> None:
        text = booking_answer("hold_booking", booking(), language, card=False)
        expected = {
            "vi": (
                "**VJ123** VietJet Air · SGN → HAN · Thứ Ba, 15/12/2026 · 08:15–10:25",
                "Hành khách: Nguyễn Văn An (12/3/1990); Trần Thị Bình",
                "Liên hệ: 0901234567 · an@example.com",
                "Tổng tiền: 3.000.000\u00a0₫ (1.500.000\u00a0₫/khách)",
            ),
            "en": (
                "Tue 15 Dec 2026 · 08:15–10:25 · economy",
                "Passengers: Nguyễn Văn An (12 Mar 1990); Trần Thị Bình",
                "Total: ₫3,000,000 (₫1,500,000 per passenger)",
            ),
        }[language]
        for part in expected:
            assert part in text

    def test_hold_expiry_in_utc_is_shown_in_vietnam_time(self) -> None:
        content = {"booking": booking(hold_expires_at="2026-11-22T03:15:00+00:00")}
        assert "10:15" in _answer("book it", "hold_booking", HOLD_ARGS, content)

    def test_confirmed(self) -> None:
        content = {"booking": booking(status="confirmed")}
        args = {"reference": "K7QX3M"}
        vi = _answer("xác nhận", "confirm_booking", args, content)
        assert vi.startswith("Đã xác nhận đặt chỗ **K7QX3M**")
        assert "xác nhận" not in vi.split("\n", 1)[1]  # No second request to confirm.
        en = _answer("confirm", "confirm_booking", args, content)
        assert en.startswith("Booking **K7QX3M** is confirmed")

    def test_cancelled(self) -> None:
        content = {"booking": booking(status="cancelled")}
        args = {"reference": "K7QX3M"}
        assert "các chỗ đã giữ được trả lại" in _answer("hủy", "cancel_booking", args, content)
        assert "seats have been released" in _answer("cancel", "cancel_booking", args, content)

    @pytest.mark.parametrize(
        ("status", "vi", "en"),
        [
            ("held", "đang giữ chỗ, chưa xuất vé", "held, not yet confirmed"),
            ("confirmed", "đã xác nhận", "Booking **K7QX3M**: confirmed."),
            ("cancelled", "đã hủy", "Its seats were released."),
            ("expired", "đã hết hạn giữ chỗ", "Pick a flight again"),
        ],
    )
    def test_status(self, status: str, vi: str, en: str) -> None:
        args = {"reference": "K7QX3M"}
        content = {"booking": booking(status=status)}
        vi_text = _answer("mã K7QX3M thế nào", "get_booking", args, content)
        assert vi_text.startswith("Đặt chỗ **K7QX3M**:")
        assert vi in vi_text
        assert "VJ123" not in vi_text  # On the booking's card.
        en_text = _answer("status of K7QX3M", "get_booking", args, content)
        assert en in en_text
        assert ("Reply 'confirm'" in en_text) == (status == "held")


ERRORS: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("approval_denied", "hold_booking", {}, "chưa đặt gì cả", "nothing was booked"),
    ("approval_denied", "confirm_booking", {}, "chưa được xác nhận", "was not confirmed"),
    ("approval_denied", "cancel_booking", {}, "chưa bị hủy", "was not cancelled"),
    ("approval_expired", "hold_booking", {}, "không có gì thay đổi", "nothing changed"),
    ("not_run", "cancel_booking", {}, "chưa được thực hiện", "did not run"),
    ("sold_out", "hold_booking", {"seats_left": 1}, "chỉ còn 1 chỗ", "Only 1 economy seat left"),
    ("sold_out", "hold_booking", {"seats_left": 0}, "đã hết chỗ", "sold out"),
    ("flight_not_found", "hold_booking", {}, "không tìm thấy chuyến bay", "no longer"),
    ("booking_closed", "hold_booking", {}, "không còn nhận đặt chỗ", "Booking is closed"),
    ("invalid_passengers", "hold_booking", {"passenger": 2}, "hành khách số 2", "passenger"),
    ("invalid_contact", "hold_booking", {"field": "phone"}, "chưa hợp lệ", "contact details"),
    (
        "booking_not_found",
        "get_booking",
        {},
        "không tìm thấy đặt chỗ nào mã K7QX3M",
        "couldn't find",
    ),
    ("invalid_reference", "get_booking", {}, "không phải mã đặt chỗ hợp lệ", "isn't a valid"),
    ("hold_expired", "confirm_booking", {}, "đã hết", "has expired"),
    (
        "booking_not_confirmable",
        "confirm_booking",
        {"status": "cancelled"},
        "“đã hủy” nên không xác nhận được",
        "is cancelled, so it can't be confirmed",
    ),
    (
        "booking_not_cancellable",
        "cancel_booking",
        {"status": "expired"},
        "“đã hết hạn” nên không hủy được",
        "is expired, so it can't be cancelled",
    ),
    ("booking_not_cancellable", "cancel_booking", {}, "đã cất cánh", "has already left"),
]


@pytest.mark.parametrize(
    ("code", "tool", "details", "vi", "en"),
    ERRORS,
    ids=[f"{code}-{tool}-{'-'.join(map(str, d.values()))}" for code, tool, d, _, _ in ERRORS],
)
def test_errors_are_explained(
    code: str, tool: str, details: dict[str, Any], vi: str, en: str
) -> None:
    arguments = HOLD_ARGS if tool == "hold_booking" else {"reference": "K7QX3M"}
    content = {"error": {"code": code, "message": "Refused by the server.", **details}}
    vi_text = _answer("làm giúp mình", tool, arguments, content)
    assert vi in vi_text
    en_text = _answer("please do it", tool, arguments, content)
    assert en in en_text


def test_approval_denied_never_claims_a_booking() -> None:
    content = {
        "error": {"code": "approval_denied", "message": "The traveller declined this action."}
    }
    text = _answer("đặt chuyến rẻ nhất", "hold_booking", HOLD_ARGS, content)
    assert "Đã giữ chỗ" not in text
    assert "K7QX3M" not in text


def test_search_errors_keep_their_wording() -> None:
    error = {"error": {"code": "invalid_passengers", "message": "1 to 9 passengers."}}
    messages = called("SGN HAN 15/12 cho 12 người", "search_flights", SEARCH_ARGS, error)
    assert compose_answer(messages, "vi") == "Mỗi lần tìm được cho 1 đến 9 hành khách."


def test_capabilities_mention_bookings() -> None:
    assert "giữ chỗ" in reply_text(plan([user("bạn làm được gì?")]))
    assert "hold the flight you pick" in reply_text(plan([user("help")]))


def test_booking_plans_are_deterministic_and_serializable() -> None:
    messages = [*SEARCHED_EN, user("book the cheapest one for Nguyen Van An, an@example.com")]
    first, second = plan(messages), plan(messages)
    assert first == second
    for call in first.calls:
        assert json.loads(json.dumps(call.arguments)) == call.arguments
