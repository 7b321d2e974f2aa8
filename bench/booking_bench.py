"""Holds per second through the domain layer beside the bare seat UPDATE, confirms and cancels,
and proof that no seat was sold twice.

``bookings.hold`` (validation, idempotency claim, the conditional seat UPDATE, the booking, its
passengers and audit row, the view, the stored response: one transaction each) through the async
engine, by N concurrent workers, each on a connection of its own opened before the clock starts
(so no pool checkout or pre-ping per hold). Two shapes of load:

(a) one hot flight: a fare with 1,000 seats and 2,000 attempts of one passenger each, so every
    hold queues on the same fare row and half of them are answered sold out;
(b) spread: 2,000 holds over 500 flights chosen at random, almost no contention
    (``--spread-holds``; 2,000 rather than 5,000 keeps the whole run near 2 minutes);

and first, as a baseline, one worker alone (300 holds spread over 100 flights), and booking in one
decision (``bookings.book``) the same way.

In the same run, beside (b) with 16 workers (``--workers``' first count):

- the floor: the bare conditional seat ``UPDATE`` alone (``... WHERE seats_available >= 1``,
  autocommit, one round trip each) by as many plain psycopg connections on the same 500 fares,
  for 2 s (seats given back after); (b)'s holds/s is printed as a ratio to it;
- ``bookings.confirm`` of half of (b)'s holds, then ``bookings.cancel`` of the other half (each
  with an idempotency key, as the agent sends one), by the same workers.

Printed per run: attempts/s, successes/s, refusals, latency p50/p99 of a whole transaction
(commit included), the client's CPU per call (this process) and, when PostgreSQL runs on this
machine, the server's CPU per call (the run's own backends, from ``/proc``). After each run the
inventory is checked: seats never negative, every fare's seats taken == the passengers of its
live bookings (held or confirmed; a cancel gave its seats back once), bookings == successes, and
``inventory_drift`` empty. The database ``booking_holdbench`` is rebuilt each run (a 10-day
schedule, seeded in about a second).

Run: ``python -m bench.booking_bench [--quick] [--workers 16,64] [--spread-holds 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bench.common import fresh_database, server_url
from booking.db.engine import libpq_url, make_async_engine
from booking.domain import bookings
from booking.domain.types import BookingView
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
    reference: str = ""
    """The booking a confirm or cancel acts on."""


Call = Callable[[AsyncSession, Job], Awaitable[BookingView]]


async def _hold(session: AsyncSession, job: Job) -> BookingView:
    return await _take(bookings.hold, session, job)


async def _book(session: AsyncSession, job: Job) -> BookingView:
    return await _take(bookings.book, session, job)


async def _take(operation: Any, session: AsyncSession, job: Job) -> BookingView:
    view: BookingView = await operation(
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
    return view


async def _confirm(session: AsyncSession, job: Job) -> BookingView:
    return await bookings.confirm(
        session,
        tenant="bench",
        reference=job.reference,
        now=NOW + timedelta(minutes=1),
        actor="bench",
        idempotency_key=job.key,
    )


async def _cancel(session: AsyncSession, job: Job) -> BookingView:
    return await bookings.cancel(
        session,
        tenant="bench",
        reference=job.reference,
        now=NOW + timedelta(minutes=2),
        actor="bench",
        idempotency_key=job.key,
    )


@dataclass
class Outcome:
    held: dict[int, int] = field(default_factory=dict)
    """Successful calls by flight."""
    references: list[tuple[int, str]] = field(default_factory=list)
    """(flight, reference) of every success."""
    sold_out: int = 0
    failed: list[BaseException] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    server_cpu_seconds: float | None = None
    """CPU of the run's own PostgreSQL backends, when they run on this machine."""


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


def _backend_cpu(pids: Sequence[int]) -> float | None:
    """User + system CPU seconds of these PostgreSQL backends so far (None unless they run on
    this machine and ``/proc`` shows them)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
    return total / tick


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
    call: Call,
) -> None:
    await start.wait()
    while cursor[0] < len(jobs):
        job = jobs[cursor[0]]
        cursor[0] += 1
        began = time.perf_counter()
        try:
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                async with session.begin():
                    view = await call(session, job)
            outcome.held[job.flight_id] = outcome.held.get(job.flight_id, 0) + 1
            outcome.references.append((job.flight_id, view.reference))
        except SoldOut:
            outcome.sold_out += 1
        except Exception as exc:  # counted and reported; the run goes on
            outcome.failed.append(exc)
        outcome.latency_ms.append((time.perf_counter() - began) * 1000)


async def run_calls(engine: AsyncEngine, jobs: list[Job], workers: int, call: Call) -> Outcome:
    outcome = Outcome()
    conns = [await engine.connect() for _ in range(workers)]
    try:
        pids = []
        for conn in conns:
            pids.append(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            await conn.commit()
        start, cursor = asyncio.Event(), [0]
        tasks = [
            asyncio.create_task(_worker(conn, jobs, cursor, start, outcome, call)) for conn in conns
        ]
        server = _backend_cpu(pids)
        began, cpu = time.perf_counter(), time.process_time()
        start.set()
        await asyncio.gather(*tasks)
        outcome.seconds = time.perf_counter() - began
        outcome.cpu_seconds = time.process_time() - cpu
        after = _backend_cpu(pids)
        if server is not None and after is not None:
            outcome.server_cpu_seconds = after - server
    finally:
        for conn in conns:
            await conn.close()
    return outcome


async def bare_update(url: str, connections: int, ids: list[int], seconds: float) -> Outcome:
    """The floor under every hold: the conditional seat UPDATE alone (autocommit, one round
    trip each) on plain psycopg connections, on fares ``ids`` at random, for ``seconds``; the
    seats it took are given back afterwards."""
    conns = [
        await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)
        for _ in range(connections)
    ]
    outcome = Outcome()
    rng = random.Random(5)
    try:
        pids = [conn.info.backend_pid for conn in conns]
        deadline = time.perf_counter() + seconds

        async def loop(conn: psycopg.AsyncConnection[Any]) -> None:
            while time.perf_counter() < deadline:
                flight_id = rng.choice(ids)
                began = time.perf_counter()
                taken = await conn.execute(
                    "UPDATE fares SET seats_available = seats_available - 1,"
                    " seats_booked = seats_booked + 1 WHERE flight_id = %s"
                    " AND cabin = 'economy' AND seats_available >= 1",
                    (flight_id,),
                )
                if taken.rowcount == 1:
                    outcome.held[flight_id] = outcome.held.get(flight_id, 0) + 1
                else:
                    outcome.sold_out += 1
                outcome.latency_ms.append((time.perf_counter() - began) * 1000)

        server = _backend_cpu(pids)
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop(c) for c in conns))
        outcome.seconds = time.perf_counter() - began
        outcome.cpu_seconds = time.process_time() - cpu
        after = _backend_cpu(pids)
        if server is not None and after is not None:
            outcome.server_cpu_seconds = after - server
        await conns[0].execute(
            "UPDATE fares x SET seats_available = x.seats_available + t.n,"
            " seats_booked = x.seats_booked - t.n"
            " FROM unnest(%s::bigint[], %s::int[]) AS t(flight_id, n)"
            " WHERE x.flight_id = t.flight_id AND x.cabin = 'economy'",
            (list(outcome.held), list(outcome.held.values())),
        )
    finally:
        for conn in conns:
            await conn.close()
    return outcome


async def verify(engine: AsyncEngine, before: dict[int, int], live: dict[int, int]) -> str:
    """No oversell: seats never negative; on every fare, seats taken == booked == the
    passengers of its live bookings == ``live`` (one passenger each); drift empty."""
    async with AsyncSession(engine) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT x.flight_id, x.seats_available, x.seats_booked,"
                    " (SELECT count(*) FROM bookings b WHERE b.flight_id = x.flight_id"
                    "  AND b.cabin = 'economy' AND b.status IN ('held', 'confirmed'))"
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
        held = live.get(flight_id, 0)
        if available < 0 or before[flight_id] - available != held or booked != held or made != held:
            problems.append(
                f"flight {flight_id}: {before[flight_id]} -> {available} free, {booked} booked, "
                f"{made} live bookings, {held} expected"
            )
    expected = sum(live.values())
    taken = sum(before[r[0]] - r[1] for r in rows)
    if problems or drift or negative:
        raise SystemExit(
            f"OVERSELL CHECK FAILED: {problems[:5]} drift={drift[:5]} negative={negative}"
        )
    return (
        f"no oversell: seats never negative, {expected:,} live bookings == {taken:,} seats "
        "taken, inventory drift empty"
    )


def _check_errors(outcome: Outcome) -> None:
    if outcome.failed:
        failures = [repr(e) for e in outcome.failed[:3]]
        raise SystemExit(f"{len(outcome.failed)} calls failed: {failures}")


def _report(label: str, workers: int, outcome: Outcome, what: str = "holds") -> float:
    """Print one run; its successes per second."""
    attempts = len(outcome.latency_ms)
    successes = sum(outcome.held.values())
    qs = statistics.quantiles(outcome.latency_ms, n=100, method="inclusive")
    server = (
        f", server CPU {outcome.server_cpu_seconds / attempts * 1000:.2f} ms"
        if outcome.server_cpu_seconds is not None
        else ""
    )
    refused = f", {outcome.sold_out:,} sold out" if what in ("holds", "UPDATEs") else ""
    print(
        f"  {label}, {workers} worker{'s' if workers != 1 else ''}: {attempts:,} attempts in "
        f"{outcome.seconds:.2f} s = {attempts / outcome.seconds:,.0f} attempts/s, "
        f"{successes / outcome.seconds:,.0f} {what}/s ({successes:,} done{refused}); "
        f"latency p50 {qs[49]:.1f} ms, p99 {qs[98]:.1f} ms; client CPU "
        f"{outcome.cpu_seconds / attempts * 1000:.2f} ms{server} per attempt"
    )
    return successes / outcome.seconds


def _engine(url: str, workers: int) -> AsyncEngine:
    return make_async_engine(url, Settings(database_url=url, db_pool_size=workers))


async def scenario_hot(url: str, workers: int, seats: int, attempts: int) -> None:
    engine = _engine(url, workers)
    try:
        before = await _hot_fare(engine, seats)
        (flight_id,) = before
        label = f"hot{workers}-{uuid.uuid4().hex[:8]}"
        jobs = [Job(flight_id, f"{label}-{i}", _name(i)) for i in range(attempts)]
        outcome = await run_calls(engine, jobs, workers, _hold)
        _check_errors(outcome)
        _report(f"(a) one hot flight, {seats:,} seats", workers, outcome)
        print(f"      {await verify(engine, before, outcome.held)}")
    finally:
        await engine.dispose()


async def scenario_spread(
    url: str, workers: int, flights: int, holds: int, call: Call = _hold, *, floor: bool = False
) -> float:
    """Run (b); the successes per second. With ``floor``, first the bare seat UPDATE on the
    same fares by as many connections, then confirms and cancels of the holds."""
    engine = _engine(url, workers)
    try:
        before = await _fares(engine, flights, 20)
        ids = sorted(before)
        bare = 0.0
        if floor:
            outcome = await bare_update(url, workers, ids, 2.0)
            _report(
                f"(b0) floor: the bare seat UPDATE, {flights} flights", workers, outcome, "UPDATEs"
            )
            # Statements per second: a refused UPDATE (a fare emptied by the floor) is the same
            # round trip.
            bare = len(outcome.latency_ms) / outcome.seconds
        rng = random.Random(workers)
        label = f"spread{workers}-{uuid.uuid4().hex[:8]}"
        jobs = [Job(rng.choice(ids), f"{label}-{i}", _name(i)) for i in range(holds)]
        outcome = await run_calls(engine, jobs, workers, call)
        _check_errors(outcome)
        kind = "" if call is _hold else f" [{call.__name__.strip('_')}]"
        rate = _report(f"(b) spread over {flights} flights{kind}", workers, outcome)
        print(f"      {await verify(engine, before, outcome.held)}")
        if floor:
            print(
                f"      holds/s / bare UPDATE statements/s, same run: {rate / bare:.2f} "
                f"({rate:,.0f} / {bare:,.0f})"
            )
            await _changes(engine, workers, before, outcome.references, label)
        return rate
    finally:
        await engine.dispose()


async def _changes(
    engine: AsyncEngine,
    workers: int,
    before: dict[int, int],
    held: list[tuple[int, str]],
    label: str,
) -> None:
    """(c) confirm the first half of the holds, (d) cancel the other half; check the seats."""
    half = len(held) // 2
    confirms = [Job(f, f"{label}-confirm-{i}", "", r) for i, (f, r) in enumerate(held[:half])]
    cancels = [Job(f, f"{label}-cancel-{i}", "", r) for i, (f, r) in enumerate(held[half:])]
    for step, call, jobs in (("(c) confirm", _confirm, confirms), ("(d) cancel", _cancel, cancels)):
        outcome = await run_calls(engine, jobs, workers, call)
        _check_errors(outcome)
        _report(f"{step} of holds (b) made", workers, outcome, f"{call.__name__.strip('_')}s")
    live: dict[int, int] = {}
    for flight_id, _ in held[:half]:
        live[flight_id] = live.get(flight_id, 0) + 1
    print(f"      {await verify(engine, before, live)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs, 16 workers only")
    parser.add_argument("--workers", default="16,64", help="comma-separated worker counts")
    parser.add_argument("--spread-holds", type=int, default=2000, help="holds in run (b)")
    args = parser.parse_args()
    seats, attempts = (250, 500) if args.quick else (1000, 2000)
    flights, holds = (500, 1000) if args.quick else (500, args.spread_holds)
    counts = [int(w) for w in args.workers.split(",")][: 1 if args.quick else None]
    started = time.perf_counter()
    url = prepare_database()
    print(f"booking benchmark on {HOLD_DB} (seeded in {time.perf_counter() - started:.1f} s)")
    # One worker, no contention: what a hold costs on its own.
    alone = 100 if args.quick else 300
    held = asyncio.run(scenario_spread(url, 1, 100, alone))
    # Booking in one decision (take the seats and confirm, one transaction) beside it.
    booked = asyncio.run(scenario_spread(url, 1, 100, alone, _book))
    print(f"  book / hold throughput, one worker: {booked / held:.2f}")
    for n, workers in enumerate(counts):
        free = free_connections()
        if workers > free - 4:
            print(f"  (only {free} free connections on the server: {workers} workers skipped)")
            continue
        asyncio.run(scenario_hot(url, workers, seats, attempts))
        asyncio.run(scenario_spread(url, workers, flights, holds, floor=n == 0))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
