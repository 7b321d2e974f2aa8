"""The HTTP API under load: added time to first event, paced streams, idle streams, overload.

Three processes: the fake provider (``bench.stream_server``: each chunk carries the moment it
was written), the API (``booking serve``, one worker, pointed at the fake provider), and this
client (asyncio, ``httpx2``). Scenarios (targets from issue #4):

1. time to first event through HTTP, ours vs the raw provider, at 1, 4 and 64 concurrent
   streams: added p50 <= 2 ms, p99 <= 5 ms at 1-4, p99 <= 10 ms at 64;
2. 128 paced streams (a chunk every 20 ms): no gap held by us over 40 ms, none failed;
3. 1,000 open, mostly idle streams (heartbeats only): memory per stream <= 60 KB;
4. past capacity: new turns get 503 with Retry-After within 50 ms, admitted streams keep pace.

Run: ``python -m bench.api_bench [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import psutil

from bench.common import fresh_database

API_DB = "booking_apibench"
#: With --pin, the server under test gets core 0 to itself; the provider and this client share
#: core 1 (PostgreSQL floats). "Per worker core" then means what it says.
PIN: dict[str, list[str]] = {"server": [], "load": []}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _q(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def prepare_database() -> str:
    return fresh_database(API_DB)


@contextmanager
def provider() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.stream_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield f"http://127.0.0.1:{int(proc.stdout.readline())}/v1"
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def api(db_url: str, provider_url: str, model: str, **env: str) -> Iterator[tuple[str, int]]:
    port = _free_port()
    environment = {
        **os.environ,
        "BOOKING_DATABASE_URL": db_url,
        "BOOKING_AUTH": "off",
        "BOOKING_LLM_BASE_URL": provider_url,
        "BOOKING_LLM_MODEL": model,
        "BOOKING_RATE_LIMIT_PER_MINUTE": "10000000",
        "BOOKING_DB_POOL_SIZE": "20",
        "BOOKING_SHUTDOWN_GRACE_S": "0",
        **env,
    }
    with _serve(
        ["booking", "serve", "--port", str(port), "--no-migrate"], port, environment
    ) as served:
        yield served


@contextmanager
def plain_relay(provider_url: str, model: str) -> Iterator[tuple[str, int]]:
    """The baseline relay (``bench.plain_relay``) in its own uvicorn process."""
    port = _free_port()
    environment = {**os.environ, "BENCH_PROVIDER_URL": provider_url, "BENCH_MODEL": model}
    command = ["uvicorn", "bench.plain_relay:app", "--port", str(port), "--log-level", "warning"]
    with _serve(command, port, environment) as served:
        yield served


@contextmanager
def _serve(module_args: list[str], port: int, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Run ``python -m <module_args>`` (pinned with --pin) until it answers /healthz."""
    proc = subprocess.Popen(
        [*PIN["server"], sys.executable, "-m", *module_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx2.HTTPError:
            time.sleep(0.1)
    try:
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def _body(text: str = "hi") -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": text}]}],
        "trigger": "submit-message",
    }


async def our_turn(
    client: httpx2.AsyncClient, base: str, on_first: float | None = None
) -> dict[str, Any]:
    """One turn through the API: time to first text, each chunk's delivery latency."""
    started = time.monotonic_ns()
    result: dict[str, Any] = {"ttft": None, "latencies": [], "status": None, "finished": False}
    async with client.stream("POST", f"{base}/v1/chat", json=_body()) as response:
        result["status"] = response.status_code
        result["retry_after"] = response.headers.get("retry-after")
        if response.status_code != 200:
            result["elapsed_ms"] = (time.monotonic_ns() - started) / 1e6
            await response.aread()
            return result
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            part = json.loads(line[6:])
            if part["type"] == "text-delta":
                now = time.monotonic_ns()
                if result["ttft"] is None:
                    result["ttft"] = (now - started) / 1e6
                result["latencies"].append((now - int(part["delta"])) / 1e6)
            elif part["type"] in ("finish", "error", "abort"):
                result["finished"] = part["type"] == "finish"
    return result


async def raw_turn(client: httpx2.AsyncClient, provider_url: str, model: str) -> float:
    started = time.monotonic_ns()
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    ttft = float("nan")
    async with client.stream("POST", f"{provider_url}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if ttft != ttft and line.startswith("data: {") and '"content"' in line:
                ttft = (time.monotonic_ns() - started) / 1e6
    return ttft


def _client() -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=5000, max_keepalive_connections=5000)
    return httpx2.AsyncClient(timeout=httpx2.Timeout(120), limits=limits)


async def ttft_scenario(
    base: str, provider_url: str, model: str, concurrency: int, turns: int
) -> None:
    async with _client() as client:
        for _ in range(5):  # warm-up
            await our_turn(client, base)
            await raw_turn(client, provider_url, model)
        ours: list[float] = []
        raw: list[float] = []

        async def worker() -> None:
            for _ in range(turns):
                raw.append(await raw_turn(client, provider_url, model))
                result = await our_turn(client, base)
                if result["ttft"] is not None:
                    ours.append(result["ttft"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(
        f"  {concurrency:3d} streams: raw p50 {_q(raw, 50):6.2f} p99 {_q(raw, 99):6.2f} ms | "
        f"ours p50 {_q(ours, 50):6.2f} p99 {_q(ours, 99):6.2f} ms | "
        f"added p50 {_q(ours, 50) - _q(raw, 50):+6.2f} p99 {_q(ours, 99) - _q(raw, 99):+6.2f} ms (n={len(ours)})"
    )


async def paced_scenario(base: str, streams: int) -> None:
    async with _client() as client:
        results = await asyncio.gather(*(our_turn(client, base) for _ in range(streams)))
    latencies = [lat for r in results for lat in r["latencies"]]
    failed = sum(1 for r in results if not r["finished"])
    over = sum(1 for lat in latencies if lat > 40)
    print(
        f"  {streams} paced streams: chunk latency p50 {_q(latencies, 50):.2f} p99 {_q(latencies, 99):.2f} "
        f"max {max(latencies):.2f} ms; chunks held > 40 ms: {over} of {len(latencies)}; failed streams: {failed}"
    )


async def idle_scenario(base: str, pid: int, streams: int) -> None:
    process = psutil.Process(pid)
    async with _client() as client:
        await our_turn(client, base)
        before = process.memory_info().rss
        first_seen = asyncio.Semaphore(0)

        async def hold() -> None:
            async with client.stream("POST", f"{base}/v1/chat", json=_body()) as response:
                async for line in response.aiter_lines():
                    if '"text-delta"' in line:
                        first_seen.release()
                        return

        tasks = [asyncio.create_task(hold()) for _ in range(streams)]
        for _ in range(streams):
            await asyncio.wait_for(first_seen.acquire(), 120)
        await asyncio.sleep(2)
        after = process.memory_info().rss
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    per_stream = (after - before) / streams / 1024
    print(
        f"  {streams} open idle streams: server RSS +{(after - before) / 2**20:.1f} MiB = {per_stream:.1f} KB a stream"
    )


async def overload_scenario(base: str, admitted: int, extra: int) -> None:
    async with _client() as client:
        running = [asyncio.create_task(our_turn(client, base)) for _ in range(admitted)]
        await asyncio.sleep(1.0)
        rejected = await asyncio.gather(*(our_turn(client, base) for _ in range(extra)))
        results = await asyncio.gather(*running)
    statuses = [r["status"] for r in rejected]
    times = [r.get("elapsed_ms", float("nan")) for r in rejected if r["status"] == 503]
    latencies = [lat for r in results for lat in r["latencies"]]
    print(
        f"  past capacity ({admitted} running): {statuses.count(503)} of {extra} extra turns got 503 "
        f"(Retry-After {rejected[0].get('retry_after')}), in p50 {_q(times, 50):.1f} p99 {_q(times, 99):.1f} ms; "
        f"admitted streams: chunk latency p99 {_q(latencies, 99):.1f} ms, "
        f"{sum(1 for r in results if r['finished'])} of {admitted} finished"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--baseline", action="store_true", help="also run a plain FastAPI relay")
    parser.add_argument("--pin", action="store_true", help="server on core 0, load on core 1")
    parser.add_argument(
        "--only", choices=["ttft", "paced", "idle", "overload"], help="one scenario"
    )
    args = parser.parse_args()
    if args.pin and os.cpu_count() and os.cpu_count() >= 2:  # type: ignore[operator]
        PIN["server"], PIN["load"] = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
        os.sched_setaffinity(0, {1})
    turns = 20 if args.quick else 100
    if args.baseline:
        with provider() as provider_url:
            print("baseline: a plain FastAPI relay of the same provider (no storage, no resume)")
            with plain_relay(provider_url, "bench-20-2000") as (base, _):
                for concurrency in (1, 4, 64):
                    asyncio.run(
                        ttft_scenario(
                            base,
                            provider_url,
                            "bench-20-2000",
                            concurrency,
                            max(2, turns // concurrency),
                        )
                    )
            with plain_relay(provider_url, "bench-100-20000") as (base, _):
                for streams in (64, 128):
                    asyncio.run(paced_scenario(base, streams))
    db_url = prepare_database()

    def wanted(name: str) -> bool:
        return args.only in (None, name)

    with provider() as provider_url:
        if wanted("ttft"):
            print("1. time to first token through HTTP (20 chunks, 2 ms apart)")
            with api(db_url, provider_url, "bench-20-2000") as (base, _):
                for concurrency in (1, 4, 64):
                    runs = max(2, turns // concurrency)
                    asyncio.run(
                        ttft_scenario(base, provider_url, "bench-20-2000", concurrency, runs)
                    )
        if wanted("paced"):
            print("2. paced streams (100 chunks, 20 ms apart)")
            with api(db_url, provider_url, "bench-100-20000") as (base, _):
                for streams in (32, 64) if args.quick else (64, 128):
                    asyncio.run(paced_scenario(base, streams))
        if wanted("idle"):
            print("3. idle streams (a chunk, then 30 s of silence; heartbeats only)")
            idle_env = {"BOOKING_LLM_STALL_TIMEOUT_S": "60", "BOOKING_MAX_RUNNING_TURNS": "5000"}
            with api(db_url, provider_url, "bench-2-30000000", **idle_env) as (base, pid):
                asyncio.run(idle_scenario(base, pid, 200 if args.quick else 1000))
        if wanted("overload"):
            print("4. past capacity")
            with api(db_url, provider_url, "bench-100-20000", BOOKING_MAX_RUNNING_TURNS="64") as (
                base,
                _,
            ):
                asyncio.run(overload_scenario(base, 64, 50))


if __name__ == "__main__":
    main()
