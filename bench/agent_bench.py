"""Orchestrator overhead over the raw provider stream, both through the openai SDK.

A fake provider in another process (``bench.stream_server``) streams chunks whose content is the
moment it wrote them. Measured, in the same run and alternating:
- raw: the ``openai`` SDK iterating the stream directly (what a hand-wired relay does);
- ours: the orchestrator (adapter with timeouts, keep-alive filter, assembler, typed events).
Reported: time to first token (request to first text) and per-chunk delivery latency (write on
the server to the client seeing it), p50/p99 for each and the difference, plus events/s on a
stream sent as fast as possible. A chunk held back would show as a latency jump.
Targets (issue #3): TTFT added p50 <= 2 ms, p99 <= 5 ms; per-chunk added p50 <= 0.5 ms, p99 <= 2 ms.
``--api responses`` measures the Responses API instead (raw: ``client.responses.create(stream=True)``
iterating the SDK's typed events; ours: a model configured with ``api = "responses"``), ``--api
both`` each protocol in turn.
``--tracing`` measures what OpenTelemetry costs a turn instead (issue #18): the same turn (a
model call of 20 chunks sent as fast as possible) timed alternately with tracing off (no provider:
the no-op tracer, today's path) and on (an SDK provider exporting to memory through a
``SimpleSpanProcessor``: the spans' full cost without a network), per turn in microseconds.
Run: ``python -m bench.agent_bench [--runs 200] [--api chat|responses|both] [--tracing]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from typing import Any, Literal

import httpx2
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from booking import telemetry
from booking.agent.context import ToolContext
from booking.agent.events import TextDelta
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel
from booking.agent.orchestrator import Orchestrator
from booking.agent.tools import ToolRegistry
from booking.domain.dates import SystemClock
from booking.domain.places import Gazetteer

MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]
#: What the orchestrator sends the Responses API for MESSAGES (the bench prompt is empty).
INPUT: list[Any] = [{"type": "message", "role": "user", "content": "hi"}]
Api = Literal["chat", "responses"]


def _q(samples: list[float], p: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


async def raw_run(
    client: openai.AsyncOpenAI, model: str, api: Api = "chat"
) -> tuple[float, list[float], int]:
    if api == "responses":
        return await raw_responses_run(client, model)
    started = time.monotonic_ns()
    ttft = 0.0
    latencies: list[float] = []
    stream = await client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    async for chunk in stream:
        now = time.monotonic_ns()
        if chunk.choices and chunk.choices[0].delta.content:
            if not latencies:
                ttft = (now - started) / 1e6
            latencies.append((now - int(chunk.choices[0].delta.content)) / 1e6)
    return ttft, latencies, len(latencies)


async def raw_responses_run(
    client: openai.AsyncOpenAI, model: str
) -> tuple[float, list[float], int]:
    started = time.monotonic_ns()
    ttft = 0.0
    latencies: list[float] = []
    stream = await client.responses.create(model=model, input=INPUT, store=False, stream=True)
    async for event in stream:
        now = time.monotonic_ns()
        if event.type == "response.output_text.delta":
            if not latencies:
                ttft = (now - started) / 1e6
            latencies.append((now - int(event.delta)) / 1e6)
    return ttft, latencies, len(latencies)


async def our_run(orchestrator: Orchestrator) -> tuple[float, list[float], int]:
    started = time.monotonic_ns()
    ttft = 0.0
    latencies: list[float] = []
    async for event in orchestrator.start([], "hi"):
        now = time.monotonic_ns()
        if isinstance(event, TextDelta):
            if not latencies:
                ttft = (now - started) / 1e6
            latencies.append((now - int(event.text)) / 1e6)
    return ttft, latencies, len(latencies)


def _orchestrator(
    base_url: str, model: str, api: Api = "chat"
) -> tuple[Orchestrator, OpenAIChatModel]:
    client = OpenAIChatModel(
        [ModelSpec(name="bench", model=model, base_url=base_url, api_key="k", api=api)], "bench"
    )
    ctx = ToolContext(None, Gazetteer.build([], [], []), SystemClock())  # type: ignore[arg-type]
    # An empty prompt keeps both paths sending the same tiny request.
    return Orchestrator(client, ToolRegistry(), ctx, prompt=lambda _: ""), client


async def measure(base_url: str, runs: int, chunks: int, pace_us: int, api: Api = "chat") -> None:
    model = f"bench-{chunks}-{pace_us}"
    raw_client = openai.AsyncOpenAI(
        base_url=base_url, api_key="k", max_retries=0, http_client=httpx2.AsyncClient()
    )
    orchestrator, our_client = _orchestrator(base_url, model, api)
    raw: dict[str, list[float]] = {"ttft": [], "chunk": []}
    ours: dict[str, list[float]] = {"ttft": [], "chunk": []}
    held = 0
    for i in range(runs + 10):
        r = await raw_run(raw_client, model, api)
        o = await our_run(orchestrator)
        if o[2] != chunks:
            held += 1
        if i >= 10:  # warm-up: connections, caches
            raw["ttft"].append(r[0])
            raw["chunk"] += r[1]
            ours["ttft"].append(o[0])
            ours["chunk"] += o[1]
    await raw_client.close()
    await our_client.aclose()
    print(f"{api}: {runs} runs x {chunks} chunks, a chunk every {pace_us} us")
    for label, key in (("time to first token", "ttft"), ("per-chunk latency", "chunk")):
        r50, r99 = _q(raw[key], 50), _q(raw[key], 99)
        o50, o99 = _q(ours[key], 50), _q(ours[key], 99)
        print(
            f"  {label:20} raw p50 {r50:7.3f} p99 {r99:7.3f} ms | ours p50 {o50:7.3f} p99 {o99:7.3f} ms"
            f" | added p50 {o50 - r50:+.3f} p99 {o99 - r99:+.3f} ms"
        )
    print(f"  runs where a chunk did not become its own event: {held}")


async def throughput(base_url: str, chunks: int, api: Api = "chat") -> None:
    model = f"bench-{chunks}-0"
    orchestrator, client = _orchestrator(base_url, model, api)
    raw_client = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0)
    await our_run(orchestrator)
    started = time.perf_counter()
    _, _, n = await raw_run(raw_client, model, api)
    raw_s = time.perf_counter() - started
    started = time.perf_counter()
    _, _, m = await our_run(orchestrator)
    ours_s = time.perf_counter() - started
    await client.aclose()
    await raw_client.close()
    print(
        f"{api} throughput, {chunks} chunks as fast as possible: raw SDK {n / raw_s:,.0f} chunks/s, "
        f"orchestrator {m / ours_s:,.0f} events/s ({(ours_s - raw_s) / chunks * 1e6:+.1f} us/chunk)"
    )


async def tracing_cost(base_url: str, runs: int, api: Api = "chat") -> None:
    """Wall time per turn, tracing off and on, alternating (the turn's span as the runner
    makes it, around the orchestrator's model call)."""
    orchestrator, client = _orchestrator(base_url, "bench-20-0", api)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))

    async def turn() -> float:
        started = time.perf_counter()
        if telemetry.enabled():
            span = telemetry.start_turn("bench", "bench", None)
            with trace.use_span(span, end_on_exit=False):
                await our_run(orchestrator)
            telemetry.end_turn(span, "done", None, None)
        else:
            await our_run(orchestrator)
        return (time.perf_counter() - started) * 1e6

    off: list[float] = []
    on: list[float] = []
    spans = 0
    try:
        for i in range(runs + 20):
            telemetry.install(None)
            a = await turn()
            telemetry.install(provider)
            b = await turn()
            spans = len(memory.get_finished_spans())
            memory.clear()
            if i >= 20:  # warm-up
                off.append(a)
                on.append(b)
    finally:
        telemetry.install(None)
        provider.shutdown()
        await client.aclose()
    m_off, m_on = statistics.median(off), statistics.median(on)
    print(f"{api} tracing cost, {runs} turns each way (alternating), 20 chunks per turn")
    print(
        f"  off p50 {m_off:8.1f} us p99 {_q(off, 99):8.1f} us | on p50 {m_on:8.1f} us "
        f"p99 {_q(on, 99):8.1f} us | added p50 {m_on - m_off:+.1f} us per turn "
        f"({spans} spans a turn)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--api", choices=["chat", "responses", "both"], default="chat")
    parser.add_argument("--tracing", action="store_true", help="measure tracing off vs on")
    args = parser.parse_args()
    apis: list[Api] = ["chat", "responses"] if args.api == "both" else [args.api]
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.stream_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base_url = f"http://127.0.0.1:{port}/v1"
        for api in apis:
            if args.tracing:
                asyncio.run(tracing_cost(base_url, args.runs, api))
                continue
            asyncio.run(measure(base_url, args.runs, chunks=20, pace_us=2000, api=api))
            asyncio.run(throughput(base_url, chunks=5000, api=api))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
