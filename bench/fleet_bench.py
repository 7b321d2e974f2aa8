"""Fleet: N ``booking serve`` replicas on one database, streams hopping between them, one killed.

Every stream starts on one replica and, every few parts, disconnects and resumes on the next one
(``GET /v1/conversations/{id}/events`` with ``Last-Event-ID``): no stickiness at all. Mid-run
one replica gets SIGKILL; the clients it was serving resume on the next replica, and the turns
it ran must end there with the retryable ``turn_interrupted`` part once a survivor takes them
over. Reported:

- streams that ended with a terminal part (``finish``, ``error`` or ``abort``) and ``[DONE]``;
- resumes exact: what each client saw, segment after segment, has contiguous ids, no duplicate,
  and equals the conversation replayed from the start afterwards;
- failover: from the kill to the retryable terminal part reaching the client, p50 / p99 / max;
- commits/s on the database (``pg_stat_database``), notifications/s (the replicas'
  ``booking_notifications_sent_total``, "n/a" when the metric does not exist), and the database
  connections (``pg_stat_activity``: peak, and how many are LISTEN sessions).

The replicas run the offline model with a paced stream (``--pace-ms``), so a turn lasts a few
seconds and the kill catches many mid-answer. ``--pgbouncer`` puts Debian's PgBouncer in
transaction mode between the replicas and PostgreSQL (LISTEN stays direct), to compare the
connection counts.

Run: ``python -m bench.fleet_bench`` (about a minute; ``--replicas 4 --streams 48
--kill/--no-kill --pgbouncer``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import psycopg

from bench.common import fresh_database
from booking.db.engine import libpq_url
from booking.turns.ui_stream import TERMINAL_TYPES

FLEET_DB = "booking_fleetbench"
#: Ports of the fleet helpers (issue #15): replicas and PgBouncer.
PORTS = range(18700, 18800)
#: The message every stream sends: a flight search and a priced answer of ~100 parts.
MESSAGE = "Đặt vé SGN → HAN ngày mai"
NOTIFICATIONS = "booking_notifications_sent_total"


def free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {PORTS}")


def prepare_database() -> str:
    return fresh_database(FLEET_DB)


@dataclass
class Replica:
    index: int
    port: int
    process: subprocess.Popen[bytes]
    alive: bool = True
    notifications: float | None = None
    """The last value of its notifications counter that we read (None: no such metric)."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def replicas(
    count: int, db_url: str, direct_url: str, env: dict[str, str]
) -> Iterator[list[Replica]]:
    taken: set[int] = set()
    started: list[Replica] = []
    try:
        for index in range(count):
            port = free_port(taken)
            environment = {
                **{k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")},
                "BOOKING_DATABASE_URL": db_url,
                "BOOKING_AUTH": "off",
                "BOOKING_RATE_LIMIT_PER_MINUTE": "10000000",
                "BOOKING_DB_POOL_SIZE": "10",
                **env,
            }
            if db_url != direct_url:
                environment["BOOKING_DATABASE_DIRECT_URL"] = direct_url
                environment["BOOKING_DATABASE_POOLER"] = "transaction"
            process = subprocess.Popen(
                [sys.executable, "-m", "booking", "serve", "--no-migrate", "--port", str(port)],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(Replica(index, port, process))
        for replica in started:
            _wait_ready(replica)
        yield started
    finally:
        for replica in started:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in started:
            try:
                replica.process.wait(30)
            except subprocess.TimeoutExpired:
                replica.process.kill()


def _wait_ready(replica: Replica) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(f"replica {replica.index} exited ({replica.process.returncode})")
        try:
            if httpx2.get(f"{replica.base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"replica {replica.index} not ready within 60 s")


# The load ---------------------------------------------------------------------------------


@dataclass
class StreamResult:
    conversation_id: str
    seen: list[tuple[int, Any]] = field(default_factory=list)
    """(id, parsed part) of every part the client received, across all its segments."""
    segments: list[int] = field(default_factory=list)
    """The replica of each segment, in order."""
    done: bool = False
    terminal: str | None = None
    error_code: str | None = None
    terminal_at: float | None = None
    problem: str | None = None
    transport_errors: list[str] = field(default_factory=list)
    """Connections that broke on a replica still alive (each was resumed elsewhere)."""


class Load:
    def __init__(self, fleet: list[Replica], hop_parts: int) -> None:
        self.fleet = fleet
        self.hop_parts = hop_parts
        self.killed_at: float | None = None
        self.first_text = asyncio.Event()

    def next_alive(self, after: int) -> Replica:
        for step in range(1, len(self.fleet) + 1):
            replica = self.fleet[(after + step) % len(self.fleet)]
            if replica.alive:
                return replica
        raise RuntimeError("no replica alive")

    async def stream(self, client: httpx2.AsyncClient, index: int) -> StreamResult:
        result = StreamResult(f"fleet-{uuid.uuid4().hex}")
        replica = self.fleet[index % len(self.fleet)]
        body = {
            "id": result.conversation_id,
            "messages": [
                {"id": "u1", "role": "user", "parts": [{"type": "text", "text": MESSAGE}]}
            ],
            "trigger": "submit-message",
        }
        request: tuple[str, str, dict[str, Any]] = ("POST", "/v1/chat", {"json": body})
        for _ in range(200):  # Segments; a turn has ~100 parts, so this is never the limit.
            result.segments.append(replica.index)
            method, path, kwargs = request
            try:
                finished = await self._segment(client, replica, method, path, kwargs, result)
            except httpx2.HTTPError as exc:
                finished = False  # Resume elsewhere; expected only from the killed replica.
                if replica.alive:
                    result.transport_errors.append(f"{type(exc).__name__} from a live replica")
            if finished or result.problem:
                return result
            # Resume on the next live replica from the last id seen (never the same replica).
            last = result.seen[-1][0] if result.seen else 0
            replica = self.next_alive(replica.index)
            request = (
                "GET",
                f"/v1/conversations/{result.conversation_id}/events",
                {"headers": {"last-event-id": str(last)}},
            )
        result.problem = "too many segments"
        return result

    async def _segment(
        self,
        client: httpx2.AsyncClient,
        replica: Replica,
        method: str,
        path: str,
        kwargs: dict[str, Any],
        result: StreamResult,
    ) -> bool:
        """One connection's worth of the stream; True once ``[DONE]`` arrived."""
        received = 0
        async with client.stream(method, replica.base_url + path, **kwargs) as response:
            if response.status_code != 200:
                await response.aread()
                if response.status_code >= 500 and not replica.alive:
                    return False
                result.problem = f"HTTP {response.status_code} from replica {replica.index}"
                return False
            current: int | None = None
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    current = int(line[4:])
                elif line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        result.done = True
                        return True
                    if current is None:
                        result.problem = "part without id"
                        return False
                    part = json.loads(data)
                    result.seen.append((current, part))
                    current = None
                    self._note(part, result)
                    received += 1
                    if result.terminal is None and received >= self.hop_parts:
                        return False  # Hop: disconnect and resume on another replica.
        return False

    def _note(self, part: dict[str, Any], result: StreamResult) -> None:
        kind = part.get("type")
        if kind == "text-delta":
            self.first_text.set()
        error = (part.get("messageMetadata") or {}).get("error")
        if isinstance(error, dict):
            result.error_code = error.get("code")
        if kind in TERMINAL_TYPES:
            result.terminal = kind
            result.terminal_at = time.monotonic()


# Measurements -----------------------------------------------------------------------------


def _metric_sum(text: str, name: str) -> float | None:
    values = [
        float(m.group(1))
        for m in re.finditer(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)
    ]
    return sum(values) if values else None


async def read_notifications(client: httpx2.AsyncClient, fleet: list[Replica]) -> None:
    for replica in fleet:
        if not replica.alive:
            continue
        try:
            response = await client.get(f"{replica.base_url}/metrics", timeout=2)
        except httpx2.HTTPError:
            continue
        replica.notifications = _metric_sum(response.text, NOTIFICATIONS)


def database_counters(direct_url: str) -> tuple[int, int, int]:
    """(commits so far, connections now, LISTEN sessions now) on the fleet's database."""
    with psycopg.connect(libpq_url(direct_url), autocommit=True) as conn:
        commits = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        sessions = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE application_name LIKE 'booking:%') "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert commits is not None
    assert sessions is not None
    return int(commits[0]), int(sessions[0]), int(sessions[1])


def exact(result: StreamResult, replayed: list[tuple[int, Any]]) -> str | None:
    ids = [seq for seq, _ in result.seen]
    if len(set(ids)) != len(ids):
        return "duplicate ids"
    if ids != list(range(ids[0], ids[0] + len(ids))):
        return "gap in ids"
    if result.seen != replayed:
        return "differs from the replay"
    return None


async def replay(client: httpx2.AsyncClient, replica: Replica, conversation_id: str) -> list[Any]:
    seen: list[tuple[int, Any]] = []
    current: int | None = None
    url = f"{replica.base_url}/v1/conversations/{conversation_id}/events"
    async with client.stream("GET", url, params={"after": 0}) as response:
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                current = int(line[4:])
            elif line.startswith("data: ") and line[6:] != "[DONE]":
                seen.append((current or 0, json.loads(line[6:])))
    return seen


def q(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


async def run(args: argparse.Namespace, fleet: list[Replica], direct_url: str) -> None:
    load = Load(fleet, args.hop_parts)
    limits = httpx2.Limits(max_connections=4 * args.streams, max_keepalive_connections=0)
    timeout = httpx2.Timeout(60.0, read=60.0)
    async with httpx2.AsyncClient(limits=limits, timeout=timeout) as client:
        await read_notifications(client, fleet)
        notified_before = {r.index: r.notifications for r in fleet}
        commits_before, _, _ = await asyncio.to_thread(database_counters, direct_url)
        peak = [0, 0]
        began = time.monotonic()
        stopping = asyncio.Event()

        async def sample() -> None:
            while not stopping.is_set():
                _, sessions, listening = await asyncio.to_thread(database_counters, direct_url)
                peak[0], peak[1] = max(peak[0], sessions), max(peak[1], listening)
                await read_notifications(client, fleet)
                await asyncio.sleep(0.5)

        async def kill() -> None:
            await load.first_text.wait()
            await asyncio.sleep(args.kill_after_s)
            victim = fleet[0]
            victim.process.send_signal(signal.SIGKILL)
            victim.alive = False
            load.killed_at = time.monotonic()

        sampler = asyncio.create_task(sample())
        killer = asyncio.create_task(kill()) if args.kill else None
        results = await asyncio.gather(*(load.stream(client, i) for i in range(args.streams)))
        elapsed = time.monotonic() - began
        stopping.set()
        await sampler
        if killer is not None:
            killer.cancel()
        commits_after, sessions_after, listening_after = await asyncio.to_thread(
            database_counters, direct_url
        )
        await read_notifications(client, fleet)

        problems: Counter[str] = Counter()
        survivor = load.next_alive(0)
        for result in results:
            if result.problem:
                problems[result.problem] += 1
                continue
            if not result.done or result.terminal is None:
                problems["no terminal part"] += 1
                continue
            wrong = exact(result, await replay(client, survivor, result.conversation_id))
            if wrong:
                problems[wrong] += 1

    ended = sum(1 for r in results if r.done and r.terminal)
    broken = Counter(error for r in results for error in r.transport_errors)
    terminals = Counter(f"{r.terminal}/{r.error_code or '-'}" for r in results if r.terminal)
    hops = [len(r.segments) - 1 for r in results]
    print(
        f"fleet: {len(fleet)} replicas{' behind PgBouncer (transaction mode)' if args.pgbouncer else ''}, "
        f"{args.streams} streams, a hop every {args.hop_parts} parts, pace {args.pace_ms:g} ms, "
        f"lease {args.lease_s:g} s; {elapsed:.1f} s"
    )
    print(
        f"  streams ended with a terminal part and [DONE]: {ended}/{len(results)} ({dict(terminals)})"
    )
    print(
        f"  resumes: {sum(hops)} (per stream p50 {q([float(h) for h in hops], 50):.0f}, "
        f"max {max(hops)}); exact (no gap, no duplicate, equal to the replay): "
        f"{len(results) - sum(problems.values())}/{len(results)}"
        + (f"; problems {dict(problems)}" if problems else "")
        + (f"; broken connections on live replicas {dict(broken)}" if broken else "")
    )
    if load.killed_at is not None:
        failover = [
            r.terminal_at - load.killed_at
            for r in results
            if r.error_code == "turn_interrupted" and r.terminal_at is not None
        ]
        if failover:
            print(
                f"  failover (kill -> retryable terminal part at the client), {len(failover)} turns: "
                f"p50 {q(failover, 50):.2f} s, p99 {q(failover, 99):.2f} s, max {max(failover):.2f} s"
            )
        else:
            print("  failover: no turn of the killed replica was interrupted (killed too late?)")
    commits = commits_after - commits_before
    print(f"  commits: {commits} ({commits / elapsed:.0f}/s)")
    if all(notified_before[r.index] is None for r in fleet):
        print(f"  notifications/s: n/a ({NOTIFICATIONS} not exported)")
    else:
        sent = sum((r.notifications or 0.0) - (notified_before[r.index] or 0.0) for r in fleet)
        print(
            f"  notifications: {sent:.0f} ({sent / elapsed:.0f}/s; the killed replica's up to its last scrape)"
        )
    print(
        f"  database connections: peak {peak[0]} ({peak[1]} LISTEN), after the run "
        f"{sessions_after} ({listening_after} LISTEN)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--streams", type=int, default=48)
    parser.add_argument("--kill", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--kill-after-s", type=float, default=1.0, help="after the first text")
    parser.add_argument("--hop-parts", type=int, default=15, help="parts read before each hop")
    parser.add_argument("--pace-ms", type=float, default=40.0, help="offline model chunk pace")
    parser.add_argument("--lease-s", type=float, default=15.0, help="BOOKING_TURN_LEASE_S")
    parser.add_argument("--pgbouncer", action="store_true", help="pool through PgBouncer")
    args = parser.parse_args()
    if args.replicas < 2 and args.kill:
        parser.error("--kill needs at least two replicas")

    direct_url = prepare_database()
    env = {
        "BOOKING_OFFLINE_PACE_MS": f"{args.pace_ms:g}",
        "BOOKING_TURN_LEASE_S": f"{args.lease_s:g}",
    }
    with ExitStack() as stack:
        db_url = direct_url
        if args.pgbouncer:
            if "@127.0.0.1" not in direct_url and "@localhost" not in direct_url:
                raise SystemExit(
                    "--pgbouncer needs PostgreSQL over TCP on 127.0.0.1: set "
                    "BOOKING_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres"
                )
            # The test suite's launcher: Debian's binary, transaction mode, trust.
            from tests.support.pgbouncer import pgbouncer

            bouncer = stack.enter_context(pgbouncer(direct_url, pool_size=20))
            db_url = bouncer.url_for(direct_url)
        fleet = stack.enter_context(replicas(args.replicas, db_url, direct_url, env))
        _, idle, listening = database_counters(direct_url)
        print(f"idle fleet: {idle} database connections ({listening} LISTEN)")
        asyncio.run(run(args, fleet, direct_url))


if __name__ == "__main__":
    main()
