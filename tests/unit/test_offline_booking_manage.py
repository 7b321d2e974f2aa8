"""The offline model's confirms, cancels and look-ups of bookings, and approvals left unanswered."""

from __future__ import annotations

from typing import Any

import pytest

from booking.offline_model import PlannedCall
from tests.support.offline_bookings import (
    HOLD_ARGS,
    SEARCHED_VI,
    assistant,
    booking,
    called,
    cancel,
    confirm,
    held,
    lookup,
    plan,
    reply_text,
    searched,
    user,
)


@pytest.mark.parametrize(
    "text",
    ["xác nhận", "xac nhan", "Xác nhận nhé", "confirm", "Confirm please", "đồng ý đặt", "ok"],
)
def test_confirm_after_a_hold(text: str) -> None:
    assert plan([*held(), user(text)]).calls == (confirm("K7QX3M"),)


def test_confirm_takes_the_latest_booking_still_held() -> None:
    cancelled = booking("M4NPQR", "cancelled")
    history = [
        *held("K7QX3M"),
        *called("đặt thêm VN213", "hold_booking", HOLD_ARGS, {"booking": booking("M4NPQR")}, "h2"),
        assistant("Đã giữ chỗ M4NPQR."),
        *called("hủy M4NPQR", "cancel_booking", {"reference": "M4NPQR"}, {"booking": cancelled}),
        assistant("Đã hủy."),
    ]
    assert plan([*history, user("xác nhận")]).calls == (confirm("K7QX3M"),)


def test_confirm_a_named_reference() -> None:
    assert plan([user("xác nhận đặt chỗ K7QX3M")]).calls == (confirm("K7QX3M"),)


def test_confirm_without_a_held_booking() -> None:
    assert "không có đặt chỗ nào đang giữ" in reply_text(plan([*SEARCHED_VI, user("xác nhận")]))
    assert "no held booking" in reply_text(plan([user("confirm")]))
    confirmed = booking(status="confirmed")
    history = [
        *held(),
        *called("xác nhận", "confirm_booking", {"reference": "K7QX3M"}, {"booking": confirmed}),
        assistant("Đã xác nhận."),
    ]
    assert "đã được xác nhận rồi" in reply_text(plan([*history, user("xác nhận")]))


def _paused(code: str) -> list[dict[str, Any]]:
    """A hold whose approval was never given: the traveller typed instead, or took too long."""
    error = {"error": {"code": code, "message": "The traveller sent a new message instead."}}
    return [*SEARCHED_VI, *called("đặt chuyến rẻ nhất", "hold_booking", HOLD_ARGS, error, "h1")]


@pytest.mark.parametrize("code", ["not_run", "approval_expired"])
@pytest.mark.parametrize("text", ["xác nhận", "đồng ý", "ok", "confirm"])
def test_saying_yes_to_an_unanswered_approval_asks_again(code: str, text: str) -> None:
    assert plan([*_paused(code), user(text)]).calls == (PlannedCall("hold_booking", HOLD_ARGS),)


def test_cancel_instead_of_answering_the_approval_cancels_nothing() -> None:
    history = [*held("K7QX3M"), *_paused("not_run")[len(SEARCHED_VI) :]]
    assert "chưa có gì được đặt" in reply_text(plan([*history, user("hủy")]))
    error = {"error": {"code": "not_run", "message": "The traveller sent a new message instead."}}
    history = [
        *held("K7QX3M"),
        *called("xác nhận", "confirm_booking", {"reference": "K7QX3M"}, error),
    ]
    assert "không có gì thay đổi" in reply_text(plan([*history, user("thôi hủy đi")]))


def test_a_declined_hold_is_not_repeated() -> None:
    history = [*_paused("approval_denied"), assistant("Bạn đã không đồng ý.")]
    assert "không có đặt chỗ nào đang giữ" in reply_text(plan([*history, user("xác nhận")]))


@pytest.mark.parametrize("text", ["không đồng ý", "ok cảm ơn, để mình nghĩ thêm"])
def test_other_answers_do_not_confirm(text: str) -> None:
    assert not any(c.name == "confirm_booking" for c in plan([*held(), user(text)]).calls)


@pytest.mark.parametrize(
    ("text", "history", "expected"),
    [
        ("hủy vé ABC123", [], cancel("ABC123")),
        ("huy ve abc123", [], cancel("ABC123")),
        ("cancel booking ABC123", [], cancel("ABC123")),
        ("Hủy đặt chỗ K7QX3M giúp mình", [], cancel("K7QX3M")),
        ("hủy", held(), cancel("K7QX3M")),
        ("huy di", held(), cancel("K7QX3M")),
        ("cancel it", held(), cancel("K7QX3M")),
        ("mã đặt chỗ XYZ789 của tôi thế nào?", [], lookup("XYZ789")),
        ("ma dat cho XYZ789 cua toi the nao", [], lookup("XYZ789")),
        ("what's the status of booking XYZ789", [], lookup("XYZ789")),
        ("K7QX3M", [], lookup("K7QX3M")),
        ("k7qx3m?", [], lookup("K7QX3M")),
        ("đặt chỗ của tôi thế nào?", held(), lookup("K7QX3M")),
        ("đã xác nhận chưa?", held(), lookup("K7QX3M")),
        ("is my booking confirmed?", held(), lookup("K7QX3M")),
    ],
)
def test_cancel_and_look_up(
    text: str, history: list[dict[str, Any]], expected: PlannedCall
) -> None:
    assert plan([*history, user(text)]).calls == (expected,)


def test_cancel_without_reference_or_booking_asks_for_it() -> None:
    text = reply_text(plan([user("hủy vé giúp tôi")]))
    assert "mã đặt chỗ cần hủy" in text
    assert "Which booking should I cancel?" in reply_text(plan([user("cancel my booking")]))


def test_status_without_reference_or_booking_asks_for_it() -> None:
    assert "mã đặt chỗ" in reply_text(plan([user("kiểm tra đặt chỗ của tôi")]))


def test_changes_and_refunds_are_not_offered() -> None:
    text = reply_text(plan([*held(), user("đổi vé sang ngày khác")]))
    assert "chưa đổi vé hay hoàn tiền được" in text


def test_numbers_and_amounts_are_not_references() -> None:
    history = searched()
    response = plan([*history, user("SGN HAN 15/12 dưới 1tr500")])
    assert [call.name for call in response.calls] == ["search_flights"]
