"""Airlines, flights and their fares per cabin."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base

CABINS = ("economy", "business")


class Airline(Base):
    __tablename__ = "airlines"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))


class Flight(Base):
    """One scheduled departure. ``service_date`` is the local date of departure at the origin."""

    __tablename__ = "flights"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    airline_code: Mapped[str] = mapped_column(ForeignKey("airlines.code"))
    flight_number: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(ForeignKey("airports.iata"))
    destination: Mapped[str] = mapped_column(ForeignKey("airports.iata"))
    service_date: Mapped[date] = mapped_column(Date)
    departs_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    arrives_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    aircraft: Mapped[str] = mapped_column(String(16))
    registration: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint("origin <> destination", name="origin_differs_from_destination"),
        CheckConstraint("arrives_at > departs_at", name="arrives_after_departure"),
        UniqueConstraint("flight_number", "service_date", name="uq_flights_number_date"),
        # The search query: one route, one local day, in departure order.
        Index("ix_flights_route_date", "origin", "destination", "service_date", "departs_at"),
    )


class Fare(Base):
    """Price and seat inventory of one cabin on one flight."""

    __tablename__ = "fares"

    flight_id: Mapped[int] = mapped_column(
        ForeignKey("flights.id", ondelete="CASCADE"), primary_key=True
    )
    cabin: Mapped[str] = mapped_column(String(16), primary_key=True)
    price_vnd: Mapped[int] = mapped_column(BigInteger)
    seats_total: Mapped[int] = mapped_column(SmallInteger)
    seats_available: Mapped[int] = mapped_column(SmallInteger)
    seats_booked: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    """Seats held or confirmed by our bookings; always the sum of their passengers (checked by
    ``booking inventory check``). The rest of ``seats_total - seats_available`` was sold elsewhere."""

    __table_args__ = (
        CheckConstraint(f"cabin IN {CABINS!r}", name="cabin_known"),
        CheckConstraint("price_vnd > 0", name="price_positive"),
        CheckConstraint("seats_total > 0", name="seats_total_positive"),
        CheckConstraint(
            "seats_available BETWEEN 0 AND seats_total", name="seats_available_in_range"
        ),
        CheckConstraint(
            "seats_booked >= 0 AND seats_booked + seats_available <= seats_total",
            name="seats_booked_in_range",
        ),
    )
