"""Every answer the offline model writes is in one language, the traveller's.

:func:`assert_vietnamese` and :func:`assert_english` (in ``tests/support/answer_language.py``)
are the checks: a Vietnamese answer holds no English tell-tale word (nor an error code), an
English answer no Vietnamese one. The other answer tests use them too.
"""

from __future__ import annotations

from typing import Any

import pytest

from booking.domain.approval_text import approval_summary
from booking.domain.wording import format_vnd
from booking.offline_model.error_replies import KNOWN_CODES, explain_error
from booking.offline_model.receipts import booking_answer
from tests.support.answer_language import (
    ALL_CODES,
    ERROR_CODES,
    SOURCE_CODES,
    assert_english,
    assert_vietnamese,
)


class TestTheChecks:
    def test_an_english_word_fails_a_vietnamese_answer(self) -> None:
        with pytest.raises(AssertionError):
            assert_vietnamese("Còn 3 seats hạng phổ thông.")
        with pytest.raises(AssertionError):
            assert_vietnamese("Mình chưa tìm được: unknown_place.")

    def test_a_vietnamese_word_fails_an_english_answer(self) -> None:
        with pytest.raises(AssertionError):
            assert_english("3 seats left, giá 1.000.000 ₫.")
        with pytest.raises(AssertionError):
            assert_english("Total: 1.000.000đ")

    def test_names_and_codes_pass(self) -> None:
        assert_vietnamese("**VJ123** VietJet Air · SGN → HAN · còn 3 chỗ · Nguyễn Văn An")
        assert_english("**VJ123** VietJet Air · SGN → HAN · 3 seats left · Nguyễn Văn An")


# Errors: every code has a sentence of its own in each language --------------------------------

#: Details the service sends with some codes (places come in Vietnamese).
DETAILS: dict[str, dict[str, Any]] = {
    "unknown_place": {"query": "Atlantis", "suggestions": ["Đà Lạt (DLI)", "Sa Pa (near HAN)"]},
    "ambiguous_place": {
        "query": "Sai",
        "candidates": ["Thành phố Hồ Chí Minh (SGN)", "Xiêm Riệp (SAI)"],
    },
    "same_origin_destination": {"place": "Hà Nội"},
    "same_place": {"origin": "Hội An", "destination": "Đà Nẵng", "airports": ["DAD"]},
    "date_in_past": {"date": "2026-05-01", "today": "2026-06-01"},
    "date_beyond_horizon": {"date": "2027-07-01", "max_days_ahead": 365},
    "invalid_date": {"value": "31/02"},
    "validation_failed": {"depart_after": "18:00", "depart_before": "08:00"},
    "invalid_passengers": {"passenger": 2},
    "sold_out": {"cabin": "business", "seats_left": 1},
    "fare_changed": {"price_vnd": 1_200_000},
    "unknown_airline": {"airline": "Atlantis Air"},
    "booking_not_confirmable": {"reference": "K7QX3M", "booking_status": "cancelled"},
    "booking_not_cancellable": {"reference": "K7QX3M", "booking_status": "expired"},
    "invalid_arguments": {
        "errors": [{"loc": ["date"], "msg": "Field required", "type": "missing"}]
    },
    "not_found": {"city": "da-lat"},
}
ARGUMENTS: dict[str, dict[str, Any]] = {
    "search_flights": {"from_city": "SGN", "to_city": "HAN", "date": "2026-06-15"},
    "get_weather": {"city": "DLI", "date": "2026-06-15"},
    "hold_booking": {
        "flight_id": 101,
        "cabin": "economy",
        "passengers": [{"full_name": "Nguyễn Văn An"}, {"full_name": "Trần Thị Bình"}],
        "contact": {"phone": "0901234567"},
    },
    "confirm_booking": {"reference": "K7QX3M"},
    "cancel_booking": {"reference": "K7QX3M"},
    "get_booking": {"reference": "K7QX3M"},
    "": {},
}
#: An English message full of tell-tale words: it must never reach a Vietnamese answer.
MESSAGE = "The flight search failed: no seats in economy or business at this price and departure."


def test_every_code_of_the_service_has_its_own_sentence() -> None:
    assert ERROR_CODES <= KNOWN_CODES, sorted(ERROR_CODES - KNOWN_CODES)
    assert SOURCE_CODES <= KNOWN_CODES, sorted(SOURCE_CODES - KNOWN_CODES)


@pytest.mark.parametrize("tool", sorted(ARGUMENTS))
@pytest.mark.parametrize("code", sorted(ALL_CODES))
@pytest.mark.parametrize("detailed", [False, True], ids=["bare", "details"])
def test_errors_are_explained_in_the_travellers_language(
    code: str, tool: str, detailed: bool
) -> None:
    error = {"code": code, "message": MESSAGE, **(DETAILS.get(code, {}) if detailed else {})}
    vietnamese = explain_error(error, ARGUMENTS[tool], "vi", tool=tool)
    assert MESSAGE not in vietnamese
    assert_vietnamese(vietnamese)
    english = explain_error(error, ARGUMENTS[tool], "en", tool=tool)
    assert MESSAGE not in english
    assert_english(english)


def test_place_suggestions_are_named_in_the_answers_language() -> None:
    error = {"code": "unknown_place", "message": MESSAGE, **DETAILS["unknown_place"]}
    arguments = ARGUMENTS["search_flights"]
    vietnamese = explain_error(error, arguments, "vi", tool="search_flights")
    assert "Có phải bạn muốn nói: Đà Lạt (DLI); Sa Pa (gần HAN)?" in vietnamese
    english = explain_error(error, arguments, "en", tool="search_flights")
    assert "Did you mean: Da Lat (DLI); Sa Pa (near HAN)?" in english


def test_an_unknown_code_gets_a_plain_vietnamese_apology() -> None:
    error = {"code": "brand_new_code", "message": MESSAGE}
    vietnamese = explain_error(error, {}, "vi", tool="search_flights")
    assert vietnamese.startswith("Mình chưa thực hiện được yêu cầu này.")
    assert_vietnamese(vietnamese)
    assert explain_error(error, {}, "en", tool="search_flights") == MESSAGE


def test_money_in_errors_uses_the_one_format() -> None:
    error = {"code": "fare_changed", "message": MESSAGE, "price_vnd": 1_200_000}
    assert "1.200.000\u00a0₫" in explain_error(error, {}, "vi", tool="hold_booking")
    assert "₫1,200,000" in explain_error(error, {}, "en", tool="hold_booking")


# Approval summaries ---------------------------------------------------------------------------

FLIGHT = {
    "flight_id": 101,
    "flight_number": "VJ123",
    "airline_code": "VJ",
    "airline_name": "VietJet Air",
    "origin": "SGN",
    "destination": "HAN",
    "departs_at": "2026-06-12T06:40:00+07:00",
    "arrives_at": "2026-06-12T08:50:00+07:00",
    "duration_minutes": 130,
}


def hold_preview(*names: str) -> dict[str, Any]:
    people = names or ("Trần Thị Lan", "Nguyễn Văn An", "Lê Minh Đức")
    return {
        "action": "hold",
        "flight": {**FLIGHT, "seats_left": 12},
        "cabin": "economy",
        "passengers": [{"full_name": n, "date_of_birth": None} for n in people],
        "contact": {"email": None, "phone": "+84912345678"},
        "price_per_passenger_vnd": 1_008_000,
        "total_vnd": 1_008_000 * len(people),
        "currency": "VND",
        "hold_minutes": 15.0,
    }


def change_preview(action: str, passengers: int = 2) -> dict[str, Any]:
    booking_view = {
        "reference": "K7QX3M",
        "status": "held",
        "flight": FLIGHT,
        "cabin": "economy",
        "passengers": [{"full_name": f"Hành Khách {i}"} for i in range(passengers)],
        "total_vnd": 1_008_000 * passengers,
    }
    return {"action": action, "booking": booking_view}


class TestApprovalSummary:
    def test_hold_in_vietnamese(self) -> None:
        text = approval_summary(hold_preview(), "vi")
        assert text == (
            "Giữ chỗ chuyến VJ123 VietJet Air, SGN → HAN, 06:40 Thứ Sáu, 12/6/2026, "
            "hạng phổ thông, cho 3 hành khách (Trần Thị Lan, Nguyễn Văn An, Lê Minh Đức): "
            "tổng 3.024.000\u00a0₫ (1.008.000\u00a0₫/khách). Chỗ được giữ 15 phút để bạn xác nhận."
        )
        assert_vietnamese(text)

    def test_hold_in_english(self) -> None:
        text = approval_summary(hold_preview(), "en")
        assert text == (
            "Hold VJ123 VietJet Air, SGN → HAN, 06:40 on Fri 12 Jun 2026, economy, "
            "for 3 passengers (Trần Thị Lan, Nguyễn Văn An, Lê Minh Đức): ₫3,024,000 "
            "in total (₫1,008,000 per passenger). The seats are held for 15 minutes "
            "while you confirm."
        )
        assert_english(text)

    def test_one_passenger_is_singular(self) -> None:
        text = approval_summary(hold_preview("Nguyễn Văn An"), "en")
        assert "for 1 passenger (Nguyễn Văn An): ₫1,008,000." in text
        assert "The seat is held" in text
        assert "(s)" not in text

    @pytest.mark.parametrize(
        ("action", "vi", "en"),
        [
            (
                "confirm",
                "Xác nhận đặt chỗ K7QX3M: VJ123 VietJet Air, SGN → HAN, 06:40 Thứ Sáu, "
                "12/6/2026, 2 hành khách, 2.016.000\u00a0₫.",
                "Confirm booking K7QX3M: VJ123 VietJet Air, SGN → HAN, 06:40 on Fri "
                "12 Jun 2026, 2 passengers, ₫2,016,000.",
            ),
            (
                "cancel",
                "Hủy đặt chỗ K7QX3M: VJ123 VietJet Air, SGN → HAN, 06:40 Thứ Sáu, "
                "12/6/2026, 2 hành khách, 2.016.000\u00a0₫.",
                "Cancel booking K7QX3M: VJ123 VietJet Air, SGN → HAN, 06:40 on Fri "
                "12 Jun 2026, 2 passengers, ₫2,016,000.",
            ),
        ],
    )
    def test_confirm_and_cancel(self, action: str, vi: str, en: str) -> None:
        assert approval_summary(change_preview(action), "vi") == vi
        assert approval_summary(change_preview(action), "en") == en
        assert "1 passenger," in approval_summary(change_preview(action, 1), "en")


# Booking receipts -----------------------------------------------------------------------------


def booking_view(status: str, passengers: int = 2) -> dict[str, Any]:
    return {
        "reference": "K7QX3M",
        "status": status,
        "flight": FLIGHT,
        "cabin": "business",
        "passengers": [
            {"full_name": n, "date_of_birth": "1990-03-12"}
            for n in ("Nguyễn Văn An", "Trần Thị Bình")[:passengers]
        ],
        "contact": {"phone": "0901234567", "email": None},
        "price_per_passenger_vnd": 3_500_000,
        "total_vnd": 3_500_000 * passengers,
        "hold_expires_at": "2026-06-01T10:15:00+07:00" if status == "held" else None,
    }


TOOLS_BY_STATUS = {
    "held": "hold_booking",
    "confirmed": "confirm_booking",
    "cancelled": "cancel_booking",
    "expired": "get_booking",
}


@pytest.mark.parametrize("passengers", [1, 2])
@pytest.mark.parametrize("status", sorted(TOOLS_BY_STATUS))
def test_receipts_stay_in_one_language(status: str, passengers: int) -> None:
    view = booking_view(status, passengers)
    assert_vietnamese(booking_answer(TOOLS_BY_STATUS[status], view, "vi"))
    assert_english(booking_answer(TOOLS_BY_STATUS[status], view, "en"))


def test_receipts_count_seats_right() -> None:
    one = booking_answer("hold_booking", booking_view("held", 1), "en")
    assert one.startswith("Seat held!")
    assert "The seat is held until" in one
    assert "Passenger: Nguyễn Văn An (12 Mar 1990)" in booking_answer(
        "hold_booking", booking_view("held", 1), "en", card=False
    )
    two = booking_answer("hold_booking", booking_view("held", 2), "en")
    assert two.startswith("Seats held!")
    assert "The seats are held until" in two
    assert "Total: ₫7,000,000 (₫3,500,000 per passenger)" in booking_answer(
        "hold_booking", booking_view("held", 2), "en", card=False
    )
    cancelled = booking_answer("cancel_booking", booking_view("cancelled", 1), "en")
    assert "its seat has been released" in cancelled


def test_one_money_format_per_language() -> None:
    # CLDR's formats (the page's Intl writes the same); a no-break space keeps "₫" on the line.
    assert format_vnd(1_008_000, "vi") == "1.008.000\u00a0₫"
    assert format_vnd(1_008_000, "en") == "₫1,008,000"
    assert format_vnd(0, "vi") == "0\u00a0₫"
    assert format_vnd(950, "en") == "₫950"
