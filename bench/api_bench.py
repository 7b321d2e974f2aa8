"""The HTTP API under load: added time to first event, paced streams, idle streams, overload.

Three processes: the fake provider (``bench.stream_server``: each chunk carries the moment it
was written), the API (``booking serve``, one worker, pointed at the fake provider), and this
client (asyncio, ``httpx2``). Scenarios (targets from issue #4):

1. time to first event through HTTP, ours vs the raw provider, at 1, 4 and 64 concurrent
   streams: added p50 <= 2 ms, p99 <= 5 ms at 1-4, p99 <= 10 ms at 64;
2. 128 paced streams (a chunk every 20 ms): no gap held by us over 40 ms, none failed;
3. 1,000 open, mostly idle streams (heartbeats only): memory per stream <= 60 KB;
4. past capacity: new turns get 503 with Retry-After within 50 ms, admitted streams keep pace.

5. ``--only compare``: ours, the bare relay (``bench.plain_relay``) and, with ``--peers litellm``,
   LiteLLM's proxy (``bench.peers``: its own virtual environment under ``.bench/``) against the
   same provider, turns interleaved round-robin, each server alone on core 0: time to first
   token and per-chunk latency added over the raw provider at 1 and 16 streams, server CPU per
   1,000 chunks (ours with its PostgreSQL backends' CPU), RSS; ratios to the relay first, with
   PASS / MISS against issue #17's targets, then the absolute table.

Run: ``python -m bench.api_bench [--quick]``; ``python -m bench.api_bench --peers litellm``.
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
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import psutil
import psycopg

from bench.common import fresh_database, server_url
from bench.peers import LITELLM_VENV, LITELLM_VERSION, PeerUnavailable, litellm_proxy
from booking.db.engine import libpq_url

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
    command = [sys.executable, "-m", "booking", "serve", "--port", str(port), "--no-migrate"]
    with _serve(command, port, environment) as served:
        yield served


@contextmanager
def plain_relay(provider_url: str, model: str) -> Iterator[tuple[str, int]]:
    """The baseline relay (``bench.plain_relay``) in its own uvicorn process."""
    port = _free_port()
    environment = {**os.environ, "BENCH_PROVIDER_URL": provider_url, "BENCH_MODEL": model}
    command = [sys.executable, "-m", "uvicorn", "bench.plain_relay:app", "--port", str(port)]
    command += ["--log-level", "warning"]
    with _serve(command, port, environment) as served:
        yield served


@contextmanager
def _serve(command: list[str], port: int, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """Run ``command`` (pinned with --pin) until it answers /healthz; its base URL and pid.

    A server that exits or does not answer within 30 s fails the run with its last lines.
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*PIN["server"], *command], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            failure = None
            if proc.poll() is not None:
                failure = f"exited with {proc.returncode}"
            elif time.monotonic() > deadline:
                failure = "did not answer /healthz within 30 s"
            if failure is not None:
                proc.kill()
                proc.wait()
                log.seek(0)
                tail = b"\n".join(log.read().splitlines()[-12:]).decode(errors="replace")
                raise RuntimeError(f"{' '.join(command)} {failure}:\n{tail}")
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
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
                        # Keep the connection open: an idle stream is one a
                        # client holds while the model is silent (heartbeats only).
                        first_seen.release()
                        await asyncio.sleep(3600)

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


async def chat_turn(
    client: httpx2.AsyncClient, url: str, model: str = "bench-20-2000"
) -> dict[str, Any]:
    """One Chat Completions stream (the raw provider, LiteLLM): time to first content, each
    chunk's delivery latency (its content is the moment the provider wrote it)."""
    started = time.monotonic_ns()
    result: dict[str, Any] = {"ttft": None, "latencies": [], "status": None, "finished": False}
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with client.stream("POST", url, json=body) as response:
        result["status"] = response.status_code
        if response.status_code != 200:
            await response.aread()
            return result
        async for line in response.aiter_lines():
            if line == "data: [DONE]":
                result["finished"] = True
            elif line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices")
                content = choices[0].get("delta", {}).get("content") if choices else None
                if content:
                    now = time.monotonic_ns()
                    if result["ttft"] is None:
                        result["ttft"] = (now - started) / 1e6
                    result["latencies"].append((now - int(content)) / 1e6)
    return result


COMPARE_DB = "booking_apicompare"
COMPARE_MODEL = "bench-20-2000"


@dataclass
class _Target:
    """One server of the comparison, its samples and its CPU meter."""

    name: str
    #: "ui": the UI message stream at ``{base}/v1/chat``; "chat": Chat Completions at ``url``.
    kind: str
    url: str
    pid: int | None = None
    meter: _CpuMeter | None = None
    ttft: dict[int, list[float]] = field(default_factory=dict)
    latencies: dict[int, list[float]] = field(default_factory=dict)
    failed: int = 0
    errors: set[str] = field(default_factory=set)
    chunks: int = 0

    async def turn(self, client: httpx2.AsyncClient) -> dict[str, Any]:
        if self.kind == "ui":
            return await our_turn(client, self.url)
        return await chat_turn(client, self.url, COMPARE_MODEL)


class _CpuMeter:
    """CPU seconds (user + system) of a server's process tree and, for ours, of the PostgreSQL
    backends connected to its database, from ``start()`` on.

    Processes are keyed by pid and start time and sampled now and then during the run, so a
    worker or a backend that exits before the end still counts up to its last sample.
    """

    def __init__(self, pid: int, database: str | None = None) -> None:
        self._root = psutil.Process(pid)
        self._database = database
        #: Whether this meter adds PostgreSQL's CPU (ours).
        self.with_postgres = database is not None
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], tuple[str, float]] = {}
        self.postgres_seen = database is None
        #: One connection of the meter's own (to the maintenance database), kept for the run.
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self._backends: list[int] = []

    def _processes(self) -> list[tuple[str, psutil.Process]]:
        processes = [("server", self._root)]
        try:
            processes += [("server", child) for child in self._root.children(recursive=True)]
        except psutil.Error:
            pass
        if self._database is not None:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(libpq_url(server_url()), autocommit=True)
                rows = self._conn.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = %s AND backend_type = 'client backend'",
                    (self._database,),
                ).fetchall()
                self._backends = [pid for (pid,) in rows]
            except psycopg.Error:
                pass  # A busy shared server (too many clients): the backends last listed.
            for pid in self._backends:
                try:
                    processes.append(("postgres", psutil.Process(pid)))
                except psutil.Error:
                    pass  # Not on this machine, or gone already.
        return processes

    def sample(self) -> None:
        for kind, process in self._processes():
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
            except psutil.Error:
                continue
            self._last[key] = (kind, times.user + times.system)
            if kind == "postgres":
                self.postgres_seen = True

    def start(self) -> None:
        self._last.clear()
        self.sample()
        self._first = {key: cpu for key, (_, cpu) in self._last.items()}

    def read(self) -> tuple[float, float]:
        """Server and PostgreSQL CPU seconds since ``start()``."""
        self.sample()
        totals = {"server": 0.0, "postgres": 0.0}
        for key, (kind, cpu) in self._last.items():
            totals[kind] += cpu - self._first.get(key, 0.0)
        return totals["server"], totals["postgres"]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _rss_mib(pid: int) -> float:
    return float(sum(process.memory_info().rss for process in _tree(pid))) / 2**20


def _foreign_peers(pid: int) -> set[str]:
    """Remote addresses off the loopback that the process tree is connected to (none, we hope)."""
    found = set()
    for process in _tree(pid):
        for conn in process.net_connections(kind="inet"):
            if conn.raddr and not (conn.raddr.ip.startswith("127.") or conn.raddr.ip == "::1"):
                found.add(f"{conn.raddr.ip}:{conn.raddr.port}")
    return found


async def _compare_rounds(
    targets: list[_Target], concurrency: int, rounds: int, warmup: int
) -> None:
    """``rounds`` rounds; in each, every target in turn (the order rotating) serves
    ``concurrency`` turns at once. The first ``warmup`` rounds are not recorded."""
    async with _client() as client:
        sampled = time.monotonic()
        for index in range(warmup + rounds):
            shift = index % len(targets)
            for target in targets[shift:] + targets[:shift]:
                # A turn that raises (a peer's connection reset, a malformed chunk) counts as
                # failed instead of ending the comparison.
                outcomes = await asyncio.gather(
                    *(target.turn(client) for _ in range(concurrency)), return_exceptions=True
                )
                if index < warmup:
                    continue
                for result in outcomes:
                    if isinstance(result, Exception):
                        target.failed += 1
                        target.errors.add(f"{type(result).__name__}: {result}"[:200])
                        continue
                    if isinstance(result, BaseException):
                        raise result
                    if not result["finished"] or result["ttft"] is None:
                        target.failed += 1
                    if result["ttft"] is not None:
                        target.ttft.setdefault(concurrency, []).append(result["ttft"])
                    target.latencies.setdefault(concurrency, []).extend(result["latencies"])
                    target.chunks += len(result["latencies"])
            if time.monotonic() - sampled > 1.0:  # Between rounds: no turn is waiting on us.
                sampled = time.monotonic()
                for target in targets:
                    if target.meter is not None:
                        target.meter.sample()


def _added(target: _Target, raw: _Target, what: str, concurrency: int, p: int) -> float:
    samples, baseline = (
        (target.ttft, raw.ttft) if what == "ttft" else (target.latencies, raw.latencies)
    )
    return _q(samples.get(concurrency, []), p) - _q(baseline.get(concurrency, []), p)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _compare_report(
    targets: list[_Target], cpu: dict[str, tuple[float, float]], rss: dict[str, float]
) -> None:
    raw, relay, ours = targets[0], targets[1], targets[2]
    peers = targets[2:]

    def added(t: _Target, what: str, concurrency: int, p: int) -> float:
        return _added(t, raw, what, concurrency, p)

    def cpu_per_k(t: _Target) -> float:
        server, postgres = cpu[t.name]
        return (server + postgres) * 1e3 / max(t.chunks, 1) * 1e3  # ms per 1,000 chunks

    def ratio(value: float, base: float) -> str:
        return f"{value / base:5.2f}x" if base > 0 else "  n/a"

    print("  vs the relay (same run): difference or ratio, target for ours, verdict")
    rows: list[tuple[str, Any, str, Any]] = [
        (
            "TTFT added, 1 stream p50, minus relay",
            lambda t: f"{added(t, 'ttft', 1, 50) - added(relay, 'ttft', 1, 50):+6.2f} ms",
            "<= +1.5 ms",
            added(ours, "ttft", 1, 50) <= added(relay, "ttft", 1, 50) + 1.5,
        ),
        (
            "TTFT added, 1 stream p99, minus relay",
            lambda t: f"{added(t, 'ttft', 1, 99) - added(relay, 'ttft', 1, 99):+6.2f} ms",
            "<= +4 ms",
            added(ours, "ttft", 1, 99) <= added(relay, "ttft", 1, 99) + 4.0,
        ),
        (
            "TTFT added, 16 streams p50, / relay",
            lambda t: ratio(added(t, "ttft", 16, 50), added(relay, "ttft", 16, 50)),
            "<= 1.5x",
            added(ours, "ttft", 16, 50) <= 1.5 * added(relay, "ttft", 16, 50),
        ),
        (
            "CPU per 1,000 chunks incl. PostgreSQL, / relay",
            lambda t: ratio(cpu_per_k(t), cpu_per_k(relay)),
            "<= 1.3x",
            cpu_per_k(ours) <= 1.3 * cpu_per_k(relay),
        ),
        (
            "per-chunk added, 16 streams p50, / relay",
            lambda t: ratio(added(t, "latency", 16, 50), added(relay, "latency", 16, 50)),
            "<= 1.2x",
            added(ours, "latency", 16, 50) <= 1.2 * added(relay, "latency", 16, 50),
        ),
        (
            "per-chunk added, 1 stream p50, minus relay",
            lambda t: f"{added(t, 'latency', 1, 50) - added(relay, 'latency', 1, 50):+6.2f} ms",
            "(information)",
            None,
        ),
        ("RSS, / relay", lambda t: ratio(rss[t.name], rss[relay.name]), "(information)", None),
    ]
    header = "".join(f"{t.name:>12}" for t in peers)
    print(f"  {'':48}{header}  {'target (ours)':>14}  verdict")
    for label, cell, target, ok in rows:
        cells = "".join(f"{cell(t):>12}" for t in peers)
        verdict = "" if ok is None else _verdict(ok)
        print(f"  {label:48}{cells}  {target:>14}  {verdict}")
    print("  absolute (ms; added = the server's quantile minus the raw provider's, same run)")
    print(
        "  | server | TTFT added 1 stream p50 / p99 | per-chunk added 1 stream p50 / p99 "
        "| CPU per 1,000 chunks: server + PostgreSQL | RSS | TTFT added 16 streams p50 "
        "| per-chunk added 16 streams p50 | turns failed |"
    )
    print("  | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"  | raw provider | (TTFT {_q(raw.ttft[1], 50):.2f} / {_q(raw.ttft[1], 99):.2f}) "
        f"| (chunk {_q(raw.latencies[1], 50):.2f} / {_q(raw.latencies[1], 99):.2f}) | | "
        f"| (TTFT {_q(raw.ttft[16], 50):.2f}) | (chunk {_q(raw.latencies[16], 50):.2f}) "
        f"| {raw.failed} |"
    )
    for t in targets[1:]:
        server, postgres = cpu[t.name]
        per_k = 1e6 / max(t.chunks, 1)
        pg = ""
        if t.meter is not None and t.meter.with_postgres:
            seen = t.meter.postgres_seen
            pg = f" + {postgres * per_k:.0f}" if seen else " + n/a (backends not visible)"
        print(
            f"  | {t.name} | {added(t, 'ttft', 1, 50):+.2f} / {added(t, 'ttft', 1, 99):+.2f} "
            f"| {added(t, 'latency', 1, 50):+.2f} / {added(t, 'latency', 1, 99):+.2f} "
            f"| {server * per_k:.0f}{pg} = {cpu_per_k(t):.0f} | {rss[t.name]:.0f} MiB "
            f"| {added(t, 'ttft', 16, 50):+.2f} | {added(t, 'latency', 16, 50):+.2f} "
            f"| {t.failed} |"
        )
    turns = {c: len(raw.ttft.get(c, [])) for c in (1, 16)}
    delivered = ", ".join(f"{t.name} {t.chunks}" for t in targets[1:])
    print(
        f"  samples per server: {turns[1]} turns at 1 stream, {turns[16]} at 16 streams; "
        f"chunks delivered: {delivered}"
    )


def compare_scenario(db_url: str, peers: list[str], quick: bool) -> None:
    """Ours, the bare relay and the peers against the same fake provider, interleaved."""
    single, bursts = (60, 4) if quick else (320, 20)
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        # A provider of its own, started once this process is pinned, so it shares core 1.
        provider_url = stack.enter_context(provider())
        targets = [_Target("raw provider", "chat", f"{provider_url}/chat/completions")]
        base, pid = stack.enter_context(plain_relay(provider_url, COMPARE_MODEL))
        targets.append(_Target("relay", "ui", base, pid, _CpuMeter(pid)))
        base, pid = stack.enter_context(api(db_url, provider_url, COMPARE_MODEL))
        targets.append(_Target("ours", "ui", base, pid, _CpuMeter(pid, COMPARE_DB)))
        if "litellm" in peers:
            try:
                base, pid = stack.enter_context(
                    litellm_proxy(provider_url, [COMPARE_MODEL], _free_port(), PIN["server"])
                )
            except PeerUnavailable as error:
                print(f"  LiteLLM left out: {error}")
            else:
                url = f"{base}/v1/chat/completions"
                targets.append(_Target("litellm", "chat", url, pid, _CpuMeter(pid)))
                print(f"  LiteLLM {LITELLM_VERSION} proxy up ({LITELLM_VENV})")
        servers = [t for t in targets if t.meter is not None]
        asyncio.run(_compare_rounds(targets, 1, 0, warmup=10))
        asyncio.run(_compare_rounds(targets, 16, 0, warmup=1))
        for t in servers:
            assert t.meter is not None
            t.meter.start()
        asyncio.run(_compare_rounds(targets, 1, single, warmup=0))
        # CPU and chunks at the end of the 1-stream phase, to split the total by phase.
        split = {t.name: (sum(t.meter.read()), t.chunks) for t in servers if t.meter is not None}
        asyncio.run(_compare_rounds(targets, 16, bursts, warmup=0))
        cpu = {}
        rss = {}
        for t in servers:
            assert t.meter is not None
            assert t.pid is not None
            cpu[t.name] = t.meter.read()
            t.meter.close()
            rss[t.name] = _rss_mib(t.pid)
            foreign = _foreign_peers(t.pid)
            if foreign:
                print(f"  WARNING: {t.name} is connected off the loopback: {sorted(foreign)}")
    _compare_report(targets, cpu, rss)
    for t in targets:
        for failure in sorted(t.errors)[:3]:
            print(f"  {t.name}: a turn failed: {failure}")
    phases = []
    for t in servers:
        single_cpu, single_chunks = split[t.name]
        rest_cpu, rest_chunks = sum(cpu[t.name]) - single_cpu, t.chunks - single_chunks
        phases.append(
            f"{t.name} {single_cpu * 1e6 / max(single_chunks, 1):.0f} / "
            f"{rest_cpu * 1e6 / max(rest_chunks, 1):.0f}"
        )
    print(
        f"  CPU per 1,000 chunks (ms, with PostgreSQL), 1 stream / 16 streams: {', '.join(phases)}"
    )
    # Other work on the machine moves the p99s most: say how busy it was.
    print(
        f"  load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
        f"{os.cpu_count()} cores"
    )


def _pin() -> None:
    """Server on core 0, this client and the provider it starts on core 1 (2 cores or more)."""
    if (os.cpu_count() or 1) >= 2:
        PIN["server"], PIN["load"] = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
        os.sched_setaffinity(0, {1})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--baseline", action="store_true", help="also run a plain FastAPI relay")
    parser.add_argument("--pin", action="store_true", help="server on core 0, load on core 1")
    parser.add_argument(
        "--only", choices=["ttft", "paced", "idle", "overload", "compare"], help="one scenario"
    )
    parser.add_argument(
        "--peers",
        choices=["litellm"],
        action="append",
        default=[],
        help="also measure this peer in the compare scenario (alone: --only compare)",
    )
    args = parser.parse_args()
    if args.peers and args.only is None:
        args.only = "compare"
    if args.pin or args.only == "compare":
        _pin()
    turns = 20 if args.quick else 100
    if args.baseline and args.only != "compare":
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
    db_url = prepare_database() if args.only != "compare" else ""

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
        if wanted("compare"):
            _pin()  # The comparison is always pinned: a server's CPU is its core's.
            peers = "".join(f", {peer}" for peer in args.peers)
            print(
                f"5. compare: ours, a bare relay{peers}; the same fake provider ({COMPARE_MODEL}: "
                "20 chunks 2 ms apart); each server alone on core 0, provider and client on "
                "core 1; turns interleaved round-robin"
            )
            compare_scenario(fresh_database(COMPARE_DB), args.peers, args.quick)


if __name__ == "__main__":
    main()
