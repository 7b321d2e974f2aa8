"""What the tests of the offline model's answers share: tool results as the tools return them
(flights, no flights, a forecast, places with and without an airport) and a conversation that
called the tools."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

TODAY = date(2026, 6, 1)


def place(code: str, name_vi: str, name_en: str) -> dict[str, Any]:
    return {
        "query": code,
        "city": name_vi,
        "city_en": name_en,
        "country": "VN",
        "airports": [{"iata": code, "name": f"{name_en} airport"}],
        "matched_by": "iata",
    }


SGN = place("SGN", "Thành phố Hồ Chí Minh", "Ho Chi Minh City")
HAN = place("HAN", "Hà Nội", "Hanoi")
DAD = place("DAD", "Đà Nẵng", "Da Nang")


def flight(
    number: str,
    departs: str,
    arrives: str,
    price: int,
    *,
    passengers: int = 1,
    seats: int = 44,
    minutes: int = 130,
) -> dict[str, Any]:
    return {
        "flight_id": 1,
        "flight_number": number,
        "airline_code": number[:2],
        "airline_name": {"VJ": "VietJet Air", "VN": "Vietnam Airlines"}.get(number[:2], "Bamboo"),
        "origin": "SGN",
        "destination": "HAN",
        "departs_at": f"2026-06-15T{departs}:00+07:00",
        "arrives_at": arrives if "T" in arrives else f"2026-06-15T{arrives}:00+07:00",
        "duration_minutes": minutes,
        "aircraft": "A321neo",
        "cabin": "economy",
        "price_vnd": price,
        "total_vnd": price * passengers,
        "seats_left": seats,
    }


def query(passengers: int = 1, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "from": SGN,
        "to": HAN,
        "date": "2026-06-15",
        "passengers": passengers,
        "cabin": "economy",
        "max_price_vnd": None,
        "depart_after": None,
        "depart_before": None,
        "airline": None,
        "sort": "price",
    }
    return {**base, **extra}


def flights_result(passengers: int = 1, **query_extra: Any) -> dict[str, Any]:
    return {
        "query": query(passengers, **query_extra),
        "flights": [
            flight("VJ123", "06:40", "08:50", 1_024_000, passengers=passengers),
            flight(
                "VN7",
                "23:10",
                "2026-06-16T01:20:00+07:00",
                1_500_000,
                passengers=passengers,
                seats=3,
            ),
        ],
        "total_matches": 55,
        "currency": "VND",
        "reason": None,
        "message": None,
        "nearest_dates": [],
    }


def no_flights(reason: str, nearest: list[str]) -> dict[str, Any]:
    return {
        "query": query(),
        "flights": [],
        "total_matches": 0,
        "currency": "VND",
        "reason": reason,
        "message": "No flights.",
        "nearest_dates": nearest,
    }


def forecast(*, normal: bool = False) -> dict[str, Any]:
    return {
        "place": DAD,
        "day": "2026-06-15",
        "condition_code": "showers",
        "condition_vi": "Mưa rào",
        "condition_en": "Showers",
        "temp_min_c": 24.5,
        "temp_max_c": 31.0,
        "humidity_pct": 80,
        "precip_prob_pct": 60,
        "wind_kph": 14.0,
        "is_climate_normal": normal,
        "note": "beyond the forecast horizon" if normal else None,
    }


def conversation(
    text: str, *results: tuple[str, dict[str, Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    """A user message, the assistant's tool calls and one tool message per call."""
    calls = [
        {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args, _) in enumerate(results)
    ]
    return [
        {"role": "user", "content": text},
        {"role": "assistant", "content": None, "tool_calls": calls},
        *(
            {"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps(content)}
            for i, (_, _, content) in enumerate(results)
        ),
    ]


SEARCH = {"from_city": "SGN", "to_city": "HAN", "date": "2026-06-15"}


def via(place_vi: str, place_en: str, airport: str, city_vi: str, city_en: str) -> dict[str, Any]:
    """How a place without an airport is reached: the airport that serves it, then the road."""
    return {
        "place_vi": place_vi,
        "place_en": place_en,
        "airport": airport,
        "airport_city": city_vi,
        "airport_city_en": city_en,
        "road_km": 315,
        "road_hours": 5.0,
    }


SAPA = {
    **place("HAN", "Sa Pa", "Sa Pa"),
    "query": "Sa Pa",
    "via": via("Sa Pa", "Sa Pa", "HAN", "Hà Nội", "Hanoi"),
}
