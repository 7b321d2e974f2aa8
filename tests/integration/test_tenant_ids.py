"""Per-tenant conversation ids in the turn runtime and the domain, on a real PostgreSQL: a
conversation is created under a fresh internal id and named by its public id; a creation that
lost a race to another request of the tenant continues the winner's conversation; a delete with
a reply running is refused."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.engine import make_sessionmaker
from booking.domain import conversations
from booking.errors import ConversationExists, NotFound, TurnRunning
from tests.support.turn_runtime import (
    Gate,
    Runtime,
    ScriptedModel,
    finished,
    held_registry,
    new_ids,
    rows,
    text_reply,
    tool_call,
)


async def test_a_new_conversation_gets_an_internal_id_and_keeps_the_clients(
    runtime: Runtime, engine: AsyncEngine
) -> None:
    manager = await runtime.manager(ScriptedModel([text_reply("Chào.")]))
    sessions = make_sessionmaker(engine)
    tenant, other = new_ids()
    internal = conversations.new_internal_id()
    live = await manager.begin(tenant, internal, "hi", create=True, public_id="chat-1")
    await finished(live)
    assert live.conversation_id == internal
    assert await rows(
        engine, "SELECT tenant, public_id FROM conversations WHERE id = :i", i=internal
    ) == [(tenant, "chat-1")]
    # The same public id is free for another tenant, under an internal id of its own.
    theirs = await manager.begin(
        other, conversations.new_internal_id(), "hi", create=True, public_id="chat-1"
    )
    await finished(theirs)
    assert theirs.conversation_id != internal
    async with sessions() as session:
        assert await conversations.find(session, tenant, "chat-1") == internal
        assert await conversations.find(session, other, "chat-1") == theirs.conversation_id
        with pytest.raises(NotFound):
            await conversations.resolve(session, tenant, "chat-2")


async def test_a_creation_that_lost_the_race_continues_the_winners_conversation(
    runtime: Runtime, engine: AsyncEngine
) -> None:
    manager = await runtime.manager(ScriptedModel([text_reply("Chào.")]))
    sessions = make_sessionmaker(engine)
    tenant, _ = new_ids()
    # The route looked "chat-1" up and found nothing; meanwhile another request of the tenant
    # (POST /v1/conversations) created it.
    async with sessions() as session, session.begin():
        winner = await conversations.create(session, tenant, "chat-1", None)
        with pytest.raises(ConversationExists):
            await conversations.create(session, tenant, "chat-1", None)
    async with sessions() as session:
        winner_id = await conversations.resolve(session, tenant, winner.id)
    live = await manager.begin(
        tenant, conversations.new_internal_id(), "hi", create=True, public_id="chat-1"
    )
    await finished(live)
    assert live.conversation_id == winner_id
    assert await rows(engine, "SELECT count(*) FROM conversations WHERE tenant = :t", t=tenant) == [
        (1,)
    ]
    assert await rows(
        engine, "SELECT count(*) FROM turns WHERE conversation_id = :c", c=winner_id
    ) == [(1,)]


async def test_a_conversation_is_not_deleted_while_its_reply_runs(
    runtime: Runtime, engine: AsyncEngine
) -> None:
    gate = Gate()
    model = ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply("Xong.")])
    manager = await runtime.manager(model, held_registry(gate))
    sessions = make_sessionmaker(engine)
    tenant, _ = new_ids()
    live = await manager.begin(
        tenant, conversations.new_internal_id(), "hold it", create=True, public_id="chat-1"
    )
    await gate.entered.wait()
    async with sessions() as session, session.begin():
        with pytest.raises(TurnRunning) as running:
            await conversations.delete(session, tenant, "chat-1")
    assert running.value.details["running_turn_id"] == live.turn_id
    gate.opened.set()
    await finished(live)
    async with sessions() as session, session.begin():
        await conversations.delete(session, tenant, "chat-1")
    async with sessions() as session:
        assert await conversations.find(session, tenant, "chat-1") is None
