"""The offline model through the real openai SDK: full turns on the seeded database, the
non-streaming protocol, and the standalone OpenAI-compatible server over HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.events import (
    StepStarted,
    TextDelta,
    ToolCallStarted,
    ToolResult,
    TurnDone,
    TurnEvent,
)
from booking.agent.factory import build_orchestrator
from booking.agent.models.openai_chat import OpenAIChatModel
from booking.agent.models.select import OFFLINE_NAME, build_model_client
from booking.agent.orchestrator import AgentTurn, Orchestrator
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from booking.offline_model.transport import (
    MODEL_ID,
    OfflineModel,
    OfflineTransport,
    asgi_app,
)
from booking.settings import Settings
from tests.conftest import TEST_NOW


@pytest.fixture
async def offline(settings: Settings) -> AsyncIterator[OpenAIChatModel]:
    model = build_model_client(settings, FixedClock(TEST_NOW), {})
    assert model.name == OFFLINE_NAME
    yield model
    await model.aclose()


@pytest.fixture
def orchestrator(
    settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer, offline: OpenAIChatModel
) -> Orchestrator:
    return build_orchestrator(
        settings,
        async_sessionmaker(engine, expire_on_commit=False),
        gazetteer,
        FixedClock(TEST_NOW),
        offline,
    )


async def run(
    orchestrator: Orchestrator, text: str, history: list[dict[str, Any]] | None = None
) -> tuple[AgentTurn, list[TurnEvent], str]:
    turn = orchestrator.start(history or [], text)
    events: list[TurnEvent] = [e async for e in turn]
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return turn, events, answer


class TestTurns:
    async def test_the_tutorial_request_finds_flights(self, orchestrator: Orchestrator) -> None:
        _, events, answer = await run(orchestrator, "Đặt vé SGN → HAN ngày 15/6")
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.name == "search_flights"
        cheapest = result.output["flights"][0]
        assert cheapest["flight_number"] in answer
        assert f"{cheapest['price_vnd']:,}".replace(",", ".") in answer
        done = events[-1]
        assert isinstance(done, TurnDone)
        assert done.reason == "stop"
        assert done.usage.model_calls == 2
        assert done.usage.prompt_tokens > 0

    async def test_same_input_same_answer(self, orchestrator: Orchestrator) -> None:
        first = (await run(orchestrator, "flights from Hanoi to Da Nang on June 10 for 2 people"))[
            2
        ]
        second = (await run(orchestrator, "flights from Hanoi to Da Nang on June 10 for 2 people"))[
            2
        ]
        assert first == second
        assert first

    async def test_weather_and_flights_are_two_calls_in_one_response(
        self, orchestrator: Orchestrator
    ) -> None:
        _, events, answer = await run(
            orchestrator, "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"
        )
        first_step_calls = []
        for event in events:
            if isinstance(event, StepStarted) and event.step == 1:
                break
            if isinstance(event, ToolCallStarted):
                first_step_calls.append(event.name)
        assert sorted(first_step_calls) == ["get_weather", "search_flights"]
        assert "°C" in answer

    async def test_follow_up_uses_the_conversation(self, orchestrator: Orchestrator) -> None:
        turn, events, _ = await run(orchestrator, "Vé Sài Gòn đi Hà Nội ngày 15/6")
        history = turn.messages
        _, events, _ = await run(orchestrator, "còn ngày hôm sau thì sao?", history)
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.output["query"]["date"] == "2026-06-16"

    async def test_missing_information_gets_a_question_not_a_guess(
        self, orchestrator: Orchestrator
    ) -> None:
        _, events, answer = await run(orchestrator, "Đặt vé đi Hà Nội")
        assert not any(isinstance(e, ToolCallStarted) for e in events)
        assert "?" in answer

    async def test_english_answer_for_english_question(self, orchestrator: Orchestrator) -> None:
        _, _, answer = await run(orchestrator, "What's the weather in Hue tomorrow?")
        assert "°C" in answer
        assert "Huế" in answer or "Hue" in answer


class TestProtocol:
    @pytest.fixture
    async def client(self) -> AsyncIterator[openai.AsyncOpenAI]:
        transport = OfflineTransport(OfflineModel(FixedClock(TEST_NOW)))
        client = openai.AsyncOpenAI(
            base_url="http://offline.invalid/v1",
            api_key="x",
            http_client=httpx2.AsyncClient(transport=transport),
        )
        yield client
        await client.close()

    async def test_non_streaming_completion_with_tool_calls(
        self, client: openai.AsyncOpenAI
    ) -> None:
        completion = await client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": "thời tiết Huế"}]
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls
        call = choice.message.tool_calls[0]
        assert call.type == "function"
        assert call.function.name == "get_weather"
        assert completion.usage
        assert completion.usage.total_tokens > 0

    async def test_streaming_ends_with_usage(self, client: openai.AsyncOpenAI) -> None:
        stream = await client.chat.completions.create(
            model=MODEL_ID,
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None

    async def test_models_list_and_bad_request(self, client: openai.AsyncOpenAI) -> None:
        models = await client.models.list()
        assert [m.id for m in models.data] == [MODEL_ID]
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model=MODEL_ID, messages=[])


@pytest.fixture
def served_port() -> Iterator[int]:
    """The standalone server (what `booking offline-model serve` runs) on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            asgi_app(OfflineModel(FixedClock(TEST_NOW))),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        threading.Event().wait(0.02)
    yield port
    server.should_exit = True
    thread.join(5)


def test_standalone_server_speaks_to_a_plain_openai_client(served_port: int) -> None:
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{served_port}/v1", api_key="anything")
    stream = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": "Đặt vé SGN → HAN ngày 15/6"}],
        tools=[
            {
                "type": "function",
                "function": {"name": "search_flights", "parameters": {"type": "object"}},
            }
        ],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
            entry["name"] += (call.function.name or "") if call.function else ""
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
    client.close()
    assert calls[0]["name"] == "search_flights"
    assert '"date": "2026-06-15"' in calls[0]["arguments"]
