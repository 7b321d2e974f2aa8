"""OpenTelemetry traces of the turn runtime on a real PostgreSQL, recorded by the SDK's in-memory
exporter: the span tree (``invoke_agent`` → ``chat`` and ``execute_tool``), the GenAI attributes,
parallel tools, a retried model call, failures, and message text only when opted in.

The model is the real adapter (``OpenAIChatModel`` over the ``openai`` SDK) against the fake
provider on 127.0.0.1, so the ``chat`` spans are the production ones.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from booking import telemetry
from booking.agent.context import ToolContext
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy
from booking.agent.tools import ToolRegistry
from booking.errors import NotFound
from booking.settings import Settings
from tests.support.fake_provider import (
    FakeProvider,
    FakeResponsesProvider,
    Script,
    responses_text,
    text_chunks,
    tool_calls_chunks,
)
from tests.support.turn_runtime import Runtime, finished, new_ids

SECRET = "Nguyễn Văn A đi Hà Nội 15/6"
"""User text that must not reach a span unless content capture is on."""


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider().start()
    yield fake
    await fake.stop()


def model_for(provider: FakeProvider, retries: int = 0) -> OpenAIChatModel:
    spec = ModelSpec(name="fake", model="fake-1", base_url=provider.base_url, api_key="k")
    return OpenAIChatModel(
        [spec], "fake", retry=RetryPolicy(retries=retries, initial_wait_s=0.01, max_wait_s=0.02)
    )


def travel_registry() -> ToolRegistry:
    """Two tools that overlap in time, and one that fails with a stable code."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=5)
    async def flights(ctx: ToolContext, city: str) -> dict[str, Any]:
        """Flights to a city.

        Args:
            city: Where to.
        """
        await asyncio.sleep(0.1)
        return {"city": city, "flights": 3}

    @registry.tool(timeout_s=5)
    async def weather(ctx: ToolContext, city: str) -> dict[str, Any]:
        """Weather in a city.

        Args:
            city: Where.
        """
        await asyncio.sleep(0.1)
        return {"city": city, "sky": "sunny"}

    @registry.tool(timeout_s=5)
    async def booking(ctx: ToolContext, reference: str) -> dict[str, Any]:
        """A booking.

        Args:
            reference: Its reference.
        """
        raise NotFound(f"No booking {reference}.")

    return registry


async def run_turn(runtime: Runtime, model: OpenAIChatModel, registry: ToolRegistry | None) -> str:
    """One turn to its end; its id."""
    manager = await runtime.manager(model, registry)
    tenant, conversation = new_ids()
    live = await manager.begin(tenant, conversation, SECRET, create=True)
    await finished(live)
    await model.aclose()
    return live.turn_id


def tree(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    """Finished spans by name."""
    out: dict[str, list[ReadableSpan]] = {}
    for span in exporter.get_finished_spans():
        out.setdefault(span.name, []).append(span)
    return out


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def attributes_text(exporter: InMemorySpanExporter) -> str:
    return json.dumps(
        [dict(span.attributes or {}) for span in exporter.get_finished_spans()],
        ensure_ascii=False,
    )


async def test_a_turn_with_parallel_tools(
    runtime: Runtime, provider: FakeProvider, exporter: InMemorySpanExporter
) -> None:
    provider.queue(
        Script(
            events=tool_calls_chunks(
                ("call_f", "flights", {"city": "HAN"}),
                ("call_w", "weather", {"city": "HAN"}),
                ("call_b", "booking", {"reference": "ABC123"}),
            )
        ),
        Script(events=text_chunks("Sunny, 3 flights.", model="fake-1-2026")),
    )
    turn_id = await run_turn(runtime, model_for(provider), travel_registry())

    spans = tree(exporter)
    [turn] = spans["invoke_agent booking"]
    assert turn.kind is SpanKind.INTERNAL
    assert turn.parent is None  # No request began it: a root.
    attrs = dict(turn.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.agent.name"] == "booking"
    assert attrs["gen_ai.provider.name"] == "openai"  # From its first model call.
    assert attrs["booking.turn.id"] == turn_id
    assert attrs["gen_ai.conversation.id"]
    assert attrs["booking.turn.status"] == "done"
    assert attrs["gen_ai.usage.input_tokens"] == 100 + 10
    assert attrs["gen_ai.usage.output_tokens"] == 20 + 5
    assert turn.status.status_code is StatusCode.UNSET

    chats = sorted(spans["chat fake-1"], key=lambda s: s.start_time or 0)
    assert len(chats) == 2
    for chat in chats:
        assert chat.kind is SpanKind.CLIENT
        assert parent_of(chat) == turn.context.span_id
        assert chat.context.trace_id == turn.context.trace_id
        chat_attrs = dict(chat.attributes or {})
        assert chat_attrs["gen_ai.operation.name"] == "chat"
        assert chat_attrs["gen_ai.provider.name"] == "openai"
        assert chat_attrs["gen_ai.request.model"] == "fake-1"
        assert chat_attrs["server.address"] == "127.0.0.1"
        assert chat_attrs["server.port"] == provider.port
        assert float(chat_attrs["gen_ai.response.time_to_first_chunk"]) > 0  # type: ignore[arg-type]
        assert "http.request.resend_count" not in chat_attrs
    first, second = (dict(c.attributes or {}) for c in chats)
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert first["gen_ai.usage.input_tokens"] == 100
    assert first["gen_ai.usage.output_tokens"] == 20
    assert second["gen_ai.response.finish_reasons"] == ("stop",)
    assert second["gen_ai.response.model"] == "fake-1-2026"

    tools = {
        span.name: span for name in spans if name.startswith("execute_tool") for span in spans[name]
    }
    assert set(tools) == {"execute_tool flights", "execute_tool weather", "execute_tool booking"}
    for span in tools.values():
        assert parent_of(span) == turn.context.span_id
        assert span.kind is SpanKind.INTERNAL
    flights, weather = tools["execute_tool flights"], tools["execute_tool weather"]
    assert dict(flights.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "flights",
        "gen_ai.tool.call.id": "call_f",
        "gen_ai.tool.type": "function",
        "booking.tool.outcome": "ok",
    }
    # They ran concurrently: each began before the other ended.
    assert flights.start_time is not None
    assert weather.start_time is not None
    assert flights.end_time is not None
    assert weather.end_time is not None
    assert flights.start_time < weather.end_time
    assert weather.start_time < flights.end_time
    # Between the two model calls.
    assert chats[0].end_time is not None
    assert chats[1].start_time is not None
    assert chats[0].end_time <= flights.start_time
    assert flights.end_time <= chats[1].start_time
    failed = tools["execute_tool booking"]
    assert failed.attributes is not None
    assert failed.attributes["booking.tool.outcome"] == "not_found"
    assert failed.attributes["error.type"] == "not_found"
    assert failed.status.status_code is StatusCode.ERROR

    # No message text, no tool arguments or results by default.
    recorded = attributes_text(exporter)
    for private in (SECRET, "HAN", "ABC123", "sunny", "Sunny"):
        assert private not in recorded


async def test_a_retried_model_call_is_one_span_per_attempt(
    runtime: Runtime, provider: FakeProvider, exporter: InMemorySpanExporter
) -> None:
    provider.queue(
        Script(status=503, json_body={"error": {"message": "overloaded"}}),
        Script(events=text_chunks("Xong rồi.")),
    )
    await run_turn(runtime, model_for(provider, retries=1), None)

    spans = tree(exporter)
    [turn] = spans["invoke_agent booking"]
    failed, answered = sorted(spans["chat fake-1"], key=lambda s: s.start_time or 0)
    assert parent_of(failed) == parent_of(answered) == turn.context.span_id
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert answered.attributes is not None
    assert failed.attributes["error.type"] == "upstream_unavailable"
    assert "http.request.resend_count" not in failed.attributes
    assert "gen_ai.response.time_to_first_chunk" not in failed.attributes
    assert answered.status.status_code is StatusCode.UNSET
    assert answered.attributes["http.request.resend_count"] == 1
    assert answered.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert failed.end_time is not None
    assert answered.start_time is not None
    assert failed.end_time <= answered.start_time
    assert dict(turn.attributes or {})["booking.turn.status"] == "done"
    assert turn.status.status_code is StatusCode.UNSET


async def test_a_failed_model_call_fails_the_turn_span(
    runtime: Runtime, provider: FakeProvider, exporter: InMemorySpanExporter
) -> None:
    provider.queue(Script(status=401, json_body={"error": {"message": "bad key"}}))
    await run_turn(runtime, model_for(provider, retries=2), None)

    spans = tree(exporter)
    [turn] = spans["invoke_agent booking"]
    [chat] = spans["chat fake-1"]  # Not retried: credentials.
    assert parent_of(chat) == turn.context.span_id
    for span in (chat, turn):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["error.type"] == "upstream_auth"
    assert dict(turn.attributes or {})["booking.turn.status"] == "failed"


async def test_message_text_and_tool_arguments_only_with_the_opt_in(
    runtime: Runtime, provider: FakeProvider, exporter: InMemorySpanExporter
) -> None:
    provider_ = telemetry.provider()
    assert provider_ is not None
    telemetry.install(provider_, capture_content=True)
    provider.queue(
        Script(events=tool_calls_chunks(("call_f", "flights", {"city": "HAN"}))),
        Script(events=text_chunks("Có 3 chuyến bay.")),
    )
    await run_turn(runtime, model_for(provider), travel_registry())

    spans = tree(exporter)
    first, second = sorted(spans["chat fake-1"], key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    assert second.attributes is not None
    sent = json.loads(str(first.attributes["gen_ai.input.messages"]))
    assert sent[-1] == {"role": "user", "parts": [{"type": "text", "content": SECRET}]}
    answered = json.loads(str(first.attributes["gen_ai.output.messages"]))
    assert answered[0]["parts"][0]["name"] == "flights"
    assert json.loads(answered[0]["parts"][0]["arguments"]) == {"city": "HAN"}
    assert json.loads(str(second.attributes["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "text", "content": "Có 3 chuyến bay."}
    ]
    [tool] = spans["execute_tool flights"]
    assert tool.attributes is not None
    assert json.loads(str(tool.attributes["gen_ai.tool.call.arguments"])) == {"city": "HAN"}
    assert json.loads(str(tool.attributes["gen_ai.tool.call.result"])) == {
        "city": "HAN",
        "flights": 3,
    }


def test_settings_choose_the_export_endpoint() -> None:
    assert telemetry.traces_endpoint(Settings()) is None
    assert telemetry.from_settings(Settings()) is None
    base = Settings(otel_exporter_otlp_endpoint="http://collector:4318/")
    assert telemetry.traces_endpoint(base) == "http://collector:4318/v1/traces"
    both = Settings(
        otel_exporter_otlp_endpoint="http://collector:4318",
        otel_exporter_otlp_traces_endpoint="http://other:4318/traces",
    )
    assert telemetry.traces_endpoint(both) == "http://other:4318/traces"
    off = Settings(otel_exporter_otlp_endpoint="http://collector:4318", otel_sdk_disabled=True)
    assert telemetry.traces_endpoint(off) is None


async def test_the_responses_api_path_is_traced_alike(
    runtime: Runtime, exporter: InMemorySpanExporter
) -> None:
    responses = await FakeResponsesProvider().start()
    try:
        responses.queue(Script(events=responses_text("Xong ", "rồi.")))
        spec = ModelSpec(
            name="fake", model="fake-r", base_url=responses.base_url, api_key="k", api="responses"
        )
        await run_turn(runtime, OpenAIChatModel([spec], "fake"), None)
    finally:
        await responses.stop()

    spans = tree(exporter)
    [turn] = spans["invoke_agent booking"]
    [chat] = spans["chat fake-r"]
    assert parent_of(chat) == turn.context.span_id
    attrs = dict(chat.attributes or {})
    assert attrs["booking.model.api"] == "responses"
    assert attrs["gen_ai.request.model"] == "fake-r"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert isinstance(attrs["gen_ai.usage.output_tokens"], int)
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert float(attrs["gen_ai.response.time_to_first_chunk"]) > 0  # type: ignore[arg-type]
