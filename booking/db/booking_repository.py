"""Queries for bookings, seat inventory, idempotency keys and approvals.

Seat inventory changes only through the conditional UPDATEs here: a hold takes seats with
``seats_available >= n`` in its WHERE clause (so concurrent holds serialize on the fare row and
none can take a seat that is gone), and every release moves ``seats_booked`` by the same amount,
so ``seats_booked`` always equals the passengers of live bookings (:meth:`inventory_drift`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import (
    Airline,
    Airport,
    Booking,
    BookingEvent,
    BookingPassenger,
    Fare,
    Flight,
    IdempotencyRecord,
)

# The hold path runs these fixed statements on the session's connection: building and compiling
# ORM statements per call cost more CPU than PostgreSQL spent on the whole hold.
_CLAIM = text(
    "INSERT INTO idempotency_keys (tenant, key, operation, request_hash, response) "
    "VALUES (:tenant, :key, :operation, :request_hash, '{}') "
    "ON CONFLICT (tenant, key) DO NOTHING RETURNING key"
)
_EARLIER = text(
    "SELECT operation, request_hash, response FROM idempotency_keys "
    "WHERE tenant = :tenant AND key = :key"
)
_FLIGHT = text(
    "SELECT f.flight_number, f.airline_code, a.name, f.origin, f.destination, f.departs_at,"
    "       f.arrives_at, o.timezone, d.timezone, fa.price_vnd, fa.seats_available "
    "FROM flights f JOIN fares fa ON fa.flight_id = f.id AND fa.cabin = :cabin "
    "JOIN airlines a ON a.code = f.airline_code "
    "JOIN airports o ON o.iata = f.origin JOIN airports d ON d.iata = f.destination "
    "WHERE f.id = :flight_id"
)
# The booking, its passengers, its first audit row and the idempotent response: one statement.
# A hold writes it ``held``; booking in one decision writes it ``confirmed`` at once.
_WRITE_HOLD = text(
    "WITH b AS ("
    "  INSERT INTO bookings (reference, tenant, flight_id, cabin, status, passenger_count,"
    "    price_per_passenger_vnd, total_vnd, contact_email, contact_phone, conversation_id,"
    "    hold_expires_at, created_at, confirmed_at)"
    "  VALUES (:reference, :tenant, :flight_id, :cabin, :status, :passenger_count,"
    "    :price_per_passenger_vnd, :total_vnd, :contact_email, :contact_phone, :conversation_id,"
    "    :hold_expires_at, :created_at, :confirmed_at)"
    "  ON CONFLICT (reference) DO NOTHING RETURNING reference"
    "), p AS ("
    "  INSERT INTO booking_passengers (reference, position, full_name, date_of_birth)"
    "  SELECT b.reference, t.position, t.full_name, t.date_of_birth FROM b,"
    "    unnest(CAST(:names AS text[]), CAST(:births AS date[])) WITH ORDINALITY"
    "      AS t(full_name, date_of_birth, position)"
    "), e AS ("
    "  INSERT INTO booking_events (reference, from_status, to_status, actor, at)"
    "  SELECT reference, NULL, :status, :actor, :created_at FROM b"
    "), k AS ("
    "  UPDATE idempotency_keys SET response = CAST(:response AS jsonb)"
    "  WHERE tenant = :tenant AND key = :key AND EXISTS (SELECT 1 FROM b)"
    ") SELECT count(*) FROM b"
)
_TAKE_SEATS = text(
    "UPDATE fares SET seats_available = seats_available - :count,"
    "  seats_booked = seats_booked + :count "
    "WHERE flight_id = :flight_id AND cabin = :cabin AND seats_available >= :count "
    "RETURNING price_vnd"
)


@dataclass(frozen=True, slots=True)
class FlightRow:
    """A flight as a booking shows it, times in UTC with each airport's zone to show them in."""

    flight_id: int
    flight_number: str
    airline_code: str
    airline_name: str
    origin: str
    destination: str
    departs_at: datetime
    arrives_at: datetime
    origin_tz: str
    destination_tz: str


@dataclass(frozen=True, slots=True)
class FareRow:
    """A flight with the price and the seats left of one of its cabins."""

    flight: FlightRow
    price_vnd: int
    seats_left: int


@dataclass(frozen=True, slots=True)
class NewHold:
    """The columns of a booking being held (its reference aside: drawn until one is free)."""

    tenant: str
    flight_id: int
    cabin: str
    passenger_count: int
    price_per_passenger_vnd: int
    total_vnd: int
    contact_email: str | None
    contact_phone: str | None
    conversation_id: str | None
    hold_expires_at: datetime
    created_at: datetime
    status: str = "held"
    """``held``, or ``confirmed`` when the booking is made final in the same step."""
    confirmed_at: datetime | None = None


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Fares ------------------------------------------------------------------------------

    async def fare(self, flight_id: int, cabin: str) -> Any:
        """The flight with its fare in ``cabin`` (None when either is missing)."""
        stmt = (
            select(Flight.id, Flight.departs_at, Fare.price_vnd, Fare.seats_available)
            .join(Fare, and_(Fare.flight_id == Flight.id, Fare.cabin == cabin))
            .where(Flight.id == flight_id)
        )
        return (await self.session.execute(stmt)).first()

    async def flight_view(self, flight_id: int, cabin: str) -> FareRow | None:
        """The flight with the cabin's price and seats (None when either is missing)."""
        conn = await self.session.connection()
        row = (await conn.execute(_FLIGHT, {"flight_id": flight_id, "cabin": cabin})).first()
        if row is None:
            return None
        number, airline, name, dep, arr, departs, arrives, dep_tz, arr_tz, price, seats = row
        flight = FlightRow(
            flight_id, number, airline, name, dep, arr, departs, arrives, dep_tz, arr_tz
        )
        return FareRow(flight, int(price), int(seats))

    async def flight_exists(self, flight_id: int) -> bool:
        return (
            await self.session.scalar(select(Flight.id).where(Flight.id == flight_id))
        ) is not None

    async def take_seats(self, flight_id: int, cabin: str, count: int) -> int | None:
        """Take ``count`` seats if that many are left; the price per seat, else None."""
        conn = await self.session.connection()
        params = {"flight_id": flight_id, "cabin": cabin, "count": count}
        price: int | None = (await conn.execute(_TAKE_SEATS, params)).scalar_one_or_none()
        return price

    async def release_seats(self, flight_id: int, cabin: str, count: int) -> None:
        await self.session.execute(
            update(Fare)
            .where(Fare.flight_id == flight_id, Fare.cabin == cabin)
            .values(
                seats_available=Fare.seats_available + count,
                seats_booked=Fare.seats_booked - count,
            )
        )

    async def seats_left(self, flight_id: int, cabin: str) -> int:
        stmt = select(Fare.seats_available).where(Fare.flight_id == flight_id, Fare.cabin == cabin)
        return int(await self.session.scalar(stmt) or 0)

    # Bookings ---------------------------------------------------------------------------

    async def write_hold(
        self,
        reference: str,
        booking: NewHold,
        passengers: Sequence[tuple[str, date | None]],
        *,
        actor: str,
        key: str,
        response: Mapping[str, Any],
    ) -> bool:
        """Insert a booking (held, or confirmed at once) with its passengers, audit row and
        idempotent response; False
        when its reference is taken (nothing is written; the caller draws another)."""
        conn = await self.session.connection()
        params = {
            "reference": reference,
            "tenant": booking.tenant,
            "flight_id": booking.flight_id,
            "cabin": booking.cabin,
            "passenger_count": booking.passenger_count,
            "price_per_passenger_vnd": booking.price_per_passenger_vnd,
            "total_vnd": booking.total_vnd,
            "contact_email": booking.contact_email,
            "contact_phone": booking.contact_phone,
            "conversation_id": booking.conversation_id,
            "hold_expires_at": booking.hold_expires_at,
            "created_at": booking.created_at,
            "status": booking.status,
            "confirmed_at": booking.confirmed_at,
            "names": [name for name, _ in passengers],
            "births": [born for _, born in passengers],
            "actor": actor,
            "key": key,
            "response": json.dumps(response),
        }
        return bool((await conn.execute(_WRITE_HOLD, params)).scalar_one())

    async def record(
        self, reference: str, from_status: str | None, to_status: str, actor: str, at: datetime
    ) -> None:
        await self.session.execute(
            insert(BookingEvent).values(
                reference=reference,
                from_status=from_status,
                to_status=to_status,
                actor=actor,
                at=at,
            )
        )

    async def get(self, tenant: str, reference: str, *, lock: bool = False) -> Booking | None:
        stmt = select(Booking).where(Booking.reference == reference, Booking.tenant == tenant)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def set_status(self, reference: str, status: str, at: datetime) -> None:
        column = {"confirmed": "confirmed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
        await self.session.execute(
            update(Booking)
            .where(Booking.reference == reference)
            .values({"status": status, column[status]: at})
        )

    async def view_rows(
        self, reference: str
    ) -> tuple[Booking, FlightRow, Sequence[BookingPassenger]]:
        """The booking, its flight (airline and airport time zones), and its passengers."""
        origin, destination = Airport.__table__.alias("o"), Airport.__table__.alias("d")
        stmt = (
            select(
                Booking,
                Flight.flight_number,
                Flight.airline_code,
                Airline.name.label("airline_name"),
                Flight.origin,
                Flight.destination,
                Flight.departs_at,
                Flight.arrives_at,
                origin.c.timezone.label("origin_tz"),
                destination.c.timezone.label("destination_tz"),
            )
            .join(Flight, Flight.id == Booking.flight_id)
            .join(Airline, Airline.code == Flight.airline_code)
            .join(origin, origin.c.iata == Flight.origin)
            .join(destination, destination.c.iata == Flight.destination)
            .where(Booking.reference == reference)
        )
        row = (await self.session.execute(stmt)).one()
        booking: Booking = row.Booking
        flight = FlightRow(
            booking.flight_id,
            row.flight_number,
            row.airline_code,
            row.airline_name,
            row.origin,
            row.destination,
            row.departs_at,
            row.arrives_at,
            row.origin_tz,
            row.destination_tz,
        )
        passengers = (
            await self.session.scalars(
                select(BookingPassenger)
                .where(BookingPassenger.reference == reference)
                .order_by(BookingPassenger.position)
            )
        ).all()
        return booking, flight, passengers

    async def expire_due(self, now: datetime, limit: int = 500) -> int:
        """Expire held bookings past their time and give their seats back; one statement, so a
        crash never leaves a booking expired with its seats still taken."""
        result = await self.session.execute(
            text(
                "WITH due AS ("
                "  SELECT reference FROM bookings WHERE status = 'held' AND hold_expires_at <= :now"
                "  ORDER BY hold_expires_at LIMIT :limit FOR UPDATE SKIP LOCKED"
                "), expired AS ("
                "  UPDATE bookings b SET status = 'expired', expired_at = :now FROM due"
                "  WHERE b.reference = due.reference"
                "  RETURNING b.reference, b.flight_id, b.cabin, b.passenger_count"
                "), released AS ("
                "  UPDATE fares f SET seats_available = f.seats_available + e.n,"
                "    seats_booked = f.seats_booked - e.n"
                "  FROM (SELECT flight_id, cabin, sum(passenger_count) AS n FROM expired"
                "        GROUP BY flight_id, cabin) e"
                "  WHERE f.flight_id = e.flight_id AND f.cabin = e.cabin"
                "), audit AS ("
                "  INSERT INTO booking_events (reference, from_status, to_status, actor, at)"
                "  SELECT reference, 'held', 'expired', 'sweeper', :now FROM expired"
                ") SELECT count(*) FROM expired"
            ),
            {"now": now, "limit": limit},
        )
        return int(result.scalar_one())

    async def inventory_drift(self) -> list[Row[Any]]:
        """Fares whose ``seats_booked`` differs from the passengers of their live bookings."""
        result = await self.session.execute(
            text(
                "SELECT coalesce(f.flight_id, b.flight_id) AS flight_id,"
                "       coalesce(f.cabin, b.cabin) AS cabin,"
                "       coalesce(f.seats_booked, 0) AS seats_booked,"
                "       coalesce(b.n, 0) AS live_passengers "
                "FROM (SELECT flight_id, cabin, seats_booked FROM fares WHERE seats_booked <> 0) f "
                "FULL JOIN (SELECT flight_id, cabin, sum(passenger_count) AS n FROM bookings"
                "           WHERE status IN ('held', 'confirmed') GROUP BY flight_id, cabin) b"
                "  ON f.flight_id = b.flight_id AND f.cabin = b.cabin "
                "WHERE coalesce(f.seats_booked, 0) <> coalesce(b.n, 0)"
            )
        )
        return list(result.all())

    # Idempotency ------------------------------------------------------------------------

    async def claim_key(
        self, tenant: str, key: str, operation: str, request_hash: str
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for this request; None when it is ours now, else the earlier record.

        A concurrent request with the same key waits on the row until the first commits (then
        reads its result) or rolls back (then claims the key itself)."""
        conn = await self.session.connection()
        params = {
            "tenant": tenant,
            "key": key,
            "operation": operation,
            "request_hash": request_hash,
        }
        if (await conn.execute(_CLAIM, params)).first() is not None:
            return None
        row = (await conn.execute(_EARLIER, {"tenant": tenant, "key": key})).one()
        return IdempotencyRecord(
            tenant=tenant, key=key, operation=row[0], request_hash=row[1], response=row[2]
        )

    async def store_response(self, tenant: str, key: str, response: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.tenant == tenant, IdempotencyRecord.key == key)
            .values(response=response)
        )
