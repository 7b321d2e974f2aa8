"""From ``stop`` to the provider's request closed, and what a client disconnect releases.

The provider (``bench.stream_server`` with ``-watch`` models) runs in a thread of this process,
so the moment it sees its request closed and the moment the client sent ``stop`` are read from
the same clock. The API is ``booking serve`` in its own process (one worker), as in
``bench.api_bench``.

1. ``POST /v1/conversations/{id}/stop`` with 1, 16 and 64 turns streaming (a chunk every 20 ms):
   time from sending ``stop`` to the upstream request closed (target p99 <= 100 ms, issue #7),
   and to the client's stream ending with ``abort``.
2. A client that disconnects does not end its turn (it resumes with ``Last-Event-ID``, issue #4),
   so the upstream stays open by design; what the disconnect releases is the server's stream
   (``booking_active_streams``): time from closing the connection until the gauge drops.

``--baseline`` also measures the plain FastAPI relay (``bench.plain_relay``), where a disconnect
is the only way to stop, from the client's disconnect to the upstream request closed.

Run: ``python -m bench.stop_bench [--samples 200] [--baseline]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import threading
import time
import uuid
from typing import Any

import httpx2

from bench import stream_server
from bench.api_bench import api, plain_relay, prepare_database

MODEL = "bench-3000-20000-watch"  # 60 s of chunks, 20 ms apart, closes recorded


def _provider_in_thread() -> str:
    """Serve ``bench.stream_server`` on a loop in a daemon thread; its base URL."""
    loop = asyncio.new_event_loop()
    port: list[int] = []
    started = threading.Event()

    async def serve() -> None:
        server = await asyncio.start_server(stream_server._handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True).start()
    started.wait(10)
    return f"http://127.0.0.1:{port[0]}/v1"


def _q(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def _body(conversation_id: str) -> dict[str, Any]:
    return {
        "id": conversation_id,
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}],
        "trigger": "submit-message",
    }


class OpenStream:
    """A reply being read in the background, started on its first text."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client
        self.conversation_id = uuid.uuid4().hex
        self.first_text = asyncio.Event()
        self.last_type: str | None = None
        self.ended_ns = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async with self.client.stream("POST", "/v1/chat", json=_body(self.conversation_id)) as r:
            async for line in r.aiter_lines():
                if line.startswith("data: {"):
                    self.last_type = json.loads(line[6:])["type"]
                    if self.last_type == "text-delta":
                        self.first_text.set()
        self.ended_ns = time.monotonic_ns()


async def _stops(base: str, concurrency: int, samples: int) -> tuple[list[float], list[float]]:
    """(stop -> upstream closed, stop -> client stream ended) in ms."""
    to_close: list[float] = []
    to_end: list[float] = []
    limits = httpx2.Limits(max_connections=concurrency + 20)
    async with httpx2.AsyncClient(
        base_url=base, timeout=httpx2.Timeout(60), limits=limits
    ) as client:
        while len(to_close) < samples:
            streams = [OpenStream(client) for _ in range(concurrency)]
            await asyncio.wait_for(asyncio.gather(*(s.first_text.wait() for s in streams)), 60)
            for stream in streams:
                seen = len(stream_server.CLOSES)
                sent = time.monotonic_ns()
                response = await client.post(f"/v1/conversations/{stream.conversation_id}/stop")
                assert response.status_code == 200, response.text
                # The provider records closes on its own thread's loop: poll (0.5 ms steps).
                while len(stream_server.CLOSES) == seen:  # noqa: ASYNC110
                    await asyncio.sleep(0.0005)
                to_close.append((stream_server.CLOSES[seen] - sent) / 1e6)
                await stream.task
                assert stream.last_type == "abort", stream.last_type
                to_end.append((stream.ended_ns - sent) / 1e6)
    return to_close[:samples], to_end[:samples]


_GAUGE = re.compile(r"^booking_active_streams (\S+)$", re.M)


async def _gauge(client: httpx2.AsyncClient) -> float:
    match = _GAUGE.search((await client.get("/metrics")).text)
    return float(match.group(1)) if match else float("nan")


async def _disconnects(base: str, samples: int) -> tuple[list[float], int]:
    """(disconnect -> stream released in ms, upstream requests the disconnects closed)."""
    released: list[float] = []
    closed_by_disconnect = 0
    async with httpx2.AsyncClient(base_url=base, timeout=httpx2.Timeout(60)) as probe:
        for _ in range(samples):
            async with httpx2.AsyncClient(base_url=base, timeout=httpx2.Timeout(60)) as client:
                stream = OpenStream(client)
                await asyncio.wait_for(stream.first_text.wait(), 60)
                before = await _gauge(probe)
                closes = len(stream_server.CLOSES)
                gone = time.monotonic_ns()
                stream.task.cancel()
                await asyncio.gather(stream.task, return_exceptions=True)
            while await _gauge(probe) >= before:  # noqa: ASYNC110 (another process's gauge)
                await asyncio.sleep(0.001)
            released.append((time.monotonic_ns() - gone) / 1e6)
            await asyncio.sleep(0.1)
            closed_by_disconnect += len(stream_server.CLOSES) - closes
            await probe.post(f"/v1/conversations/{stream.conversation_id}/stop")
    return released, closed_by_disconnect


async def _relay_disconnects(base: str, samples: int) -> list[float]:
    """The baseline relay cancels its generator when its client goes: disconnect -> closed."""
    to_close: list[float] = []
    for _ in range(samples):
        async with httpx2.AsyncClient(base_url=base, timeout=httpx2.Timeout(60)) as client:
            stream = OpenStream(client)
            await asyncio.wait_for(stream.first_text.wait(), 60)
            seen = len(stream_server.CLOSES)
            gone = time.monotonic_ns()
            stream.task.cancel()
            await asyncio.gather(stream.task, return_exceptions=True)
        while len(stream_server.CLOSES) == seen:  # noqa: ASYNC110 (another thread's loop)
            await asyncio.sleep(0.0005)
        to_close.append((stream_server.CLOSES[seen] - gone) / 1e6)
    return to_close


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--baseline", action="store_true", help="also the plain relay")
    args = parser.parse_args()
    db_url = prepare_database()
    provider_url = _provider_in_thread()
    with api(db_url, provider_url, MODEL) as (base, _):
        print("1. stop -> upstream request closed (target p99 <= 100 ms)")
        for concurrency in (1, 16, 64):
            to_close, to_end = asyncio.run(_stops(base, concurrency, args.samples))
            print(
                f"  {concurrency:2d} streaming: upstream closed p50 {_q(to_close, 50):.1f} "
                f"p99 {_q(to_close, 99):.1f} max {max(to_close):.1f} ms; client saw abort "
                f"p50 {_q(to_end, 50):.1f} p99 {_q(to_end, 99):.1f} ms (n={len(to_close)})"
            )
        print("2. client disconnect -> its server stream released (the turn runs on, resumable)")
        samples = max(20, args.samples // 4)
        released, closes = asyncio.run(_disconnects(base, samples))
        print(
            f"  released p50 {_q(released, 50):.1f} p99 {_q(released, 99):.1f} ms "
            f"(n={samples}, /metrics polled every ~1 ms); upstream requests closed by the "
            f"disconnects within 100 ms: {closes}"
        )
    if args.baseline:
        print("baseline: plain FastAPI relay, client disconnect -> upstream request closed")
        with plain_relay(provider_url, MODEL) as (base, _):
            to_close = asyncio.run(_relay_disconnects(base, max(20, args.samples // 4)))
        print(
            f"  upstream closed p50 {_q(to_close, 50):.1f} p99 {_q(to_close, 99):.1f} "
            f"max {max(to_close):.1f} ms (n={len(to_close)})"
        )


if __name__ == "__main__":
    main()
