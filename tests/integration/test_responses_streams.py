"""The Responses API over real HTTP on 127.0.0.1, through the openai SDK, against
:class:`FakeResponsesProvider`; and full turns against it on the seeded database.

Every ``tests/corpus/responses`` stream is replayed through the SDK (whole events, and the exact
bytes in 7-byte writes) and must assemble to the same expectation as in the pure unit test.
Observed: the SDK yields ``response.failed`` and ``error`` events as data (neither has a top-level
``error`` key), so the adapter raises ``upstream_error`` itself; an empty ``data:`` keep-alive
would break the SDK's JSON parsing and is dropped by the Chat adapter's ``KeepAliveFilter``.
The offline model speaking the same protocol is tested in ``test_offline_responses.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.assembler import AssembledResponse
from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.events import TextDelta, ToolResult, TurnDone, TurnFailed, Usage
from booking.agent.models.base import ModelError, OpenedStream, Pricing
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy, Timeouts
from booking.agent.orchestrator import Orchestrator
from booking.domain.places import Gazetteer
from tests.support.agent_turns import CLOCK, collect
from tests.support.corpus import assert_matches
from tests.support.fake_provider import (
    RESPONSES_CORPUS,
    FakeProvider,
    FakeResponsesProvider,
    Script,
    response_events,
    responses_corpus_events,
    responses_text,
    text_chunks,
)
from tests.support.model_streams import RETRY, ModelFactory, ModelMaker, read_all, stop_providers

CASES = sorted(path.stem for path in RESPONSES_CORPUS.glob("*.sse"))

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Bạn là trợ lý đặt vé máy bay."},
    {"role": "user", "content": "Thời tiết Đà Nẵng ngày mai thế nào?"},
]
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The forecast for a city on a date.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "date": {"type": "string"}},
                "required": ["city", "date"],
            },
        },
    }
]

ProviderFactory = Callable[[], Awaitable[FakeResponsesProvider]]


def expected_for(case: str) -> dict[str, Any]:
    return json.loads((RESPONSES_CORPUS / f"{case}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
async def make_provider() -> AsyncIterator[ProviderFactory]:
    started: list[FakeProvider] = []

    async def make() -> FakeResponsesProvider:
        provider = FakeResponsesProvider()
        await provider.start()
        started.append(provider)
        return provider

    yield make
    await stop_providers(started)


@pytest.fixture
async def provider(make_provider: ProviderFactory) -> FakeResponsesProvider:
    return await make_provider()


@pytest.fixture
async def make_model() -> AsyncIterator[ModelFactory]:
    maker = ModelMaker()
    yield maker
    await maker.aclose()


def spec_for(provider: FakeProvider, name: str = "fake", **kwargs: Any) -> ModelSpec:
    kwargs.setdefault("api", "responses")
    return ModelSpec(name=name, model="m", base_url=provider.base_url, api_key="k", **kwargs)


@pytest.fixture
def model(provider: FakeResponsesProvider, make_model: ModelFactory) -> OpenAIChatModel:
    return make_model(spec_for(provider))


async def assemble(
    model: OpenAIChatModel,
    messages: list[dict[str, Any]] = MESSAGES,
    chunks: list[dict[str, Any]] | None = None,
) -> tuple[OpenedStream, AssembledResponse]:
    stream = await model.open_stream(messages, TOOLS)
    return stream, await read_all(stream, chunks)


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


# The corpus through the SDK ---------------------------------------------------------------------


async def _check_case(case: str, provider: FakeResponsesProvider, model: OpenAIChatModel) -> None:
    expected = expected_for(case)
    raises = expected.get("raises")
    if raises is None:
        stream, response = await assemble(model)
        assert stream.model == "fake"
        assert stream.ttft_ms > 0
        assert_matches(response, expected)
        assert len(provider.requests) == 1
        return
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await assemble(model, chunks=chunks)
    error = raised.value
    assert error.code == raises["code"]
    assert error.retryable
    assert error.model == "fake"
    if "message" in raises:
        assert raises["message"] in str(error)
    assert text_of(chunks) == expected["text"]
    # Nothing streamed yet: retried (then given up); after output: never replayed.
    assert len(provider.requests) == (1 if expected["text"] else RETRY.retries + 1)


@pytest.mark.parametrize("case", CASES)
async def test_corpus_through_the_sdk(
    case: str, provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=responses_corpus_events(case)))
    await _check_case(case, provider, model)


@pytest.mark.parametrize("case", CASES)
async def test_corpus_bytes_split_anywhere(
    case: str, provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    raw = (RESPONSES_CORPUS / f"{case}.sse").read_bytes()
    provider.queue(Script(events=[raw[i : i + 7] for i in range(0, len(raw), 7)]))
    await _check_case(case, provider, model)


def test_corpus_events_keep_every_event() -> None:
    for case in CASES:
        raw = (RESPONSES_CORPUS / f"{case}.sse").read_bytes().replace(b"\r\n", b"\n")
        assert b"".join(responses_corpus_events(case)) == raw, case


# The request ------------------------------------------------------------------------------------

HISTORY: list[dict[str, Any]] = [
    *MESSAGES,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_w",
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "arguments": '{"city": "Đà Nẵng", "date": "2026-06-02"}',
                },
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_w", "content": '{"temp_c": 31}'},
]


async def test_request_is_a_stateless_streaming_response(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=responses_text("Trời ", "nắng.")))
    _, response = await assemble(model, HISTORY)
    assert response.text == "Trời nắng."
    [request] = provider.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/responses"
    assert request["headers"]["authorization"] == "Bearer k"
    body = request["json"]
    assert body == {
        "model": "m",
        "instructions": "Bạn là trợ lý đặt vé máy bay.",
        "input": [
            {"type": "message", "role": "user", "content": MESSAGES[1]["content"]},
            {
                "type": "function_call",
                "call_id": "call_w",
                "name": "get_weather",
                "arguments": '{"city": "Đà Nẵng", "date": "2026-06-02"}',
            },
            {"type": "function_call_output", "call_id": "call_w", "output": '{"temp_c": 31}'},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "The forecast for a city on a date.",
                "parameters": TOOLS[0]["function"]["parameters"],
                "strict": False,
            }
        ],
        "store": False,
        "stream": True,
    }


async def test_a_tool_result_without_its_call_is_refused_as_the_api_would(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    """The fake checks input as the API does, so the contract above is not vacuous."""
    orphan = [*MESSAGES, {"role": "tool", "tool_call_id": "call_x", "content": "{}"}]
    with pytest.raises(ModelError) as raised:
        await model.open_stream(orphan, TOOLS)
    assert raised.value.code == "upstream_bad_request"
    assert "call_x" in str(raised.value)
    assert len(provider.requests) == 1


# Retries, timeouts and failures -----------------------------------------------------------------


@pytest.mark.parametrize(("status", "retry_after"), [(429, "0.05"), (503, "0.03")])
async def test_retry_after_is_honoured_then_success(
    provider: FakeResponsesProvider,
    make_model: ModelFactory,
    status: int,
    retry_after: str,
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    model = make_model(
        spec_for(provider),
        retry=RetryPolicy(retries=2, initial_wait_s=0.2, max_wait_s=5),
        sleep=sleep,
    )
    provider.queue(
        Script(status=status, headers={"Retry-After": retry_after}),
        Script(events=responses_text("Đã ", "có.")),
    )
    _, response = await assemble(model)
    assert response.text == "Đã có."
    assert waits == [pytest.approx(float(retry_after))]
    assert len(provider.requests) == 2


async def test_429_every_time_is_rate_limited(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(status=429, headers={"Retry-After": "0.01"}))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_rate_limited"
    assert raised.value.status_code == 429
    assert len(provider.requests) == 3


async def test_401_is_not_retried(provider: FakeResponsesProvider, model: OpenAIChatModel) -> None:
    body = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    provider.queue(Script(status=401, json_body=body))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_auth"
    assert "Incorrect API key provided" in str(raised.value)
    assert len(provider.requests) == 1


async def test_failed_before_any_output_is_retried_then_success(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(
        Script(events=responses_corpus_events("failed")), Script(events=responses_text("ổn"))
    )
    _, response = await assemble(model)
    assert response.text == "ổn"
    assert len(provider.requests) == 2


async def test_created_then_nothing_is_incomplete_after_retries(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=responses_text("x")[:2]))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_incomplete"
    assert len(provider.requests) == 3


async def test_empty_body_is_a_protocol_error(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=[b": nothing\n\n"]))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_protocol"
    assert len(provider.requests) == 3


FAST = Timeouts(connect_s=2, first_chunk_s=0.25, stall_s=0.1)


async def test_no_output_within_the_first_chunk_timeout(
    provider: FakeResponsesProvider, make_model: ModelFactory
) -> None:
    """``response.created`` alone does not open the stream: the deadline runs to the first
    text, reasoning or call."""
    model = make_model(spec_for(provider), timeouts=FAST)
    events = responses_text("muộn")
    provider.queue(Script(events=events, pause_before={2: 0.6}))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_timeout"
    assert len(provider.requests) == 3


async def test_stall_mid_stream(provider: FakeResponsesProvider, make_model: ModelFactory) -> None:
    model = make_model(
        spec_for(provider), timeouts=Timeouts(connect_s=2, first_chunk_s=1, stall_s=0.1)
    )
    events = responses_text("Chuyến ", "bay ", "sớm")
    provider.queue(Script(events=events, pause_before={4: 0.5}))
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await assemble(model, chunks=chunks)
    assert raised.value.code == "upstream_stalled"
    assert text_of(chunks) == "Chuyến "
    assert len(provider.requests) == 1


async def test_reset_mid_stream(provider: FakeResponsesProvider, model: OpenAIChatModel) -> None:
    provider.queue(
        Script(events=responses_text("Một ", "hai ", "ba ", "bốn"), reset_after=5, delay_s=0.02)
    )
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await assemble(model, chunks=chunks)
    assert raised.value.code in {"upstream_unavailable", "upstream_protocol"}
    assert text_of(chunks).startswith("Một ")
    assert len(provider.requests) == 1


async def test_the_connection_is_reused_across_streams(
    provider: FakeResponsesProvider, model: OpenAIChatModel
) -> None:
    """The body is read to its end after ``response.completed``, so the connection goes back
    to the pool."""
    provider.queue(Script(events=responses_text("Chào ", "bạn."), keep_alive=True))
    for _ in range(3):
        _, response = await assemble(model)
        assert response.text == "Chào bạn."
    assert provider.connections == 1


# Fallbacks across protocols ---------------------------------------------------------------------


async def test_falls_back_from_a_responses_model_to_a_chat_model(
    make_provider: ProviderFactory, make_model: ModelFactory
) -> None:
    down, chat = await make_provider(), await make_provider()
    down.queue(Script(status=503))
    chat.queue(Script(events=text_chunks("Xin chào")))
    model = make_model(
        spec_for(down, "primary", fallbacks=("second",)),
        spec_for(chat, "second", api="chat"),
        primary="primary",
    )
    stream, response = await assemble(model)
    assert stream.model == "second"
    assert response.text == "Xin chào"
    assert [r["path"] for r in down.requests] == ["/v1/responses"] * 3
    [request] = chat.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["json"]["messages"] == MESSAGES


async def test_falls_back_from_a_chat_model_to_a_responses_model(
    make_provider: ProviderFactory, make_model: ModelFactory
) -> None:
    down, responses = await make_provider(), await make_provider()
    down.queue(Script(status=500))
    responses.queue(Script(events=responses_text("Vẫn ", "ổn")))
    model = make_model(
        spec_for(down, "primary", fallbacks=("second",), api="chat"),
        spec_for(responses, "second"),
        primary="primary",
    )
    stream, response = await assemble(model)
    assert stream.model == "second"
    assert response.text == "Vẫn ổn"
    assert [r["path"] for r in responses.requests] == ["/v1/responses"]


# Turns against the fake provider ----------------------------------------------------------------


@pytest.fixture
def ctx(engine: AsyncEngine, gazetteer: Gazetteer) -> ToolContext:
    return ToolContext(async_sessionmaker(engine, expire_on_commit=False), gazetteer, CLOCK)


def call_events(call_id: str, name: str, arguments: str) -> list[bytes]:
    item = {"type": "function_call", "id": "fc_1", "call_id": call_id, "name": name}
    done = {**item, "arguments": arguments, "status": "completed"}
    usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
    return response_events(
        {"type": "response.created", "response": {}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "arguments": ""},
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 0,
            "delta": arguments[:9],
        },
        {
            "type": "response.function_call_arguments.delta",
            "output_index": 0,
            "delta": arguments[9:],
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {"type": "response.completed", "response": {"output": [done], "usage": usage}},
    )


async def test_a_turn_sends_the_tool_result_back_as_function_call_output(
    provider: FakeResponsesProvider, make_model: ModelFactory, ctx: ToolContext
) -> None:
    arguments = '{"from_city": "SGN", "to_city": "Hà Nội", "date": "2026-06-15"}'
    provider.queue(
        Script(events=call_events("call_a", "search_flights", arguments)),
        Script(events=responses_text("Có nhiều ", "chuyến bay.")),
    )
    model = make_model(spec_for(provider, pricing=Pricing(1.0, 2.0)))
    events = await collect(Orchestrator(model, default_registry(), ctx), "Vé SGN đi HAN 15/6")
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.name == "search_flights"
    assert result.output["flights"]
    done = events[-1]
    assert isinstance(done, TurnDone)
    assert done.reason == "stop"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Có nhiều chuyến bay."
    usages = [e for e in events if isinstance(e, Usage)]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usages] == [(100, 20), (10, 5)]
    assert usages[0].cost_usd == pytest.approx((100 * 1.0 + 20 * 2.0) / 1e6)
    # The second request carried the call and its result, matched by call_id.
    second = provider.requests[1]["json"]
    assert [item["type"] for item in second["input"]] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    call, output = second["input"][1:]
    assert (call["call_id"], call["name"], call["arguments"]) == (
        "call_a",
        "search_flights",
        arguments,
    )
    assert output["call_id"] == "call_a"
    assert output["output"] == provider.requests[1]["json"]["input"][2]["output"]
    assert second["instructions"]
    assert second["store"] is False


async def test_a_stream_that_stops_ends_the_turn_with_the_partial_text(
    provider: FakeResponsesProvider, model: OpenAIChatModel, ctx: ToolContext
) -> None:
    provider.queue(Script(events=responses_corpus_events("stops_without_completed")))
    events = await collect(Orchestrator(model, default_registry(), ctx), "Giá vé?")
    failed = events[-1]
    assert isinstance(failed, TurnFailed)
    assert failed.code == "upstream_incomplete"
    assert failed.retryable
    assert failed.partial_text == "Giá vé từ "
