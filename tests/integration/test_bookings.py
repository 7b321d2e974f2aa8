"""Bookings against the seeded PostgreSQL: hold, confirm, cancel.

Every test runs in the rolled-back ``session``; each operation runs in its own
``session.begin()`` (a savepoint here), as a caller owning the transaction would, so a refused
operation leaves nothing behind. "Now" is always passed explicitly (``TEST_NOW``). The rules are
in ``test_booking_rules.py``, expiry and the seat inventory in ``test_booking_inventory.py``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import bookings
from booking.domain.types import Contact, Passenger
from booking.errors import (
    BookingNotCancellable,
    BookingNotConfirmable,
    HoldExpired,
    IdempotencyKeyReused,
)
from tests.conftest import TEST_NOW
from tests.support.bookings import (
    ACTOR,
    PASSENGERS,
    POLICY,
    REFERENCE,
    TENANT,
    VALID_PASSENGERS,
    FareRow,
    audit_trail,
    cancel,
    confirm,
    execute,
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


# Hold ------------------------------------------------------------------------------------


class TestHold:
    async def test_hold_takes_the_seats_at_once(self, session: AsyncSession, fare: FareRow) -> None:
        booking = await hold(session, fare.flight_id)

        after = await fare_row(session, fare.flight_id)
        assert after.seats_available == fare.seats_available - 3
        assert after.seats_booked == fare.seats_booked + 3
        assert REFERENCE.match(booking["reference"])
        assert booking["status"] == "held"
        assert booking["cabin"] == "economy"
        assert booking["price_per_passenger_vnd"] == fare.price_vnd
        assert booking["total_vnd"] == 3 * fare.price_vnd
        assert booking["currency"] == "VND"
        assert booking["flight"]["flight_id"] == fare.flight_id
        assert datetime.fromisoformat(booking["flight"]["departs_at"]) == fare.departs_at
        assert datetime.fromisoformat(booking["hold_expires_at"]) == TEST_NOW + POLICY.hold_ttl
        assert datetime.fromisoformat(booking["created_at"]) == TEST_NOW
        assert booking["confirmed_at"] is booking["cancelled_at"] is booking["expired_at"] is None
        # Names are stored as given (whitespace collapsed), in order; the e-mail lower-cased.
        assert booking["passengers"] == [
            {"full_name": "Trần Thị Lan", "date_of_birth": "1990-04-12"},
            {"full_name": "Nguyễn Văn An", "date_of_birth": None},
            {"full_name": "Lê Minh Đức", "date_of_birth": None},
        ]
        assert booking["contact"] == {"email": "lan.tran@example.vn", "phone": "+84912345678"}

        (row,) = await rows(
            session,
            "SELECT tenant, flight_id, cabin, status, passenger_count, price_per_passenger_vnd,"
            " total_vnd, hold_expires_at FROM bookings WHERE reference = :r",
            r=booking["reference"],
        )
        assert tuple(row) == (
            TENANT,
            fare.flight_id,
            "economy",
            "held",
            3,
            fare.price_vnd,
            3 * fare.price_vnd,
            TEST_NOW + POLICY.hold_ttl,
        )
        stored = await rows(
            session,
            "SELECT position, full_name, date_of_birth FROM booking_passengers"
            " WHERE reference = :r ORDER BY position",
            r=booking["reference"],
        )
        assert [tuple(p) for p in stored] == [
            (1, "Trần Thị Lan", date(1990, 4, 12)),
            (2, "Nguyễn Văn An", None),
            (3, "Lê Minh Đức", None),
        ]
        assert await audit_trail(session, booking["reference"]) == [(None, "held", ACTOR)]
        assert await scalar(
            session, "SELECT at FROM booking_events WHERE reference = :r", r=booking["reference"]
        ) == (TEST_NOW)

        # Every valid party of the passenger rules (tests/unit/test_passengers.py) is held as
        # given, one seat per passenger.
        for case, passengers in VALID_PASSENGERS.items():
            before = await fare_row(session, fare.flight_id)
            party = await hold(session, fare.flight_id, passengers, key=f"valid {case}")
            assert [p["full_name"] for p in party["passengers"]] == [
                p["full_name"] for p in passengers
            ]
            assert seats_sold(before, await fare_row(session, fare.flight_id)) == len(passengers)

    async def test_price_is_frozen_at_hold_time(self, session: AsyncSession, fare: FareRow) -> None:
        booking = await hold(session, fare.flight_id, PASSENGERS[:2])
        await execute(
            session,
            "UPDATE fares SET price_vnd = price_vnd * 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        again = await get_booking(session, booking["reference"])
        assert again["price_per_passenger_vnd"] == fare.price_vnd
        assert again["total_vnd"] == 2 * fare.price_vnd
        assert again == booking

    async def test_business_cabin_has_its_own_price_and_seats(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        business = await fare_row(session, fare.flight_id, "business")
        booking = await hold(session, fare.flight_id, PASSENGERS[:1], cabin="business")
        assert booking["cabin"] == "business"
        assert booking["price_per_passenger_vnd"] == business.price_vnd
        assert seats_sold(business, await fare_row(session, fare.flight_id, "business")) == 1
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 0

    async def test_hold_stores_the_conversation(self, session: AsyncSession, fare: FareRow) -> None:
        async with session.begin():
            view = await bookings.hold(
                session,
                tenant=TENANT,
                flight_id=fare.flight_id,
                cabin="economy",
                passengers=[Passenger("Phạm Quốc Bảo", date(1985, 1, 2))],
                contact=Contact(phone="0912 345 678"),
                idempotency_key="hold-conv",
                now=TEST_NOW,
                policy=POLICY,
                actor="agent:conv-1",
                conversation_id="conv-1",
            )
        booking = view.to_dict()
        assert booking["passengers"] == [
            {"full_name": "Phạm Quốc Bảo", "date_of_birth": "1985-01-02"}
        ]
        assert booking["contact"] == {"email": None, "phone": "0912345678"}
        assert (
            await scalar(
                session,
                "SELECT conversation_id FROM bookings WHERE reference = :r",
                r=booking["reference"],
            )
            == "conv-1"
        )
        assert await audit_trail(session, booking["reference"]) == [(None, "held", "agent:conv-1")]


# Confirm ---------------------------------------------------------------------------------


class TestConfirm:
    async def test_confirm_a_held_booking(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        at = TEST_NOW + timedelta(minutes=5)
        confirmed = await confirm(session, held["reference"], now=at)

        assert confirmed["status"] == "confirmed"
        assert confirmed["reference"] == held["reference"]
        assert datetime.fromisoformat(confirmed["confirmed_at"]) == at
        assert confirmed["hold_expires_at"] is None
        assert confirmed["total_vnd"] == held["total_vnd"]
        assert confirmed["passengers"] == held["passengers"]
        assert await status_of(session, held["reference"]) == "confirmed"
        assert await audit_trail(session, held["reference"]) == [
            (None, "held", ACTOR),
            ("held", "confirmed", ACTOR),
        ]
        # Confirming does not touch the seats: they were taken by the hold.
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3

    async def test_confirming_twice_returns_the_same_booking(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        first = await confirm(session, held["reference"], now=TEST_NOW + timedelta(minutes=1))
        # Even after the hold time: a confirmed booking does not expire.
        second = await confirm(session, held["reference"], now=TEST_NOW + timedelta(hours=1))
        assert second == first
        assert len(await audit_trail(session, held["reference"])) == 2
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3

    async def test_reference_is_read_case_insensitively(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        confirmed = await confirm(session, f"  {held['reference'].lower()} ")
        assert confirmed["reference"] == held["reference"]

    @pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(hours=3)])
    async def test_confirm_after_the_hold_expired(
        self, session: AsyncSession, fare: FareRow, late: timedelta
    ) -> None:
        held = await hold(session, fare.flight_id)
        with pytest.raises(HoldExpired) as caught:
            await confirm(session, held["reference"], now=TEST_NOW + POLICY.hold_ttl + late)
        assert caught.value.code == "hold_expired"
        # Not swept yet: still held, seats still taken, until the sweeper runs.
        assert await status_of(session, held["reference"]) == "held"
        assert await audit_trail(session, held["reference"]) == [(None, "held", ACTOR)]
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3

    async def test_confirm_just_before_expiry(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        at = TEST_NOW + POLICY.hold_ttl - timedelta(seconds=1)
        assert (await confirm(session, held["reference"], now=at))["status"] == "confirmed"

    async def test_idempotent_confirm(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        first = await confirm(session, held["reference"], key="confirm-1")
        assert await confirm(session, held["reference"], key="confirm-1") == first
        with pytest.raises(IdempotencyKeyReused):
            await cancel(session, held["reference"], key="confirm-1")
        assert await status_of(session, held["reference"]) == "confirmed"


# Cancel ----------------------------------------------------------------------------------


class TestCancel:
    async def test_cancel_a_held_booking_gives_the_seats_back(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3
        at = TEST_NOW + timedelta(minutes=2)
        cancelled = await cancel(session, held["reference"], now=at)

        assert cancelled["status"] == "cancelled"
        assert datetime.fromisoformat(cancelled["cancelled_at"]) == at
        assert cancelled["hold_expires_at"] is None
        assert await fare_row(session, fare.flight_id) == fare
        # (from_status is checked by test_audit_trail_records_the_status_cancelled_from.)
        assert [e[1:] for e in await audit_trail(session, held["reference"])] == [
            ("held", ACTOR),
            ("cancelled", ACTOR),
        ]

    async def test_cancel_a_confirmed_booking_gives_the_seats_back(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        await confirm(session, held["reference"])
        # Long after the hold time: a confirmed booking can be cancelled until departure.
        cancelled = await cancel(session, held["reference"], now=TEST_NOW + timedelta(days=1))
        assert cancelled["status"] == "cancelled"
        assert cancelled["confirmed_at"] is not None
        assert await fare_row(session, fare.flight_id) == fare
        assert [e[1:] for e in await audit_trail(session, held["reference"])] == [
            ("held", ACTOR),
            ("confirmed", ACTOR),
            ("cancelled", ACTOR),
        ]

    @pytest.mark.parametrize("confirmed", [False, True], ids=["held", "confirmed"])
    async def test_audit_trail_records_the_status_cancelled_from(
        self, session: AsyncSession, fare: FareRow, confirmed: bool
    ) -> None:
        held = await hold(session, fare.flight_id)
        if confirmed:
            await confirm(session, held["reference"])
        await cancel(session, held["reference"])
        events = await audit_trail(session, held["reference"])
        assert events[-1] == ("confirmed" if confirmed else "held", "cancelled", ACTOR)

    async def test_idempotent_cancel(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        first = await cancel(session, held["reference"], key="cancel-1")
        assert await cancel(session, held["reference"], key="cancel-1") == first
        assert await fare_row(session, fare.flight_id) == fare

    async def test_cancelling_twice_is_a_no_op(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        first = await cancel(session, held["reference"])
        second = await cancel(session, held["reference"], now=TEST_NOW + timedelta(minutes=30))
        assert second == first
        assert await fare_row(session, fare.flight_id) == fare  # released once, not twice
        assert [e[1] for e in await audit_trail(session, held["reference"])] == [
            "held",
            "cancelled",
        ]

    async def test_a_cancelled_booking_cannot_be_confirmed(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        await cancel(session, held["reference"])
        with pytest.raises(BookingNotConfirmable) as caught:
            await confirm(session, held["reference"])
        assert caught.value.details["booking_status"] == "cancelled"

    async def test_no_cancel_after_departure(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        await confirm(session, held["reference"])
        with pytest.raises(BookingNotCancellable):
            await cancel(session, held["reference"], now=fare.departs_at)
        assert await status_of(session, held["reference"]) == "confirmed"
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 3
