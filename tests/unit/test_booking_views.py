"""A booking as JSON (``BookingView.to_dict``): the shape the API returns and the model reads,
and the stored idempotent response read back as the same booking."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from booking.db.booking_repository import FlightRow
from booking.domain.booking_views import booked_flight, booking_view, view_from_json
from booking.domain.types import BookingView, Contact, Passenger
from tests.conftest import TEST_NOW


def _view(status: str = "held") -> BookingView:
    departs = datetime(2026, 6, 12, 8, 35, 0, 250000, tzinfo=UTC)
    flight = booked_flight(
        FlightRow(
            *(3992, "VJ105", "VJ", "VietJet Air", "SGN", "HAN"),
            *(departs, departs + timedelta(minutes=130)),
            *("Asia/Ho_Chi_Minh", "Asia/Singapore"),
        )
    )
    return booking_view(
        reference="K7QX3M",
        status="confirmed" if status == "confirmed" else "held",
        flight=flight,
        cabin="economy",
        passengers=[Passenger("Nguyễn Văn An", date(1990, 4, 12)), Passenger("Trần Thị Bình")],
        contact=Contact(phone="0901234567"),
        price_per_passenger_vnd=1_574_000,
        total_vnd=3_148_000,
        hold_expires_at=TEST_NOW.astimezone(UTC) + timedelta(minutes=15),
        created_at=TEST_NOW.astimezone(UTC),
        confirmed_at=TEST_NOW + timedelta(minutes=1) if status == "confirmed" else None,
    )


def test_a_booking_as_json() -> None:
    assert _view().to_dict() == {
        "reference": "K7QX3M",
        "status": "held",
        "flight": {
            "flight_id": 3992,
            "flight_number": "VJ105",
            "airline_code": "VJ",
            "airline_name": "VietJet Air",
            "origin": "SGN",
            "destination": "HAN",
            "departs_at": "2026-06-12T15:35:00.250000+07:00",
            "arrives_at": "2026-06-12T18:45:00.250000+08:00",
            "duration_minutes": 130,
        },
        "cabin": "economy",
        "passengers": [
            {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-04-12"},
            {"full_name": "Trần Thị Bình", "date_of_birth": None},
        ],
        "contact": {"email": None, "phone": "0901234567"},
        "price_per_passenger_vnd": 1_574_000,
        "total_vnd": 3_148_000,
        "currency": "VND",
        "hold_expires_at": "2026-06-01T09:15:00+07:00",
        "created_at": "2026-06-01T09:00:00+07:00",
        "confirmed_at": None,
        "cancelled_at": None,
        "expired_at": None,
    }


def test_the_hold_ends_only_while_held() -> None:
    confirmed = _view("confirmed").to_dict()
    assert confirmed["hold_expires_at"] is None
    assert confirmed["confirmed_at"] == "2026-06-01T09:01:00+07:00"


def test_a_stored_view_reads_back_as_it_was() -> None:
    for view in (_view(), _view("confirmed")):
        stored = json.loads(json.dumps(view.to_dict()))
        again = view_from_json(stored)
        assert again == view
        assert json.dumps(again.to_dict()) == json.dumps(view.to_dict())
