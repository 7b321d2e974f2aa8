"""What the booking tests share: the rule cases, a fare read from the seeded schedule, and the
domain's operations each run in a transaction of its own.

The operations run in the caller's rolled-back ``session`` (each ``session.begin()`` is a savepoint
there), as a caller owning the transaction would, so a refused operation leaves nothing behind.
They return the booking as JSON (:meth:`~booking.domain.types.BookingView.to_dict`): the shape
the HTTP API returns and the model reads, so the tests pin it. "Now" is always passed explicitly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain import bookings
from booking.domain.booking_rules import Policy
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


def named(*names: str) -> list[dict[str, Any]]:
    return [{"full_name": n} for n in names]


# The rule cases: checked as pure rules in tests/unit/test_passengers.py, and through a hold and
# its preview (refused before anything is written, or held as given) in the integration tests.

INVALID_PASSENGERS: dict[str, list[dict[str, Any]]] = {
    "no passengers": [],
    "ten": named(*(f"Khach Hang {chr(65 + i)}" for i in range(10))),
    "one word": named("Madonna"),
    "digits": named("Nguyen Van An 2"),
    "digits inside a word": named("R2D2 Droid"),
    "underscore": named("Tran_Thi Lan"),
    "empty name": named(""),
    "no name": [{"date_of_birth": "1990-01-01"}],
    "twice": named("Tran Thi Lan", "Tran Thi Lan"),
    "twice, diacritics and case": named("Nguyễn Văn An", "nguyen van an"),
    "twice, d-stroke": named("Đặng Thu Hà", "dang thu ha"),
    "twice, spacing and case": named("Lê Văn Tám", "LÊ   VĂN TÁM"),
    "born tomorrow": [{"full_name": "Tran Thi Lan", "date_of_birth": "2026-06-02"}],
    "born in 1900": [{"full_name": "Tran Thi Lan", "date_of_birth": "1900-01-01"}],
    "not ISO": [{"full_name": "Tran Thi Lan", "date_of_birth": "01/02/1990"}],
    "no such day": [{"full_name": "Tran Thi Lan", "date_of_birth": "1990-02-30"}],
    "too long": named("A" * 41 + " " + "B" * 41),
}
VALID_PASSENGERS: dict[str, list[dict[str, Any]]] = {
    "nine": named(*(f"Khach Hang {chr(65 + i)}" for i in range(9))),
    "punctuation": named("O'Brien Sean", "Anne-Marie Dupont", "Martin Luther King Jr."),
    "same name, other birthday": [
        {"full_name": "Nguyen Van An", "date_of_birth": "1980-01-01"},
        {"full_name": "Nguyễn Văn An", "date_of_birth": "2015-05-05"},
    ],
    "born today": [{"full_name": "Baby Nguyen", "date_of_birth": TEST_NOW.date().isoformat()}],
}
#: A contact refused, and the field the refusal names (None: neither was given).
INVALID_CONTACTS: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "none": (None, None),
    "empty": ({}, None),
    "blank": ({"email": "", "phone": ""}, None),
    "e-mail without domain": ({"email": "lan.tran@example"}, "email"),
    "e-mail with a space": ({"email": "lan tran@example.vn"}, "email"),
    "e-mail without @": ({"email": "example.vn"}, "email"),
    "phone too short": ({"phone": "12345"}, "phone"),
    "phone with letters": ({"phone": "0912-ABC-678"}, "phone"),
    "phone too long": ({"phone": "+84 1234 5678 9012 345"}, "phone"),
    "bad e-mail, good phone": ({"email": "bad@", "phone": "0912345678"}, "email"),
}


# The seeded schedule ---------------------------------------------------------------------


@dataclass(frozen=True)
class FareRow:
    flight_id: int
    cabin: str
    price_vnd: int
    seats_available: int
    seats_booked: int
    seats_total: int
    departs_at: datetime


async def rows(session: AsyncSession, sql: str, **params: Any) -> list[Any]:
    async with session.begin():
        return list((await session.execute(text(sql), params)).all())


async def scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    async with session.begin():
        return await session.scalar(text(sql), params)


async def execute(session: AsyncSession, sql: str, **params: Any) -> None:
    async with session.begin():
        await session.execute(text(sql), params)


FARE_COLUMNS = (
    "x.flight_id, x.cabin, x.price_vnd, x.seats_available, x.seats_booked, x.seats_total, "
    "f.departs_at FROM fares x JOIN flights f ON f.id = x.flight_id"
)


async def find_fare(session: AsyncSession, where: str, **params: Any) -> FareRow:
    found = await rows(
        session,
        f"SELECT {FARE_COLUMNS} WHERE {where} ORDER BY f.departs_at, f.id LIMIT 1",
        now=TEST_NOW,
        **params,
    )
    assert found, f"the seeded schedule has no fare where {where}"
    return FareRow(*found[0])


async def fare_row(session: AsyncSession, flight_id: int, cabin: str = "economy") -> FareRow:
    return await find_fare(
        session, "x.flight_id = :id AND x.cabin = :cabin", id=flight_id, cabin=cabin
    )


async def roomy_fare(session: AsyncSession) -> FareRow:
    """An economy fare three to five days out with plenty of seats, on a flight with business."""
    return await find_fare(
        session,
        "x.cabin = 'economy' AND x.seats_available >= 30 AND x.seats_booked = 0"
        " AND f.departs_at BETWEEN :now + interval '3 days' AND :now + interval '5 days'"
        " AND EXISTS (SELECT 1 FROM fares b WHERE b.flight_id = f.id AND b.cabin = 'business')",
    )


def seats_sold(before: FareRow, after: FareRow) -> int:
    """Seats taken between two readings; the total a fare sells is constant."""
    assert (
        after.seats_available + after.seats_booked == before.seats_available + before.seats_booked
    )
    assert after.seats_total == before.seats_total
    return after.seats_booked - before.seats_booked


# The operations ----------------------------------------------------------------------------


async def hold(
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
        booking = await bookings.hold(
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
    return booking.to_dict()


async def confirm(
    session: AsyncSession,
    reference: str,
    *,
    tenant: str = TENANT,
    now: datetime = TEST_NOW,
    key: str | None = None,
) -> dict[str, Any]:
    async with session.begin():
        booking = await bookings.confirm(
            session, tenant=tenant, reference=reference, now=now, actor=ACTOR, idempotency_key=key
        )
    return booking.to_dict()


async def cancel(
    session: AsyncSession,
    reference: str,
    *,
    tenant: str = TENANT,
    now: datetime = TEST_NOW,
    key: str | None = None,
) -> dict[str, Any]:
    async with session.begin():
        booking = await bookings.cancel(
            session, tenant=tenant, reference=reference, now=now, actor=ACTOR, idempotency_key=key
        )
    return booking.to_dict()


async def get_booking(
    session: AsyncSession, reference: str, *, tenant: str = TENANT
) -> dict[str, Any]:
    async with session.begin():
        booking = await bookings.get(session, tenant=tenant, reference=reference)
    return booking.to_dict()


async def expire(session: AsyncSession, now: datetime) -> int:
    async with session.begin():
        return await bookings.expire_holds(session, now)


async def drift(session: AsyncSession) -> list[dict[str, Any]]:
    async with session.begin():
        return await bookings.inventory_drift(session)


async def audit_trail(session: AsyncSession, reference: str) -> list[tuple[str | None, str, str]]:
    """The booking's audit rows: (from status, to status, actor)."""
    found = await rows(
        session,
        "SELECT from_status, to_status, actor FROM booking_events WHERE reference = :r ORDER BY id",
        r=reference,
    )
    return [tuple(row) for row in found]


async def status_of(session: AsyncSession, reference: str) -> str:
    status = await scalar(session, "SELECT status FROM bookings WHERE reference = :r", r=reference)
    assert isinstance(status, str)
    return status


async def table_counts(session: AsyncSession) -> tuple[int, int, int, int, int]:
    """Bookings, passengers, audit rows, idempotency keys and seats booked, all tenants."""
    found = await rows(
        session,
        "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM booking_passengers), "
        "(SELECT count(*) FROM booking_events), (SELECT count(*) FROM idempotency_keys), "
        "(SELECT sum(seats_booked) FROM fares)",
    )
    a, b, c, d, e = found[0]
    return a, b, c, d, e


async def reset_fare(sessions: async_sessionmaker[AsyncSession], day: int, seats: int) -> int:
    """An economy fare ``day`` days after TEST_NOW, reset to ``seats`` free seats and none
    booked; its flight id."""
    async with sessions() as session, session.begin():
        flight_id = await session.scalar(
            text(
                "SELECT x.flight_id FROM fares x JOIN flights f ON f.id = x.flight_id"
                " WHERE x.cabin = 'economy' AND x.seats_total >= :seats AND x.seats_booked = 0"
                " AND f.departs_at BETWEEN :now + make_interval(days => :day)"
                "     AND :now + make_interval(days => :day + 1)"
                " ORDER BY f.id LIMIT 1"
            ),
            {"now": TEST_NOW, "day": day, "seats": seats},
        )
        assert flight_id is not None
        await session.execute(
            text(
                "UPDATE fares SET seats_available = :seats, seats_booked = 0"
                " WHERE flight_id = :id AND cabin = 'economy'"
            ),
            {"id": flight_id, "seats": seats},
        )
    return int(flight_id)
