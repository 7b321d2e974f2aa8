"""Queries for bookings, seat inventory, idempotency keys and approvals.

The hot paths (hold, confirm, cancel) run the fixed statements of
:mod:`booking.db.booking_statements` on the session's psycopg connection, in its transaction.
Seat inventory changes only through the conditional UPDATEs there: a hold takes seats with
``seats_available >= n`` in its WHERE clause (so concurrent holds serialize on the fare row and
none can take a seat that is gone), and every release moves ``seats_booked`` by the same amount,
so ``seats_booked`` always equals the passengers of live bookings (:meth:`inventory_drift`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

import psycopg
from sqlalchemy import Connection, Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from booking.db import booking_statements as statements
from booking.db.models import (
    Airline,
    Airport,
    Booking,
    BookingPassenger,
    Fare,
    Flight,
)

_FLIGHT = text(
    "SELECT f.flight_number, f.airline_code, a.name, f.origin, f.destination, f.departs_at,"
    "       f.arrives_at, o.timezone, d.timezone, fa.price_vnd, fa.seats_available "
    "FROM flights f JOIN fares fa ON fa.flight_id = f.id AND fa.cabin = :cabin "
    "JOIN airlines a ON a.code = f.airline_code "
    "JOIN airports o ON o.iata = f.origin JOIN airports d ON d.iata = f.destination "
    "WHERE f.id = :flight_id"
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


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What an idempotency key was first used for, and the response it got."""

    operation: str
    request_hash: str
    response: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """What a confirm or cancel statement found and did."""

    claimed: bool
    """The idempotency key is this request's (always true without a key)."""
    status: str | None
    """The booking's status before the change; None when there is no such booking (or the key
    was used before: nothing was looked at)."""
    hold_expires_at: datetime | None
    departed: bool | None
    """(cancel) The flight has departed: nothing was changed."""
    view: dict[str, Any] | None
    """The booking after the change as JSON (``BookingView.to_dict``): what was stored for the
    key when the change was made or found made."""


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._connections: tuple[AsyncConnection, psycopg.AsyncConnection[Any]] | None = None

    async def _fetch(self, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The one row of a fixed statement, run on the session's psycopg connection (in its
        transaction); psycopg errors raised as SQLAlchemy raises them (``IntegrityError``,
        a lost connection invalidated), as if the session had run it."""
        if self._connections is None:
            conn = await self.session.connection()
            driver: psycopg.AsyncConnection[Any] | None = (
                await conn.get_raw_connection()
            ).driver_connection
            assert driver is not None
            self._connections = conn, driver
        conn, driver = self._connections
        try:
            cursor = await driver.execute(sql, params)
            row = await cursor.fetchone()
        except psycopg.Error as exc:
            # SQLAlchemy's own handler: the same exception classes, events and invalidation.
            await conn.run_sync(_raise_as_sqlalchemy, exc, sql, params)
            raise  # not reached: the handler always raises
        assert row is not None
        return tuple(row)

    # Fares ------------------------------------------------------------------------------

    async def flight_view(self, flight_id: int, cabin: str) -> FareRow | None:
        """The flight with the cabin's price and seats (None when either is missing)."""
        conn = await self.session.connection()
        row = (await conn.execute(_FLIGHT, {"flight_id": flight_id, "cabin": cabin})).first()
        if row is None:
            return None
        return _fare_row(flight_id, tuple(row))

    async def flight_exists(self, flight_id: int) -> bool:
        return (
            await self.session.scalar(select(Flight.id).where(Flight.id == flight_id))
        ) is not None

    async def release_seats(self, flight_id: int, cabin: str, count: int) -> None:
        params = {"flight_id": flight_id, "cabin": cabin, "passenger_count": count}
        await self._fetch(statements.RELEASE_SEATS + " RETURNING 1", params)

    async def seats_left(self, flight_id: int, cabin: str) -> int:
        stmt = select(Fare.seats_available).where(Fare.flight_id == flight_id, Fare.cabin == cabin)
        return int(await self.session.scalar(stmt) or 0)

    # Bookings ---------------------------------------------------------------------------

    async def start_hold(
        self,
        tenant: str,
        key: str,
        operation: str,
        request_hash: str,
        flight_id: int,
        cabin: str,
    ) -> tuple[bool, FareRow | None]:
        """Claim ``key`` for this request and read the flight with the cabin's fare, in one
        statement: (the key is ours, the fare or None when the flight or cabin is missing).

        A concurrent request with the same key waits on the key's row until the first commits
        (then it is not ours: read it with :meth:`earlier`) or rolls back (then it is)."""
        params = {
            "tenant": tenant,
            "key": key,
            "operation": operation,
            "request_hash": request_hash,
            "flight_id": flight_id,
            "cabin": cabin,
        }
        row = await self._fetch(statements.HOLD_START, params)
        fare = None if row[1] is None else _fare_row(flight_id, row[1:])
        return bool(row[0]), fare

    async def write_hold(
        self,
        reference: str,
        booking: NewHold,
        passengers: Sequence[tuple[str, date | None]],
        *,
        actor: str,
        key: str,
        response: Mapping[str, Any],
    ) -> tuple[int | None, bool]:
        """Take the booking's seats and, when they were taken at its price, insert it (held, or
        confirmed at once) with its passengers, audit row and idempotent response: one
        statement. Returns (the price the seats were taken at, or None when too few were left;
        whether the booking was written). Seats taken at its price but nothing written: its
        reference is taken (give the seats back and draw another)."""
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
        taken_at, written = await self._fetch(statements.HOLD_WRITE, params)
        return (None if taken_at is None else int(taken_at)), bool(written)

    async def confirm(
        self,
        tenant: str,
        reference: str,
        now: datetime,
        actor: str,
        key: str | None,
        request_hash: str | None,
    ) -> Change:
        """Confirm the held booking if its hold has not lapsed, with its audit row and the key
        stored with its response: one statement (see :data:`statements.CONFIRM`)."""
        return await self._change(
            statements.CONFIRM, tenant, reference, now, actor, key, request_hash
        )

    async def cancel(
        self,
        tenant: str,
        reference: str,
        now: datetime,
        actor: str,
        key: str | None,
        request_hash: str | None,
    ) -> Change:
        """Cancel the held or confirmed booking unless its flight departed, give its seats
        back, with its audit row and the key stored with its response: one statement (see
        :data:`statements.CANCEL`)."""
        return await self._change(
            statements.CANCEL, tenant, reference, now, actor, key, request_hash
        )

    async def _change(
        self,
        sql: str,
        tenant: str,
        reference: str,
        now: datetime,
        actor: str,
        key: str | None,
        request_hash: str | None,
    ) -> Change:
        params = {
            "tenant": tenant,
            "reference": reference,
            "now": now,
            "actor": actor,
            "key": key,
            "request_hash": request_hash,
        }
        claimed, status, hold_expires_at, departed, view = await self._fetch(sql, params)
        return Change(bool(claimed), status, hold_expires_at, departed, view)

    async def get(self, tenant: str, reference: str, *, lock: bool = False) -> Booking | None:
        stmt = select(Booking).where(Booking.reference == reference, Booking.tenant == tenant)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

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

    async def earlier(self, tenant: str, key: str) -> KeyRecord:
        """The record of ``key``, which another request claimed and committed."""
        operation, request_hash, response = await self._fetch(
            statements.EARLIER, {"tenant": tenant, "key": key}
        )
        return KeyRecord(operation, request_hash, response)


def _fare_row(flight_id: int, row: tuple[Any, ...]) -> FareRow:
    number, airline, name, dep, arr, departs, arrives, dep_tz, arr_tz, price, seats = row
    flight = FlightRow(flight_id, number, airline, name, dep, arr, departs, arrives, dep_tz, arr_tz)
    return FareRow(flight, int(price), int(seats))


def _raise_as_sqlalchemy(
    connection: Connection, error: psycopg.Error, sql: str, params: Mapping[str, Any]
) -> NoReturn:
    connection._handle_dbapi_exception(error, sql, params, None, None)
