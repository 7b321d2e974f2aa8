"""Bookings as their owners read them: the one builder of a :class:`BookingView`, from a hold
being made, from stored rows or from a stored idempotent response; and the previews of an action
a traveller approves (data only: :mod:`booking.domain.approval_text` words them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from booking.db.booking_repository import FlightRow
from booking.db.models import Booking, BookingPassenger
from booking.domain.types import (
    BookedFlight,
    BookingStatus,
    BookingView,
    Cabin,
    Contact,
    Passenger,
)
from booking.settings import SERVICE_TZ

ChangeAction = Literal["confirm", "cancel"]

_STORED_VIEW = TypeAdapter(BookingView)


def booked_flight(row: FlightRow) -> BookedFlight:
    """The flight in each airport's local time."""
    return BookedFlight(
        flight_id=row.flight_id,
        flight_number=row.flight_number,
        airline_code=row.airline_code,
        airline_name=row.airline_name,
        origin=row.origin,
        destination=row.destination,
        departs_at=row.departs_at.astimezone(ZoneInfo(row.origin_tz)),
        arrives_at=row.arrives_at.astimezone(ZoneInfo(row.destination_tz)),
        duration_minutes=int((row.arrives_at - row.departs_at).total_seconds() // 60),
    )


def booking_view(
    *,
    reference: str,
    status: BookingStatus,
    flight: BookedFlight,
    cabin: Cabin,
    passengers: Sequence[Passenger],
    contact: Contact,
    price_per_passenger_vnd: int,
    total_vnd: int,
    hold_expires_at: datetime,
    created_at: datetime,
    confirmed_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    expired_at: datetime | None = None,
) -> BookingView:
    """A booking as its owner reads it: moments in Vietnam time, the hold's end only while held."""
    return BookingView(
        reference=reference,
        status=status,
        flight=flight,
        cabin=cabin,
        passengers=tuple(passengers),
        contact=contact,
        price_per_passenger_vnd=price_per_passenger_vnd,
        total_vnd=total_vnd,
        hold_expires_at=_vietnam(hold_expires_at) if status == "held" else None,
        created_at=created_at.astimezone(SERVICE_TZ),
        confirmed_at=_vietnam(confirmed_at),
        cancelled_at=_vietnam(cancelled_at),
        expired_at=_vietnam(expired_at),
    )


def stored_view(
    booking: Booking, flight: FlightRow, passengers: Sequence[BookingPassenger]
) -> BookingView:
    """The view of a stored booking, its flight and its passengers (in their order)."""
    return booking_view(
        reference=booking.reference,
        # The table's CHECK constraints keep these to the known statuses and cabins.
        status=cast(BookingStatus, booking.status),
        flight=booked_flight(flight),
        cabin=cast(Cabin, booking.cabin),
        passengers=[Passenger(p.full_name, p.date_of_birth) for p in passengers],
        contact=Contact(booking.contact_email, booking.contact_phone),
        price_per_passenger_vnd=booking.price_per_passenger_vnd,
        total_vnd=booking.total_vnd,
        hold_expires_at=booking.hold_expires_at,
        created_at=booking.created_at,
        confirmed_at=booking.confirmed_at,
        cancelled_at=booking.cancelled_at,
        expired_at=booking.expired_at,
    )


def view_from_json(data: Mapping[str, Any]) -> BookingView:
    """A view stored as JSON (:meth:`BookingView.to_dict`, an idempotent response) read back."""
    return _STORED_VIEW.validate_python(data)


@dataclass(frozen=True, slots=True)
class HoldPreview:
    """What a hold would be, checked by the same rules but written nowhere."""

    flight: BookedFlight
    seats_left: int
    cabin: Cabin
    passengers: tuple[Passenger, ...]
    contact: Contact
    price_per_passenger_vnd: int
    hold_ttl: timedelta

    @property
    def total_vnd(self) -> int:
        return self.price_per_passenger_vnd * len(self.passengers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "hold",
            "flight": {**self.flight.to_dict(), "seats_left": self.seats_left},
            "cabin": self.cabin,
            "passengers": [p.to_dict() for p in self.passengers],
            "contact": self.contact.to_dict(),
            "price_per_passenger_vnd": self.price_per_passenger_vnd,
            "total_vnd": self.total_vnd,
            "currency": "VND",
            "hold_minutes": self.hold_ttl.total_seconds() / 60,
        }


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """The booking a confirm or cancel would act on."""

    action: ChangeAction
    booking: BookingView

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "booking": self.booking.to_dict()}


def _vietnam(value: datetime | None) -> datetime | None:
    return value.astimezone(SERVICE_TZ) if value is not None else None
