"""The orchestrator against a fake provider on 127.0.0.1 and the real (seeded) database.

The fake provider checks every request's history the way real providers do, so a turn that
appends an assistant message without its ``tool_calls`` fails here as it would in production.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.events import (
    ApprovalRequested,
    StepStarted,
    TextDelta,
    ToolCallStarted,
    ToolError,
    ToolInputError,
    ToolResult,
    TurnDone,
    TurnEvent,
    TurnFailed,
)
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy, Timeouts
from booking.agent.orchestrator import AgentTurn, ApprovalDecision, Orchestrator
from booking.agent.tools import ToolRegistry
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from tests.conftest import TEST_NOW
from tests.support.corpus import CASES, expected_for
from tests.support.fake_provider import FakeProvider, Script, corpus_events, sse, text_chunks

DAY = "2026-06-15"


def call_chunks(*calls: tuple[str, str, dict[str, Any]], text: str = "") -> list[bytes]:
    """A response that streams optional text and then tool calls, OpenAI style."""
    chunks: list[dict[str, Any] | str] = []
    if text:
        chunks.append({"choices": [{"index": 0, "delta": {"content": text}}]})
    for index, (call_id, name, arguments) in enumerate(calls):
        raw = json.dumps(arguments, ensure_ascii=False)
        chunks.append(
            {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            ]}}]}
        )  # fmt: skip
        for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            chunks.append(
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [{"index": index, "function": {"arguments": part}}]
                            },
                        }
                    ]
                }
            )
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}})
    chunks.append("[DONE]")
    return sse(*chunks)


def raw_call_chunks(call_id: str, name: str, raw_arguments: str) -> list[bytes]:
    return sse(
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": raw_arguments}}
        ]}, "finish_reason": "tool_calls"}]},
        "[DONE]",
    )  # fmt: skip


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = await FakeProvider().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def model(provider: FakeProvider) -> AsyncIterator[OpenAIChatModel]:
    client = OpenAIChatModel(
        [ModelSpec(name="fake", model="m", base_url=provider.base_url, api_key="k")],
        "fake",
        timeouts=Timeouts(connect_s=2, first_chunk_s=2, stall_s=1),
        retry=RetryPolicy(retries=1, initial_wait_s=0.01, max_wait_s=0.02),
    )
    yield client
    await client.aclose()


@pytest.fixture
def ctx(engine: AsyncEngine, gazetteer: Gazetteer) -> ToolContext:
    return ToolContext(
        async_sessionmaker(engine, expire_on_commit=False), gazetteer, FixedClock(TEST_NOW)
    )


async def collect(
    orchestrator: Orchestrator, text: str, history: list[dict[str, Any]] | None = None
) -> tuple[AgentTurn, list[TurnEvent]]:
    turn = orchestrator.start(history or [], text)
    events: list[TurnEvent] = [event async for event in turn]
    return turn, events


class TestFullTurn:
    async def test_tool_call_then_answer(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(
                events=call_chunks(
                    (
                        "call_a",
                        "search_flights",
                        {"from_city": "SGN", "to_city": "Hà Nội", "date": DAY},
                    )
                )
            ),
            Script(events=text_chunks("Có nhiều chuyến bay.")),
        )
        turn, events = await collect(
            Orchestrator(model, default_registry(), ctx), "Đặt vé SGN → HAN ngày 15/6"
        )
        kinds = [e.kind for e in events]
        assert kinds[0] == "step-started"
        assert (
            kinds.index("tool-call-started")
            < kinds.index("tool-input-available")
            < kinds.index("tool-result")
        )
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.name == "search_flights"
        assert result.output["flights"]
        assert isinstance(events[-1], TurnDone)
        assert events[-1].reason == "stop"
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Có nhiều chuyến bay."
        # History is exactly what Chat Completions requires.
        roles = [m["role"] for m in turn.messages]
        assert roles == ["user", "assistant", "tool", "assistant"]
        assert turn.messages[1]["tool_calls"][0]["id"] == "call_a"
        assert turn.messages[2]["tool_call_id"] == "call_a"
        assert json.loads(turn.messages[2]["content"])["flights"]
        # The second request carried the tool result back to the model.
        second = provider.requests[1]["json"]["messages"]
        assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
        assert events[-1].usage.model_calls == 2
        assert events[-1].usage.prompt_tokens == 110

    async def test_parallel_calls_run_concurrently_and_report_as_they_finish(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        registry = ToolRegistry()
        slow_started = asyncio.Event()
        order: list[str] = []

        @registry.tool()
        async def slow(ctx: ToolContext, label: str) -> dict[str, str]:
            """Waits until the fast tool has run: deadlocks unless both run at once."""
            slow_started.set()
            await asyncio.wait_for(fast_done.wait(), 2)
            order.append("slow")
            return {"label": label}

        fast_done = asyncio.Event()

        @registry.tool()
        async def fast(ctx: ToolContext, label: str) -> dict[str, str]:
            """Returns at once."""
            await asyncio.wait_for(slow_started.wait(), 2)
            order.append("fast")
            fast_done.set()
            return {"label": label}

        provider.queue(
            Script(
                events=call_chunks(("c1", "slow", {"label": "a"}), ("c2", "fast", {"label": "b"}))
            ),
            Script(events=text_chunks("done")),
        )
        turn, events = await collect(Orchestrator(model, registry, ctx), "go")
        results = [e for e in events if isinstance(e, ToolResult)]
        assert [r.call_id for r in results] == ["c2", "c1"]  # reported as each finishes
        assert order == ["fast", "slow"]
        # Tool messages still follow the call order, one per id.
        assert [m.get("tool_call_id") for m in turn.messages if m["role"] == "tool"] == ["c1", "c2"]

    async def test_weather_and_flights_in_one_response(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(
                events=call_chunks(
                    ("w", "get_weather", {"city": "Đà Nẵng", "date": DAY}),
                    (
                        "f",
                        "search_flights",
                        {"from_city": "Hà Nội", "to_city": "Đà Nẵng", "date": DAY},
                    ),
                )
            ),
            Script(events=text_chunks("ok")),
        )
        _, events = await collect(
            Orchestrator(model, default_registry(), ctx), "weather and flights"
        )
        assert {e.name for e in events if isinstance(e, ToolResult)} == {
            "get_weather",
            "search_flights",
        }


class TestBadToolCalls:
    async def test_invalid_json_goes_back_to_the_model_not_replaced_by_empty_object(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(
                events=raw_call_chunks("bad", "search_flights", '{"from_city": "SGN", "to_city": ')
            ),
            Script(
                events=call_chunks(
                    ("good", "search_flights", {"from_city": "SGN", "to_city": "HAN", "date": DAY})
                )
            ),
            Script(events=text_chunks("fixed")),
        )
        turn, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
        error = next(e for e in events if isinstance(e, ToolInputError))
        assert error.error["code"] == "invalid_arguments"
        assert "not valid JSON" in error.error["message"]
        tool_message = json.loads(turn.messages[2]["content"])
        assert tool_message["error"]["code"] == "invalid_arguments"
        assert any(isinstance(e, ToolResult) for e in events)
        assert isinstance(events[-1], TurnDone)

    async def test_schema_violation_and_unknown_tool_are_errors_for_the_model(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(
                events=call_chunks(
                    ("a", "search_flights", {"from_city": "SGN", "passengers": "many"}),
                    ("b", "book_hotel", {}),
                )
            ),
            Script(events=text_chunks("sorry")),
        )
        turn, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
        errors = {e.call_id: e.error for e in events if isinstance(e, ToolInputError)}
        assert errors["a"]["code"] == "invalid_arguments"
        assert {err["loc"][0] for err in errors["a"]["errors"]} >= {"to_city", "date", "passengers"}
        assert errors["b"]["code"] == "unknown_tool"
        assert [m["tool_call_id"] for m in turn.messages if m["role"] == "tool"] == ["a", "b"]

    async def test_domain_error_is_a_tool_error_the_model_can_act_on(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(
                events=call_chunks(
                    (
                        "a",
                        "search_flights",
                        {"from_city": "Atlantis", "to_city": "HAN", "date": DAY},
                    )
                )
            ),
            Script(events=text_chunks("unknown")),
        )
        _, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
        error = next(e for e in events if isinstance(e, ToolError))
        assert error.error["code"] == "unknown_place"

    async def test_too_many_invalid_calls_end_the_turn(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(Script(events=raw_call_chunks("bad", "search_flights", "{oops")))
        _, events = await collect(
            Orchestrator(model, default_registry(), ctx, max_tool_errors=2), "x"
        )
        assert isinstance(events[-1], TurnFailed)
        assert events[-1].code == "tool_call_errors"
        assert len(provider.requests) == 3


class TestBounds:
    async def test_max_model_calls_explains_itself(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(Script(events=call_chunks(("a", "get_weather", {"city": "Huế"}))))
        turn, events = await collect(
            Orchestrator(model, default_registry(), ctx, max_model_calls=3), "x"
        )
        assert sum(isinstance(e, StepStarted) for e in events) == 3
        done = events[-1]
        assert isinstance(done, TurnDone)
        assert done.reason == "max_model_calls"
        assert done.incomplete
        assert "stopped after 3 model calls" in turn.messages[-1]["content"]

    async def test_tool_timeout(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        registry = ToolRegistry()

        @registry.tool(timeout_s=0.05)
        async def hang(ctx: ToolContext) -> dict[str, str]:
            """Never returns."""
            await asyncio.sleep(10)
            return {}

        provider.queue(
            Script(events=call_chunks(("h", "hang", {}))), Script(events=text_chunks("late"))
        )
        _, events = await collect(Orchestrator(model, registry, ctx), "x")
        error = next(e for e in events if isinstance(e, ToolError))
        assert error.error["code"] == "tool_timeout"


class TestFailures:
    async def test_failure_before_output_is_typed(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(
            Script(status=401, json_body={"error": {"message": "Incorrect API key provided"}})
        )
        _, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
        assert len(events) == 1
        failed = events[0]
        assert isinstance(failed, TurnFailed)
        assert failed.code == "upstream_auth"
        assert not failed.retryable
        assert "fake" in failed.message

    async def test_mid_stream_failure_keeps_partial_answer(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        provider.queue(Script(events=text_chunks("một hai ba bốn năm"), reset_after=3))
        turn, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
        failed = events[-1]
        assert isinstance(failed, TurnFailed)
        assert failed.retryable
        assert failed.partial_text == "một hai ba "
        assert turn.messages[-1] == {"role": "assistant", "content": "một hai ba "}
        assert len(provider.requests) == 1  # never replayed once output started


class TestApproval:
    @staticmethod
    def registry(ran: list[str]) -> ToolRegistry:
        registry = ToolRegistry()

        @registry.tool(read_only=False, requires_approval=True)
        async def hold_seat(ctx: ToolContext, flight_id: int) -> dict[str, Any]:
            """Holds a seat."""
            ran.append("hold")
            return {"held": flight_id}

        return registry

    async def test_approved_call_runs_with_the_approved_arguments(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        ran: list[str] = []
        seen: list[ApprovalRequested] = []

        async def approve(request: ApprovalRequested) -> ApprovalDecision:
            seen.append(request)
            return ApprovalDecision(True)

        provider.queue(
            Script(events=call_chunks(("h", "hold_seat", {"flight_id": 7}))),
            Script(events=text_chunks("held")),
        )
        _, events = await collect(
            Orchestrator(model, self.registry(ran), ctx, approver=approve), "x"
        )
        assert seen[0].arguments == {"flight_id": 7}
        assert any(isinstance(e, ApprovalRequested) for e in events)
        assert ran == ["hold"]

    async def test_denied_call_never_runs(
        self, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
    ) -> None:
        ran: list[str] = []

        async def deny(request: ApprovalRequested) -> ApprovalDecision:
            return ApprovalDecision(False, "changed my mind")

        provider.queue(
            Script(events=call_chunks(("h", "hold_seat", {"flight_id": 7}))),
            Script(events=text_chunks("ok")),
        )
        turn, events = await collect(
            Orchestrator(model, self.registry(ran), ctx, approver=deny), "x"
        )
        assert ran == []
        error = next(e for e in events if isinstance(e, ToolError))
        assert error.error["code"] == "approval_denied"
        assert "changed my mind" in json.loads(turn.messages[2]["content"])["error"]["message"]


async def test_cancelling_the_turn_cancels_running_tools(
    provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
) -> None:
    registry = ToolRegistry()
    started, cancelled = asyncio.Event(), asyncio.Event()

    @registry.tool()
    async def long_running(ctx: ToolContext) -> dict[str, str]:
        """Runs until cancelled."""
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return {}

    provider.queue(Script(events=call_chunks(("l", "long_running", {}))))
    turn = Orchestrator(model, registry, ctx).start([], "x")

    async def consume() -> None:
        async for _ in turn:
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 1)


def test_pricing_is_per_million_tokens() -> None:
    from booking.agent.models.base import Pricing

    assert Pricing(2.0, 8.0).cost(1_000_000, 500_000) == pytest.approx(6.0)


@pytest.mark.parametrize("case", CASES)
async def test_full_turn_for_every_corpus_stream(
    case: str, provider: FakeProvider, model: OpenAIChatModel, ctx: ToolContext
) -> None:
    """Each recorded provider stream, as the model's first reply in a real turn; the fake provider
    rejects the follow-up request if the history the turn built is malformed."""
    expected = expected_for(case)
    provider.queue(Script(events=corpus_events(case)), Script(events=text_chunks("Xong.")))
    turn, events = await collect(Orchestrator(model, default_registry(), ctx), "x")
    final = events[-1]
    if "raises" in expected:
        assert isinstance(final, TurnFailed)
        assert final.code == "upstream_error"
        return
    if "model_error" in expected:
        # A cut stream: nothing of it runs, the partial text is kept, no second request.
        assert isinstance(final, TurnFailed)
        assert final.code == expected["model_error"]
        assert final.partial_text == expected["text"]
        assert not [e for e in events if isinstance(e, ToolResult | ToolError | ToolInputError)]
        assert len(provider.requests) == 1
        return
    if expected["finish_reason"] in ("length", "content_filter"):
        # The answer was cut: a half-written call never runs, the turn says why it ended.
        assert isinstance(final, TurnDone), final
        assert final.reason == expected["finish_reason"]
        assert final.incomplete
        assert not [e for e in events if isinstance(e, ToolResult | ToolError | ToolInputError)]
        assert len(provider.requests) == 1
        return
    assert isinstance(final, TurnDone), final
    started = [e.name for e in events if isinstance(e, ToolCallStarted)]
    assert started == [call["name"] for call in expected["calls"]]
    settled = {e.call_id for e in events if isinstance(e, ToolResult | ToolError | ToolInputError)}
    assert len(settled) == len(expected["calls"])
    if expected["calls"]:
        assert len(provider.requests) == 2  # the history with tool results was accepted
        assert turn.messages[-1] == {"role": "assistant", "content": "Xong."}
    else:
        assert turn.messages[-1]["content"] == expected["text"]
