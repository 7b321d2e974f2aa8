"""Bookings through the API as the tests make them: flights found with the search endpoint (the
roomiest of a day, and its seats left now), and holds with a fresh Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2

SEARCH = "/v1/flights/search"
BOOKINGS = "/v1/bookings"
CONTACT = {"email": "an.nguyen@example.vn"}


def idem() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"idempotency-key": f"e2e-{uuid.uuid4().hex}"}


def search(
    client: httpx2.Client,
    date: str,
    *,
    origin: str = "SGN",
    destination: str = "HAN",
    cabin: str = "economy",
    limit: int = 50,
) -> list[dict[str, Any]]:
    response = client.get(
        SEARCH,
        params={
            "from_city": origin,
            "to_city": destination,
            "date": date,
            "cabin": cabin,
            "limit": limit,
            "sort": "departure",
        },
    )
    assert response.status_code == 200, response.text
    flights: list[dict[str, Any]] = response.json()["flights"]
    return flights


def roomy_flight(
    client: httpx2.Client, date: str, *, origin: str = "SGN", destination: str = "HAN"
) -> dict[str, Any]:
    """The flight with the most economy seats left on that day and route."""
    flights = search(client, date, origin=origin, destination=destination)
    assert flights, (origin, destination, date)
    flight = max(flights, key=lambda f: (f["seats_left"], -f["flight_id"]))
    assert flight["seats_left"] >= 9, flight
    return flight


def seats_left(client: httpx2.Client, flight: dict[str, Any], cabin: str = "economy") -> int:
    """The seats left on ``flight`` now, as the search endpoint reports them (0 when it is no
    longer listed, which search does for a sold-out cabin)."""
    date = flight["departs_at"][:10]
    for found in search(
        client, date, origin=flight["origin"], destination=flight["destination"], cabin=cabin
    ):
        if found["flight_id"] == flight["flight_id"]:
            left: int = found["seats_left"]
            return left
    return 0


def hold_body(flight_id: int, *names: str, **extra: Any) -> dict[str, Any]:
    return {
        "flight_id": flight_id,
        "passengers": [{"full_name": name} for name in names],
        "contact": CONTACT,
        **extra,
    }


def hold(
    client: httpx2.Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = client.post(BOOKINGS, json=body, headers=headers or idem())
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking
