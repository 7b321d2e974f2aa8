"""Bookings against the seeded PostgreSQL: hold, confirm, cancel, expire, idempotency, rules.

Every test runs in the rolled-back ``session``; each operation runs in its own
``session.begin()`` (a savepoint here), as a caller owning the transaction would, so a refused
operation leaves nothing behind. "Now" is always passed explicitly (``TEST_NOW``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import bookings
from booking.domain.approval_text import approval_summary
from booking.domain.bookings import Policy
from booking.errors import (
    BookingClosed,
    BookingNotCancellable,
    BookingNotConfirmable,
    BookingNotFound,
    FlightNotFound,
    HoldExpired,
    IdempotencyKeyReused,
    InvalidContact,
    InvalidPassengers,
    SoldOut,
    UnknownCabin,
)
from tests.conftest import TEST_NOW

POLICY = Policy()
TENANT = "tenant-bookings-a"
OTHER_TENANT = "tenant-bookings-b"
ACTOR = "test:bookings"
CONTACT: dict[str, Any] = {"email": "Lan.Tran@Example.vn", "phone": "+84 912 345 678"}
PASSENGERS: list[dict[str, Any]] = [
    {"full_name": "Trần Thị Lan", "date_of_birth": "1990-04-12"},
    {"full_name": "Nguyễn Văn An", "date_of_birth": None},
    {"full_name": "Lê  Minh   Đức"},
]
REFERENCE = re.compile(r"^[ACDEFGHJKMNPQRTUVWXY34679]{6}$")
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class FareRow:
    flight_id: int
    cabin: str
    price_vnd: int
    seats_available: int
    seats_booked: int
    seats_total: int
    departs_at: datetime


# Helpers ---------------------------------------------------------------------------------


async def _rows(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    async with session.begin():
        return list((await session.execute(text(sql), params)).all())


async def _scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    async with session.begin():
        return await session.scalar(text(sql), params)


async def _exec(session: AsyncSession, sql: str, **params: Any) -> None:
    async with session.begin():
        await session.execute(text(sql), params)


FARE_COLUMNS = (
    "x.flight_id, x.cabin, x.price_vnd, x.seats_available, x.seats_booked, x.seats_total, "
    "f.departs_at FROM fares x JOIN flights f ON f.id = x.flight_id"
)


async def _find_fare(session: AsyncSession, where: str, **params: Any) -> FareRow:
    rows = await _rows(
        session,
        f"SELECT {FARE_COLUMNS} WHERE {where} ORDER BY f.departs_at, f.id LIMIT 1",
        now=TEST_NOW,
        **params,
    )
    assert rows, f"the seeded schedule has no fare where {where}"
    return FareRow(*rows[0])


async def _fare(session: AsyncSession, flight_id: int, cabin: str = "economy") -> FareRow:
    return await _find_fare(
        session, "x.flight_id = :id AND x.cabin = :cabin", id=flight_id, cabin=cabin
    )


async def _hold(
    session: AsyncSession,
    flight_id: int,
    passengers: list[dict[str, Any]] | None = None,
    *,
    key: str = "hold-1",
    tenant: str = TENANT,
    cabin: str = "economy",
    contact: dict[str, Any] | None = CONTACT,
    now: datetime = TEST_NOW,
) -> dict[str, Any]:
    async with session.begin():
        return await bookings.hold(
            session,
            tenant=tenant,
            flight_id=flight_id,
            cabin=cabin,
            passengers=PASSENGERS if passengers is None else passengers,
            contact=contact,
            idempotency_key=key,
            now=now,
            policy=POLICY,
            actor=ACTOR,
        )


async def _confirm(
    session: AsyncSession,
    reference: str,
    *,
    tenant: str = TENANT,
    now: datetime = TEST_NOW,
    key: str | None = None,
) -> dict[str, Any]:
    async with session.begin():
        return await bookings.confirm(
            session, tenant=tenant, reference=reference, now=now, actor=ACTOR, idempotency_key=key
        )


async def _cancel(
    session: AsyncSession,
    reference: str,
    *,
    tenant: str = TENANT,
    now: datetime = TEST_NOW,
    key: str | None = None,
) -> dict[str, Any]:
    async with session.begin():
        return await bookings.cancel(
            session, tenant=tenant, reference=reference, now=now, actor=ACTOR, idempotency_key=key
        )


async def _get(session: AsyncSession, reference: str, *, tenant: str = TENANT) -> dict[str, Any]:
    async with session.begin():
        return await bookings.get(session, tenant=tenant, reference=reference)


async def _expire(session: AsyncSession, now: datetime) -> int:
    async with session.begin():
        return await bookings.expire_holds(session, now)


async def _drift(session: AsyncSession) -> list[dict[str, Any]]:
    async with session.begin():
        return await bookings.inventory_drift(session)


async def _events(session: AsyncSession, reference: str) -> list[tuple[str | None, str, str]]:
    rows = await _rows(
        session,
        "SELECT from_status, to_status, actor FROM booking_events WHERE reference = :r ORDER BY id",
        r=reference,
    )
    return [tuple(row) for row in rows]


async def _status(session: AsyncSession, reference: str) -> str:
    status = await _scalar(session, "SELECT status FROM bookings WHERE reference = :r", r=reference)
    assert isinstance(status, str)
    return status


async def _counts(session: AsyncSession) -> tuple[int, int, int, int, int]:
    rows = await _rows(
        session,
        "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM booking_passengers), "
        "(SELECT count(*) FROM booking_events), (SELECT count(*) FROM idempotency_keys), "
        "(SELECT sum(seats_booked) FROM fares)",
    )
    a, b, c, d, e = rows[0]
    return a, b, c, d, e


@pytest.fixture
async def fare(session: AsyncSession) -> FareRow:
    """An economy fare three to five days out with plenty of seats, on a flight with business."""
    return await _find_fare(
        session,
        "x.cabin = 'economy' AND x.seats_available >= 30 AND x.seats_booked = 0"
        " AND f.departs_at BETWEEN :now + interval '3 days' AND :now + interval '5 days'"
        " AND EXISTS (SELECT 1 FROM fares b WHERE b.flight_id = f.id AND b.cabin = 'business')",
    )


def _sold(before: FareRow, after: FareRow) -> int:
    """Seats taken between two readings; the total a fare sells is constant."""
    assert (
        after.seats_available + after.seats_booked == before.seats_available + before.seats_booked
    )
    assert after.seats_total == before.seats_total
    return after.seats_booked - before.seats_booked


# Hold ------------------------------------------------------------------------------------


class TestHold:
    async def test_hold_takes_the_seats_at_once(self, session: AsyncSession, fare: FareRow) -> None:
        booking = await _hold(session, fare.flight_id)

        after = await _fare(session, fare.flight_id)
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

        (row,) = await _rows(
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
        stored = await _rows(
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
        assert await _events(session, booking["reference"]) == [(None, "held", ACTOR)]
        assert await _scalar(
            session, "SELECT at FROM booking_events WHERE reference = :r", r=booking["reference"]
        ) == (TEST_NOW)

    async def test_price_is_frozen_at_hold_time(self, session: AsyncSession, fare: FareRow) -> None:
        booking = await _hold(session, fare.flight_id, PASSENGERS[:2])
        await _exec(
            session,
            "UPDATE fares SET price_vnd = price_vnd * 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        again = await _get(session, booking["reference"])
        assert again["price_per_passenger_vnd"] == fare.price_vnd
        assert again["total_vnd"] == 2 * fare.price_vnd
        assert again == booking

    async def test_business_cabin_has_its_own_price_and_seats(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        business = await _fare(session, fare.flight_id, "business")
        booking = await _hold(session, fare.flight_id, PASSENGERS[:1], cabin="business")
        assert booking["cabin"] == "business"
        assert booking["price_per_passenger_vnd"] == business.price_vnd
        assert _sold(business, await _fare(session, fare.flight_id, "business")) == 1
        assert _sold(fare, await _fare(session, fare.flight_id)) == 0

    async def test_hold_stores_the_conversation(self, session: AsyncSession, fare: FareRow) -> None:
        async with session.begin():
            booking = await bookings.hold(
                session,
                tenant=TENANT,
                flight_id=fare.flight_id,
                cabin="economy",
                passengers=[bookings.Passenger("Phạm Quốc Bảo", date(1985, 1, 2))],
                contact=bookings.Contact(phone="0912 345 678"),
                idempotency_key="hold-conv",
                now=TEST_NOW,
                policy=POLICY,
                actor="agent:conv-1",
                conversation_id="conv-1",
            )
        assert booking["passengers"] == [
            {"full_name": "Phạm Quốc Bảo", "date_of_birth": "1985-01-02"}
        ]
        assert booking["contact"] == {"email": None, "phone": "0912345678"}
        assert (
            await _scalar(
                session,
                "SELECT conversation_id FROM bookings WHERE reference = :r",
                r=booking["reference"],
            )
            == "conv-1"
        )
        assert await _events(session, booking["reference"]) == [(None, "held", "agent:conv-1")]


# Confirm ---------------------------------------------------------------------------------


class TestConfirm:
    async def test_confirm_a_held_booking(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        at = TEST_NOW + timedelta(minutes=5)
        confirmed = await _confirm(session, held["reference"], now=at)

        assert confirmed["status"] == "confirmed"
        assert confirmed["reference"] == held["reference"]
        assert datetime.fromisoformat(confirmed["confirmed_at"]) == at
        assert confirmed["hold_expires_at"] is None
        assert confirmed["total_vnd"] == held["total_vnd"]
        assert confirmed["passengers"] == held["passengers"]
        assert await _status(session, held["reference"]) == "confirmed"
        assert await _events(session, held["reference"]) == [
            (None, "held", ACTOR),
            ("held", "confirmed", ACTOR),
        ]
        # Confirming does not touch the seats: they were taken by the hold.
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3

    async def test_confirming_twice_returns_the_same_booking(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        first = await _confirm(session, held["reference"], now=TEST_NOW + timedelta(minutes=1))
        # Even after the hold time: a confirmed booking does not expire.
        second = await _confirm(session, held["reference"], now=TEST_NOW + timedelta(hours=1))
        assert second == first
        assert len(await _events(session, held["reference"])) == 2
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3

    async def test_reference_is_read_case_insensitively(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        confirmed = await _confirm(session, f"  {held['reference'].lower()} ")
        assert confirmed["reference"] == held["reference"]

    @pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(hours=3)])
    async def test_confirm_after_the_hold_expired(
        self, session: AsyncSession, fare: FareRow, late: timedelta
    ) -> None:
        held = await _hold(session, fare.flight_id)
        with pytest.raises(HoldExpired) as caught:
            await _confirm(session, held["reference"], now=TEST_NOW + POLICY.hold_ttl + late)
        assert caught.value.code == "hold_expired"
        # Not swept yet: still held, seats still taken, until the sweeper runs.
        assert await _status(session, held["reference"]) == "held"
        assert await _events(session, held["reference"]) == [(None, "held", ACTOR)]
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3

    async def test_confirm_just_before_expiry(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        at = TEST_NOW + POLICY.hold_ttl - timedelta(seconds=1)
        assert (await _confirm(session, held["reference"], now=at))["status"] == "confirmed"

    async def test_idempotent_confirm(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        first = await _confirm(session, held["reference"], key="confirm-1")
        assert await _confirm(session, held["reference"], key="confirm-1") == first
        with pytest.raises(IdempotencyKeyReused):
            await _cancel(session, held["reference"], key="confirm-1")
        assert await _status(session, held["reference"]) == "confirmed"


# Cancel ----------------------------------------------------------------------------------


class TestCancel:
    async def test_cancel_a_held_booking_gives_the_seats_back(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3
        at = TEST_NOW + timedelta(minutes=2)
        cancelled = await _cancel(session, held["reference"], now=at)

        assert cancelled["status"] == "cancelled"
        assert datetime.fromisoformat(cancelled["cancelled_at"]) == at
        assert cancelled["hold_expires_at"] is None
        assert await _fare(session, fare.flight_id) == fare
        # (from_status is checked by test_audit_trail_records_the_status_cancelled_from.)
        assert [e[1:] for e in await _events(session, held["reference"])] == [
            ("held", ACTOR),
            ("cancelled", ACTOR),
        ]

    async def test_cancel_a_confirmed_booking_gives_the_seats_back(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        await _confirm(session, held["reference"])
        # Long after the hold time: a confirmed booking can be cancelled until departure.
        cancelled = await _cancel(session, held["reference"], now=TEST_NOW + timedelta(days=1))
        assert cancelled["status"] == "cancelled"
        assert cancelled["confirmed_at"] is not None
        assert await _fare(session, fare.flight_id) == fare
        assert [e[1:] for e in await _events(session, held["reference"])] == [
            ("held", ACTOR),
            ("confirmed", ACTOR),
            ("cancelled", ACTOR),
        ]

    @pytest.mark.parametrize("confirmed", [False, True], ids=["held", "confirmed"])
    async def test_audit_trail_records_the_status_cancelled_from(
        self, session: AsyncSession, fare: FareRow, confirmed: bool
    ) -> None:
        held = await _hold(session, fare.flight_id)
        if confirmed:
            await _confirm(session, held["reference"])
        await _cancel(session, held["reference"])
        events = await _events(session, held["reference"])
        assert events[-1] == ("confirmed" if confirmed else "held", "cancelled", ACTOR)

    async def test_idempotent_cancel(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        first = await _cancel(session, held["reference"], key="cancel-1")
        assert await _cancel(session, held["reference"], key="cancel-1") == first
        assert await _fare(session, fare.flight_id) == fare

    async def test_cancelling_twice_is_a_no_op(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        first = await _cancel(session, held["reference"])
        second = await _cancel(session, held["reference"], now=TEST_NOW + timedelta(minutes=30))
        assert second == first
        assert await _fare(session, fare.flight_id) == fare  # released once, not twice
        assert [e[1] for e in await _events(session, held["reference"])] == ["held", "cancelled"]

    async def test_a_cancelled_booking_cannot_be_confirmed(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        await _cancel(session, held["reference"])
        with pytest.raises(BookingNotConfirmable) as caught:
            await _confirm(session, held["reference"])
        assert caught.value.details["booking_status"] == "cancelled"

    async def test_no_cancel_after_departure(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        await _confirm(session, held["reference"])
        with pytest.raises(BookingNotCancellable):
            await _cancel(session, held["reference"], now=fare.departs_at)
        assert await _status(session, held["reference"]) == "confirmed"
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3


# Expiry ----------------------------------------------------------------------------------


class TestExpiry:
    async def test_sweeper_expires_only_lapsed_holds(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        lapsed = await _hold(session, fare.flight_id, PASSENGERS[:2], key="lapsed")
        confirmed = await _hold(session, fare.flight_id, PASSENGERS[2:], key="confirmed")
        await _confirm(session, confirmed["reference"])
        later = TEST_NOW + timedelta(minutes=10)
        fresh = await _hold(session, fare.flight_id, PASSENGERS[:1], key="fresh", now=later)
        assert _sold(fare, await _fare(session, fare.flight_id)) == 4

        sweep_at = TEST_NOW + POLICY.hold_ttl + timedelta(seconds=1)
        # The seeded database is shared: count every hold due then, ours included.
        due = await _scalar(
            session,
            "SELECT count(*) FROM bookings WHERE status = 'held' AND hold_expires_at <= :t",
            t=sweep_at,
        )
        assert due >= 1
        assert await _expire(session, sweep_at) == due

        assert await _status(session, lapsed["reference"]) == "expired"
        assert await _status(session, confirmed["reference"]) == "confirmed"
        assert await _status(session, fresh["reference"]) == "held"
        assert _sold(fare, await _fare(session, fare.flight_id)) == 2  # the lapsed two are back
        assert await _events(session, lapsed["reference"]) == [
            (None, "held", ACTOR),
            ("held", "expired", "sweeper"),
        ]
        assert (
            await _scalar(
                session,
                "SELECT at FROM booking_events WHERE reference = :r AND to_status = 'expired'",
                r=lapsed["reference"],
            )
            == sweep_at
        )
        view = await _get(session, lapsed["reference"])
        assert view["status"] == "expired"
        assert datetime.fromisoformat(view["expired_at"]) == sweep_at
        assert view["hold_expires_at"] is None
        assert len(await _events(session, fresh["reference"])) == 1

        # A second sweep at the same time finds nothing; a later one takes the fresh hold.
        assert await _expire(session, sweep_at) == 0
        assert await _expire(session, later + POLICY.hold_ttl) >= 1
        assert await _status(session, fresh["reference"]) == "expired"
        assert _sold(fare, await _fare(session, fare.flight_id)) == 1  # the confirmed one
        assert await _drift(session) == []

    async def test_an_expired_booking_cannot_be_confirmed_or_cancelled(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await _hold(session, fare.flight_id)
        after = TEST_NOW + POLICY.hold_ttl + timedelta(seconds=1)
        assert await _expire(session, after) >= 1
        with pytest.raises(BookingNotConfirmable) as not_confirmable:
            await _confirm(session, held["reference"], now=after)
        assert not_confirmable.value.details["booking_status"] == "expired"
        with pytest.raises(BookingNotCancellable) as not_cancellable:
            await _cancel(session, held["reference"], now=after)
        assert not_cancellable.value.details["booking_status"] == "expired"
        assert await _fare(session, fare.flight_id) == fare  # released once, by the sweeper

    async def test_sweeping_many_holds(self, session: AsyncSession) -> None:
        # More than one batch of 500 (512 holds), over many fares.
        fares = await _rows(
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
                await _hold(
                    session,
                    flight_id,
                    [{"full_name": f"Khach Hang {chr(65 + j)}"}],
                    key=f"m{i}-{j}",
                )
        sweep_at = TEST_NOW + POLICY.hold_ttl
        # The seeded database is shared (other tests may have left holds): count all that is due.
        (due, due_seats), *_ = await _rows(
            session,
            "SELECT count(*), sum(passenger_count) FROM bookings"
            " WHERE status = 'held' AND hold_expires_at <= :t",
            t=sweep_at,
        )
        assert due >= 512
        booked = await _scalar(session, "SELECT sum(seats_booked) FROM fares")
        assert await _expire(session, sweep_at) == due
        assert await _scalar(session, "SELECT sum(seats_booked) FROM fares") == booked - due_seats
        assert (
            await _scalar(
                session,
                "SELECT count(*) FROM bookings WHERE tenant = :t AND status = 'held'",
                t=TENANT,
            )
            == 0
        )
        assert await _drift(session) == []


# Idempotency and tenants -----------------------------------------------------------------


class TestIdempotency:
    async def test_same_key_same_request_returns_the_same_booking(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        first = await _hold(session, fare.flight_id, key="same")
        # A retry a minute later, the e-mail written differently and the names spaced
        # differently: the same request once validated.
        retry_passengers = [{**p, "full_name": f" {p['full_name']} "} for p in PASSENGERS]
        retry_contact = {**CONTACT, "email": CONTACT["email"].upper()}
        again = await _hold(
            session,
            fare.flight_id,
            retry_passengers,
            key="same",
            contact=retry_contact,
            now=TEST_NOW + timedelta(minutes=1),
        )
        assert again == first
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3
        assert (
            await _scalar(
                session,
                "SELECT count(*) FROM bookings WHERE flight_id = :id AND tenant = :t",
                id=fare.flight_id,
                t=TENANT,
            )
            == 1
        )

    @pytest.mark.parametrize(
        "change",
        [
            {"passengers": PASSENGERS[:2]},
            {"cabin": "business"},
            {"contact": {"email": "someone.else@example.vn"}},
            {"flight": "other"},
        ],
    )
    async def test_same_key_different_request_is_refused(
        self, session: AsyncSession, fare: FareRow, change: dict[str, Any]
    ) -> None:
        await _hold(session, fare.flight_id, key="reused")
        change = dict(change)
        flight_id = fare.flight_id
        if change.pop("flight", None):
            flight_id = (
                await _find_fare(
                    session,
                    "x.cabin = 'economy' AND x.seats_available >= 9 AND x.flight_id <> :id"
                    " AND f.departs_at > :now + interval '3 days'",
                    id=fare.flight_id,
                )
            ).flight_id
        with pytest.raises(IdempotencyKeyReused) as caught:
            await _hold(session, flight_id, key="reused", **change)
        assert caught.value.code == "idempotency_key_reused"
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3

    async def test_keys_are_per_tenant(self, session: AsyncSession, fare: FareRow) -> None:
        mine = await _hold(session, fare.flight_id, key="shared-key")
        theirs = await _hold(session, fare.flight_id, key="shared-key", tenant=OTHER_TENANT)
        assert mine["reference"] != theirs["reference"]
        assert _sold(fare, await _fare(session, fare.flight_id)) == 6

    async def test_tenant_isolation(self, session: AsyncSession, fare: FareRow) -> None:
        held = await _hold(session, fare.flight_id)
        reference = held["reference"]
        with pytest.raises(BookingNotFound):
            await _get(session, reference, tenant=OTHER_TENANT)
        with pytest.raises(BookingNotFound):
            await _confirm(session, reference, tenant=OTHER_TENANT)
        with pytest.raises(BookingNotFound):
            await _cancel(session, reference, tenant=OTHER_TENANT)
        # Nothing changed for the owner.
        assert await _get(session, reference) == held
        assert await _events(session, reference) == [(None, "held", ACTOR)]
        assert _sold(fare, await _fare(session, fare.flight_id)) == 3

    async def test_unknown_reference(self, session: AsyncSession) -> None:
        with pytest.raises(BookingNotFound):
            await _get(session, "AAAAAA")


# Rules -----------------------------------------------------------------------------------


def _named(*names: str) -> list[dict[str, Any]]:
    return [{"full_name": n} for n in names]


class TestRules:
    @pytest.mark.parametrize(
        "passengers",
        [
            pytest.param([], id="no passengers"),
            pytest.param(_named(*(f"Khach Hang {chr(65 + i)}" for i in range(10))), id="ten"),
            pytest.param(_named("Madonna"), id="one word"),
            pytest.param(_named("Nguyen Van An 2"), id="digits"),
            pytest.param(_named("R2D2 Droid"), id="digits inside a word"),
            pytest.param(_named("Tran_Thi Lan"), id="underscore"),
            pytest.param(_named(""), id="empty name"),
            pytest.param([{"date_of_birth": "1990-01-01"}], id="no name"),
            pytest.param(_named("Tran Thi Lan", "Tran Thi Lan"), id="twice"),
            pytest.param(_named("Nguyễn Văn An", "nguyen van an"), id="twice, diacritics and case"),
            pytest.param(_named("Đặng Thu Hà", "dang thu ha"), id="twice, d-stroke"),
            pytest.param(_named("Lê Văn Tám", "LÊ   VĂN TÁM"), id="twice, spacing and case"),
            pytest.param(
                [{"full_name": "Tran Thi Lan", "date_of_birth": "2026-06-02"}], id="born tomorrow"
            ),
            pytest.param(
                [{"full_name": "Tran Thi Lan", "date_of_birth": "1900-01-01"}], id="born in 1900"
            ),
            pytest.param(
                [{"full_name": "Tran Thi Lan", "date_of_birth": "01/02/1990"}], id="not ISO"
            ),
            pytest.param(
                [{"full_name": "Tran Thi Lan", "date_of_birth": "1990-02-30"}], id="no such day"
            ),
            pytest.param(_named("A" * 41 + " " + "B" * 41), id="too long"),
        ],
    )
    async def test_invalid_passengers(
        self, session: AsyncSession, fare: FareRow, passengers: list[dict[str, Any]]
    ) -> None:
        with pytest.raises(InvalidPassengers) as caught:
            await _hold(session, fare.flight_id, passengers)
        assert caught.value.code == "invalid_passengers"
        with pytest.raises(InvalidPassengers):
            async with session.begin():
                await bookings.preview_hold(
                    session,
                    flight_id=fare.flight_id,
                    cabin="economy",
                    passengers=passengers,
                    contact=CONTACT,
                    now=TEST_NOW,
                    policy=POLICY,
                )
        assert await _fare(session, fare.flight_id) == fare

    async def test_the_offending_passenger_is_named(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        with pytest.raises(InvalidPassengers) as caught:
            await _hold(
                session, fare.flight_id, _named("Nguyễn Văn An", "Lê Thị Hồng", "nguyen van an")
            )
        assert caught.value.details == {"passenger": 3}

    @pytest.mark.parametrize(
        "passengers",
        [
            pytest.param(_named(*(f"Khach Hang {chr(65 + i)}" for i in range(9))), id="nine"),
            pytest.param(
                _named("O'Brien Sean", "Anne-Marie Dupont", "Martin Luther King Jr."),
                id="punctuation",
            ),
            pytest.param(
                [
                    {"full_name": "Nguyen Van An", "date_of_birth": "1980-01-01"},
                    {"full_name": "Nguyễn Văn An", "date_of_birth": "2015-05-05"},
                ],
                id="same name, other birthday",
            ),
            pytest.param(
                [{"full_name": "Baby Nguyen", "date_of_birth": TEST_NOW.date().isoformat()}],
                id="born today",
            ),
        ],
    )
    async def test_valid_passengers(
        self, session: AsyncSession, fare: FareRow, passengers: list[dict[str, Any]]
    ) -> None:
        booking = await _hold(session, fare.flight_id, passengers)
        assert [p["full_name"] for p in booking["passengers"]] == [
            p["full_name"] for p in passengers
        ]
        assert _sold(fare, await _fare(session, fare.flight_id)) == len(passengers)

    async def test_a_decomposed_name_is_the_same_person(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
        with pytest.raises(InvalidPassengers) as caught:
            await _hold(session, fare.flight_id, _named("Nguyễn Văn An", decomposed))
        assert caught.value.details == {"passenger": 2}

    async def test_a_name_in_decomposed_unicode_is_accepted(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
        booking = await _hold(session, fare.flight_id, _named(decomposed))
        assert unicodedata.normalize("NFC", booking["passengers"][0]["full_name"]) == (
            "Nguyễn Văn An"
        )

    @pytest.mark.parametrize(
        ("contact", "field"),
        [
            pytest.param(None, None, id="none"),
            pytest.param({}, None, id="empty"),
            pytest.param({"email": "", "phone": ""}, None, id="blank"),
            pytest.param({"email": "lan.tran@example"}, "email", id="e-mail without domain"),
            pytest.param({"email": "lan tran@example.vn"}, "email", id="e-mail with a space"),
            pytest.param({"email": "example.vn"}, "email", id="e-mail without @"),
            pytest.param({"phone": "12345"}, "phone", id="phone too short"),
            pytest.param({"phone": "0912-ABC-678"}, "phone", id="phone with letters"),
            pytest.param({"phone": "+84 1234 5678 9012 345"}, "phone", id="phone too long"),
            pytest.param(
                {"email": "bad@", "phone": "0912345678"}, "email", id="bad e-mail, good phone"
            ),
        ],
    )
    async def test_invalid_contact(
        self,
        session: AsyncSession,
        fare: FareRow,
        contact: dict[str, Any] | None,
        field: str | None,
    ) -> None:
        with pytest.raises(InvalidContact) as caught:
            await _hold(session, fare.flight_id, contact=contact)
        assert caught.value.code == "invalid_contact"
        assert caught.value.details.get("field") == field
        assert await _fare(session, fare.flight_id) == fare

    async def test_phone_alone_or_email_alone_is_enough(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        by_phone = await _hold(
            session, fare.flight_id, contact={"phone": "(+84) 912.345.678"}, key="p"
        )
        assert by_phone["contact"] == {"email": None, "phone": "+84912345678"}
        by_mail = await _hold(session, fare.flight_id, contact={"email": " a.b@c.com.vn "}, key="e")
        assert by_mail["contact"] == {"email": "a.b@c.com.vn", "phone": None}

    async def test_within_the_cutoff_is_closed(self, session: AsyncSession) -> None:
        soon = await _find_fare(
            session,
            "x.cabin = 'economy' AND x.seats_available >= 3"
            " AND f.departs_at > :now AND f.departs_at < :now + interval '2 hours'",
        )
        with pytest.raises(BookingClosed) as caught:
            await _hold(session, soon.flight_id)
        assert caught.value.code == "booking_closed"
        assert await _fare(session, soon.flight_id) == soon

    async def test_departed_flight_is_closed(self, session: AsyncSession) -> None:
        gone = await _find_fare(
            session, "x.cabin = 'economy' AND x.seats_available >= 3 AND f.departs_at < :now"
        )
        with pytest.raises(BookingClosed):
            await _hold(session, gone.flight_id)
        assert await _fare(session, gone.flight_id) == gone

    async def test_cutoff_boundary(self, session: AsyncSession, fare: FareRow) -> None:
        closes = fare.departs_at - POLICY.cutoff
        with pytest.raises(BookingClosed):
            await _hold(session, fare.flight_id, key="at", now=closes)
        booking = await _hold(
            session, fare.flight_id, key="before", now=closes - timedelta(seconds=1)
        )
        assert booking["status"] == "held"

    async def test_unknown_flight(self, session: AsyncSession) -> None:
        missing = await _scalar(session, "SELECT max(id) + 1000 FROM flights")
        with pytest.raises(FlightNotFound) as caught:
            await _hold(session, missing)
        assert caught.value.details == {"flight_id": missing}
        with pytest.raises(FlightNotFound):
            await _hold(session, missing, cabin="business")

    async def test_business_on_a_flight_without_one(self, session: AsyncSession) -> None:
        economy_only = await _find_fare(
            session,
            "x.cabin = 'economy' AND f.departs_at > :now + interval '3 days'"
            " AND NOT EXISTS (SELECT 1 FROM fares b WHERE b.flight_id = f.id AND b.cabin = 'business')",
        )
        with pytest.raises(UnknownCabin) as caught:
            await _hold(session, economy_only.flight_id, cabin="business")
        assert caught.value.details == {"flight_id": economy_only.flight_id, "cabin": "business"}

    async def test_unknown_cabin_name(self, session: AsyncSession, fare: FareRow) -> None:
        with pytest.raises(UnknownCabin):
            await _hold(session, fare.flight_id, cabin="first")

    async def test_not_enough_seats(self, session: AsyncSession, fare: FareRow) -> None:
        await _exec(
            session,
            "UPDATE fares SET seats_available = 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        with pytest.raises(SoldOut) as caught:
            await _hold(session, fare.flight_id)  # three passengers
        assert caught.value.code == "sold_out"
        assert caught.value.details["seats_left"] == 2
        assert "Only 2" in caught.value.message

        # Two fit; then the cabin is sold out.
        await _hold(session, fare.flight_id, PASSENGERS[:2], key="two")
        with pytest.raises(SoldOut) as sold_out:
            await _hold(session, fare.flight_id, PASSENGERS[2:], key="one")
        assert sold_out.value.details["seats_left"] == 0
        after = await _fare(session, fare.flight_id)
        assert (after.seats_available, after.seats_booked) == (0, 2)

    async def test_a_refused_hold_leaves_nothing_and_frees_its_key(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        await _exec(
            session,
            "UPDATE fares SET seats_available = 1 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        before = await _counts(session)
        with pytest.raises(SoldOut):
            await _hold(session, fare.flight_id, PASSENGERS[:2], key="k")
        assert await _counts(session) == before
        # The same key may be used again once seats are free: it was never spent.
        await _exec(
            session,
            "UPDATE fares SET seats_available = 5 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert (await _hold(session, fare.flight_id, PASSENGERS[:2], key="k"))["status"] == "held"


# Preview ---------------------------------------------------------------------------------


class TestPreview:
    async def test_preview_describes_the_hold_and_writes_nothing(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        before = await _counts(session)
        async with session.begin():
            preview = await bookings.preview_hold(
                session,
                flight_id=fare.flight_id,
                cabin="economy",
                passengers=PASSENGERS,
                contact=CONTACT,
                now=TEST_NOW,
                policy=POLICY,
            )
        assert await _counts(session) == before
        assert await _fare(session, fare.flight_id) == fare

        flight = preview["flight"]
        assert flight["flight_id"] == fare.flight_id
        assert datetime.fromisoformat(flight["departs_at"]) == fare.departs_at
        assert datetime.fromisoformat(flight["arrives_at"]) > fare.departs_at
        assert flight["seats_left"] == fare.seats_available
        assert preview["action"] == "hold"
        assert preview["cabin"] == "economy"
        assert [p["full_name"] for p in preview["passengers"]] == [
            "Trần Thị Lan",
            "Nguyễn Văn An",
            "Lê Minh Đức",
        ]
        assert preview["passengers"][0]["date_of_birth"] == "1990-04-12"
        assert preview["price_per_passenger_vnd"] == fare.price_vnd
        assert preview["total_vnd"] == 3 * fare.price_vnd
        assert preview["contact"] == {"email": "lan.tran@example.vn", "phone": "+84912345678"}
        assert preview["hold_minutes"] == 15
        worded = approval_summary(preview, "en")
        assert f"VND {3 * fare.price_vnd:,}" in worded
        assert flight["flight_number"] in worded
        vietnamese = approval_summary(preview, "vi")
        assert f"{3 * fare.price_vnd:,}".replace(",", ".") + " ₫" in vietnamese
        assert "hành khách" in vietnamese

        # The hold it describes has the same price, flight and times.
        booking = await _hold(session, fare.flight_id)
        assert booking["total_vnd"] == preview["total_vnd"]
        assert {k: flight[k] for k in booking["flight"]} == booking["flight"]

    async def test_preview_applies_the_same_rules(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        async def preview(**overrides: Any) -> dict[str, Any]:
            args: dict[str, Any] = {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "passengers": PASSENGERS,
                "contact": CONTACT,
                "now": TEST_NOW,
                "policy": POLICY,
            }
            args.update(overrides)
            async with session.begin():
                return await bookings.preview_hold(session, **args)

        with pytest.raises(InvalidContact):
            await preview(contact=None)
        with pytest.raises(BookingClosed):
            await preview(now=fare.departs_at - timedelta(hours=1))
        missing = await _scalar(session, "SELECT max(id) + 1000 FROM flights")
        with pytest.raises(FlightNotFound):
            await preview(flight_id=missing)
        await _exec(
            session,
            "UPDATE fares SET seats_available = 2 WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        with pytest.raises(SoldOut) as caught:
            await preview()
        assert caught.value.details["seats_left"] == 2


# Inventory -------------------------------------------------------------------------------


class TestInventory:
    async def test_drift_is_empty_after_every_kind_of_change(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        assert await _drift(session) == []
        a = await _hold(session, fare.flight_id, key="a")
        b = await _hold(session, fare.flight_id, PASSENGERS[:2], key="b", cabin="business")
        c = await _hold(session, fare.flight_id, PASSENGERS[:1], key="c")
        d = await _hold(session, fare.flight_id, PASSENGERS[1:], key="d")
        assert await _drift(session) == []
        await _confirm(session, a["reference"])
        await _confirm(session, b["reference"])
        await _cancel(session, b["reference"])
        await _cancel(session, c["reference"])
        assert await _drift(session) == []
        assert await _expire(session, TEST_NOW + POLICY.hold_ttl) >= 1  # d
        assert await _status(session, d["reference"]) == "expired"
        assert await _drift(session) == []
        after = await _fare(session, fare.flight_id)
        assert _sold(fare, after) == 3  # only a is live
        business = await _fare(session, fare.flight_id, "business")
        assert business.seats_booked == 0

    async def test_drift_detects_a_corrupted_count(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        await _hold(session, fare.flight_id)
        await _exec(
            session,
            "UPDATE fares SET seats_booked = seats_booked + 1, seats_available = seats_available - 1"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await _drift(session) == [
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
        await _exec(
            session,
            "UPDATE fares SET seats_booked = 2, seats_available = seats_available - 2"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await _drift(session) == [
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
        booking = await _hold(session, fare.flight_id)
        await _exec(
            session,
            "UPDATE fares SET seats_booked = 0, seats_available = seats_available + 3"
            " WHERE flight_id = :id AND cabin = 'economy'",
            id=fare.flight_id,
        )
        assert await _drift(session) == [
            {
                "flight_id": fare.flight_id,
                "cabin": "economy",
                "seats_booked": 0,
                "live_passengers": 3,
            }
        ]
        # Cancelling that booking would take seats_booked below zero: the CHECK refuses it.
        with pytest.raises(IntegrityError, match="seats_booked_in_range"):
            await _cancel(session, booking["reference"])
