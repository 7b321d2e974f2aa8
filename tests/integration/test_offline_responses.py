"""The offline model speaking the Responses API: to the openai SDK in-process, served on
127.0.0.1 to a plain client, and in full turns on the seeded database, where both protocols give
the same turn.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx2
import openai
import pytest
import uvicorn
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseTextDeltaEvent,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.events import StepStarted, TextDelta, ToolResult, TurnDone, Usage
from booking.agent.factory import build_orchestrator
from booking.agent.models.base import Pricing
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel
from booking.agent.models.select import OFFLINE_BASE_URL, offline_spec
from booking.agent.orchestrator import Orchestrator
from booking.domain.places import Gazetteer
from booking.offline_model.transport import MODEL_ID, OfflineModel, OfflineTransport, asgi_app
from booking.settings import Settings
from tests.support.agent_turns import CLOCK, collect
from tests.support.model_streams import ModelFactory, ModelMaker


@pytest.fixture
async def make_model() -> AsyncIterator[ModelFactory]:
    maker = ModelMaker()
    yield maker
    await maker.aclose()


def offline_responses_spec(name: str = "offline-responses") -> ModelSpec:
    return ModelSpec(
        name=name,
        model=MODEL_ID,
        base_url=OFFLINE_BASE_URL,
        api_key="offline",
        pricing=Pricing(0.0, 0.0),
        transport=OfflineTransport(OfflineModel(CLOCK)),
        api="responses",
    )


@pytest.fixture
async def offline_client() -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=OFFLINE_BASE_URL,
        api_key="x",
        http_client=httpx2.AsyncClient(transport=OfflineTransport(OfflineModel(CLOCK))),
    )
    yield client
    await client.close()


class TestOfflineModelProtocol:
    async def test_non_streaming_text(self, offline_client: openai.AsyncOpenAI) -> None:
        response = await offline_client.responses.create(model=MODEL_ID, input="hello")
        assert response.status == "completed"
        assert response.output_text
        assert response.usage is not None
        assert response.usage.total_tokens > 0

    async def test_non_streaming_tool_call(self, offline_client: openai.AsyncOpenAI) -> None:
        response = await offline_client.responses.create(
            model=MODEL_ID, input=[{"role": "user", "content": "thời tiết Huế ngày mai"}]
        )
        [call] = response.output
        assert call.type == "function_call"
        assert call.name == "get_weather"
        assert call.call_id.startswith("call_")
        assert '"date": "2026-06-02"' in call.arguments

    async def test_streamed_text_is_typed_events_in_order(
        self, offline_client: openai.AsyncOpenAI
    ) -> None:
        stream = await offline_client.responses.create(
            model=MODEL_ID, input="hello", instructions="Be brief.", stream=True
        )
        events = [event async for event in stream]
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert events[0].type == "response.created"
        text = "".join(e.delta for e in events if isinstance(e, ResponseTextDeltaEvent))
        final = events[-1]
        assert isinstance(final, ResponseCompletedEvent)
        assert final.response.output_text == text
        assert final.response.usage is not None

    async def test_streamed_tool_calls(self, offline_client: openai.AsyncOpenAI) -> None:
        stream = await offline_client.responses.create(
            model=MODEL_ID,
            input="Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6",
            stream=True,
        )
        events = [event async for event in stream]
        names = [
            e.item.name
            for e in events
            if isinstance(e, ResponseOutputItemAddedEvent) and e.item.type == "function_call"
        ]
        assert sorted(names) == ["get_weather", "search_flights"]
        deltas = [e for e in events if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)]
        assert len(deltas) == 4

    async def test_same_request_same_bytes(self) -> None:
        model = OfflineModel(CLOCK)
        body = b'{"model": "m", "input": "hello", "stream": true}'

        async def read() -> bytes:
            reply = await model.handle("POST", "/v1/responses", body)
            return b"".join([piece async for piece in reply.body])

        assert await read() == await read()

    async def test_bad_request(self, offline_client: openai.AsyncOpenAI) -> None:
        with pytest.raises(openai.BadRequestError):
            await offline_client.responses.create(model=MODEL_ID, input=[])


@pytest.fixture
def served_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            asgi_app(OfflineModel(CLOCK)), host="127.0.0.1", port=port, log_level="warning"
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


def test_standalone_server_speaks_responses_to_a_plain_openai_client(served_port: int) -> None:
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{served_port}/v1", api_key="anything")
    stream = client.responses.create(
        model=MODEL_ID,
        input="Đặt vé SGN → HAN ngày 15/6",
        tools=[
            {
                "type": "function",
                "name": "search_flights",
                "parameters": {"type": "object"},
                "strict": False,
            }
        ],
        stream=True,
    )
    arguments = "".join(
        e.delta for e in stream if isinstance(e, ResponseFunctionCallArgumentsDeltaEvent)
    )
    client.close()
    assert '"date": "2026-06-15"' in arguments


class TestOfflineTurns:
    @staticmethod
    def orchestrator(
        settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer, model: OpenAIChatModel
    ) -> Orchestrator:
        return build_orchestrator(
            settings, async_sessionmaker(engine, expire_on_commit=False), gazetteer, CLOCK, model
        )

    async def test_search_flights_over_the_responses_protocol(
        self,
        settings: Settings,
        engine: AsyncEngine,
        gazetteer: Gazetteer,
        make_model: ModelFactory,
    ) -> None:
        model = make_model(offline_responses_spec(), primary="offline-responses")
        events = await collect(
            self.orchestrator(settings, engine, gazetteer, model), "Đặt vé SGN → HAN ngày 15/6"
        )
        assert [e.model for e in events if isinstance(e, StepStarted)] == ["offline-responses"] * 2
        result = next(e for e in events if isinstance(e, ToolResult))
        assert result.name == "search_flights"
        cheapest = result.output["flights"][0]
        answer = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert cheapest["flight_number"] in answer
        done = events[-1]
        assert isinstance(done, TurnDone)
        assert done.reason == "stop"
        assert done.usage.model_calls == 2
        assert done.usage.prompt_tokens > 0

    async def test_both_protocols_give_the_same_turn(
        self,
        settings: Settings,
        engine: AsyncEngine,
        gazetteer: Gazetteer,
        make_model: ModelFactory,
    ) -> None:
        text = "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"
        by_protocol = []
        for spec in (offline_spec(CLOCK), offline_responses_spec()):
            model = make_model(spec, primary=spec.name)
            events = await collect(self.orchestrator(settings, engine, gazetteer, model), text)
            answer = "".join(e.text for e in events if isinstance(e, TextDelta))
            usage = [(u.prompt_tokens, u.completion_tokens) for u in events if isinstance(u, Usage)]
            by_protocol.append((answer, usage))
        assert by_protocol[0] == by_protocol[1]
        assert "°C" in by_protocol[0][0]
