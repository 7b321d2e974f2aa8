"""Notifications: what announcing stored parts costs, with ``BOOKING_EVENTS_NOTIFY=all`` (every
batch of every turn on one channel every replica listens to: the old behaviour) against
``followed`` (only the turns someone follows from another replica, on the conversation's own
channel), in one run.

N ``booking serve`` replicas on one database (default 3), M streams per replica (default 8, the
offline model, paced), each stream a few turns in its conversation. Every stream is followed on
its own replica (the ``POST /v1/chat`` response); a share of them (``--remote-share``, default
1/4) is also followed on the next replica (``GET /v1/conversations/{id}/events``), which is
what notifications are for. Reported per mode, then as ratios (followed / all):

- commits/s on the database (``pg_stat_database.xact_commit``) and notifications/s (the sum of
  the replicas' ``booking_notifications_sent_total``) over the load;
- per-part latency, from the part's commit (``turn_events.created_at``, the storing
  transaction's start) to its arrival at a follower on the same replica, and on another one.

Run: ``python -m bench.notify_bench`` (about a minute; ``--replicas 3 --streams 8 --turns 3
--remote-share 0.25 --pace-ms 20``). Ports 18100-18199.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import psycopg

from bench.common import fresh_database
from booking.db.engine import libpq_url

BENCH_DB = "booking_notifybench"
PORTS = range(18100, 18200)
MESSAGE = "Đặt vé SGN → HAN ngày mai"
NOTIFICATIONS = "booking_notifications_sent_total"


def prepare_database() -> str:
    return fresh_database(BENCH_DB)


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"not {count} free ports in {PORTS}")


@contextmanager
def replicas(count: int, url: str, env: dict[str, str]) -> Iterator[list[str]]:
    """``count`` replicas; yields their base URLs; terminated afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for port in free_ports(count):
            environment = {
                **{k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")},
                "BOOKING_DATABASE_URL": url,
                "BOOKING_AUTH": "off",
                "BOOKING_RATE_LIMIT_PER_MINUTE": "10000000",
                "BOOKING_RATE_LIMIT_SCOPE": "process",
                "BOOKING_DB_POOL_SIZE": "5",
                **env,
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "booking", "serve", "--no-migrate", "--port", str(port)],
                    env=environment,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait_ready(base, process)
        yield bases
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"replica {base} exited ({process.returncode})")
        try:
            if httpx2.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"replica {base} not ready within 60 s")


@dataclass
class Arrivals:
    """When each part (by id) reached one follower (``time.time()``)."""

    at: dict[int, float] = field(default_factory=dict)
    message_ids: list[str] = field(default_factory=list)
    terminal: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


async def follow(
    client: httpx2.AsyncClient, method: str, url: str, arrivals: Arrivals, **kwargs: Any
) -> None:
    async with client.stream(method, url, **kwargs) as response:
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"{method} {url}: HTTP {response.status_code}")
        current: int | None = None
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                current = int(line[4:])
            elif line.startswith("data: "):
                data = line[6:]
                if data == "[DONE]":
                    arrivals.terminal = True
                    return
                now = time.time()
                part = json.loads(data)
                if current is not None:
                    arrivals.at.setdefault(current, now)
                    arrivals.arrived.set()
                if part.get("type") == "start":
                    arrivals.message_ids.append(part["messageId"])
                current = None


async def conversation_load(
    client: httpx2.AsyncClient,
    local: str,
    remote: str | None,
    turns: int,
    same: list[Arrivals],
    other: list[Arrivals],
) -> None:
    conversation_id = f"nb-{uuid.uuid4().hex}"
    for turn in range(turns):
        body = {
            "id": conversation_id,
            "messages": [
                {"id": f"u{turn}", "role": "user", "parts": [{"type": "text", "text": MESSAGE}]}
            ],
            "trigger": "submit-message",
        }
        mine = Arrivals()
        posting = asyncio.create_task(
            follow(client, "POST", f"{local}/v1/chat", mine, json=body, timeout=60)
        )
        if remote is not None:
            # The turn exists once a part arrived.
            arrived = asyncio.ensure_future(mine.arrived.wait())
            await asyncio.wait({arrived, posting}, return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
            theirs = Arrivals(message_ids=list(mine.message_ids))
            after = min(mine.at) if mine.at else 0
            await follow(
                client,
                "GET",
                f"{remote}/v1/conversations/{conversation_id}/events",
                theirs,
                params={"after": after},
                timeout=60,
            )
            other.append(theirs)
        await posting
        same.append(mine)


def _metric_sum(text: str, name: str) -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)
    )


async def notifications(client: httpx2.AsyncClient, bases: list[str]) -> float:
    total = 0.0
    for base in bases:
        total += _metric_sum((await client.get(f"{base}/metrics")).text, NOTIFICATIONS)
    return total


def commits(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def stored_at(url: str, message_ids: list[str]) -> dict[tuple[str, int], float]:
    """(message id, seq) -> the part's ``created_at`` as a Unix time."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT t.message_id, e.seq, extract(epoch FROM e.created_at)"
            " FROM turn_events e JOIN turns t ON t.id = e.turn_id WHERE t.message_id = ANY(%s)",
            [message_ids],
        ).fetchall()
    return {(m, int(s)): float(at) for m, s, at in rows}


def latencies(url: str, followers: list[Arrivals]) -> list[float]:
    """ms from each part's commit to its arrival, for parts that arrived live (not replayed)."""
    ids = [m for f in followers for m in f.message_ids]
    stored = stored_at(url, ids)
    by_seq: dict[int, float] = {}
    samples: list[float] = []
    for arrivals in followers:
        if not arrivals.message_ids:
            continue
        message_id = arrivals.message_ids[0]
        by_seq = {seq: at for (m, seq), at in stored.items() if m == message_id}
        first = min(arrivals.at.values(), default=0.0)
        for seq, at in arrivals.at.items():
            committed = by_seq.get(seq)
            if committed is not None and committed > first:  # Live, not part of the replay.
                samples.append((at - committed) * 1000)
    return samples


def quantiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        return (samples[0], samples[0]) if samples else (float("nan"), float("nan"))
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[98]


@dataclass
class Figures:
    mode: str
    seconds: float
    commits_s: float
    notifications_s: float
    same: tuple[float, float]
    other: tuple[float, float]
    turns: int
    complete: int


async def run_mode(mode: str, url: str, args: argparse.Namespace) -> Figures:
    env = {"BOOKING_EVENTS_NOTIFY": mode, "BOOKING_OFFLINE_PACE_MS": str(args.pace_ms)}
    with replicas(args.replicas, url, env) as bases:
        limits = httpx2.Limits(max_connections=4 * args.replicas * args.streams)
        async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
            notified_before, commits_before = await notifications(client, bases), commits(url)
            started = time.monotonic()
            same: list[Arrivals] = []
            other: list[Arrivals] = []
            every = max(1, round(1 / args.remote_share)) if args.remote_share > 0 else 0
            jobs = []
            for r, base in enumerate(bases):
                for s in range(args.streams):
                    remote = bases[(r + 1) % len(bases)] if every and s % every == 0 else None
                    jobs.append(conversation_load(client, base, remote, args.turns, same, other))
            await asyncio.gather(*jobs)
            seconds = time.monotonic() - started
            notified = await notifications(client, bases) - notified_before
            committed = commits(url) - commits_before
    return Figures(
        mode=mode,
        seconds=seconds,
        commits_s=committed / seconds,
        notifications_s=notified / seconds,
        same=quantiles(latencies(url, same)),
        other=quantiles(latencies(url, other)),
        turns=len(same),
        complete=sum(a.terminal for a in same + other),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--streams", type=int, default=8, help="concurrent streams per replica")
    parser.add_argument("--turns", type=int, default=3, help="turns per stream, one after another")
    parser.add_argument("--remote-share", type=float, default=0.25)
    parser.add_argument("--pace-ms", type=float, default=20.0)
    args = parser.parse_args()
    url = prepare_database()
    results = [asyncio.run(run_mode(mode, url, args)) for mode in ("all", "followed")]
    print(
        f"{args.replicas} replicas x {args.streams} streams x {args.turns} turns, "
        f"{args.remote_share:.0%} also followed on another replica, pace {args.pace_ms} ms"
    )
    print(
        f"{'mode':<9} {'s':>6} {'turns':>6} {'ended':>6} {'commits/s':>10} {'notify/s':>9}"
        f"  {'same replica p50/p99 ms':>24}  {'other replica p50/p99 ms':>25}"
    )
    for f in results:
        print(
            f"{f.mode:<9} {f.seconds:>6.1f} {f.turns:>6} {f.complete:>6} {f.commits_s:>10.0f}"
            f" {f.notifications_s:>9.0f}  {f.same[0]:>11.1f} / {f.same[1]:>9.1f}"
            f"  {f.other[0]:>12.1f} / {f.other[1]:>9.1f}"
        )
    old, new = results
    print(
        "followed / all: "
        f"notifications/s x{new.notifications_s / old.notifications_s:.3f}, "
        f"commits/s x{new.commits_s / old.commits_s:.2f}, "
        f"same-replica p50 x{new.same[0] / old.same[0]:.2f}, "
        f"other-replica p50 x{new.other[0] / old.other[0]:.2f}"
    )


if __name__ == "__main__":
    main()
