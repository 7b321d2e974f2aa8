"""The offline model's bookings: holds from the last search, confirm, cancel, look-ups, answers."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from booking.offline_model import PlannedCall, compose_answer, understand
from booking.offline_model.brain import Response, respond

#: A Sunday.
TODAY = date(2026, 11, 22)
SEARCH_ARGS = {"from_city": "SGN", "to_city": "HAN", "date": "2026-12-15"}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def flight(
    flight_id: int, number: str, departs: str, arrives: str, price: int, minutes: int = 130
) -> dict[str, Any]:
    names = {"VJ": "VietJet Air", "VN": "Vietnam Airlines", "QH": "Bamboo Airways"}
    return {
        "flight_id": flight_id,
        "flight_number": number,
        "airline_code": number[:2],
        "airline_name": names[number[:2]],
        "origin": "SGN",
        "destination": "HAN",
        "departs_at": f"2026-12-15T{departs}:00+07:00",
        "arrives_at": f"2026-12-15T{arrives}:00+07:00",
        "duration_minutes": minutes,
        "aircraft": "A321",
        "cabin": "economy",
        "price_vnd": price,
        "total_vnd": price,
        "seats_left": 12,
    }


#: As the search returns them: cheapest first.
FLIGHTS = [
    flight(101, "VJ123", "08:15", "10:25", 1_500_000),
    flight(103, "QH205", "21:30", "23:40", 1_600_000),
    flight(102, "VN213", "06:00", "08:10", 1_900_000),
    flight(104, "VN247", "08:45", "10:50", 2_100_000, minutes=125),
]


def place(code: str, name: str) -> dict[str, Any]:
    return {"query": code, "city": name, "city_en": name, "airports": [{"iata": code}]}


def search_result(
    flights: list[dict[str, Any]], passengers: int = 1, cabin: str = "economy"
) -> dict[str, Any]:
    return {
        "query": {
            "from": place("SGN", "Thành phố Hồ Chí Minh"),
            "to": place("HAN", "Hà Nội"),
            "date": "2026-12-15",
            "passengers": passengers,
            "cabin": cabin,
            "sort": "price",
        },
        "flights": flights,
        "total_matches": len(flights),
        "currency": "VND",
        "reason": None if flights else "no_flights_on_date",
        "nearest_dates": [],
    }


def called(
    text: str, name: str, arguments: dict[str, Any], content: dict[str, Any], call_id: str = "c1"
) -> list[dict[str, Any]]:
    """A user message, the assistant's one tool call and its result."""
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }
    return [
        user(text),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps(content)},
    ]


def searched(
    text: str = "vé SGN HAN 15/12",
    flights: list[dict[str, Any]] | None = None,
    *,
    passengers: int = 1,
    cabin: str = "economy",
) -> list[dict[str, Any]]:
    """A search turn as the history stores it, answer included."""
    arguments: dict[str, Any] = dict(SEARCH_ARGS)
    if passengers != 1:
        arguments["passengers"] = passengers
    if cabin != "economy":
        arguments["cabin"] = cabin
    result = search_result(FLIGHTS if flights is None else flights, passengers, cabin)
    return [
        *called(text, "search_flights", arguments, result, call_id="s1"),
        assistant("Đây là các chuyến bay."),
    ]


SEARCHED_VI = searched()
SEARCHED_EN = searched("flights SGN to HAN on 15 December")


def hold(
    flight_id: int,
    *names: str | tuple[str, str],
    email: str | None = None,
    phone: str | None = None,
    cabin: str = "economy",
) -> PlannedCall:
    passengers = [
        {"full_name": n, "date_of_birth": None}
        if isinstance(n, str)
        else {"full_name": n[0], "date_of_birth": n[1]}
        for n in names
    ]
    return PlannedCall(
        "hold_booking",
        {
            "flight_id": flight_id,
            "cabin": cabin,
            "passengers": passengers,
            "contact": {"email": email, "phone": phone},
        },
    )


def confirm(reference: str) -> PlannedCall:
    return PlannedCall("confirm_booking", {"reference": reference})


def cancel(reference: str) -> PlannedCall:
    return PlannedCall("cancel_booking", {"reference": reference})


def lookup(reference: str) -> PlannedCall:
    return PlannedCall("get_booking", {"reference": reference})


def search(**arguments: Any) -> PlannedCall:
    return PlannedCall("search_flights", arguments)


def booking(reference: str = "K7QX3M", status: str = "held", **extra: Any) -> dict[str, Any]:
    """A booking as the booking tools return it."""
    view: dict[str, Any] = {
        "reference": reference,
        "status": status,
        "flight": {
            key: FLIGHTS[0][key]
            for key in (
                *("flight_id", "flight_number", "airline_code", "airline_name", "origin"),
                *("destination", "departs_at", "arrives_at", "duration_minutes"),
            )
        },
        "cabin": "economy",
        "passengers": [
            {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-03-12"},
            {"full_name": "Trần Thị Bình", "date_of_birth": None},
        ],
        "contact": {"email": "an@example.com", "phone": "0901234567"},
        "price_per_passenger_vnd": 1_500_000,
        "total_vnd": 3_000_000,
        "currency": "VND",
        "hold_expires_at": "2026-11-22T10:15:00+07:00" if status == "held" else None,
        "created_at": "2026-11-22T10:00:00+07:00",
        "confirmed_at": "2026-11-22T10:05:00+07:00" if status == "confirmed" else None,
        "cancelled_at": "2026-11-22T10:06:00+07:00" if status == "cancelled" else None,
    }
    return {**view, **extra}


HOLD_ARGS = hold(101, "Nguyễn Văn An", "Trần Thị Bình", phone="0901234567").arguments


def held(reference: str = "K7QX3M", text: str = "đặt chuyến rẻ nhất") -> list[dict[str, Any]]:
    """A search, then a hold the traveller approved, answer included."""
    return [
        *SEARCHED_VI,
        *called(text, "hold_booking", HOLD_ARGS, {"booking": booking(reference)}, call_id="h1"),
        assistant(f"Đã giữ chỗ {reference}."),
    ]


def plan(messages: list[dict[str, Any]]) -> Response:
    response = respond(messages, TODAY)
    assert response.text is None or not response.calls
    return response


def chat(messages: list[dict[str, Any]], *texts: str) -> tuple[list[dict[str, Any]], Response]:
    """Send each text in turn, keeping the model's sentences; the last response."""
    history = list(messages)
    response = Response(None, ())
    for text in texts:
        history.append(user(text))
        response = plan(history)
        if response.calls:
            break
        assert response.text is not None
        history.append(assistant(response.text))
    return history, response


# Holding a flight from the last search --------------------------------------------------------

AN_PHONE = {"phone": "0901234567"}
HOLDS: list[tuple[str, list[dict[str, Any]], PlannedCall]] = [
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "dat chuyen VJ123 cho Nguyen Van An, sdt 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the cheapest one for 2 people: Nguyen Van An and Tran Thi Binh, email an@example.com",
        SEARCHED_EN,
        hold(101, "Nguyen Van An", "Tran Thi Binh", email="an@example.com"),
    ),
    (
        "book the 8:15 one for Nguyen Van An, +84 90 123 4567",
        SEARCHED_EN,
        hold(101, "Nguyen Van An", phone="+84901234567"),
    ),
    (
        "đặt chuyến thứ 2 cho Trần Thị Bình, email binh@example.com",
        SEARCHED_VI,
        hold(103, "Trần Thị Bình", email="binh@example.com"),
    ),
    (
        "dat chuyen thu hai cho Tran Thi Binh, 0912.345.678",
        SEARCHED_VI,
        hold(103, "Tran Thi Binh", phone="0912345678"),
    ),
    (
        "đặt chuyến đầu tiên cho Lê Văn Cường; 0987654321",
        SEARCHED_VI,
        hold(101, "Lê Văn Cường", phone="0987654321"),
    ),
    (
        "đặt chuyến rẻ nhất cho Nguyễn Văn An, 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến sớm nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(102, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "dat chuyen som nhat cho Nguyen Van An 0901234567",
        SEARCHED_VI,
        hold(102, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the earliest for Nguyen Van An, 0901234567",
        SEARCHED_EN,
        hold(102, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "đặt chuyến muộn nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(103, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "book the latest flight for Nguyen Van An 0901234567",
        SEARCHED_EN,
        hold(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "đặt chuyến 8:15 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "lấy chuyến 8h15 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến 21 giờ 30 cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(103, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "book the 9:30 one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        hold(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "book the second one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        hold(103, "Nguyen Van An", **AN_PHONE),
    ),
    (
        "take the last one for Nguyen Van An 0901234567",
        SEARCHED_EN,
        hold(104, "Nguyen Van An", **AN_PHONE),
    ),
    ("chọn số 3 cho Nguyễn Văn An 0901234567", SEARCHED_VI, hold(102, "Nguyễn Văn An", **AN_PHONE)),
    (
        "đặt chuyến nhanh nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(104, "Nguyễn Văn An", **AN_PHONE),
    ),
    (
        "đặt chuyến Vietnam Airlines rẻ nhất cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(102, "Nguyễn Văn An", **AN_PHONE),
    ),
    # A flight number from the results needs no booking word; lower case is fine.
    (
        "vj123, Nguyễn Văn An, an@example.com",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", email="an@example.com"),
    ),
    ("VN 213 cho Nguyễn Văn An, 0901234567", SEARCHED_VI, hold(102, "Nguyễn Văn An", **AN_PHONE)),
    # Dates of birth, line breaks, capitals, cabin and count.
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An 12/03/1990 và Trần Thị Bình (1991-07-30), "
        "sđt 0901234567",
        SEARCHED_VI,
        hold(101, ("Nguyễn Văn An", "1990-03-12"), ("Trần Thị Bình", "1991-07-30"), **AN_PHONE),
    ),
    (
        "Đặt chuyến VJ123 cho:\nNguyễn Văn An\nTrần Thị Bình\nsđt: 090 123 4567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),
    ),
    (
        "book VJ123 for NGUYEN VAN AN and DANG THI MAI LAN, an@example.com",
        SEARCHED_EN,
        hold(101, "Nguyen Van An", "Dang Thi Mai Lan", email="an@example.com"),
    ),
    (
        "đặt chuyến VJ123 hạng thương gia cho Nguyễn Văn An 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", cabin="business", **AN_PHONE),
    ),
    (
        "đặt chuyến rẻ nhất cho 2 người: Nguyễn Văn An, Trần Thị Bình, 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),
    ),
    (
        "đặt chuyến VJ123 cho Nguyễn Văn An, email An.Nguyen+bay@Example.com.vn",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", email="An.Nguyen+bay@Example.com.vn"),
    ),
    # Names that hold a place ("Vinh", "Huế") are names; the searched day is no new day.
    (
        "đặt chuyến VJ123 cho Lê Văn Vinh, 0901234567",
        SEARCHED_VI,
        hold(101, "Lê Văn Vinh", **AN_PHONE),
    ),
    (
        "đặt chuyến VJ123 cho Hoàng Thị Huế, 0901234567",
        SEARCHED_VI,
        hold(101, "Hoàng Thị Huế", **AN_PHONE),
    ),
    (
        "đặt chuyến rẻ nhất ngày 15/12 cho Nguyễn Văn An, 0901234567",
        SEARCHED_VI,
        hold(101, "Nguyễn Văn An", **AN_PHONE),
    ),
    # An unaccented name the place finder would offer as an unknown city ("for Tran Thi Binh").
    (
        "book the cheapest one for Tran Thi Binh, email binh@example.com",
        SEARCHED_EN,
        hold(101, "Tran Thi Binh", email="binh@example.com"),
    ),
    (
        "book the earliest one for Tran Thi Binh, phone 0901234567",
        SEARCHED_EN,
        hold(102, "Tran Thi Binh", phone="0901234567"),
    ),
]


@pytest.mark.parametrize(("text", "history", "expected"), HOLDS, ids=[text for text, _, _ in HOLDS])
def test_hold(text: str, history: list[dict[str, Any]], expected: PlannedCall) -> None:
    assert plan([*history, user(text)]).calls == (expected,)


def test_cabin_comes_from_the_search() -> None:
    history = searched(cabin="business")
    response = plan([*history, user("đặt chuyến rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert response.calls == (hold(101, "Nguyễn Văn An", cabin="business", **AN_PHONE),)


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
    assert outbound.calls == (hold(101, "Nguyễn Văn An", **AN_PHONE),)
    inbound = plan([*history, user("đặt chuyến về rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert inbound.calls == (hold(201, "Nguyễn Văn An", **AN_PHONE),)
    by_number = plan([*history, user("VJ124 cho Nguyễn Văn An 0901234567")])
    assert by_number.calls == (hold(201, "Nguyễn Văn An", **AN_PHONE),)


def test_the_latest_search_counts() -> None:
    other = [flight(301, "VJ777", "10:00", "12:10", 900_000)]
    history = [*SEARCHED_VI, *searched("còn ngày 16/12?", other)]
    response = plan([*history, user("đặt chuyến rẻ nhất cho Nguyễn Văn An 0901234567")])
    assert response.calls == (hold(301, "Nguyễn Văn An", **AN_PHONE),)


def test_a_flight_number_that_could_be_a_reference_books_the_flight() -> None:
    history = searched(flights=[flight(401, "VN3467", "07:00", "09:10", 1_700_000)])
    response = plan([*history, user("đặt chuyến VN3467 cho Nguyễn Văn An 0901234567")])
    assert response.calls == (hold(401, "Nguyễn Văn An", **AN_PHONE),)


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


# Flights that cannot be identified --------------------------------------------------------


def _text(response: Response) -> str:
    assert response.calls == ()
    assert response.text is not None
    return response.text


def test_no_search_yet_asks_for_the_route_instead_of_guessing() -> None:
    messages, response = chat([], "đặt chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567")
    text = _text(response)
    assert "chưa tìm chuyến bay nào" in text
    assert "VJ123" in text
    assert "Bạn bay từ đâu, đến đâu và vào ngày nào?" in text
    # The question started a search the next message completes.
    assert plan([*messages, user("SGN HAN 15/12")]).calls == (
        search(from_city="SGN", to_city="HAN", date="2026-12-15"),
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("đặt chuyến rẻ nhất cho tôi", ("chưa tìm chuyến bay nào", "Bạn bay từ đâu")),
        ("dat chuyen re nhat cho toi", ("chưa tìm chuyến bay nào", "Bạn bay từ đâu")),
        ("book the cheapest one", ("haven't searched", "Where are you flying from")),
        ("book the 8:15 one", ("haven't searched", "on which date")),
    ],
)
def test_no_search_yet(text: str, words: tuple[str, ...]) -> None:
    reply = _text(plan([user(text)]))
    for word in words:
        assert word in reply


@pytest.mark.parametrize(
    ("text", "words", "listed"),
    [
        ("đặt chuyến VJ999", ("Mình không thấy chuyến VJ999",), ("VJ123", "VN247")),
        ("book VJ999 please", ("I can't find VJ999",), ("VJ123", "VN247")),
        ("đặt chuyến 9h", ("Không có chuyến nào khởi hành lúc 9h",), ("VJ123",)),
        ("đặt chuyến 8h", ("Có 2 chuyến khớp với “8h”",), ("VJ123", "VN247")),
        ("book the fifth one", ("only 4 flights",), ("VJ123",)),
    ],
)
def test_unknown_flight_is_asked_again(
    text: str, words: tuple[str, ...], listed: tuple[str, ...]
) -> None:
    history = SEARCHED_EN if text.startswith("book") else SEARCHED_VI
    reply = _text(plan([*history, user(text)]))
    for word in (*words, *listed):
        assert word in reply
    if "8h" in text:
        assert "QH205" not in reply  # Only the matching flights are listed.


def test_an_empty_search_has_nothing_to_book() -> None:
    reply = _text(plan([*searched(flights=[]), user("đặt chuyến rẻ nhất")]))
    assert "không có chuyến nào để đặt" in reply


def test_book_without_naming_a_flight_asks_which() -> None:
    reply = _text(plan([*SEARCHED_EN, user("I'd like to book")]))
    assert "Which flight would you like to book?" in reply
    assert "1. **VJ123** 08:15 · VND 1,500,000" in reply


def test_names_and_phone_after_a_search_ask_which_flight() -> None:
    messages, response = chat(SEARCHED_VI, "Nguyễn Văn An, 0901234567")
    assert "Bạn muốn đặt chuyến nào?" in _text(response)
    assert plan([*messages, user("chuyến 8h15")]).calls == (hold(101, "Nguyễn Văn An", **AN_PHONE),)


def test_the_flight_named_on_the_next_turn_completes_the_request() -> None:
    messages, response = chat(SEARCHED_VI, "đặt chuyến 7h cho Nguyễn Văn An sdt 0901234567")
    assert "Không có chuyến nào khởi hành lúc 7h" in _text(response)
    _, response = chat(messages, "chuyến 8:15")
    assert response.calls == (hold(101, "Nguyễn Văn An", **AN_PHONE),)


# Missing names and contact details --------------------------------------------------------


class TestMissingDetails:
    def test_both_are_asked_for_then_given(self) -> None:
        messages, response = chat(SEARCHED_VI, "đặt chuyến rẻ nhất cho tôi")
        text = _text(response)
        assert "**VJ123** VietJet Air, 08:15 Thứ Ba, 15/12/2026, SGN → HAN" in text
        assert "họ tên đầy đủ của hành khách" in text
        assert "số điện thoại hoặc email" in text
        _, response = chat(messages, "Nguyễn Văn An, 0901234567")
        assert response.calls == (hold(101, "Nguyễn Văn An", **AN_PHONE),)

    def test_without_diacritics(self) -> None:
        messages, response = chat(SEARCHED_VI, "dat chuyen re nhat")
        assert "họ tên đầy đủ" in _text(response)
        _, response = chat(messages, "Nguyen Van An, sdt 0901234567")
        assert response.calls == (hold(101, "Nguyen Van An", **AN_PHONE),)

    def test_in_english(self) -> None:
        messages, response = chat(SEARCHED_EN, "book the 8:15 one")
        text = _text(response)
        assert text.startswith("To hold **VJ123** VietJet Air, 08:15 on Tuesday 15 December")
        assert "the passenger's full name" in text
        assert "a phone number or email" in text
        _, response = chat(messages, "Nguyen Van An, an@example.com")
        assert response.calls == (hold(101, "Nguyen Van An", email="an@example.com"),)

    def test_only_the_contact(self) -> None:
        text = _text(plan([*SEARCHED_VI, user("đặt chuyến VJ123 cho Nguyễn Văn An")]))
        assert "số điện thoại hoặc email" in text
        assert "họ tên" not in text

    def test_only_the_names(self) -> None:
        text = _text(plan([*SEARCHED_EN, user("book VJ123, my email is an@example.com")]))
        assert "full name" in text
        assert "phone number" not in text

    def test_fewer_names_than_passengers(self) -> None:
        messages, response = chat(
            SEARCHED_EN, "book the cheapest for 2 people: Nguyen Van An, an@example.com"
        )
        text = _text(response)
        assert "the full name of 1 more passenger" in text
        assert "So far: Nguyen Van An." in text
        _, response = chat(messages, "Tran Thi Binh")
        assert response.calls == (
            hold(101, "Nguyen Van An", "Tran Thi Binh", email="an@example.com"),
        )

    def test_the_searched_passenger_count_needs_as_many_names(self) -> None:
        history = searched(passengers=2)
        messages, response = chat(history, "đặt chuyến rẻ nhất")
        assert "họ tên đầy đủ của 2 hành khách" in _text(response)
        messages, response = chat(messages, "Nguyễn Văn An")
        text = _text(response)
        assert "họ tên đầy đủ của 1 hành khách nữa" in text
        assert "Mình đã có: Nguyễn Văn An." in text
        messages, response = chat(messages, "Trần Thị Bình")
        text = _text(response)
        assert "số điện thoại hoặc email" in text
        assert "họ tên" not in text
        _, response = chat(messages, "sđt 0901 234 567")
        assert response.calls == (hold(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),)

    def test_a_count_on_the_next_turn(self) -> None:
        messages, response = chat(SEARCHED_VI, "đặt chuyến rẻ nhất, sđt 0901234567")
        assert "họ tên đầy đủ của hành khách" in _text(response)
        messages, response = chat(messages, "2 người")
        assert "họ tên đầy đủ của 2 hành khách" in _text(response)
        _, response = chat(messages, "Nguyễn Văn An và Trần Thị Bình")
        assert response.calls == (hold(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),)

    def test_drop_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        messages, response = chat(messages, "thôi")
        assert "chưa có gì được đặt" in _text(response)
        # Nothing is pending any more: a name alone is not understood as a booking.
        _, response = chat(messages, "Nguyễn Văn An, 0901234567")
        assert response.calls == ()

    def test_cancel_drops_the_request_instead_of_cancelling_a_booking(self) -> None:
        messages, _ = chat(held(), "đặt chuyến VN213")
        _, response = chat(messages, "hủy")
        assert "chưa có gì được đặt" in _text(response)

    def test_a_new_search_replaces_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        _, response = chat(messages, "SGN HAN 16/12")
        assert response.calls == (search(from_city="SGN", to_city="HAN", date="2026-12-16"),)

    def test_a_tool_turn_in_between_ends_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        weather = {"place": place("HAN", "Hà Nội"), "day": "2026-12-15", "condition_code": "sunny"}
        messages += [
            *called("thời tiết Hà Nội", "get_weather", {"city": "HAN"}, weather, call_id="w1"),
            assistant("Nắng."),
        ]
        response = plan([*messages, user("Nguyễn Văn An, 0901234567")])
        assert not any(call.name == "hold_booking" for call in response.calls)

    def test_language_of_the_question_follows_the_conversation(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        plan_ = understand([*messages, user("Nguyen Van An")], TODAY)
        assert plan_.language == "vi"
        assert plan_.reply is not None
        assert "số điện thoại hoặc email" in plan_.reply

    def test_vietnamese_names_in_an_english_request(self) -> None:
        text = _text(plan([*SEARCHED_EN, user("book the cheapest one for Nguyễn Văn An")]))
        assert "a phone number or email for the booking" in text


def test_dates_of_birth_are_not_travel_dates() -> None:
    response = plan(
        [*SEARCHED_VI, user("đặt chuyến VJ123 cho Đặng Thị Mai 02/09/1985, 0901234567")]
    )
    assert response.calls == (hold(101, ("Đặng Thị Mai", "1985-09-02"), **AN_PHONE),)


def test_a_landline_is_not_a_mobile_number() -> None:
    text = _text(plan([*SEARCHED_VI, user("đặt chuyến VJ123 cho Nguyễn Văn An, 024 3826 1234")]))
    assert "số điện thoại hoặc email" in text


# Confirm, cancel, look up -----------------------------------------------------------------


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
    assert "không có đặt chỗ nào đang giữ" in _text(plan([*SEARCHED_VI, user("xác nhận")]))
    assert "no held booking" in _text(plan([user("confirm")]))
    confirmed = booking(status="confirmed")
    history = [
        *held(),
        *called("xác nhận", "confirm_booking", {"reference": "K7QX3M"}, {"booking": confirmed}),
        assistant("Đã xác nhận."),
    ]
    assert "đã được xác nhận rồi" in _text(plan([*history, user("xác nhận")]))


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
    assert "chưa có gì được đặt" in _text(plan([*history, user("hủy")]))
    error = {"error": {"code": "not_run", "message": "The traveller sent a new message instead."}}
    history = [
        *held("K7QX3M"),
        *called("xác nhận", "confirm_booking", {"reference": "K7QX3M"}, error),
    ]
    assert "không có gì thay đổi" in _text(plan([*history, user("thôi hủy đi")]))


def test_a_declined_hold_is_not_repeated() -> None:
    history = [*_paused("approval_denied"), assistant("Bạn đã không đồng ý.")]
    assert "không có đặt chỗ nào đang giữ" in _text(plan([*history, user("xác nhận")]))


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
    text = _text(plan([user("hủy vé giúp tôi")]))
    assert "mã đặt chỗ cần hủy" in text
    assert "Which booking should I cancel?" in _text(plan([user("cancel my booking")]))


def test_status_without_reference_or_booking_asks_for_it() -> None:
    assert "mã đặt chỗ" in _text(plan([user("kiểm tra đặt chỗ của tôi")]))


def test_changes_and_refunds_are_not_offered() -> None:
    text = _text(plan([*held(), user("đổi vé sang ngày khác")]))
    assert "chưa đổi vé hay hoàn tiền được" in text


def test_numbers_and_amounts_are_not_references() -> None:
    history = searched()
    response = plan([*history, user("SGN HAN 15/12 dưới 1tr500")])
    assert [call.name for call in response.calls] == ["search_flights"]


# Answers from booking results -------------------------------------------------------------


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
            "**VJ123** VietJet Air · SGN → HAN · Thứ Ba, 15/12/2026 · 08:15–10:25",
            "Hành khách: Nguyễn Văn An (12/03/1990); Trần Thị Bình",
            "Liên hệ: 0901234567 · an@example.com",
            "Tổng tiền: 3.000.000 ₫ (1.500.000 ₫/khách)",
            "Chỗ được giữ đến 10:15, Chủ nhật, 22/11/2026.",
            "Trả lời 'xác nhận' để xuất vé",
        ):
            assert part in text

    def test_held_in_english(self) -> None:
        text = _answer("book the cheapest", "hold_booking", HOLD_ARGS, {"booking": booking()})
        assert text.startswith("Seats held! Booking reference: **K7QX3M**")
        for part in (
            "Tuesday 15 December 2026 · 08:15–10:25 · economy",
            "Total: VND 3,000,000 (VND 1,500,000 per passenger)",
            "held until 10:15 on Sunday 22 November 2026",
            "Reply 'confirm' to confirm",
        ):
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
        assert "VJ123" in vi_text
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
    assert "giữ chỗ" in _text(plan([user("bạn làm được gì?")]))
    assert "hold the flight you pick" in _text(plan([user("help")]))


def test_booking_plans_are_deterministic_and_serializable() -> None:
    messages = [*SEARCHED_EN, user("book the cheapest one for Nguyen Van An, an@example.com")]
    first, second = plan(messages), plan(messages)
    assert first == second
    for call in first.calls:
        assert json.loads(json.dumps(call.arguments)) == call.arguments
