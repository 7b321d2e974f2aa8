"""Booking correctness, Jepsen style: concurrent buyers, injected faults, a history checker.

Each buyer wants one seat on one fare: it holds with its own idempotency key until it gets a
definite answer, then confirms with a second key. All buyers start at once and share a pool of
``connections`` (the server's 100 connections are shared with whatever else runs); every attempt is
one ``bookings.hold`` or ``bookings.confirm`` transaction, recorded in a :class:`History` as invoke
then ok / fail / info (see ``bench/history.py``). Faults, while the buyers run:

- ``kill``: every 200-600 ms, ``pg_terminate_backend`` on each backend of the database that is not
  idle (in a statement or inside a transaction) with probability 1/2. A kill almost never lands
  between the commit and the answer (the backend is idle by then), so the bench also drops 5 % of
  answers after their commit (``drop_acks``): the ambiguous case a retry must resolve to the same
  booking;
- ``restart``: the server (an embedded PostgreSQL of our own, never a shared one) is stopped with
  ``pg_ctl -m immediate`` (a crash: recovery from the WAL on start) once ``restart_at`` of the buyers
  are done, and started again half a second later.

Buyers retry ``info`` and ``unavailable`` with the same key (backoff 10-500 ms, ``patience``
attempts). Then, with the faults healed, every key that ever got ``info`` is issued again, buyers
without an answer finish their journey, and :func:`bench.history.check` compares the history with
the database.

Workloads: (a) 1,000 buyers on one fare of 100 seats; (b) 10,000 buyers over 100 flights of 20
seats; each without faults and with killed connections on the machine's PostgreSQL (database
``booking_jepsenbench``, rebuilt each run), and with crash-restarts on a throwaway embedded server.
First, as a floor, the seat UPDATE alone. Printed per run: hold attempts/s (sent to the server),
holds/s, confirms/s, latency of an attempt, ok / fail / info counts, how many keys were reconciled,
the faults injected, client CPU, and the checker's verdict; the exit status is 1 if any history is
invalid.

Run: ``python -m bench.jepsen_bench [--quick] [--connections 16] [--only hot|spread]`` (about 4-5
minutes; ``--quick`` runs the test suite's sizes in under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from sqlalchemy import exc as sa_exc, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bench.common import server_url
from bench.history import (
    UNAVAILABLE,
    BookingRow,
    Event,
    FareRow,
    History,
    Op,
    Phase,
    Snapshot,
    Summary,
    Verdict,
    check,
    summarize,
)
from booking.db import migrate
from booking.db.embedded import crash_embedded, embedded_url, stop_embedded
from booking.db.engine import libpq_url
from booking.domain import bookings
from booking.domain.types import BookingView
from booking.errors import BookingError
from booking.settings import SERVICE_TZ
from seed.load import SeedOptions, seed_database

BENCH_DB = "booking_jepsenbench"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SERVICE_TZ)
POLICY = bookings.Policy()
SEED = SeedOptions(seed=7, today=NOW.date(), days=10, scale=0.3)
#: With killed connections, also drop this share of answers after their commit (see Scenario).
DROP_ACKS = 0.05
#: A buyer may wait this long for one of the pool's connections: 10,000 buyers share 16.
POOL_TIMEOUT_S = 600.0
Fault = Literal["none", "kill", "restart"]
Sessions = async_sessionmaker[AsyncSession]

# Busy backends of the database (in a statement or inside a transaction), each with probability
# ``share``; never the killer's own.
_KILL = (
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ("
    "  SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    "  AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
    "  AND random() < %(share)s) busy"
)


@dataclass(frozen=True)
class Scenario:
    buyers: int
    flights: int
    seats: int
    """Free seats on each fare; demand is ``buyers / flights`` a fare."""
    fault: Fault = "none"
    connections: int = 16
    patience: int = 40
    """Attempts per operation before a buyer gives up (the reconcile phase finishes for it)."""
    op_timeout_s: float = 20.0
    kill_every_s: tuple[float, float] = (0.2, 0.6)
    kill_share: float = 0.5
    """Each busy backend is killed with this probability in a round."""
    restart_at: tuple[float, ...] = (0.3,)
    """Share of buyers done at which the server is crashed and restarted."""
    drop_acks: float = 0.0
    """Share of committed attempts whose answer is dropped on its way to the buyer (recorded as
    ``info``, the connection discarded): the commit-then-cut case a real kill hits only rarely."""
    seed: int = 1

    @property
    def label(self) -> str:
        fare = f"one fare of {self.seats:,} seats" if self.flights == 1 else f"{self.flights} flights of {self.seats} seats"  # fmt: skip
        faults = {
            "none": "no faults",
            "kill": "connections killed",
            "restart": "PostgreSQL restarted",
        }
        dropped = f" + {self.drop_acks:.0%} of answers dropped" if self.drop_acks else ""
        return f"{self.buyers:,} buyers on {fare}, {faults[self.fault]}{dropped}"


@dataclass
class FaultLog:
    kills: int = 0
    """Backends terminated."""
    rounds: int = 0
    restarts: int = 0
    down_s: float = 0.0

    def describe(self) -> str:
        if self.restarts:
            return f"{self.restarts} crash-restart(s), server down {self.down_s:.2f} s"
        if self.rounds:
            return f"{self.kills:,} backends killed in {self.rounds:,} rounds"
        return "none"


@dataclass
class Result:
    scenario: Scenario
    history: History
    summary: Summary
    verdict: Verdict
    faults: FaultLog = field(default_factory=FaultLog)
    cpu_s: float = 0.0
    """Client CPU of the run phase (this process)."""

    def describe(self) -> str:
        sent = sum(self.summary.sent.values())
        return (
            f"  {self.scenario.label} ({self.scenario.connections} connections)\n"
            f"    {self.summary.describe()}; client CPU {self.cpu_s / max(sent, 1) * 1000:.1f} ms "
            "a transaction\n"
            f"    faults: {self.faults.describe()}\n"
            f"    checker: {self.verdict.describe()}"
        )


def is_connection_lost(exc: BaseException) -> bool:
    """The connection broke or the server went away: the request may or may not have happened."""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc.orig, psycopg.OperationalError | psycopg.InterfaceError
        )
    return isinstance(exc, OSError | psycopg.OperationalError | psycopg.InterfaceError)


def buyer_email(buyer: int) -> str:
    return f"buyer-{buyer}@jepsen.example"


def _name(buyer: int) -> str:
    letters = "".join(chr(97 + (buyer // 26**k) % 26) for k in range(4))
    return f"Hanh Khach {letters.capitalize()}"


class Buyers:
    """Runs buyers' journeys and records every attempt in the history."""

    def __init__(
        self,
        sessions: Sessions,
        history: History,
        *,
        tenant: str,
        now: datetime,
        op_timeout_s: float,
        drop_acks: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.sessions = sessions
        self.drop_acks = drop_acks
        self.rng = random.Random(seed)
        self.history = history
        self.tenant = tenant
        self.now = now
        self.op_timeout_s = op_timeout_s
        self.answers: dict[tuple[int, Op], Event] = {}
        self.unknown: dict[int, set[Op]] = {}
        """Per buyer, the operations that got ``info`` at least once."""
        self.done = 0
        """Buyers whose run-phase journey has ended."""

    async def journey(self, buyer: int, phase: Phase, patience: int) -> None:
        """Hold, then confirm the held booking; each retried with its key until answered."""
        try:
            held = self.answers.get((buyer, "hold"))
            if held is None:
                held = await self._until_answer(buyer, "hold", phase, patience)
            if held is None or held.kind != "ok" or (buyer, "confirm") in self.answers:
                return
            assert held.value is not None
            await self._until_answer(buyer, "confirm", phase, patience, held.value)
        finally:
            self.done += phase == "run"

    async def reconcile(self, buyer: int, patience: int) -> None:
        """Issue again every key of ``buyer`` that got ``info``; then finish its journey."""
        unknown = self.unknown.get(buyer, set())
        if "hold" in unknown:
            await self._until_answer(buyer, "hold", "reconcile", patience)
        held = self.answers.get((buyer, "hold"))
        if "confirm" in unknown and held is not None and held.value is not None:
            await self._until_answer(buyer, "confirm", "reconcile", patience, held.value)
        await self.journey(buyer, "reconcile", patience)

    async def _until_answer(
        self, buyer: int, op: Op, phase: Phase, patience: int, reference: str = ""
    ) -> Event | None:
        for attempt in range(patience):
            completion = await self._attempt(buyer, op, phase, reference)
            if completion.is_answer:
                self.answers[(buyer, op)] = completion
                return completion
            await asyncio.sleep(random.uniform(0.5, 1.0) * min(0.5, 0.01 * 2**attempt))
        return None

    async def _attempt(self, buyer: int, op: Op, phase: Phase, reference: str) -> Event:
        key = f"{op}-{buyer}"
        session = self.sessions()
        try:
            try:
                # Waiting for one of the pool's connections is the buyer's own queue; the
                # operation starts once it has one. No statement of ours was sent if this fails.
                await session.connection()
            except Exception as exc:
                if not (is_connection_lost(exc) or isinstance(exc, sa_exc.TimeoutError)):
                    raise
                invocation = self.history.invoke(buyer, op, key, phase)
                return self.history.complete(invocation, "fail", UNAVAILABLE)
            invocation = self.history.invoke(buyer, op, key, phase)
            try:
                async with asyncio.timeout(self.op_timeout_s):
                    view = await self._call(session, buyer, op, key, reference)
                    await session.commit()
            except BookingError as exc:
                return self.history.complete(invocation, "fail", exc.code)
            except Exception as exc:
                if isinstance(exc, TimeoutError):  # the connection's state is unknown: drop it
                    with contextlib.suppress(Exception):
                        await session.invalidate()
                    reason = "timeout"
                else:
                    reason = "connection lost" if is_connection_lost(exc) else "unexpected"
                self.unknown.setdefault(buyer, set()).add(op)
                return self.history.complete(
                    invocation, "info", f"{reason}: {type(exc).__name__}: {str(exc)[:160]}"
                )
            if phase == "run" and self.drop_acks and self.rng.random() < self.drop_acks:
                # Committed, but the answer never reaches the buyer.
                with contextlib.suppress(Exception):
                    await session.invalidate()
                self.unknown.setdefault(buyer, set()).add(op)
                return self.history.complete(invocation, "info", "answer dropped: injected")
            if op == "confirm" and view.status != "confirmed":
                return self.history.complete(invocation, "fail", f"confirm gave {view.status}")
            return self.history.complete(invocation, "ok", view.reference)
        finally:
            with contextlib.suppress(Exception):  # a dead connection is discarded by the pool
                await session.close()

    async def _call(
        self, session: AsyncSession, buyer: int, op: Op, key: str, reference: str
    ) -> BookingView:
        if op == "hold":
            return await bookings.hold(
                session,
                tenant=self.tenant,
                flight_id=self.history.fare_of[buyer],
                cabin="economy",
                passengers=[{"full_name": _name(buyer)}],
                contact={"email": buyer_email(buyer)},
                idempotency_key=key,
                now=self.now,
                policy=POLICY,
                actor=f"jepsen:{buyer}",
            )
        return await bookings.confirm(
            session,
            tenant=self.tenant,
            reference=reference,
            now=self.now,
            actor=f"jepsen:{buyer}",
            idempotency_key=key,
        )


# Faults -----------------------------------------------------------------------------------


async def kill_connections(
    url: str, stop: asyncio.Event, log: FaultLog, every_s: tuple[float, float], share: float
) -> None:
    """Every ``every_s`` seconds (uniform), terminate each busy backend of the database with
    probability ``share``, until ``stop``."""
    rng = random.Random(7)
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*every_s))
            if stop.is_set():
                return
            row = await (await conn.execute(_KILL, {"share": share})).fetchone()
            log.kills += int(row[0]) if row else 0
            log.rounds += 1


def crash_and_start(pg_dir: Path, down_s: float) -> float:
    """Crash the embedded server under ``pg_dir`` (``pg_ctl -m immediate``), wait ``down_s``,
    start it again (WAL recovery); the seconds it was down."""
    began = time.perf_counter()
    crash_embedded(pg_dir)
    time.sleep(down_s)
    embedded_url(pg_dir)
    return time.perf_counter() - began


async def restart_server(
    pg_dir: Path,
    stop: asyncio.Event,
    log: FaultLog,
    progress: Callable[[], float],
    at: tuple[float, ...],
    down_s: float = 0.5,
) -> None:
    for fraction in at:
        while progress() < fraction:
            if stop.is_set():
                return
            await asyncio.sleep(0.005)
        log.down_s += await asyncio.to_thread(crash_and_start, pg_dir, down_s)
        log.restarts += 1


async def wait_until_up(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(libpq_url(url))
            await conn.close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


# Database ---------------------------------------------------------------------------------


async def prepare_fares(
    sessions: Sessions, flights: int, seats: int, now: datetime
) -> dict[int, int]:
    """``flights`` economy fares nobody booked yet, departing a day or more after ``now``, each
    set to ``seats`` free seats and none sold elsewhere; their capacity by flight."""
    async with sessions() as session, session.begin():
        ids = (
            await session.scalars(
                text(
                    "SELECT x.flight_id FROM fares x JOIN flights f ON f.id = x.flight_id"
                    " WHERE x.cabin = 'economy' AND x.seats_booked = 0"
                    " AND f.departs_at > :now + interval '1 day'"
                    " AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.flight_id = x.flight_id)"
                    " ORDER BY f.id LIMIT :n FOR UPDATE OF x"
                ),
                {"now": now, "n": flights},
            )
        ).all()
        if len(ids) < flights:
            raise RuntimeError(f"only {len(ids)} unused fares; {flights} needed")
        await session.execute(
            text(
                "UPDATE fares SET seats_total = :n, seats_available = :n, seats_booked = 0"
                " WHERE cabin = 'economy' AND flight_id = ANY(:ids)"
            ),
            {"n": seats, "ids": list(ids)},
        )
    return {int(i): seats for i in ids}


async def read_snapshot(sessions: Sessions, tenant: str, flights: list[int]) -> Snapshot:
    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT reference, contact_email, flight_id, status, passenger_count"
                    " FROM bookings WHERE tenant = :tenant"
                ),
                {"tenant": tenant},
            )
        ).all()
        fares = (
            await session.execute(
                text(
                    "SELECT flight_id, seats_available, seats_booked FROM fares"
                    " WHERE cabin = 'economy' AND flight_id = ANY(:ids)"
                ),
                {"ids": flights},
            )
        ).all()
        drift = await bookings.inventory_drift(session)
    return Snapshot(
        bookings=[
            BookingRow(r[0], int(r[1].split("@")[0].removeprefix("buyer-")), r[2], r[3], r[4])
            for r in rows
        ],
        fares={int(f[0]): FareRow(int(f[0]), int(f[1]), int(f[2])) for f in fares},
        drift=drift,
    )


async def run(
    url: str, scenario: Scenario, *, now: datetime = NOW, pg_dir: Path | None = None
) -> Result:
    """Run ``scenario`` on the database at ``url``, reconcile, check; ``pg_dir`` is the embedded
    server to crash for ``restart`` (never pass a shared server's)."""
    if scenario.fault == "restart" and pg_dir is None:
        raise ValueError("the restart fault needs an embedded server of our own (pg_dir)")
    engine: AsyncEngine = create_async_engine(
        url,
        pool_size=scenario.connections,
        max_overflow=0,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_S,
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        capacity = await prepare_fares(sessions, scenario.flights, scenario.seats, now)
        flights = sorted(capacity)
        history = History()
        wanted = [flights[b % len(flights)] for b in range(scenario.buyers)]
        random.Random(scenario.seed).shuffle(wanted)
        for buyer, flight_id in enumerate(wanted):
            history.add_buyer(buyer, flight_id)
        buyers = Buyers(
            sessions,
            history,
            tenant=f"jepsen-{uuid.uuid4().hex[:8]}",
            now=now,
            op_timeout_s=scenario.op_timeout_s,
            drop_acks=scenario.drop_acks,
            seed=scenario.seed,
        )
        # Open the pool's connections before the clock starts.
        opened = [await engine.connect() for _ in range(scenario.connections)]
        for conn in opened:
            await conn.close()

        faults, stop = FaultLog(), asyncio.Event()
        injector: Coroutine[Any, Any, None] | None = None
        if scenario.fault == "kill":
            injector = kill_connections(
                url, stop, faults, scenario.kill_every_s, scenario.kill_share
            )
        elif scenario.fault == "restart":
            assert pg_dir is not None
            injector = restart_server(
                pg_dir, stop, faults, lambda: buyers.done / scenario.buyers, scenario.restart_at
            )
        fault_task = asyncio.create_task(injector) if injector is not None else None
        cpu = time.process_time()
        try:
            await asyncio.gather(
                *(buyers.journey(b, "run", scenario.patience) for b in range(scenario.buyers))
            )
        finally:
            stop.set()
            if fault_task is not None:
                await fault_task
        cpu = time.process_time() - cpu

        await wait_until_up(url)
        await asyncio.gather(
            *(buyers.reconcile(b, scenario.patience) for b in range(scenario.buyers))
        )
        snapshot = await read_snapshot(sessions, buyers.tenant, flights)
        verdict = check(history, snapshot, capacity)
        return Result(scenario, history, summarize(history), verdict, faults, cpu)
    finally:
        await engine.dispose()


# The benchmark ----------------------------------------------------------------------------


def prepare_database(url_of_server: str, name: str) -> str:
    with psycopg.connect(libpq_url(url_of_server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = url_of_server.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    migrate.upgrade(url)
    seed_database(url, SEED)
    return url


async def conditional_update_rate(
    url: str, connections: int, fares: int, seconds: float = 2.0
) -> float:
    """The floor under every hold: the seat UPDATE alone (``... WHERE seats_available >= 1``,
    autocommit, one round trip each) by ``connections`` connections on ``fares`` fares chosen at
    random; statements per second."""
    engine = create_async_engine(url)
    try:
        ids = sorted(await prepare_fares(async_sessionmaker(engine), fares, 30000, NOW))
    finally:
        await engine.dispose()
    conns = [
        await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)
        for _ in range(connections)
    ]
    try:
        done = [0]
        deadline = time.perf_counter() + seconds
        rng = random.Random(3)

        async def loop(conn: psycopg.AsyncConnection[Any]) -> None:
            while time.perf_counter() < deadline:
                await conn.execute(
                    "UPDATE fares SET seats_available = seats_available - 1,"
                    " seats_booked = seats_booked + 1 WHERE flight_id = %s"
                    " AND cabin = 'economy' AND seats_available >= 1",
                    (rng.choice(ids),),
                )
                done[0] += 1

        began = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        rate = done[0] / (time.perf_counter() - began)
        await conns[0].execute(
            "UPDATE fares SET seats_available = seats_total, seats_booked = 0"
            " WHERE flight_id = ANY(%s) AND cabin = 'economy'",
            (ids,),
        )
        return rate
    finally:
        for conn in conns:
            await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the test suite's sizes")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", choices=["hot", "spread"], help="one workload")
    args = parser.parse_args()
    hot, spread = (
        ((200, 1, 20), (1000, 20, 10)) if args.quick else ((1000, 1, 100), (10000, 100, 20))
    )
    workloads = {
        "hot": Scenario(*hot, connections=args.connections),
        "spread": Scenario(*spread, connections=args.connections),
    }
    if args.only:
        workloads = {args.only: workloads[args.only]}
    started = time.perf_counter()
    url = prepare_database(server_url(), BENCH_DB)
    print(f"jepsen benchmark on {BENCH_DB} (seeded in {time.perf_counter() - started:.1f} s)")
    for fares in (1, 100):
        rate = asyncio.run(conditional_update_rate(url, args.connections, fares))
        print(
            f"  baseline: the seat UPDATE alone (autocommit, {args.connections} connections, "
            f"{fares} fare{'s' if fares > 1 else ''}): {rate:,.0f}/s"
        )
    results: list[Result] = []
    for workload in workloads.values():
        for fault in ("none", "kill"):
            dropped = DROP_ACKS if fault == "kill" else 0.0
            scenario = dataclasses.replace(workload, fault=fault, drop_acks=dropped)
            results.append(asyncio.run(run(url, scenario)))
            print(results[-1].describe(), flush=True)
    pg_dir = Path(tempfile.mkdtemp(prefix="booking-jepsen-")) / "pg"
    try:
        own = prepare_database(embedded_url(pg_dir), BENCH_DB)
        print(f"  (restarts on an embedded PostgreSQL under {pg_dir})")
        for workload in workloads.values():
            scenario = dataclasses.replace(workload, fault="restart", restart_at=(0.25, 0.6))
            results.append(asyncio.run(run(own, scenario, pg_dir=pg_dir)))
            print(results[-1].describe(), flush=True)
    finally:
        stop_embedded(pg_dir)
        shutil.rmtree(pg_dir.parent, ignore_errors=True)
    invalid = [r.scenario.label for r in results if not r.verdict.valid]
    print(
        f"total {time.perf_counter() - started:.0f} s; "
        + (f"INVALID: {invalid}" if invalid else "every history valid")
    )
    if invalid:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
