"""What the tests of the offline model's bookings share: a search and a hold as the history
stores them, the calls the model is expected to plan, and the model asked one turn at a time."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from booking.offline_model import PlannedCall
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


def book(
    flight_id: int,
    *names: str | tuple[str, str],
    email: str | None = None,
    phone: str | None = None,
    cabin: str = "economy",
) -> PlannedCall:
    """The one-decision booking the offline model plans for "đặt" / "book"."""
    held = hold(flight_id, *names, email=email, phone=phone, cabin=cabin)
    return PlannedCall("book_flight", held.arguments)


def hold(
    flight_id: int,
    *names: str | tuple[str, str],
    email: str | None = None,
    phone: str | None = None,
    cabin: str = "economy",
) -> PlannedCall:
    """The hold the offline model plans only when the traveller asks to hold ("giữ chỗ")."""
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


def reply_text(response: Response) -> str:
    """The text of a response that makes no call."""
    assert response.calls == ()
    assert response.text is not None
    return response.text


AN_PHONE = {"phone": "0901234567"}
