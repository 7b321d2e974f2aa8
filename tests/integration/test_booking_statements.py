"""The fixed statements of hold, confirm and cancel (``booking.db.booking_statements``): the
booking JSON a confirm or cancel returns and stores is the one Python builds from the stored
rows; replays, refusals that leave no key, a reference drawn twice; and, on connections of their
own, concurrent confirms and cancels of one booking that change it once.

The first tests run in the rolled-back ``session``; the races commit, on a database of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from booking.db import migrate
from booking.domain import bookings
from booking.errors import (
    BookingNotCancellable,
    BookingNotFound,
    HoldExpired,
    IdempotencyKeyReused,
)
from seed.load import SeedOptions, seed_database
from tests.conftest import TEST_NOW, TEST_TODAY, ScratchDatabases
from tests.support.bookings import (
    POLICY,
    TENANT,
    FareRow,
    audit_trail,
    cancel,
    confirm,
    drift,
    fare_row,
    find_fare,
    get_booking,
    hold,
    reset_fare,
    roomy_fare,
    rows,
    seats_sold,
    status_of,
)

# A moment with microseconds: the JSON writes them only when there are some.
PRECISE = TEST_NOW + timedelta(minutes=3, microseconds=123456)


async def _stored(session: AsyncSession, key: str) -> Any:
    (row,) = await rows(
        session,
        "SELECT response FROM idempotency_keys WHERE tenant = :t AND key = :k",
        t=TENANT,
        k=key,
    )
    return row[0]


async def _key_count(session: AsyncSession, key: str) -> int:
    found = await rows(session, "SELECT 1 FROM idempotency_keys WHERE key = :k", k=key)
    return len(found)


@pytest.fixture
async def fare(session: AsyncSession) -> FareRow:
    return await roomy_fare(session)


@pytest.fixture
async def abroad(session: AsyncSession) -> FareRow:
    """An economy fare on a flight landing in another time zone than Vietnam's."""
    return await find_fare(
        session,
        "x.cabin = 'economy' AND x.seats_available >= 10"
        " AND f.departs_at BETWEEN :now + interval '3 days' AND :now + interval '6 days'"
        " AND EXISTS (SELECT 1 FROM airports d WHERE d.iata = f.destination"
        "   AND d.timezone NOT IN ('Asia/Ho_Chi_Minh', 'Asia/Bangkok', 'Asia/Jakarta'))",
    )


class TestTheBookingJson:
    """What confirm and cancel return and store is ``BookingView.to_dict`` of the stored rows."""

    @pytest.mark.parametrize("now", [TEST_NOW, PRECISE], ids=["whole seconds", "microseconds"])
    async def test_confirm_then_cancel(
        self, session: AsyncSession, abroad: FareRow, now: Any
    ) -> None:
        passengers = [
            {"full_name": "Trần Thị Lan", "date_of_birth": "1990-04-12"},
            {"full_name": "O'Brien Sean"},
        ]
        held = await hold(
            session, abroad.flight_id, passengers, contact={"phone": "0912 345 678"}, now=now
        )
        confirmed = await confirm(session, held["reference"], now=now, key="c-1")
        assert confirmed == await get_booking(session, held["reference"])
        assert await _stored(session, "c-1") == confirmed
        assert confirmed["flight"] == held["flight"]
        assert confirmed["passengers"] == held["passengers"]

        cancelled = await cancel(
            session, held["reference"], now=now + timedelta(seconds=1), key="x-1"
        )
        assert cancelled == await get_booking(session, held["reference"])
        assert await _stored(session, "x-1") == cancelled
        assert cancelled["confirmed_at"] == confirmed["confirmed_at"]

    async def test_cancel_a_held_booking_keyed(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        cancelled = await cancel(session, held["reference"], now=PRECISE, key="x-2")
        assert cancelled == await get_booking(session, held["reference"])
        assert await _stored(session, "x-2") == cancelled
        assert await cancel(session, held["reference"], key="x-2") == cancelled


class TestKeys:
    async def test_a_refused_confirm_leaves_its_key_unspent(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        with pytest.raises(HoldExpired):
            await confirm(session, held["reference"], now=TEST_NOW + POLICY.hold_ttl, key="k-1")
        assert await _key_count(session, "k-1") == 0
        # The key is free for another request.
        assert (await cancel(session, held["reference"], key="k-1"))["status"] == "cancelled"
        assert await fare_row(session, fare.flight_id) == fare

    async def test_an_unknown_booking_leaves_its_key_unspent(self, session: AsyncSession) -> None:
        for operation in (confirm, cancel):
            with pytest.raises(BookingNotFound):
                await operation(session, "ACDEFG", key="k-2")
        assert await _key_count(session, "k-2") == 0

    async def test_a_departed_flight_leaves_its_key_unspent(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        with pytest.raises(BookingNotCancellable):
            await cancel(session, held["reference"], now=fare.departs_at, key="k-3")
        assert await _key_count(session, "k-3") == 0
        assert await status_of(session, held["reference"]) == "held"

    async def test_a_replay_answers_even_after_the_booking_changed(
        self, session: AsyncSession, fare: FareRow
    ) -> None:
        held = await hold(session, fare.flight_id)
        confirmed = await confirm(session, held["reference"], key="k-4")
        await cancel(session, held["reference"])
        assert await confirm(session, held["reference"], key="k-4") == confirmed
        with pytest.raises(IdempotencyKeyReused):
            await cancel(session, held["reference"], key="k-4")

    async def test_keys_are_per_tenant(self, session: AsyncSession, fare: FareRow) -> None:
        held = await hold(session, fare.flight_id)
        await confirm(session, held["reference"], key="k-5")
        with pytest.raises(BookingNotFound):
            await cancel(session, held["reference"], tenant="someone-else", key="k-5")


class TestReferenceDrawnTwice:
    async def test_the_hold_draws_again_and_takes_its_seats_once(
        self, session: AsyncSession, fare: FareRow, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first = await hold(session, fare.flight_id, key="first")
        taken = first["reference"]
        letters = itertools.chain(taken, itertools.cycle("ACDEFGHJKM"))
        monkeypatch.setattr(secrets, "choice", lambda _: next(letters))
        second = await hold(session, fare.flight_id, key="second")
        assert second["reference"] != taken
        assert await _stored(session, "second") == second
        assert seats_sold(fare, await fare_row(session, fare.flight_id)) == 6
        assert await drift(session) == []
        assert await audit_trail(session, second["reference"]) == [(None, "held", "test:bookings")]


# Races, committed on a database of their own ----------------------------------------------

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def race_url(scratch: ScratchDatabases) -> str:
    url = scratch.create()
    migrate.upgrade(url)
    seed_database(url, SeedOptions(seed=11, today=TEST_TODAY, days=10, scale=0.2))
    return url


@pytest.fixture
async def sessions(race_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_engine(race_url, pool_size=16, max_overflow=0, pool_timeout=60)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _run(sessions: Sessions, operation: Any, **kwargs: Any) -> Any:
    async with sessions() as session, session.begin():
        return (
            await operation(session, tenant="race-statements", actor="test:race", **kwargs)
        ).to_dict()


async def _held(sessions: Sessions, day: int, seats: int, passengers: int) -> tuple[int, str]:
    flight_id = await reset_fare(sessions, day=day, seats=seats)
    booking = await _run(
        sessions,
        bookings.hold,
        flight_id=flight_id,
        cabin="economy",
        passengers=[{"full_name": f"Hanh Khach {chr(65 + i)}a"} for i in range(passengers)],
        contact={"email": "race@example.vn"},
        idempotency_key=f"hold-{day}",
        now=TEST_NOW,
        policy=POLICY,
    )
    return flight_id, booking["reference"]


async def _fare_counts(sessions: Sessions, flight_id: int) -> tuple[int, int]:
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT seats_available, seats_booked FROM fares"
                    " WHERE flight_id = :id AND cabin = 'economy'"
                ),
                {"id": flight_id},
            )
        ).one()
    return int(row[0]), int(row[1])


async def _events(sessions: Sessions, reference: str) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        found = await session.execute(
            text(
                "SELECT from_status, to_status FROM booking_events WHERE reference = :r ORDER BY id"
            ),
            {"r": reference},
        )
        return [tuple(r) for r in found.all()]


async def test_concurrent_cancels_give_the_seats_back_once(sessions: Sessions) -> None:
    flight_id, reference = await _held(sessions, day=3, seats=10, passengers=3)
    assert await _fare_counts(sessions, flight_id) == (7, 3)
    results = await asyncio.gather(
        *(
            _run(
                sessions,
                bookings.cancel,
                reference=reference,
                now=TEST_NOW + timedelta(minutes=1),
                idempotency_key="one-cancel" if i % 2 else None,
            )
            for i in range(24)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, dict) for r in results), results
    assert all(r == results[0] for r in results)
    first = results[0]
    assert isinstance(first, dict)
    assert first["status"] == "cancelled"
    assert await _fare_counts(sessions, flight_id) == (10, 0)
    assert await _events(sessions, reference) == [(None, "held"), ("held", "cancelled")]


async def test_concurrent_confirms_with_one_key_confirm_once(sessions: Sessions) -> None:
    flight_id, reference = await _held(sessions, day=4, seats=10, passengers=2)
    results = await asyncio.gather(
        *(
            _run(
                sessions,
                bookings.confirm,
                reference=reference,
                now=TEST_NOW + timedelta(minutes=2),
                idempotency_key="one-confirm",
            )
            for _ in range(16)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, dict) for r in results), results
    assert all(r == results[0] for r in results)
    first = results[0]
    assert isinstance(first, dict)
    assert first["status"] == "confirmed"
    assert await _fare_counts(sessions, flight_id) == (8, 2)
    assert await _events(sessions, reference) == [(None, "held"), ("held", "confirmed")]


async def test_confirm_and_cancel_racing_with_one_key(sessions: Sessions) -> None:
    """Whichever claims the key first wins; the other operation is refused, never applied."""
    flight_id, reference = await _held(sessions, day=5, seats=10, passengers=1)
    operations = [bookings.confirm, bookings.cancel] * 8
    results = await asyncio.gather(
        *(
            _run(
                sessions,
                operation,
                reference=reference,
                now=TEST_NOW + timedelta(minutes=2),
                idempotency_key="contested",
            )
            for operation in operations
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, dict)]
    assert won
    assert all(r == won[0] for r in won)
    status = won[0]["status"]
    winner = bookings.confirm if status == "confirmed" else bookings.cancel
    for operation, result in zip(operations, results, strict=True):
        if operation is winner:
            assert result == won[0]
        else:
            assert isinstance(result, IdempotencyKeyReused)
    assert await _events(sessions, reference) == [(None, "held"), ("held", status)]
    assert await _fare_counts(sessions, flight_id) == ((9, 1) if status == "confirmed" else (10, 0))
