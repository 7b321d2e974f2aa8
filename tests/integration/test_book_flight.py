"""Booking in one decision: ``bookings.book`` and the ``book_flight`` tool take the seats and
confirm them in one transaction, with the hold's inventory guarantee and idempotency.

These tests commit (the tool opens its own transactions, the race needs many connections), so
they run on a database of their own, seeded with a small schedule, never on the run's shared
one. Each fare a test uses is reset to a known number of free seats first.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.events import ToolResult
from booking.db import migrate
from booking.domain import bookings
from booking.domain.booking_rules import Policy
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from booking.errors import BookingClosed, IdempotencyKeyReused, SoldOut
from booking.turns.transcript import fold_parts
from booking.turns.ui_stream import UIStreamEncoder
from seed.load import SeedOptions, seed_database
from tests.conftest import TEST_NOW, TEST_TODAY, ScratchDatabases
from tests.support.bookings import reset_fare

POLICY = Policy()
POOL = 24
CONTACT = {"email": "one.step@example.vn"}
TENANT = "book-one-step"

Sessions = async_sessionmaker[AsyncSession]


def _name(i: int) -> str:
    letters = "".join(chr(97 + (i // 26**k) % 26) for k in range(3))
    return f"Khach Mot {letters.capitalize()}"


@pytest.fixture(scope="module")
def book_url(scratch: ScratchDatabases) -> str:
    url = scratch.create("booking_test_book")
    migrate.upgrade(url)
    seed_database(url, SeedOptions(seed=11, today=TEST_TODAY, days=10, scale=0.2))
    return url


@pytest.fixture
async def sessions(book_url: str) -> AsyncIterator[Sessions]:
    engine = create_async_engine(book_url, pool_size=POOL, max_overflow=0, pool_timeout=120)
    opened = [await engine.connect() for _ in range(POOL)]
    for conn in opened:
        await conn.close()
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


_next_day = iter(range(1, 9))


async def _fare(sessions: Sessions, seats: int) -> int:
    """An economy fare on a day no other test of this module uses, reset to ``seats`` free."""
    return await reset_fare(sessions, next(_next_day), seats)


async def _one(sessions: Sessions, sql: str, **params: Any) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql), params)).one()


def _work(
    operation: Callable[..., Awaitable[Any]], flight_id: int, names: list[str], key: str
) -> Callable[[AsyncSession], Awaitable[dict[str, Any]]]:
    async def work(session: AsyncSession) -> dict[str, Any]:
        booking = await operation(
            session,
            tenant=TENANT,
            flight_id=flight_id,
            cabin="economy",
            passengers=[{"full_name": n} for n in names],
            contact=CONTACT,
            idempotency_key=key,
            now=TEST_NOW,
            policy=POLICY,
            actor="test:book",
        )
        result: dict[str, Any] = booking.to_dict()
        return result

    return work


async def _run(sessions: Sessions, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with sessions() as session, session.begin():
        return await work(session)


async def test_book_confirms_in_one_step(sessions: Sessions) -> None:
    flight_id = await _fare(sessions, seats=10)
    booking = await _run(sessions, _work(bookings.book, flight_id, [_name(1), _name(2)], "b-1"))

    assert booking["status"] == "confirmed"
    assert booking["confirmed_at"] is not None
    assert booking["hold_expires_at"] is None
    assert [p["full_name"] for p in booking["passengers"]] == [_name(1), _name(2)]
    seats = await _one(
        sessions,
        "SELECT seats_available, seats_booked FROM fares WHERE flight_id = :id"
        " AND cabin = 'economy'",
        id=flight_id,
    )
    assert tuple(seats) == (8, 2)
    # One status change, straight to confirmed: never seen held.
    async with sessions() as session:
        trail = (
            await session.execute(
                text("SELECT from_status, to_status FROM booking_events WHERE reference = :r"),
                {"r": booking["reference"]},
            )
        ).all()
        stored = await bookings.get(session, tenant=TENANT, reference=booking["reference"])
    assert [tuple(r) for r in trail] == [(None, "confirmed")]
    assert stored.to_dict() == booking
    # The sweeper, long after the hold time, leaves it alone.
    async with sessions() as session, session.begin():
        await bookings.expire_holds(session, TEST_NOW + POLICY.hold_ttl + timedelta(hours=1))
    async with sessions() as session:
        after = await bookings.get(session, tenant=TENANT, reference=booking["reference"])
    assert after.status == "confirmed"


async def test_book_is_idempotent_and_its_key_is_its_own(sessions: Sessions) -> None:
    flight_id = await _fare(sessions, seats=10)
    first = await _run(sessions, _work(bookings.book, flight_id, [_name(3)], "b-2"))
    again = await _run(sessions, _work(bookings.book, flight_id, [_name(3)], "b-2"))
    assert again == first
    # A hold under the same key is another request: refused, nothing taken.
    with pytest.raises(IdempotencyKeyReused):
        await _run(sessions, _work(bookings.hold, flight_id, [_name(3)], "b-2"))
    counts = await _one(
        sessions,
        "SELECT (SELECT seats_booked FROM fares WHERE flight_id = :id AND cabin = 'economy'),"
        " (SELECT count(*) FROM bookings WHERE flight_id = :id)",
        id=flight_id,
    )
    assert tuple(counts) == (1, 1)


async def test_book_refused_by_the_hold_rules_leaves_nothing(sessions: Sessions) -> None:
    flight_id = await _fare(sessions, seats=1)
    with pytest.raises(SoldOut) as refused:
        await _run(sessions, _work(bookings.book, flight_id, [_name(4), _name(5)], "b-3"))
    assert refused.value.details["seats_left"] == 1
    departs = (await _one(sessions, "SELECT departs_at FROM flights WHERE id = :id", id=flight_id))[
        0
    ]

    async def too_late(session: AsyncSession) -> Any:
        return await bookings.book(
            session,
            tenant=TENANT,
            flight_id=flight_id,
            cabin="economy",
            passengers=[{"full_name": _name(6)}],
            contact=CONTACT,
            idempotency_key="b-4",
            now=departs - timedelta(minutes=30),
            policy=POLICY,
            actor="test:book",
        )

    with pytest.raises(BookingClosed):
        await _run(sessions, too_late)
    counts = await _one(
        sessions,
        "SELECT (SELECT count(*) FROM bookings WHERE flight_id = :id),"
        " (SELECT count(*) FROM idempotency_keys WHERE key IN ('b-3', 'b-4'))",
        id=flight_id,
    )
    assert tuple(counts) == (0, 0)


async def test_concurrent_books_and_holds_never_oversell(sessions: Sessions) -> None:
    """120 one-step bookings and 40 holds race for the last 10 seats: exactly 10 win."""
    flight_id = await _fare(sessions, seats=10)
    works = [
        _work(bookings.book if i % 4 else bookings.hold, flight_id, [_name(100 + i)], f"r-{i}")
        for i in range(160)
    ]
    results = await asyncio.gather(*(_run(sessions, w) for w in works), return_exceptions=True)

    won = [r for r in results if isinstance(r, dict)]
    others = [r for r in results if not isinstance(r, dict | SoldOut)]
    assert others == []
    assert len(won) == 10
    assert {b["status"] for b in won} <= {"confirmed", "held"}
    seats = await _one(
        sessions,
        "SELECT seats_available, seats_booked FROM fares WHERE flight_id = :id"
        " AND cabin = 'economy'",
        id=flight_id,
    )
    assert tuple(seats) == (0, 10)
    async with sessions() as session:
        assert await bookings.inventory_drift(session) == []


async def test_100_retries_of_one_book_call_book_once(sessions: Sessions) -> None:
    flight_id = await _fare(sessions, seats=5)
    results = await asyncio.gather(
        *(_run(sessions, _work(bookings.book, flight_id, [_name(7)], "one")) for _ in range(100)),
        return_exceptions=True,
    )
    assert all(isinstance(r, dict) for r in results), [
        r for r in results if not isinstance(r, dict)
    ]
    assert len({r["reference"] for r in results}) == 1  # type: ignore[index]
    seats = await _one(
        sessions,
        "SELECT seats_booked FROM fares WHERE flight_id = :id AND cabin = 'economy'",
        id=flight_id,
    )
    assert seats[0] == 1


async def test_book_flight_tool_describes_then_books_once(
    sessions: Sessions, gazetteer: Gazetteer
) -> None:
    """The agent's tool: the approval shows flight, times, passengers and total in both
    languages; running it (twice, as a retried call) books once, confirmed, and the UI stream
    carries the booking as a ``data-booking`` part keyed by its reference."""
    flight_id = await _fare(sessions, seats=10)
    tool = default_registry().get("book_flight")
    assert tool is not None
    assert tool.requires_approval
    assert tool.describe is not None
    ctx = ToolContext(
        sessions, gazetteer, FixedClock(TEST_NOW), conversation_id="conv-book-1", tenant=TENANT
    )
    arguments = {
        "flight_id": flight_id,
        "passengers": [{"full_name": "Nguyễn Văn An"}, {"full_name": "Trần Thị Bình"}],
        "contact": {"phone": "0901234567"},
        "cabin": "economy",
    }
    summary = await tool.describe(ctx, arguments)
    flight = summary["flight"]
    assert summary["action"] == "book"
    assert "hold_minutes" not in summary
    assert summary["text_vi"].startswith(f"Đặt vé {flight['flight_number']} ")
    assert summary["text"].startswith(f"Book {flight['flight_number']} ")
    for text_ in (summary["text"], summary["text_vi"]):
        assert "Nguyễn Văn An, Trần Thị Bình" in text_
        assert f"{flight['origin']} → {flight['destination']}" in text_
        assert flight["departs_at"][11:16] in text_
        assert flight["arrives_at"][11:16] in text_
    assert "hành khách" in summary["text_vi"]
    assert "passenger" not in summary["text_vi"]
    assert "Giữ chỗ" not in summary["text_vi"]
    assert "Hold" not in summary["text"]

    call = dataclasses.replace(ctx, call_id="call_book_1")
    first = await tool.invoke(call, arguments)
    again = await tool.invoke(call, arguments)
    assert again == first
    booking = first["booking"]
    assert booking["status"] == "confirmed"
    assert booking["total_vnd"] == summary["total_vnd"]
    count = await _one(
        sessions, "SELECT count(*) FROM bookings WHERE conversation_id = 'conv-book-1'"
    )
    assert count[0] == 1

    encoder = UIStreamEncoder("msg-1")
    parts = encoder.encode(
        ToolResult(call_id="call_book_1", name="book_flight", output=first, duration_ms=1.0)
    )
    assert [p["type"] for p in parts] == ["tool-output-available", "data-booking"]
    assert parts[1] == {"type": "data-booking", "id": booking["reference"], "data": booking}
    # A later status of the same booking replaces the card, as readUIMessageStream does.
    cancelled = {**booking, "status": "cancelled"}
    later = encoder.encode(
        ToolResult(
            call_id="call_2", name="cancel_booking", output={"booking": cancelled}, duration_ms=1.0
        )
    )
    folded = fold_parts([*parts, *later])
    cards = [p for p in folded["parts"] if p["type"] == "data-booking"]
    assert cards == [{"type": "data-booking", "id": booking["reference"], "data": cancelled}]
