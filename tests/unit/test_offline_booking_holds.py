"""The offline model's bookings: a flight of the last search picked by number, time, rank or
airline, booked in one decision (``book_flight``), held only when the traveller asks to hold;
and the requests with booking words that are searches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking.offline_model import PlannedCall
from tests.support.offline_bookings import (
    AN_PHONE,
    FLIGHTS,
    SEARCH_ARGS,
    SEARCHED_EN,
    SEARCHED_VI,
    assistant,
    book,
    chat,
    flight,
    hold,
    plan,
    reply_text,
    search,
    search_result,
    searched,
    user,
)

# Holding a flight from the last search --------------------------------------------------------

HOLDS: list[tuple[str, list[dict[str, Any]], PlannedCall]] = [
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "dat chuyen VJ123 cho Nguyen Van An, sdt 0901234567",
        SEARCHED_VI,
        book(101, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the cheapest one for 2 people: Nguyen Van An and Tran Thi Binh, email an@example.com",
        SEARCHED_EN,
        book(101, "Nguyen Van An", "Tran Thi Binh", email="an@example.com"),
    ),
    (
        "book the 8:15 one for Nguyen Van An, +84 90 123 4567",
        SEARCHED_EN,
        book(101, "Nguyen Van An", phone="+84901234567"),
    ),
    (
        "đặt chuyến thứ 2 cho Trần Thị Bình, email binh@example.com",
        SEARCHED_VI,
        book(103, "Trần Thị Bình", email="binh@example.com"),
    ),
    (
        "dat chuyen thu hai cho Tran Thi Binh, 0912.345.678",
        SEARCHED_VI,
        book(103, "Tran Thi Binh", phone="0912345678"),
    ),
    (
        "đặt chuyến đầu tiên cho Lê Văn Cường; 0987654321",
        SEARCHED_VI,
        book(101, "Lê Văn Cường", phone="0987654321"),
    ),
    (
        "đặt chuyến rẻ nhất cho Nguyễn Văn An, 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến sớm nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(102, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "dat chuyen som nhat cho Nguyen Van An 0901234567",
        SEARCHED_VI,
        book(102, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the earliest for Nguyen Van An, 0901234567",
        SEARCHED_EN,
        book(102, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "đặt chuyến muộn nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(103, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "book the latest flight for Nguyen Van An 0901234567",
        SEARCHED_EN,
        book(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "đặt chuyến 8:15 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "lấy chuyến 8h15 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến 21 giờ 30 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(103, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "book the 9:30 one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        book(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the second one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        book(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "take the last one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        book(104, "Nguyen Van An", **AN_PHONE),
    ),
    ("chọn số 3 cho Nguyễn Văn An 0901234567", SEARCHED_VI, book(102, "Nguyễn Văn An", **AN_PHONE)),
    (
        "đặt chuyến nhanh nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(104, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến Vietnam Airlines rẻ nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(102, "Nguyễn Văn An", **AN_PHONE),
    ),
    # A flight number from the results needs no booking word; lower case is fine.
    (
        "vj123, Nguyễn Văn An, an@example.com",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", email="an@example.com"),
    ),
    ("VN 213 cho Nguyễn Văn An, 0901234567", SEARCHED_VI, book(102, "Nguyễn Văn An", **AN_PHONE)),
    # Dates of birth, line breaks, capitals, cabin and count.
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An 12/03/1990 và Trần Thị Bình (1991-07-30), "
        "sđt 0901234567",
        SEARCHED_VI,
        book(101, ("Nguyễn Văn An", "1990-03-12"), ("Trần Thị Bình", "1991-07-30"), **AN_PHONE),
    ),
    (
        "Đặt chuyến VJ123 cho:\nNguyễn Văn An\nTrần Thị Bình\nsđt: 090 123 4567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),
    ),
    (
        "book VJ123 for NGUYEN VAN AN and DANG THI MAI LAN, an@example.com",
        SEARCHED_EN,
        book(101, "Nguyen Van An", "Dang Thi Mai Lan", email="an@example.com"),
    ),
    (
        "đặt chuyến VJ123 hạng thương gia cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", cabin="business", **AN_PHONE),
    ),
    (
        "đặt chuyến rẻ nhất cho 2 người: Nguyễn Văn An, Trần Thị Bình, 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),
    ),
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An, email An.Nguyen+bay@Example.com.vn",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", email="An.Nguyen+bay@Example.com.vn"),
    ),
    # Names that hold a place ("Vinh", "Huế") are names; the searched day is no new day.
    (
        "đặt chuyến VJ123 cho Lê Văn Vinh, 0901234567",
        SEARCHED_VI,
        book(101, "Lê Văn Vinh", **AN_PHONE),
    ),
    (
        "đặt chuyến VJ123 cho Hoàng Thị Huế, 0901234567",
        SEARCHED_VI,
        book(101, "Hoàng Thị Huế", **AN_PHONE),
    ),
    (
        "đặt chuyến rẻ nhất ngày 15/12 cho Nguyễn Văn An, 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    # An unaccented name the place finder would offer as an unknown city ("for Tran Thi Binh").
    (
        "book the cheapest one for Tran Thi Binh, email binh@example.com",
        SEARCHED_EN,
        book(101, "Tran Thi Binh", email="binh@example.com"),
    ),
    (
        "book the earliest one for Tran Thi Binh, phone 0901234567",
        SEARCHED_EN,
        book(102, "Tran Thi Binh", phone="0901234567"),
    ),
]


@pytest.mark.parametrize(("text", "history", "expected"), HOLDS, ids=[text for text, _, _ in HOLDS])
def test_hold(text: str, history: list[dict[str, Any]], expected: PlannedCall) -> None:
    assert plan([*history, user(text)]).calls == (expected,)


def test_cabin_comes_from_the_search() -> None:
    history = searched(cabin="business")
    response = plan([*history, user("đặt chuyến rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert response.calls == (book(101, "Nguyễn Văn An", cabin="business", **AN_PHONE),)


def test_return_leg_of_a_round_trip() -> None:
    back = [
        {**flight(201, "VJ124", "18:00", "20:10", 1_200_000), "origin": "HAN", "destination": "SGN"}
    ]
    calls = [
        {"id": f"s{i}", "type": "function", "function": {"name": "search_flights", "arguments": a}}
        for i, a in enumerate(
            [
                json.dumps(SEARCH_ARGS),
                json.dumps({"from_city": "HAN", "to_city": "SGN", "date": "2026-12-20"}),
            ]
        )
    ]
    history = [
        user("khứ hồi SGN HAN 15/12 về 20/12"),
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "s0", "content": json.dumps(search_result(FLIGHTS))},
        {"role": "tool", "tool_call_id": "s1", "content": json.dumps(search_result(back))},
        assistant("Chiều đi... Chiều về..."),
    ]
    outbound = plan([*history, user("đặt chuyến rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert outbound.calls == (book(101, "Nguyễn Văn An", **AN_PHONE),)
    inbound = plan([*history, user("đặt chuyến về rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert inbound.calls == (book(201, "Nguyễn Văn An", **AN_PHONE),)
    by_number = plan([*history, user("VJ124 cho Nguyễn Văn An 0901234567")])
    assert by_number.calls == (book(201, "Nguyễn Văn An", **AN_PHONE),)


def test_the_latest_search_counts() -> None:
    other = [flight(301, "VJ777", "10:00", "12:10", 900_000)]
    history = [*SEARCHED_VI, *searched("còn ngày 16/12?", other)]
    response = plan([*history, user("đặt chuyến rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert response.calls == (book(301, "Nguyễn Văn An", **AN_PHONE),)


def test_a_flight_number_that_could_be_a_reference_books_the_flight() -> None:
    history = searched(flights=[flight(401, "VN3467", "07:00", "09:10", 1_700_000)])
    response = plan([*history, user("đặt chuyến VN3467 cho Nguyễn Văn An 0901234567")])
    assert response.calls == (book(401, "Nguyễn Văn An", **AN_PHONE),)


# Searches that are not bookings -----------------------------------------------------------

SEARCHES: list[tuple[str, list[dict[str, Any]], PlannedCall]] = [
    # "Đặt vé" with a route and a date finds tickets, before or after another search.
    (
        "đặt vé SGN → HAN ngày 15/12",
        [],
        search(from_city="SGN", to_city="HAN", date="2026-12-15"),
    ),
    (
        "dat ve SGN -> HAN ngay 15/12",
        [],
        search(from_city="SGN", to_city="HAN", date="2026-12-15"),
    ),
    (
        "đặt vé SGN → HAN ngày 16/12",
        SEARCHED_VI,
        search(from_city="SGN", to_city="HAN", date="2026-12-16"),
    ),
    ("đặt vé đi Đà Nẵng", SEARCHED_VI, search(from_city="SGN", to_city="DAD", date="2026-12-15")),
    # Another day or cabin with a superlative is a new search.
    (
        "đặt chuyến rẻ nhất ngày 16/12",
        SEARCHED_VI,
        search(from_city="SGN", to_city="HAN", date="2026-12-16"),
    ),
    (
        "đặt chuyến rẻ nhất hạng thương gia",
        SEARCHED_VI,
        search(from_city="SGN", to_city="HAN", date="2026-12-15", cabin="business"),
    ),
    # "Thứ 2 tuần sau" is next Monday, not the second flight.
    (
        "đặt chuyến thứ 2 tuần sau",
        SEARCHED_VI,
        search(from_city="SGN", to_city="HAN", date="2026-11-23"),
    ),
    # Superlatives without a booking word stay search follow-ups.
    ("rẻ nhất thì sao", SEARCHED_VI, search(from_city="SGN", to_city="HAN", date="2026-12-15")),
    (
        "còn chuyến sớm nhất không?",
        SEARCHED_VI,
        search(from_city="SGN", to_city="HAN", date="2026-12-15", sort="departure"),
    ),
]


@pytest.mark.parametrize(
    ("text", "history", "expected"), SEARCHES, ids=[text for text, _, _ in SEARCHES]
)
def test_search_is_not_a_booking(
    text: str, history: list[dict[str, Any]], expected: PlannedCall
) -> None:
    assert plan([*history, user(text)]).calls == (expected,)


def test_a_hotel_is_not_a_flight_booking() -> None:
    response = plan([*SEARCHED_EN, user("book a hotel in Hanoi")])
    assert response.calls == ()
    assert response.text is not None
    assert "Sorry" in response.text


# Hold only when asked ---------------------------------------------------------------------

HOLD_ONLY: list[tuple[str, list[dict[str, Any]], PlannedCall]] = [
    (
        "giữ chỗ chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "giu cho chuyen VJ123 cho Nguyen Van An, sdt 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An, 0901234567, chưa trả tiền nhé",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "hold the cheapest one for Nguyen Van An, email an@example.com, I'll pay later",
        SEARCHED_EN,
        hold(101, "Nguyen Van An", email="an@example.com"),
    ),
    (
        "book the cheapest one for Nguyen Van An, email an@example.com",
        SEARCHED_EN,
        book(101, "Nguyen Van An", email="an@example.com"),
    ),
    (
        "lấy chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567",
        SEARCHED_VI,
        book(101, "Nguyễn Văn An", **AN_PHONE),
    ),
]


@pytest.mark.parametrize(
    ("text", "history", "expected"), HOLD_ONLY, ids=[text for text, _, _ in HOLD_ONLY]
)
def test_book_unless_asked_to_hold(
    text: str, history: list[dict[str, Any]], expected: PlannedCall
) -> None:
    assert plan([*history, user(text)]).calls == (expected,)


def test_a_hold_asked_for_stays_a_hold_when_the_details_come_later() -> None:
    messages, asked = chat(SEARCHED_VI, "giữ chỗ chuyến VJ123 giúp mình")
    assert reply_text(asked).startswith("Để giữ chỗ chuyến")
    response = plan([*messages, user("Nguyễn Văn An, 0901234567")])
    assert response.calls == (hold(101, "Nguyễn Văn An", **AN_PHONE),)


def test_a_booking_asks_for_details_as_a_booking() -> None:
    messages, asked = chat(SEARCHED_VI, "đặt chuyến VJ123 giúp mình")
    assert reply_text(asked).startswith("Để đặt vé chuyến")
    response = plan([*messages, user("Nguyễn Văn An, 0901234567")])
    assert response.calls == (book(101, "Nguyễn Văn An", **AN_PHONE),)
