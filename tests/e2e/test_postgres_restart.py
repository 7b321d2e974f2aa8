"""PostgreSQL crashes and comes back while a turn streams, seen through HTTP.

The server runs on an embedded PostgreSQL of this module's own (never the shared one), crashed
with ``pg_ctl -m immediate`` (no checkpoint: WAL recovery on the next start) while a turn is
streaming. Meanwhile ``/readyz`` reports the outage; once the database is back the turn ends with
a terminal part (here it completes: its parts wait in memory until they can be stored), the
conversation's event log replays exactly what the client saw (nothing the crash threw away is
missing), and new turns succeed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from booking.db.embedded import crash_embedded, embedded_url
from booking.db.engine import make_async_engine, make_sessionmaker
from booking.domain.api_keys import create_key
from booking.settings import Settings
from seed.load import SeedOptions
from tests.conftest import TEST_TODAY, own_embedded_server
from tests.support.api import chat_body, new_id, replay
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import BackgroundLoop, RunningServer, StartServer
from tests.support.sse import SSERecord, Stream, assert_contiguous, wire
from tests.support.tools import call_chunks

SEED = SeedOptions(seed=11, today=TEST_TODAY, days=5, scale=0.1)
LONG_ANSWER = " ".join(f"từ{i}" for i in range(40))
DOWN_S = 1.0
#: The turn may wait out the outage, one writer retry and a slow machine.
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def own_pg() -> Iterator[tuple[str, Path]]:
    """A migrated, seeded embedded PostgreSQL to crash."""
    with own_embedded_server("pgrestart", SEED) as server:
        yield server


@pytest.fixture(scope="module")
def own_key(own_pg: tuple[str, Path], bg_loop: BackgroundLoop) -> str:
    url, _ = own_pg

    async def create() -> str:
        engine = make_async_engine(url, Settings(database_url=url, db_pool_size=1))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                _, key = await create_key(session, name="pg restart", tenant="t-pgrestart")
        finally:
            await engine.dispose()
        return key

    return bg_loop.run(create())


def _readyz(server: RunningServer) -> tuple[int, str | None]:
    with server.client() as client:
        response = client.get("/readyz")
    code = response.json().get("code") if response.status_code != 200 else None
    return response.status_code, code


def _wait_ready(server: RunningServer, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while _readyz(server) != (200, None):
        assert time.monotonic() < deadline, "/readyz never recovered"
        time.sleep(0.1)


def _crash_then_restart(pg_dir: Path, server: RunningServer) -> tuple[int, str | None]:
    """Crash the database, read /readyz while it is down, start it again."""
    crash_embedded(pg_dir)
    outage = _readyz(server)
    time.sleep(DOWN_S)
    embedded_url(pg_dir)
    return outage


def _parts(records: list[SSERecord]) -> list[dict[str, Any]]:
    return [r.part for r in records if r.data is not None and not r.is_done]


def _text(records: list[SSERecord]) -> str:
    return "".join(p["delta"] for p in _parts(records) if p["type"] == "text-delta")


def _server(start: StartServer, url: str, llm: dict[str, Any], **extra: Any) -> RunningServer:
    return start(
        database_url=url, llm_stall_timeout_s=DEADLINE_S, tool_timeout_s=5.0, **llm, **extra
    )


def _next_turn_works(server: RunningServer, key: str, provider: FakeProvider, cid: str) -> None:
    """A follow-up in the same conversation (its stored history is valid) and a new one."""
    provider.scripts.clear()
    provider.queue(Script(events=text_chunks("Vâng.")))
    with server.client(key) as client:
        for conversation_id in (cid, new_id()):
            body = chat_body(conversation_id, "còn gì nữa không?")
            with client.stream("POST", "/v1/chat", json=body) as response:
                assert response.status_code == 200
                records = Stream(response).read_to_end(DEADLINE_S)
            assert _parts(records)[-1]["type"] == "finish"
            assert _text(records) == "Vâng."


def test_a_turn_streaming_through_a_crash_completes_and_loses_nothing(
    own_pg: tuple[str, Path],
    own_key: str,
    start: StartServer,
    provider: FakeProvider,
    llm: dict[str, Any],
) -> None:
    url, pg_dir = own_pg
    provider.queue(Script(events=text_chunks(LONG_ANSWER), delay_s=0.05))
    server = _server(start, url, llm)
    conversation_id = new_id()
    with server.client(key=own_key) as client:
        body = chat_body(conversation_id, "kể chuyện đi")
        with client.stream("POST", "/v1/chat", json=body) as response:
            assert response.status_code == 200
            stream = Stream(response)
            stream.read_until(lambda r: r.type == "text-delta" and r.part["delta"] == "từ3 ")
            # The parts just shown were committed without waiting for the WAL flush: the
            # crash may well take them with it.
            outage = _crash_then_restart(pg_dir, server)
            records = stream.read_to_end(DEADLINE_S)

        assert outage == (503, "database_unavailable")
        assert records[-1].is_done
        assert_contiguous(records)
        assert _parts(records)[-1]["type"] == "finish"
        assert _text(records) == LONG_ANSWER
        _wait_ready(server)
        # The log replays exactly what the client saw: no hole where the crash was.
        assert wire(replay(client, conversation_id)) == wire(records)
    _next_turn_works(server, own_key, provider, conversation_id)


def test_a_tool_that_meets_the_outage_fails_and_the_turn_still_answers(
    own_pg: tuple[str, Path],
    own_key: str,
    start: StartServer,
    provider: FakeProvider,
    llm: dict[str, Any],
) -> None:
    """The model asks for a lookup while the database is down: the tool fails (the model is told,
    and says so), the turn finishes, and its history is valid once the database is back."""
    url, pg_dir = own_pg
    registry = ToolRegistry()

    @registry.tool(timeout_s=5.0)
    async def count_airports(ctx: ToolContext) -> dict[str, Any]:
        """How many airports we know."""
        async with ctx.sessionmaker() as session:
            return {"airports": await session.scalar(text("SELECT count(*) FROM airports"))}

    provider.queue(
        # The call arrives 1 s after the request: the database is crashed in between.
        Script(events=call_chunks("c1", "count_airports", {}), pause_before={0: 1.0}),
        Script(events=text_chunks("Hệ thống đang bận, bạn thử lại sau nhé.")),
    )
    server = _server(start, url, llm, registry=registry)
    conversation_id = new_id()
    with server.client(key=own_key) as client:
        body = chat_body(conversation_id, "có bao nhiêu sân bay?")
        with client.stream("POST", "/v1/chat", json=body) as response:
            assert response.status_code == 200
            stream = Stream(response)
            stream.read_type("start")
            crash_embedded(pg_dir)
            time.sleep(1.0 + DOWN_S)  # the tool runs (and fails) while it is down
            embedded_url(pg_dir)
            records = stream.read_to_end(DEADLINE_S)

        parts = _parts(records)
        assert_contiguous(records)
        assert parts[-1]["type"] == "finish"
        failed = [p for p in parts if p["type"] == "tool-output-error"]
        assert [p["toolCallId"] for p in failed] == ["c1"]
        # The model was told the tool failed, in a tool message answering its call.
        tool_messages = [
            m for m in provider.requests[-1]["json"]["messages"] if m["role"] == "tool"
        ]
        assert [m["tool_call_id"] for m in tool_messages] == ["c1"]
        _wait_ready(server)
    _next_turn_works(server, own_key, provider, conversation_id)
