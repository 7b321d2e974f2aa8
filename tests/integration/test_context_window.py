"""A 60-turn conversation through the real orchestrator and the seeded database stays within the
model's context budget at every model call, keeps tool pairs whole, and keeps the facts of the
turns it leaves out.

Two models: the offline model (it reports its own prompt size), and the fake provider, which
refuses a request whose ``tool`` messages do not answer a preceding ``tool_calls`` message, as
real providers do.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.context_window import estimate_request
from booking.agent.events import ToolResult, TurnDone, TurnEvent, Usage
from booking.agent.factory import build_orchestrator
from booking.agent.models.base import OpenedStream
from booking.agent.models.model_spec import ModelSpec
from booking.agent.models.openai_chat import OpenAIChatModel, RetryPolicy, Timeouts
from booking.agent.models.select import OFFLINE_CONTEXT_TOKENS, build_model_client
from booking.agent.orchestrator import Orchestrator
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from booking.settings import Settings
from tests.conftest import TEST_NOW
from tests.support.fake_provider import (
    FakeProvider,
    Script,
    history_problem,
    text_chunks,
    tool_calls_chunks,
)

TURNS = 60
FIRST = "Đặt vé SGN → HAN ngày 15/6"
LAST = "book the cheapest one we found"
#: Weather and small talk: no new flight search after the first turn.
BETWEEN = [
    "Thời tiết Đà Nẵng ngày 20/6 thế nào?",
    "What's the weather in Hanoi on June 16?",
    "cảm ơn bạn",
    "Thời tiết Đà Lạt ngày 25/6?",
    "Weather in Hue on June 19?",
    "Thời tiết Nha Trang ngày 21/6?",
]


class Recording:
    """The model client, with every request it was sent kept (as sent) for the test to read."""

    def __init__(self, inner: OpenAIChatModel) -> None:
        self.inner = inner
        self.requests: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    async def open_stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> OpenedStream:
        self.requests.append((copy.deepcopy(messages), tools))
        return await self.inner.open_stream(messages, tools)


def ctx_for(engine: AsyncEngine, gazetteer: Gazetteer) -> ToolContext:
    return ToolContext(
        async_sessionmaker(engine, expire_on_commit=False), gazetteer, FixedClock(TEST_NOW)
    )


async def converse(
    orchestrator: Orchestrator, texts: list[str]
) -> tuple[list[list[TurnEvent]], list[dict[str, Any]]]:
    history: list[dict[str, Any]] = []
    turns = []
    for text in texts:
        turn = orchestrator.start(history, text)
        turns.append([event async for event in turn])
        history += turn.messages
    return turns, history


def cheapest_of(events: list[TurnEvent]) -> dict[str, Any]:
    result = next(e for e in events if isinstance(e, ToolResult) and e.name == "search_flights")
    return min(result.output["flights"], key=lambda f: (f["price_vnd"], f["departs_at"]))


@pytest.fixture
async def offline(settings: Settings) -> AsyncIterator[OpenAIChatModel]:
    model = build_model_client(settings, FixedClock(TEST_NOW), {})
    yield model
    await model.aclose()


class TestBudgetFromTheModelConfig:
    async def test_the_factory_gives_the_orchestrator_the_models_budget(
        self, settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer
    ) -> None:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        clock = FixedClock(TEST_NOW)
        offline = build_model_client(settings, clock, {})
        env = settings.model_copy(
            update={
                "llm_model": "m",
                "llm_base_url": "http://x.invalid/v1",
                "llm_context_tokens": 7_000,
            }
        )
        remote = build_model_client(env, clock, {})
        try:
            assert (
                build_orchestrator(settings, sessions, gazetteer, clock, offline).context_tokens
                == OFFLINE_CONTEXT_TOKENS
            )
            assert (
                build_orchestrator(env, sessions, gazetteer, clock, remote).context_tokens == 7_000
            )
        finally:
            await offline.aclose()
            await remote.aclose()


class TestSixtyTurnsWithTheOfflineModel:
    BUDGET = 8_000

    async def test_every_request_fits_and_the_dropped_search_is_in_the_note(
        self, engine: AsyncEngine, gazetteer: Gazetteer, offline: OpenAIChatModel
    ) -> None:
        model = Recording(offline)
        orchestrator = Orchestrator(
            model, default_registry(), ctx_for(engine, gazetteer), context_tokens=self.BUDGET
        )
        texts = [FIRST] + [BETWEEN[n % len(BETWEEN)] for n in range(TURNS - 2)] + [LAST]
        turns, history = await converse(orchestrator, texts)

        assert all(isinstance(events[-1], TurnDone) for events in turns)
        searched = [n for n, events in enumerate(turns) for e in events if isinstance(e, ToolResult)
                    and e.name == "search_flights"]  # fmt: skip
        assert searched == [0], "the conversation must search once, in its first turn"
        usages = [e for events in turns for e in events if isinstance(e, Usage)]
        assert len(usages) == len(model.requests)
        for (messages, tools), usage in zip(model.requests, usages, strict=True):
            assert estimate_request(messages, tools) <= self.BUDGET
            assert usage.context is not None
            assert usage.context.estimated == estimate_request(messages, tools)
            # What the model itself counted (JSON characters / 4) is under the budget too.
            assert 0 < usage.prompt_tokens <= self.BUDGET
            assert history_problem(messages) is None

        # Without a budget the same conversation would be far past it by turn 60.
        assert estimate_request(history, []) > 2 * self.BUDGET
        last = [e for e in turns[-1] if isinstance(e, Usage)]
        assert last[0].context is not None
        assert last[0].context.dropped_turns > 0
        assert last[0].context.summarized
        # Turn 1 is gone from the request, but its cheapest flight is in the system note.
        messages, _ = model.requests[-len(last)]
        assert FIRST not in [m.get("content") for m in messages]
        cheapest = cheapest_of(turns[0])
        note = messages[0]["content"]
        assert "Last flight search" in note
        assert f"{cheapest['flight_number']} (flight_id {cheapest['flight_id']})" in note
        price = f"{cheapest['price_vnd']:,}".replace(",", ".") + "đ"
        assert price in note.split("Cheapest:")[1].split(";")[0]


class TestSixtyTurnsAgainstAStrictProvider:
    BUDGET = 6_000

    @pytest.fixture
    async def provider(self) -> AsyncIterator[FakeProvider]:
        fake = await FakeProvider().start()
        yield fake
        await fake.stop()

    @pytest.fixture
    async def model(self, provider: FakeProvider) -> AsyncIterator[OpenAIChatModel]:
        client = OpenAIChatModel(
            [ModelSpec(name="fake", model="m", base_url=provider.base_url, api_key="k")],
            "fake",
            timeouts=Timeouts(connect_s=2, first_chunk_s=5, stall_s=5),
            retry=RetryPolicy(retries=0),
        )
        yield client
        await client.aclose()

    async def test_tool_pairs_stay_whole_and_every_request_is_accepted(
        self,
        provider: FakeProvider,
        model: OpenAIChatModel,
        engine: AsyncEngine,
        gazetteer: Gazetteer,
    ) -> None:
        orchestrator = Orchestrator(
            model, default_registry(), ctx_for(engine, gazetteer), context_tokens=self.BUDGET
        )
        history: list[dict[str, Any]] = []
        turns: list[list[TurnEvent]] = []
        for n in range(TURNS):
            if n == 0:
                call = ("call_s", "search_flights", {"from_city": "SGN", "to_city": "HAN",
                                                     "date": "2026-06-15"})  # fmt: skip
                provider.queue(Script(events=tool_calls_chunks(call)))
            elif n % 3 == 1:
                # Two calls in one assistant message: the pair is three messages long.
                provider.queue(
                    Script(
                        events=tool_calls_chunks(
                            (
                                f"call_{n}a",
                                "get_weather",
                                {"city": "Đà Nẵng", "date": "2026-06-20"},
                            ),
                            (f"call_{n}b", "get_weather", {"city": "Huế", "date": "2026-06-21"}),
                        )
                    )
                )
            provider.queue(Script(events=text_chunks(f"Answer {n}: " + "nắng đẹp, " * 40)))
            turn = orchestrator.start(history, LAST if n == TURNS - 1 else f"message {n}")
            turns.append([event async for event in turn])
            history += turn.messages

        # The provider refuses (400) a request with a broken pair: every turn would then fail.
        assert [type(events[-1]).__name__ for events in turns] == ["TurnDone"] * TURNS
        sent = [r["json"] for r in provider.requests]
        assert len(sent) == TURNS + 1 + len(range(1, TURNS, 3))
        for request in sent:
            assert history_problem(request["messages"]) is None
            assert estimate_request(request["messages"], request["tools"]) <= self.BUDGET
        steps = [e for e in turns[-1] if isinstance(e, Usage)]
        last = sent[-len(steps)]["messages"]  # the last turn's first request
        assert last[-1] == {"role": "user", "content": LAST}
        assert last[1]["role"] == "user"
        cheapest = cheapest_of(turns[0])
        assert (
            f"{cheapest['flight_number']} (flight_id {cheapest['flight_id']})" in last[0]["content"]
        )
        dropped = steps[0].context
        assert dropped is not None
        assert dropped.dropped_turns > 0
        assert dropped.kept_messages == len(last) - 1
