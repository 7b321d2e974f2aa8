"""Tables. Money is BIGINT VND, times are timestamptz, every invariant that must always hold is a CHECK."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base

CABINS = ("economy", "business")


class City(Base):
    """A place travellers name: served by its own airports, or reached by road from the
    :class:`NearestAirport` rows of a place without one (Sa Pa, Hội An)."""

    __tablename__ = "cities"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(Text)
    """The Vietnamese province (as named since the 2025 merger) of a place without an airport."""
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coords_together"),
        CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coords"
        ),
    )


class Airport(Base):
    __tablename__ = "airports"

    iata: Mapped[str] = mapped_column(String(3), primary_key=True)
    icao: Mapped[str | None] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(Text)
    city_slug: Mapped[str] = mapped_column(ForeignKey("cities.slug"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint("iata ~ '^[A-Z]{3}$'", name="iata_format"),
        CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coords"
        ),
    )


class PlaceAlias(Base):
    """One way people write a city ("Sài Gòn", "sai gon", "HCM"); ``key`` is its normalized form."""

    __tablename__ = "place_aliases"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(Text)

    __table_args__ = (CheckConstraint("key <> ''", name="key_not_empty"),)


class NearestAirport(Base):
    """An airport that serves a place without one of its own, and the road between them."""

    __tablename__ = "nearest_airports"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    airport_iata: Mapped[str] = mapped_column(ForeignKey("airports.iata"), primary_key=True)
    road_km: Mapped[int] = mapped_column(Integer)
    road_minutes: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(SmallInteger)
    """1 is the airport travellers use first; searches try the others in this order."""

    __table_args__ = (
        CheckConstraint("road_km > 0", name="road_km_positive"),
        CheckConstraint("road_minutes > 0", name="road_minutes_positive"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        UniqueConstraint("city_slug", "rank", name="uq_nearest_airports_city_rank"),
    )


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


class WeatherCondition(Base):
    __tablename__ = "weather_conditions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)


class _WeatherFigures:
    """Columns shared by a daily forecast and a monthly climate normal."""

    condition_code: Mapped[str] = mapped_column(ForeignKey("weather_conditions.code"))
    temp_min_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    temp_max_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    humidity_pct: Mapped[int] = mapped_column(SmallInteger)
    precip_prob_pct: Mapped[int] = mapped_column(SmallInteger)
    wind_kph: Mapped[Decimal] = mapped_column(Numeric(4, 1))


def _weather_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("temp_min_c <= temp_max_c", name="temp_order"),
        CheckConstraint("humidity_pct BETWEEN 0 AND 100", name="humidity_pct"),
        CheckConstraint("precip_prob_pct BETWEEN 0 AND 100", name="precip_prob_pct"),
        CheckConstraint("wind_kph >= 0", name="wind_kph"),
    )


class WeatherDaily(_WeatherFigures, Base):
    __tablename__ = "weather_daily"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = _weather_checks()


class ClimateNormal(_WeatherFigures, Base):
    __tablename__ = "climate_normals"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True)

    __table_args__ = (CheckConstraint("month BETWEEN 1 AND 12", name="month"), *_weather_checks())


class ApiKey(Base):
    """A bearer key; only its SHA-256 is stored. Every conversation belongs to a key's tenant."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The key's first characters, to tell keys apart in listings; never enough to use it."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Chosen by the client (useChat's chat id) or by us; unique across tenants."""
    tenant: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """The highest event cursor handed out in this conversation."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("id ~ '^[A-Za-z0-9_-]{1,64}$'", name="id_format"),
        Index("ix_conversations_tenant_updated", "tenant", "updated_at", "id"),
    )


TURN_STATUSES = ("running", "done", "failed", "cancelled", "interrupted", "awaiting_approval")


class TurnRow(Base):
    """One user message and the assistant's answer to it, run by a server process."""

    __tablename__ = "turns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    """The assistant UI message id (the stream's ``start`` part)."""
    status: Mapped[str] = mapped_column(String(24), server_default="running")
    first_seq: Mapped[int] = mapped_column(BigInteger)
    """Cursor of the turn's first event; resuming "from the start" replays from here."""
    owner: Mapped[str] = mapped_column(String(64))
    """The server process running it."""
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The owner renews this while it runs; a turn past its lease was orphaned by a crash."""
    error_code: Mapped[str | None] = mapped_column(String(64))
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {TURN_STATUSES!r}", name="status_known"),
        CheckConstraint(
            "(status = 'running') = (finished_at IS NULL)", name="finished_iff_not_running"
        ),
        # One running turn per conversation, enforced by the database.
        Index(
            "uq_turns_one_running",
            "conversation_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_turns_conversation", "conversation_id", "started_at"),
        Index("ix_turns_running_lease", "lease_until", postgresql_where=text("status = 'running'")),
    )


class Message(Base):
    """One Chat Completions message of a conversation's history, in order."""

    __tablename__ = "messages"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The message exactly as sent to the model (role, content, tool_calls, tool_call_id)."""
    ui_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("role IN ('user', 'assistant', 'tool')", name="role_known"),)


class TurnEventRow(Base):
    """Every part a turn streamed, append-only, keyed by the conversation's cursor."""

    __tablename__ = "turn_events"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    part: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The UI message stream part exactly as sent."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


BOOKING_STATUSES = ("held", "confirmed", "expired", "cancelled")


class Booking(Base):
    """Seats on one fare for 1-9 passengers, at the price frozen when they were held."""

    __tablename__ = "bookings"

    reference: Mapped[str] = mapped_column(String(6), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    flight_id: Mapped[int] = mapped_column(BigInteger)
    cabin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="held")
    passenger_count: Mapped[int] = mapped_column(SmallInteger)
    price_per_passenger_vnd: Mapped[int] = mapped_column(BigInteger)
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    """The conversation whose agent made it, if any (kept when the conversation is deleted)."""
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["flight_id", "cabin"], ["fares.flight_id", "fares.cabin"], name="fk_bookings_fare"
        ),
        CheckConstraint(f"status IN {BOOKING_STATUSES!r}", name="status_known"),
        CheckConstraint("reference ~ '^[ACDEFGHJKMNPQRTUVWXY34679]{6}$'", name="reference_format"),
        CheckConstraint("passenger_count BETWEEN 1 AND 9", name="passenger_count_range"),
        CheckConstraint(
            "total_vnd = price_per_passenger_vnd * passenger_count", name="total_is_price_times_pax"
        ),
        CheckConstraint(
            "contact_email IS NOT NULL OR contact_phone IS NOT NULL", name="contact_present"
        ),
        Index("ix_bookings_tenant_created", "tenant", "created_at"),
        Index("ix_bookings_fare", "flight_id", "cabin"),
        # The expiry sweeper's query: held bookings by expiry time.
        Index(
            "ix_bookings_held_expiry", "hold_expires_at", postgresql_where=text("status = 'held'")
        ),
    )


class BookingPassenger(Base):
    __tablename__ = "booking_passengers"

    reference: Mapped[str] = mapped_column(
        ForeignKey("bookings.reference", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    full_name: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)


class BookingEvent(Base):
    """The audit trail: every status change of a booking, with who or what caused it."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(
        ForeignKey("bookings.reference", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Text)
    """"api", "agent:<conversation id>", "sweeper"..."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The first result of a side-effecting operation, returned again for the same key."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


APPROVAL_STATUSES = ("pending", "approved", "denied", "expired", "superseded")


class Approval(Base):
    """A side-effecting tool call waiting for the traveller, with exactly the arguments shown."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    tool_call_id: Mapped[str] = mapped_column(String(128))
    tool_name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONB)
    arguments_hash: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {APPROVAL_STATUSES!r}", name="status_known"),
        UniqueConstraint("conversation_id", "tool_call_id", name="uq_approvals_call"),
    )
