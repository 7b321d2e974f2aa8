"""Queries for bookings, seat inventory, idempotency keys and approvals.

Seat inventory changes only through the conditional UPDATEs here: a hold takes seats with
``seats_available >= n`` in its WHERE clause (so concurrent holds serialize on the fare row and
none can take a seat that is gone), and every release moves ``seats_booked`` by the same amount,
so ``seats_booked`` always equals the passengers of live bookings (:meth:`inventory_drift`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import (
    Airline,
    Airport,
    Approval,
    Booking,
    BookingEvent,
    BookingPassenger,
    Fare,
    Flight,
    IdempotencyRecord,
)

LIVE = ("held", "confirmed")


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

    async def flight_view(self, flight_id: int, cabin: str) -> dict[str, Any] | None:
        """The flight as a traveller reads it (local times), with the cabin's price and seats."""
        origin, destination = Airport.__table__.alias("o"), Airport.__table__.alias("d")
        stmt = (
            select(
                Flight.flight_number,
                Flight.airline_code,
                Airline.name,
                Flight.origin,
                Flight.destination,
                Flight.departs_at,
                Flight.arrives_at,
                origin.c.timezone,
                destination.c.timezone,
                Fare.price_vnd,
                Fare.seats_available,
            )
            .join(Fare, and_(Fare.flight_id == Flight.id, Fare.cabin == cabin))
            .join(Airline, Airline.code == Flight.airline_code)
            .join(origin, origin.c.iata == Flight.origin)
            .join(destination, destination.c.iata == Flight.destination)
            .where(Flight.id == flight_id)
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        number, airline, name, dep, arr, departs, arrives, dep_tz, arr_tz, price, seats = row
        return {
            "flight_id": flight_id,
            "flight_number": number,
            "airline_code": airline,
            "airline_name": name,
            "origin": dep,
            "destination": arr,
            "departs_at": departs.astimezone(ZoneInfo(dep_tz)).isoformat(),
            "arrives_at": arrives.astimezone(ZoneInfo(arr_tz)).isoformat(),
            "duration_minutes": int((arrives - departs).total_seconds() // 60),
            "departs_utc": departs,
            "price_vnd": price,
            "seats_left": seats,
        }

    async def flight_exists(self, flight_id: int) -> bool:
        return (
            await self.session.scalar(select(Flight.id).where(Flight.id == flight_id))
        ) is not None

    async def take_seats(self, flight_id: int, cabin: str, count: int) -> int | None:
        """Take ``count`` seats if that many are left; the price per seat, else None."""
        stmt = (
            update(Fare)
            .where(Fare.flight_id == flight_id, Fare.cabin == cabin, Fare.seats_available >= count)
            .values(
                seats_available=Fare.seats_available - count,
                seats_booked=Fare.seats_booked + count,
            )
            .returning(Fare.price_vnd)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

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

    async def insert(self, values: dict[str, Any]) -> bool:
        """Insert a booking; False when its reference is taken (the caller draws another)."""
        stmt = (
            pg_insert(Booking)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Booking.reference])
            .returning(Booking.reference)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def add_passengers(
        self, reference: str, passengers: Sequence[tuple[str, date | None]]
    ) -> None:
        await self.session.execute(
            insert(BookingPassenger),
            [
                {"reference": reference, "position": i, "full_name": name, "date_of_birth": dob}
                for i, (name, dob) in enumerate(passengers, start=1)
            ],
        )

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

    async def view_rows(self, reference: str) -> tuple[Row[Any], Sequence[BookingPassenger]]:
        """The booking with its flight, airline and airport time zones, and its passengers."""
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
        passengers = (
            await self.session.scalars(
                select(BookingPassenger)
                .where(BookingPassenger.reference == reference)
                .order_by(BookingPassenger.position)
            )
        ).all()
        return row, passengers

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

    async def fare_counts(self, flight_id: int, cabin: str) -> Any:
        stmt = select(Fare.seats_total, Fare.seats_available, Fare.seats_booked).where(
            Fare.flight_id == flight_id, Fare.cabin == cabin
        )
        return (await self.session.execute(stmt)).first()

    # Idempotency ------------------------------------------------------------------------

    async def claim_key(
        self, tenant: str, key: str, operation: str, request_hash: str
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for this request; None when it is ours now, else the earlier record.

        A concurrent request with the same key waits on the row until the first commits (then
        reads its result) or rolls back (then claims the key itself)."""
        stmt = (
            pg_insert(IdempotencyRecord)
            .values(
                tenant=tenant, key=key, operation=operation, request_hash=request_hash, response={}
            )
            .on_conflict_do_nothing(
                index_elements=[IdempotencyRecord.tenant, IdempotencyRecord.key]
            )
            .returning(IdempotencyRecord.key)
        )
        if (await self.session.execute(stmt)).scalar_one_or_none() is not None:
            return None
        return await self.session.get(IdempotencyRecord, (tenant, key), populate_existing=True)

    async def store_response(self, tenant: str, key: str, response: dict[str, Any]) -> None:
        await self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.tenant == tenant, IdempotencyRecord.key == key)
            .values(response=response)
        )


class ApprovalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(Approval).values(**values))

    async def get(self, tenant: str, approval_id: str, *, lock: bool = False) -> Approval | None:
        stmt = select(Approval).where(Approval.id == approval_id, Approval.tenant == tenant)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def for_turn(self, turn_id: str, *, lock: bool = False) -> Sequence[Approval]:
        stmt = select(Approval).where(Approval.turn_id == turn_id).order_by(Approval.created_at)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).all()

    async def pending(self, conversation_id: str) -> Sequence[Approval]:
        stmt = (
            select(Approval)
            .where(Approval.conversation_id == conversation_id, Approval.status == "pending")
            .order_by(Approval.created_at)
        )
        return (await self.session.scalars(stmt)).all()

    async def decide(self, approval_id: str, status: str, reason: str | None, at: datetime) -> None:
        await self.session.execute(
            update(Approval)
            .where(Approval.id == approval_id)
            .values(status=status, reason=reason, decided_at=at)
        )

    async def delete_for_turn(self, turn_id: str) -> None:
        await self.session.execute(delete(Approval).where(Approval.turn_id == turn_id))
