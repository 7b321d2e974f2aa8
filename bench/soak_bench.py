"""Soak: the API at 80 % of its measured capacity for ten minutes, no faults.

Every stream must complete with all its events (ids contiguous from the turn's ``start`` to
``[DONE]``, a ``finish``, every chunk the provider sent; a sample of conversations is also
replayed from ``/events`` and must equal what was seen). The server's RSS is sampled every few
seconds: its growth after warm-up (least-squares slope, target < 1 MiB/min) and where it settles
after the load against where it stood idle (target within 10 %).

Capacity is the most concurrent paced streams (a chunk every 20 ms) the server keeps with chunk
delivery p99 <= 40 ms, found by a ramp before the soak (``--capacity N`` skips the ramp). Each
of the load's clients runs turns back to back. Three processes, as in ``bench.api_bench``: the
fake provider, ``booking serve`` (one worker) and this client.

Run: ``python -m bench.soak_bench`` (ten minutes; ``--minutes``, ``--capacity``); CI runs a short
version (``tests/e2e/test_soak.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2
import psutil

from bench.api_bench import api, plain_relay, prepare_database, provider

MiB = 2**20
#: ``bench-<chunks>-<pace_us>``: 50 chunks 20 ms apart, a one-second answer.
CHUNKS, PACE_US = 50, 20_000
MODEL = f"bench-{CHUNKS}-{PACE_US}"


@dataclass
class Tally:
    """What the load saw."""

    turns: int = 0
    complete: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    replayed: int = 0

    @property
    def complete_pct(self) -> float:
        return 100.0 * self.complete / self.turns if self.turns else 0.0


@dataclass
class Memory:
    idle: float
    samples: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the load began, RSS bytes)."""
    after: float = 0.0

    def slope_mib_per_min(self, warmup_s: float) -> float:
        points = [(t, rss) for t, rss in self.samples if t >= warmup_s]
        if len(points) < 3:
            return float("nan")
        fit = statistics.linear_regression([t for t, _ in points], [rss for _, rss in points])
        return fit.slope * 60 / MiB

    def describe(self, warmup_s: float) -> str:
        peak = max(rss for _, rss in self.samples) if self.samples else self.idle
        return (
            f"RSS idle {self.idle / MiB:.1f} MiB, peak {peak / MiB:.1f} MiB, after the load "
            f"{self.after / MiB:.1f} MiB ({100 * (self.after - self.idle) / self.idle:+.1f} % of idle); "
            f"growth after {warmup_s:.0f} s warm-up {self.slope_mib_per_min(warmup_s):+.3f} MiB/min"
        )


def check_stream(
    lines: list[str], chunks: int | None, *, relay: bool = False
) -> tuple[str | None, list[tuple[int, str]]]:
    """(what is wrong or None, the (id, data) of every event) for one reply's SSE lines.

    ``relay``: the plain relay baseline, which has no ids, no ``start`` and no resume."""
    events: list[tuple[int, str]] = []
    current_id: int | None = None
    done = False
    for line in lines:
        if line.startswith("id: "):
            current_id = int(line[4:])
        elif line.startswith("data: "):
            data = line[6:]
            if data == "[DONE]":
                done = True
            elif current_id is None and not relay:
                return "event without id", events
            else:
                events.append((current_id or 0, data))
            current_id = None
    if not done:
        return "no [DONE]", events
    if not events:
        return "no events", events
    ids = [i for i, _ in events]
    if not relay and ids != list(range(ids[0], ids[0] + len(ids))):
        return "ids not contiguous", events
    types = [json.loads(data)["type"] for _, data in events]
    if not relay and types[0] != "start":
        return f"first part {types[0]}", events
    if types[-1] != "finish":
        return f"ended with {types[-1]}", events
    if chunks is not None and types.count("text-delta") != chunks:
        return f"{types.count('text-delta')} of {chunks} chunks", events
    return None, events


def _parsed(events: list[tuple[int, str]]) -> list[tuple[int, Any]]:
    """Parsed, because a replay reads parts back from JSONB, which keeps values, not key order."""
    return [(i, json.loads(data)) for i, data in events]


async def _replay(client: httpx2.AsyncClient, conversation_id: str) -> list[tuple[int, str]]:
    lines: list[str] = []
    async with client.stream(
        "GET", f"/v1/conversations/{conversation_id}/events", params={"after": 0}
    ) as response:
        async for line in response.aiter_lines():
            lines.append(line)
    return check_stream(lines, None)[1]


def _body(conversation_id: str, text: str) -> dict[str, Any]:
    return {
        "id": conversation_id,
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}],
        "trigger": "submit-message",
    }


async def one_turn(
    client: httpx2.AsyncClient,
    tally: Tally,
    text: str,
    chunks: int | None,
    replay: bool,
    relay: bool = False,
) -> None:
    """One new conversation, one reply, checked; optionally replayed and compared."""
    conversation_id = f"soak-{uuid.uuid4().hex}"
    tally.turns += 1
    lines: list[str] = []
    try:
        async with client.stream("POST", "/v1/chat", json=_body(conversation_id, text)) as r:
            if r.status_code != 200:
                tally.problems[f"HTTP {r.status_code}"] += 1
                await r.aread()
                return
            async for line in r.aiter_lines():
                lines.append(line)
                if chunks is not None and '"text-delta"' in line:
                    # The benchmark provider's chunks carry the moment they were written.
                    sent = int(json.loads(line[6:])["delta"])
                    tally.latencies_ms.append((time.monotonic_ns() - sent) / 1e6)
    except httpx2.HTTPError as exc:
        tally.problems[type(exc).__name__] += 1
        return
    problem, events = check_stream(lines, chunks, relay=relay)
    if problem is not None:
        tally.problems[problem] += 1
        return
    if replay and _parsed(events) != _parsed(await _replay(client, conversation_id)):
        tally.problems["replay differs"] += 1
        return
    tally.replayed += replay
    tally.complete += 1


async def soak(
    base_url: str,
    pid: int,
    *,
    clients: int,
    duration_s: float,
    text: str = "hi",
    chunks: int | None = CHUNKS,
    replay_every: int = 10,
    headers: dict[str, str] | None = None,
    sample_s: float = 2.0,
    settle_s: float = 5.0,
    relay: bool = False,
) -> tuple[Tally, Memory]:
    """``clients`` loops of back-to-back turns for ``duration_s``; RSS of ``pid`` sampled."""
    process = psutil.Process(pid)
    tally = Tally()
    limits = httpx2.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx2.AsyncClient(
        base_url=base_url, headers=headers or {}, timeout=httpx2.Timeout(60), limits=limits
    ) as client:
        # Warm the server up (imports, pools, caches) before measuring idle.
        for _ in range(3):
            await one_turn(client, Tally(), text, chunks, not relay, relay)
        await asyncio.sleep(1.0)
        memory = Memory(idle=process.memory_info().rss)
        began = time.monotonic()
        stop_at = began + duration_s

        async def sampler() -> None:
            while True:
                memory.samples.append((time.monotonic() - began, process.memory_info().rss))
                await asyncio.sleep(sample_s)

        async def loop(index: int) -> None:
            n = 0
            while time.monotonic() < stop_at:
                n += 1
                replay = not relay and replay_every > 0 and (n + index) % replay_every == 0
                await one_turn(client, tally, text, chunks, replay, relay)

        sampling = asyncio.create_task(sampler())
        await asyncio.gather(*(loop(i) for i in range(clients)))
        sampling.cancel()
        await asyncio.sleep(settle_s)
        memory.after = process.memory_info().rss
    return tally, memory


async def _ramp_step(base_url: str, streams: int, relay: bool) -> tuple[float, int]:
    """(chunk delivery p99 in ms, failed streams) for ``streams`` paced streams at once."""
    tally = Tally()
    limits = httpx2.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx2.AsyncClient(
        base_url=base_url, timeout=httpx2.Timeout(60), limits=limits
    ) as client:
        await asyncio.gather(
            *(one_turn(client, tally, "hi", CHUNKS, False, relay) for _ in range(streams))
        )
    p99 = statistics.quantiles(tally.latencies_ms, n=100, method="inclusive")[98]
    return p99, tally.turns - tally.complete


def measure_capacity(base_url: str, relay: bool = False) -> int:
    capacity = 0
    for streams in (8, 16, 24, 32, 48, 64, 96, 128):
        p99, failed = asyncio.run(_ramp_step(base_url, streams, relay))
        ok = p99 <= 40 and failed == 0
        print(f"  {streams:3d} paced streams: chunk p99 {p99:7.1f} ms, failed {failed}")
        if not ok:
            break
        capacity = streams
    return max(capacity, 4)


def report(tally: Tally, memory: Memory, duration_s: float, warmup_s: float) -> None:
    latencies = tally.latencies_ms or [float("nan")]
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else None
    print(
        f"  {tally.turns} turns in {duration_s / 60:.1f} min ({tally.turns / duration_s:.1f}/s): "
        f"{tally.complete_pct:.2f} % complete with all their events "
        f"({tally.replayed} replayed and compared); problems: {dict(tally.problems) or 'none'}"
    )
    if q:
        print(f"  chunk delivery p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms")
    print(f"  {memory.describe(warmup_s)}")


def run(served: tuple[str, int], args: argparse.Namespace, relay: bool) -> None:
    base, pid = served
    duration_s = args.minutes * 60
    if args.capacity:
        capacity = args.capacity
    else:
        print(f"  capacity ramp ({MODEL}: {CHUNKS} chunks 20 ms apart, p99 <= 40 ms)")
        capacity = measure_capacity(base, relay)
    clients = max(1, round(capacity * args.load))
    print(f"  soak: {clients} streams ({args.load:.0%} of {capacity}) for {args.minutes} min")
    tally, memory = asyncio.run(
        soak(base, pid, clients=clients, duration_s=duration_s, relay=relay)
    )
    report(tally, memory, duration_s, min(60.0, duration_s / 5))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--capacity", type=int, help="skip the ramp")
    parser.add_argument("--load", type=float, default=0.8, help="share of capacity")
    parser.add_argument("--baseline", action="store_true", help="then soak the plain relay")
    args = parser.parse_args()
    db_url = prepare_database()
    with provider() as provider_url:
        print("booking serve")
        with api(db_url, provider_url, MODEL) as served:
            run(served, args, relay=False)
        if args.baseline:
            print("baseline: a plain FastAPI relay of the same provider (no storage, no resume)")
            with plain_relay(provider_url, MODEL) as served:
                run(served, args, relay=True)


if __name__ == "__main__":
    main()
