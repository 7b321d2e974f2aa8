"""Deleting a conversation whose reply is running, and the cost of per-tenant ids.

Two ``booking serve`` processes (``R`` runs the replies, ``O`` is another replica) on one
database of this bench's own, a provider streaming a chunk every 20 ms (``bench.stream_server``
in a thread of this process). Measured:

1. ``DELETE /v1/conversations/{id}`` while its reply streams, sent to the process running it
   (``R``) and to the other one (``O``): time until the ``204``; the reply's stream ends with
   ``abort`` and ``R``'s event writer records no failure.
2. The same while ``R`` is stalled (``SIGSTOP``): time until ``O`` refuses with ``409
   turn_running`` (nothing deleted); after ``SIGCONT``, the delete succeeds.
3. The lookup every request now makes, public id -> internal id (``SELECT id FROM
   conversations WHERE tenant = $1 AND public_id = $2``, the unique index), on one connection.

Run: ``python -m bench.tenant_ids_bench [--samples 20] [--stalled 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx2
import psycopg

from bench.api_bench import _free_port
from bench.common import fresh_database, server_url
from bench.stop_bench import MODEL, _body, _provider_in_thread
from booking.db.engine import libpq_url

DB = "booking_bench_tenant_ids"


def _q(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def prepare_database() -> str:
    return fresh_database(DB)


@contextlib.contextmanager
def serve(db_url: str, provider_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {
        **os.environ,
        "BOOKING_DATABASE_URL": db_url,
        "BOOKING_AUTH": "off",
        "BOOKING_LLM_BASE_URL": provider_url,
        "BOOKING_LLM_MODEL": MODEL,
        "BOOKING_RATE_LIMIT_PER_MINUTE": "10000000",
        "BOOKING_SHUTDOWN_GRACE_S": "0",
    }
    command = [sys.executable, "-m", "booking", "serve", "--port", str(port), "--no-migrate"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server not ready")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait()


class Reply:
    """A reply streaming from ``R``, read in the background; ready once its text flows."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.conversation_id = f"bench-{uuid.uuid4().hex[:12]}"
        self.client = client
        self.texting = asyncio.Event()
        self.last_type: str | None = None
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async with self.client.stream("POST", "/v1/chat", json=_body(self.conversation_id)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    self.last_type = json.loads(line[6:])["type"]
                    if self.last_type == "text-delta":
                        self.texting.set()


async def _writer_failures(client: httpx2.AsyncClient) -> float:
    total = 0.0
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(("booking_event_writer_failures_total", "booking_event_writer_lost")):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def deletes(r: str, o: str, samples: int) -> dict[str, list[float]]:
    """Delete latency (ms) of a conversation with a running reply, on ``R`` and on ``O``."""
    out: dict[str, list[float]] = {"on R": [], "on O": []}
    timeout = httpx2.Timeout(30)
    async with (
        httpx2.AsyncClient(base_url=r, timeout=timeout) as on_r,
        httpx2.AsyncClient(base_url=o, timeout=timeout) as on_o,
    ):
        for _ in range(samples):
            for where, client in (("on R", on_r), ("on O", on_o)):
                reply = Reply(on_r)
                await asyncio.wait_for(reply.texting.wait(), 30)
                sent = time.perf_counter()
                response = await client.delete(f"/v1/conversations/{reply.conversation_id}")
                out[where].append((time.perf_counter() - sent) * 1000)
                assert response.status_code == 204, response.text
                await asyncio.wait_for(reply.task, 30)
                assert reply.last_type == "abort", reply.last_type
        assert await _writer_failures(on_r) == 0
    return out


async def stalled(r: str, o: str, pid: int, samples: int) -> tuple[list[float], list[float]]:
    """(s until ``O`` refuses while ``R`` is stopped, ms until the delete succeeds after)."""
    refused: list[float] = []
    after: list[float] = []
    async with (
        httpx2.AsyncClient(base_url=r, timeout=httpx2.Timeout(60)) as on_r,
        httpx2.AsyncClient(base_url=o, timeout=httpx2.Timeout(30)) as on_o,
    ):
        for _ in range(samples):
            reply = Reply(on_r)
            await asyncio.wait_for(reply.texting.wait(), 30)
            os.kill(pid, signal.SIGSTOP)
            try:
                sent = time.perf_counter()
                response = await on_o.delete(f"/v1/conversations/{reply.conversation_id}")
                refused.append(time.perf_counter() - sent)
                assert response.status_code == 409, response.text
                assert response.json()["code"] == "turn_running"
            finally:
                os.kill(pid, signal.SIGCONT)
            sent = time.perf_counter()
            response = await on_o.delete(f"/v1/conversations/{reply.conversation_id}")
            after.append((time.perf_counter() - sent) * 1000)
            assert response.status_code == 204, response.text
            await asyncio.wait_for(reply.task, 30)
        assert await _writer_failures(on_r) == 0
    return refused, after


def lookups(db_url: str, count: int = 2000) -> list[float]:
    """µs per public id -> internal id lookup (prepared, one connection) among 100,000
    conversations of 100 tenants, each tenant with ids ``chat-0`` ... ``chat-999``."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO conversations (id, tenant, public_id)"
            " SELECT 'c_' || md5(t::text || ':' || n::text), 't' || t, 'chat-' || n"
            " FROM generate_series(1, 100) t, generate_series(0, 999) n"
        )
        conn.execute("ANALYZE conversations")
        timings = []
        for i in range(count):
            started = time.perf_counter()
            found = conn.execute(
                "SELECT id FROM conversations WHERE tenant = %s AND public_id = %s",
                [f"t{i % 100 + 1}", f"chat-{i % 1000}"],
                prepare=True,
            ).fetchone()
            timings.append((time.perf_counter() - started) * 1e6)
            assert found is not None
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--stalled", type=int, default=3)
    args = parser.parse_args()
    db_url = prepare_database()
    provider_url = _provider_in_thread()
    with serve(db_url, provider_url) as (r, r_proc), serve(db_url, provider_url) as (o, _):
        timings = asyncio.run(deletes(r, o, args.samples))
        print("1. DELETE of a conversation whose reply streams on R -> 204 (reply ends in abort)")
        for where, samples in timings.items():
            print(
                f"  sent {where}: p50 {_q(samples, 50):.1f} p99 {_q(samples, 99):.1f} "
                f"max {max(samples):.1f} ms (n={len(samples)})"
            )
        refused, after = asyncio.run(stalled(r, o, r_proc.pid, args.stalled))
        print("2. R stalled (SIGSTOP): DELETE on O -> 409 turn_running, nothing deleted")
        print(f"  refused after {', '.join(f'{s:.2f}' for s in refused)} s")
        print(f"  after SIGCONT, DELETE on O -> 204 in {', '.join(f'{s:.0f}' for s in after)} ms")
        print("  R's event writer: 0 failures, 0 lost turns")
    lookup_us = lookups(db_url)
    print(
        f"3. public id -> internal id lookup among 100,000 conversations: p50 "
        f"{_q(lookup_us, 50):.0f} p99 {_q(lookup_us, 99):.0f} µs (n={len(lookup_us)}, one "
        "connection, loopback)"
    )
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
