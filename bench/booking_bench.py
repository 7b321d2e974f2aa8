"""Holds per second through the domain layer, and proof that no seat was sold twice.

``bookings.hold`` (validation, idempotency claim, the conditional seat UPDATE, the booking, its
passengers and audit row, the view, the stored response: one transaction each) through the async
engine, by N concurrent workers, each on a connection of its own opened before the clock starts
(so no pool checkout or pre-ping per hold). Two shapes of load:

(a) one hot flight: a fare with 1,000 seats and 2,000 attempts of one passenger each, so every
    hold queues on the same fare row and half of them are answered sold out;
(b) spread: 2,000 holds over 500 flights chosen at random, almost no contention
    (``--spread-holds``; 2,000 rather than 5,000 keeps the whole run near 2 minutes);

and first, as a baseline, one worker alone (300 holds spread over 100 flights).

Printed per run: attempts/s, successful holds/s, sold-out answers, latency p50/p99 of a whole hold
transaction (commit included) and the client's CPU per attempt. After each run the inventory is
checked: seats never negative, every fare's seats taken == its successful holds, bookings ==
successes, and ``inventory_drift`` empty. The database ``booking_holdbench`` is rebuilt each run
(a 10-day schedule, seeded in about a second).

Run: ``python -m bench.booking_bench [--quick] [--workers 16,64] [--spread-holds 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bench.common import fresh_database, server_url
from booking.db.engine import libpq_url, make_async_engine
from booking.domain import bookings
from booking.errors import SoldOut
from booking.settings import SERVICE_TZ, Settings
from seed.load import SeedOptions

HOLD_DB = "booking_holdbench"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SERVICE_TZ)
POLICY = bookings.Policy()
CONTACT = {"email": "bench@example.vn", "phone": "0912345678"}


@dataclass(frozen=True)
class Job:
    flight_id: int
    key: str
    name: str


@dataclass
class Outcome:
    held: dict[int, int] = field(default_factory=dict)
    """Successful holds by flight."""
    sold_out: int = 0
    failed: list[BaseException] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _name(i: int) -> str:
    letters = "".join(chr(97 + (i // 26**k) % 26) for k in range(4))
    return f"Hanh Khach {letters.capitalize()}"


def prepare_database() -> str:
    return fresh_database(HOLD_DB, SeedOptions(seed=7, today=NOW.date(), days=10, scale=0.3))


def free_connections() -> int:
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def _fares(engine: AsyncEngine, count: int, min_seats: int) -> dict[int, int]:
    """``count`` unused economy fares departing 1-9 days from NOW with ``min_seats`` free;
    their free seats by flight."""
    async with AsyncSession(engine) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT x.flight_id, x.seats_available FROM fares x"
                    " JOIN flights f ON f.id = x.flight_id"
                    " WHERE x.cabin = 'economy' AND x.seats_booked = 0"
                    " AND x.seats_available >= :min_seats"
                    " AND f.departs_at > :now + interval '1 day'"
                    " AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.flight_id = x.flight_id)"
                    " ORDER BY random() LIMIT :count"
                ),
                {"now": NOW, "min_seats": min_seats, "count": count},
            )
        ).all()
    if len(rows) < count:
        raise SystemExit(f"only {len(rows)} fares with {min_seats} seats; need {count}")
    return {int(flight_id): int(seats) for flight_id, seats in rows}


async def _hot_fare(engine: AsyncEngine, seats: int) -> dict[int, int]:
    (flight_id,) = await _fares(engine, 1, 1)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            text(
                "UPDATE fares SET seats_total = :n, seats_available = :n, seats_booked = 0"
                " WHERE flight_id = :id AND cabin = 'economy'"
            ),
            {"id": flight_id, "n": seats},
        )
    return {flight_id: seats}


async def _worker(
    conn: AsyncConnection,
    jobs: list[Job],
    cursor: list[int],
    start: asyncio.Event,
    outcome: Outcome,
    operation: Any = bookings.hold,
) -> None:
    await start.wait()
    while cursor[0] < len(jobs):
        job = jobs[cursor[0]]
        cursor[0] += 1
        began = time.perf_counter()
        try:
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                async with session.begin():
                    await operation(
                        session,
                        tenant="bench",
                        flight_id=job.flight_id,
                        cabin="economy",
                        passengers=[{"full_name": job.name}],
                        contact=CONTACT,
                        idempotency_key=job.key,
                        now=NOW,
                        policy=POLICY,
                        actor="bench",
                    )
            outcome.held[job.flight_id] = outcome.held.get(job.flight_id, 0) + 1
        except SoldOut:
            outcome.sold_out += 1
        except Exception as exc:  # counted and reported; the run goes on
            outcome.failed.append(exc)
        outcome.latency_ms.append((time.perf_counter() - began) * 1000)


async def run_holds(
    engine: AsyncEngine, jobs: list[Job], workers: int, operation: Any = bookings.hold
) -> Outcome:
    outcome = Outcome()
    conns = [await engine.connect() for _ in range(workers)]
    try:
        for conn in conns:
            await conn.execute(text("SELECT 1"))
            await conn.commit()
        start, cursor = asyncio.Event(), [0]
        tasks = [asyncio.create_task(_worker(conn, jobs, cursor, start, outcome)) for conn in conns]
        began, cpu = time.perf_counter(), time.process_time()
        start.set()
        await asyncio.gather(*tasks)
        outcome.seconds = time.perf_counter() - began
        outcome.cpu_seconds = time.process_time() - cpu
    finally:
        for conn in conns:
            await conn.close()
    return outcome


async def verify(engine: AsyncEngine, before: dict[int, int], outcome: Outcome) -> str:
    """No oversell: seats never negative, seats taken == successes on every fare, drift empty."""
    async with AsyncSession(engine) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT x.flight_id, x.seats_available, x.seats_booked,"
                    " (SELECT count(*) FROM bookings b WHERE b.flight_id = x.flight_id"
                    "  AND b.cabin = 'economy') AS bookings"
                    " FROM fares x WHERE x.cabin = 'economy' AND x.flight_id = ANY(:ids)"
                ),
                {"ids": list(before)},
            )
        ).all()
        drift = await bookings.inventory_drift(session)
        (negative,) = (
            await session.execute(text("SELECT count(*) FROM fares WHERE seats_available < 0"))
        ).one()
    problems: list[str] = []
    for flight_id, available, booked, made in rows:
        held = outcome.held.get(flight_id, 0)
        if available < 0 or before[flight_id] - available != held or booked != held or made != held:
            problems.append(
                f"flight {flight_id}: {before[flight_id]} -> {available} free, {booked} booked, "
                f"{made} bookings, {held} successes"
            )
    successes = sum(outcome.held.values())
    taken = sum(before[r[0]] - r[1] for r in rows)
    if problems or drift or negative or outcome.failed:
        failures = [repr(e) for e in outcome.failed[:3]]
        raise SystemExit(
            f"OVERSELL CHECK FAILED: {problems[:5]} drift={drift[:5]} negative={negative} "
            f"errors={len(outcome.failed)} {failures}"
        )
    return (
        f"no oversell: seats never negative, {successes:,} successes == {taken:,} seats taken, "
        f"inventory drift empty"
    )


def _report(label: str, workers: int, outcome: Outcome) -> None:
    attempts = len(outcome.latency_ms)
    successes = sum(outcome.held.values())
    qs = statistics.quantiles(outcome.latency_ms, n=100, method="inclusive")
    print(
        f"  {label}, {workers} worker{'s' if workers != 1 else ''}: {attempts:,} attempts in {outcome.seconds:.2f} s = "
        f"{attempts / outcome.seconds:,.0f} attempts/s, {successes / outcome.seconds:,.0f} holds/s "
        f"({successes:,} held, {outcome.sold_out:,} sold out); latency p50 {qs[49]:.1f} ms, "
        f"p99 {qs[98]:.1f} ms; client CPU {outcome.cpu_seconds / attempts * 1000:.2f} ms/attempt"
    )


async def scenario_hot(url: str, workers: int, seats: int, attempts: int) -> None:
    engine = make_async_engine(url, Settings(database_url=url, db_pool_size=workers))
    try:
        before = await _hot_fare(engine, seats)
        (flight_id,) = before
        label = f"hot{workers}-{uuid.uuid4().hex[:8]}"
        jobs = [Job(flight_id, f"{label}-{i}", _name(i)) for i in range(attempts)]
        outcome = await run_holds(engine, jobs, workers)
        _report(f"(a) one hot flight, {seats:,} seats", workers, outcome)
        print(f"      {await verify(engine, before, outcome)}")
    finally:
        await engine.dispose()


async def scenario_spread(
    url: str, workers: int, flights: int, holds: int, operation: Any = bookings.hold
) -> float:
    """Run (b); the successes per second."""
    engine = make_async_engine(url, Settings(database_url=url, db_pool_size=workers))
    try:
        before = await _fares(engine, flights, 20)
        ids = sorted(before)
        rng = random.Random(workers)
        label = f"spread{workers}-{uuid.uuid4().hex[:8]}"
        jobs = [Job(rng.choice(ids), f"{label}-{i}", _name(i)) for i in range(holds)]
        outcome = await run_holds(engine, jobs, workers, operation)
        kind = "" if operation is bookings.hold else f" [{operation.__name__}]"
        _report(f"(b) spread over {flights} flights{kind}", workers, outcome)
        print(f"      {await verify(engine, before, outcome)}")
        return sum(outcome.held.values()) / outcome.seconds
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--workers", default="16,64", help="comma-separated worker counts")
    parser.add_argument("--spread-holds", type=int, default=2000, help="holds in run (b)")
    args = parser.parse_args()
    seats, attempts = (250, 500) if args.quick else (1000, 2000)
    flights, holds = (100, 500) if args.quick else (500, args.spread_holds)
    started = time.perf_counter()
    url = prepare_database()
    print(f"booking benchmark on {HOLD_DB} (seeded in {time.perf_counter() - started:.1f} s)")
    # One worker, no contention: what a hold costs on its own.
    alone = 100 if args.quick else 300
    held = asyncio.run(scenario_spread(url, 1, 100, alone))
    # Booking in one decision (take the seats and confirm, one transaction) beside it.
    booked = asyncio.run(scenario_spread(url, 1, 100, alone, bookings.book))
    print(f"  book / hold throughput, one worker: {booked / held:.2f}")
    for workers in (int(w) for w in args.workers.split(",")):
        free = free_connections()
        if workers > free - 4:
            print(f"  (only {free} free connections on the server: {workers} workers skipped)")
            continue
        asyncio.run(scenario_hot(url, workers, seats, attempts))
        asyncio.run(scenario_spread(url, workers, flights, holds))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
