"""A turn's start in one statement (``booking_start_turn``, migration 0007), on a real
PostgreSQL: every branch the multi-statement start had, and what concurrency does to it.

Each case calls :func:`booking.db.event_log.start_turn` on the hot pool's autocommit
connections, as the turn manager does, and reads the tables back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.engine import libpq_url
from booking.db.event_log import ConversationMissing, TurnAlreadyRunning, start_turn
from booking.db.hot_pool import HotPool
from booking.settings import Settings
from tests.support.turn_runtime import new_ids, rows

FIRST = json.dumps({"type": "start", "messageId": "msg_1"})


@pytest.fixture
async def hot(settings: Settings) -> AsyncIterator[HotPool]:
    assert settings.database_url
    pool = HotPool(libpq_url(settings.database_url))
    await pool.open()
    yield pool
    await pool.close()


def _turn() -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "message_id": f"msg_{uuid.uuid4().hex}", "owner": "proc-test"}


async def _start(
    hot: HotPool,
    tenant: str,
    *,
    conversation_id: str | None = None,
    public_id: str | None = None,
    create: bool = True,
    text: str = "hi",
    answer_open_calls: Any = None,
) -> tuple[str, int, list[dict[str, Any]], dict[str, Any]]:
    turn = _turn()
    async with hot.connection() as conn:
        found, first_seq, history = await start_turn(
            conn,
            tenant=tenant,
            conversation_id=conversation_id,
            create=create,
            public_id=public_id,
            new_id=uuid.uuid4().hex if conversation_id is None else None,
            title=text,
            turn=turn,
            user_message={"payload": {"role": "user", "content": text}, "ui_message_id": "u1"},
            lease_s=15.0,
            first_part=FIRST,
            answer_open_calls=answer_open_calls,
        )
    return found, first_seq, history, turn


async def _finish(engine: AsyncEngine, turn_id: str) -> None:
    await rows(
        engine,
        "UPDATE turns SET status = 'done', finished_at = now() WHERE id = :t RETURNING id",
        t=turn_id,
    )


async def test_a_new_public_id_creates_the_conversation_and_stores_the_start(
    hot: HotPool, engine: AsyncEngine
) -> None:
    tenant, _ = new_ids()
    found, first_seq, history, turn = await _start(hot, tenant, public_id="chat-1")
    assert (first_seq, history) == (1, [])
    assert await rows(
        engine, "SELECT tenant, public_id, title FROM conversations WHERE id = :c", c=found
    ) == [(tenant, "chat-1", "hi")]
    assert await rows(
        engine, "SELECT status, first_seq, owner FROM turns WHERE id = :t", t=turn["id"]
    ) == [("running", 1, "proc-test")]
    assert await rows(
        engine,
        "SELECT position, role, payload->>'content', ui_message_id FROM messages"
        " WHERE conversation_id = :c",
        c=found,
    ) == [(0, "user", "hi", "u1")]
    assert await rows(
        engine, "SELECT seq, part->>'type' FROM turn_events WHERE conversation_id = :c", c=found
    ) == [(1, "start")]


async def test_the_next_message_continues_the_same_conversation_after_its_cursor(
    hot: HotPool, engine: AsyncEngine
) -> None:
    tenant, _ = new_ids()
    found, _, _, turn = await _start(hot, tenant, public_id="chat-1")
    await rows(
        engine,
        "INSERT INTO turn_events (conversation_id, seq, turn_id, part)"
        ' SELECT :c, s, :t, \'{"type": "text-delta"}\'::jsonb FROM generate_series(2, 5) s'
        " RETURNING seq",
        c=found,
        t=turn["id"],
    )
    await rows(
        engine,
        "INSERT INTO messages (conversation_id, position, turn_id, role, payload)"
        " VALUES (:c, 1, :t, 'assistant', CAST(:p AS jsonb)) RETURNING position",
        c=found,
        t=turn["id"],
        p=json.dumps({"role": "assistant", "content": "Chào."}),
    )
    await _finish(engine, turn["id"])
    again, first_seq, history, _ = await _start(hot, tenant, public_id="chat-1", text="tiếp")
    assert again == found
    assert first_seq == 6  # After every stored part, never reusing a cursor.
    assert history == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Chào."},
    ]
    assert await rows(
        engine,
        "SELECT position FROM messages WHERE conversation_id = :c AND role = 'user'"
        " ORDER BY position",
        c=found,
    ) == [(0,), (2,)]


async def test_public_ids_are_per_tenant(hot: HotPool) -> None:
    mine, theirs = new_ids()[0], new_ids()[0]
    a, _, _, _ = await _start(hot, mine, public_id="chat-1")
    b, _, _, _ = await _start(hot, theirs, public_id="chat-1")
    assert a != b


async def test_without_create_an_unknown_id_is_missing_and_nothing_is_written(
    hot: HotPool, engine: AsyncEngine
) -> None:
    tenant, _ = new_ids()
    with pytest.raises(ConversationMissing):
        await _start(hot, tenant, public_id="nope", create=False)
    assert await rows(engine, "SELECT count(*) FROM conversations WHERE tenant = :t", t=tenant) == [
        (0,)
    ]


async def test_another_tenants_internal_id_is_missing_and_untouched(
    hot: HotPool, engine: AsyncEngine
) -> None:
    owner, intruder = new_ids()[0], new_ids()[0]
    found, _, _, turn = await _start(hot, owner, public_id="chat-1")
    await _finish(engine, turn["id"])
    for create in (False, True):
        with pytest.raises(ConversationMissing):
            await _start(hot, intruder, conversation_id=found, create=create)
    assert await rows(engine, "SELECT count(*) FROM turns WHERE conversation_id = :c", c=found) == [
        (1,)
    ]
    assert await rows(engine, "SELECT tenant FROM conversations WHERE id = :c", c=found) == [
        (owner,)
    ]


async def test_a_running_turn_refuses_the_next_and_nothing_of_it_is_kept(
    hot: HotPool, engine: AsyncEngine
) -> None:
    tenant, _ = new_ids()
    found, _, _, _ = await _start(hot, tenant, public_id="chat-1")
    before = await rows(engine, "SELECT updated_at FROM conversations WHERE id = :c", c=found)
    with pytest.raises(TurnAlreadyRunning):
        await _start(hot, tenant, public_id="chat-1", text="again")
    assert await rows(
        engine, "SELECT count(*) FROM messages WHERE conversation_id = :c", c=found
    ) == [(1,)]
    assert await rows(
        engine, "SELECT count(*) FROM turn_events WHERE conversation_id = :c", c=found
    ) == [(1,)]
    assert (
        await rows(engine, "SELECT updated_at FROM conversations WHERE id = :c", c=found) == before
    )


async def test_concurrent_first_messages_make_one_conversation_and_one_turn(
    hot: HotPool, engine: AsyncEngine
) -> None:
    tenant, _ = new_ids()
    outcomes = await asyncio.gather(
        *(_start(hot, tenant, public_id="chat-race") for _ in range(8)), return_exceptions=True
    )
    started = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, TurnAlreadyRunning)]
    assert (len(started), len(refused)) == (1, 7), outcomes
    assert await rows(engine, "SELECT count(*) FROM conversations WHERE tenant = :t", t=tenant) == [
        (1,)
    ]
    assert await rows(
        engine,
        "SELECT count(*) FROM turns t JOIN conversations c ON c.id = t.conversation_id"
        " WHERE c.tenant = :t",
        t=tenant,
    ) == [(1,)]


async def test_a_message_after_a_paused_reply_closes_its_open_calls_first(
    hot: HotPool, engine: AsyncEngine
) -> None:
    """The history ends with a call waiting for approval: the one statement leaves it to the
    multi-statement path, which stores the closing results before the new message."""
    tenant, _ = new_ids()
    found, _, _, turn = await _start(hot, tenant, public_id="chat-1")
    call = {"id": "call_1", "type": "function", "function": {"name": "hold", "arguments": "{}"}}
    await rows(
        engine,
        "INSERT INTO messages (conversation_id, position, turn_id, role, payload)"
        " VALUES (:c, 1, :t, 'assistant', CAST(:p AS jsonb)) RETURNING position",
        c=found,
        t=turn["id"],
        p=json.dumps({"role": "assistant", "content": None, "tool_calls": [call]}),
    )
    await _finish(engine, turn["id"])
    closing = {"role": "tool", "tool_call_id": "call_1", "content": "superseded"}

    def answer_open_calls(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert history[-1].get("tool_calls") == [call]
        return [closing]

    again, _, history, _ = await _start(
        hot, tenant, public_id="chat-1", text="thôi", answer_open_calls=answer_open_calls
    )
    assert again == found
    assert history[-1] == closing
    assert await rows(
        engine,
        "SELECT position, role FROM messages WHERE conversation_id = :c ORDER BY position",
        c=found,
    ) == [(0, "user"), (1, "assistant"), (2, "tool"), (3, "user")]
