"""Seats over a booking's life against the seeded PostgreSQL: the expiry sweeper, and the
inventory check (``seats_booked`` equals the passengers of live bookings) after every change.

Each operation runs in its own ``session.begin()`` of the rolled-back ``session``; "now" is always
passed explicitly (``TEST_NOW``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import BookingNotCancellable, BookingNotConfirmable
from tests.conftest import TEST_NOW
from tests.support.bookings import (
    ACTOR,
    PASSENGERS,
    POLICY,
    TENANT,
    FareRow,
    audit_trail,
    cancel,
    confirm,
    drift,
    execute,
    expire,
    fare_row,
    get_booking,
    hold,
    roomy_fare,
    rows,
    scalar,
    seats_sold,
    status_of,
)


@pytest.fixture
async def fare(session: AsyncSession) -> FareRow:
    """An economy fare three to five days out with plenty of seats, on a flight with business."""
    return await roomy_fare(session)


# Expiry ----------------------------------------------------------------------------------


class TestExpiry:
    async def test_sweeper_expires_only_lapsed_holds(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        lapsed = await hold(session, fare.flight_id, PASSENGERS[:2], key="lapsed")
        confirmed = await hold(session, fare.flight_id, PASSENGERS[2:], key="confirmed")
        await confirm(session, confirmed["reference"])
        later = TEST_NOW + timedelta(minutes=10)
        fresh = await hold(session, fare.flight_id, PASSENGERS[:1], key="fresh", now=later)
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 4

        sweep_at = TEST_NOW + POLICY.hold_ttl + timedelta(seconds=1)
        # The seeded database is shared: count every hold due then, ours included.
        due = await scalar(
            session,
            "SELECT count(*) FROM bookings WHERE status = 'held' AND hold_expires_at <= :t",
            t=sweep_at,
        )
        assert due >= 1
        assert await expire(session, sweep_at) == due

        assert await status_of(session, lapsed["reference"]) == "expired"
        assert await status_of(session, confirmed["reference"]) == "confirmed"
        assert await status_of(session, fresh["reference"]) == "held"
        assert (
            seats_sold(fare, await fare_row(session, fare.flight_id)) == 2
        )  # the lapsed two are back
        assert await audit_trail(session, lapsed["reference"]) == [
            (None, "held", ACTOR),
            ("held", "expired", "sweeper"),
        ]
        assert (
            await scalar(
                session,
                "SELECT at FROM booking_events WHERE reference = :r AND to_status = 'expired'",
                r=lapsed["reference"],
            )
            == sweep_at
        )
        view = await get_booking(session, lapsed["reference"])
        assert view["status"] == "expired"
        assert datetime.fromisoformat(view["expired_at"]) == sweep_at
        assert view["hold_expires_at"] is None
        assert len(await audit_trail(session, fresh["reference"])) == 1

        # A second sweep at the same time finds nothing; a later one takes the fresh hold.
        assert await expire(session, sweep_at) == 0
        assert await expire(session, later + POLICY.hold_ttl) >= 1
        assert await status_of(session, fresh["reference"]) == "expired"
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 1  # the confirmed one
        assert await drift(session) == []

    async def test_an_expired_booking_cannot_be_confirmed_or_cancelled(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        after = TEST_NOW + POLICY.hold_ttl + timedelta(seconds=1)
        assert await expire(session, after) >= 1
        with pytest.raises(BookingNotConfirmable) as not_confirmable:
            await confirm(session, held["reference"], now=after)
        assert not_confirmable.value.details["booking_status"] == "expired"
        with pytest.raises(BookingNotCancellable) as not_cancellable:
            await cancel(session, held["reference"], now=after)
        assert not_cancellable.value.details["booking_status"] == "expired"
        assert await fare_row(session, fare.flight_id) == fare  # released once, by the sweeper

    async def test_sweeping_many_holds(self, session: AsyncSession) -> None:
        # More than one batch of 500 (512 holds), over many fares.
        fares = await rows(
            session,
            "SELECT x.flight_id FROM fares x JOIN flights f ON f.id = x.flight_id"
            " WHERE x.cabin = 'economy' AND x.seats_available >= 9"
            " AND f.departs_at BETWEEN :now + interval '3 days' AND :now + interval '4 days'"
            " ORDER BY f.id LIMIT 64",
            now=TEST_NOW,
        )
        assert len(fares) == 64
        for i, (flight_id,) in enumerate(fares):
            for j in range(8):
                await hold(
                    session,
                    flight_id,
                    [{"full_name": f"Khach Hang {chr(65 + j)}"}],
                    key=f"m{i}-{j}",
                )
        sweep_at = TEST_NOW + POLICY.hold_ttl
        # The seeded database is shared (other tests may have left holds): count all that is due.
        (due, due_seats), *_ = await rows(
            session,
            "SELECT count(*), sum(passenger_count) FROM bookings"
            " WHERE status = 'held' AND hold_expires_at <= :t",
            t=sweep_at,
        )
        assert due >= 512
        booked = await scalar(session, "SELECT sum(seats_booked) FROM fares")
        assert await expire(session, sweep_at) == due
        assert await scalar(session, "SELECT sum(seats_booked) FROM fares") == booked - due_seats
        assert (
            await scalar(
                session,
                "SELECT count(*) FROM bookings WHERE tenant = :t AND status = 'held'",
                t=TENANT,
            )
            == 0
        )
        assert await drift(session) == []


# Inventory -------------------------------------------------------------------------------


class TestInventory:
    async def test_drift_is_empty_after_every_kind_of_change(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        assert await drift(session) == []
        a = await hold(session, fare.flight_id, key="a")
        b = await hold(session, fare.flight_id, PASSENGERS[:2], key="b", cabin="business")
        c = await hold(session, fare.flight_id, PASSENGERS[:1], key="c")
        d = await hold(session, fare.flight_id, PASSENGERS[1:], key="d")
        assert await drift(session) == []
        await confirm(session, a["reference"])
        await confirm(session, b["reference"])
        await cancel(session, b["reference"])
        await cancel(session, c["reference"])
        assert await drift(session) == []
        assert await expire(session, TEST_NOW + POLICY.hold_ttl) >= 1  # d
        assert await status_of(session, d["reference"]) == "expired"
        assert await drift(session) == []
        after = await fare_row(session, fare.flight_id)
        assert seats_sold(fare, after) == 3  # only a is live
        business = await fare_row(session, fare.flight_id, "business")
        assert business.seats_booked == 0

    async def test_drift_detects_a_corrupted_count(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        await hold(session, fare.flight_id)
        await execute(
            session,
            "UPDATE fares SET seats_booked = seats_booked + 1, seats_available = seats_available - 1"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await drift(session) == [
            {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "seats_booked": 4,
                "live_passengers": 3,
            }
        ]

    async def test_drift_detects_seats_booked_without_bookings(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        await execute(
            session,
            "UPDATE fares SET seats_booked = 2, seats_available = seats_available - 2"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await drift(session) == [
            {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "seats_booked": 2,
                "live_passengers": 0,
            }
        ]

    async def test_drift_detects_bookings_whose_seats_were_never_counted(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        booking = await hold(session, fare.flight_id)
        await execute(
            session,
            "UPDATE fares SET seats_booked = 0, seats_available = seats_available + 3"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await drift(session) == [
            {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "seats_booked": 0,
                "live_passengers": 3,
            }
        ]
        # Cancelling that booking would take seats_booked below zero: the CHECK refuses it.
        with pytest.raises(IntegrityError, match="seats_booked_in_range"):
            await cancel(session, booking["reference"])
