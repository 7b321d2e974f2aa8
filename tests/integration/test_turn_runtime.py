"""The turn runtime on a real PostgreSQL, without HTTP: admission, a turn run and stored, stop
(here and from another process), lease expiry and the sweeper, replay from any cursor, and the
event writer's recovery after a failed write."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.engine import driver_connection
from booking.db.event_log import start_turn
from booking.errors import NotFound, ServerBusy, ShuttingDown, TurnRunning
from tests.support.turn_runtime import (
    Gate,
    Runtime,
    ScriptedModel,
    finished,
    held_registry,
    new_ids,
    read_all,
    rows,
    text_reply,
    tool_call,
    types,
)


def held_model() -> ScriptedModel:
    """Calls ``hold`` once, then answers."""
    return ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply("All done here.")])


class TestRun:
    async def test_a_turn_is_streamed_stored_and_closed(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("Xin chào, bạn cần gì?")]))
        tenant, conversation = new_ids()
        message = "Đặt vé SGN → HAN " + "x" * 100
        live = await manager.begin(tenant, conversation, message, create=True)
        followed = await read_all(manager, conversation, live.first_seq - 1)
        await finished(live)

        assert types(followed)[0] == "start"
        assert types(followed)[-1] == "finish"
        text_out = "".join(p.get("delta", "") for _, p, _ in followed if p["type"] == "text-delta")
        assert text_out == "Xin chào, bạn cần gì?"
        seqs = [seq for seq, _, _ in followed]
        assert seqs == list(range(live.first_seq, live.first_seq + len(seqs)))
        stored = await rows(
            engine,
            "SELECT seq, part FROM turn_events WHERE conversation_id = :c ORDER BY seq",
            c=conversation,
        )
        assert [(seq, part) for seq, part in stored] == [(s, p) for s, p, _ in followed]
        assert [json.loads(encoded) for _, _, encoded in followed] == [p for _, p, _ in followed]
        ((status, title),) = await rows(
            engine,
            "SELECT t.status, c.title FROM turns t JOIN conversations c ON c.id = t.conversation_id"
            " WHERE t.id = :t",
            t=live.turn_id,
        )
        assert status == "done"
        assert title == message[:80]
        roles = await rows(
            engine,
            "SELECT role FROM messages WHERE conversation_id = :c ORDER BY position",
            c=conversation,
        )
        assert [r for (r,) in roles] == ["user", "assistant"]
        assert conversation not in manager.live

    async def test_the_reply_as_json_waits_for_the_end(self, runtime: Runtime) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("Done.")]))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hi", create=True)
        reply = await manager.reply(live)
        assert reply.status == "done"
        assert reply.message["parts"][-1] == {"type": "text", "text": "Done.", "state": "done"}
        assert reply.last_event_id == live.last_seq

    async def test_an_unknown_conversation_is_not_found_unless_created(
        self, runtime: Runtime
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("x")]))
        tenant, conversation = new_ids()
        with pytest.raises(NotFound):
            await manager.begin(tenant, conversation, "hi")
        live = await manager.begin(tenant, conversation, "hi", create=True)
        await finished(live)
        other_tenant, _ = new_ids()
        with pytest.raises(NotFound):
            await manager.begin(other_tenant, conversation, "hi", create=True)


class TestAdmission:
    async def test_capacity_one_turn_per_conversation_and_shutdown(self, runtime: Runtime) -> None:
        gate = Gate()
        manager = await runtime.manager(held_model(), held_registry(gate), max_running=2)
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)

        with pytest.raises(TurnRunning) as running:
            await manager.begin(tenant, conversation, "again")
        assert running.value.details["running_turn_id"] == live.turn_id
        second = await manager.begin(tenant, new_ids()[1], "another", create=True)
        with pytest.raises(ServerBusy):
            await manager.begin(tenant, new_ids()[1], "a third", create=True)
        running_now = await manager.running_turn(tenant, conversation)
        assert running_now is not None
        assert running_now.id == live.turn_id
        assert running_now.first_seq == live.first_seq

        gate.opened.set()
        await finished(live)
        await finished(second)
        assert await manager.running_turn(tenant, conversation) is None
        await manager.close(grace_s=1)
        with pytest.raises(ShuttingDown):
            manager.check_capacity()


class TestStop:
    async def test_stop_cancels_keeps_the_partial_answer_and_is_idempotent(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        manager = await runtime.manager(held_model(), held_registry(gate))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)

        assert await manager.stop(tenant, conversation) == live.turn_id
        followed = await read_all(manager, conversation, live.first_seq - 1)
        assert types(followed)[-1] == "abort"
        assert "tool-input-available" in types(followed)
        ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert status == "cancelled"
        assert await manager.stop(tenant, conversation) is None
        with pytest.raises(NotFound):
            await manager.stop(new_ids()[0], conversation)

    async def test_another_process_stops_the_turn_and_follows_it(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        runner = await runtime.manager(held_model(), held_registry(gate))
        other = await runtime.manager(ScriptedModel([text_reply("unused")]))
        tenant, conversation = new_ids()
        live = await runner.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)

        following = asyncio.create_task(read_all(other, conversation, live.first_seq - 1))
        assert await other.stop(tenant, conversation) == live.turn_id
        followed = await following
        await finished(live)
        assert types(followed)[0] == "start"
        assert types(followed)[-1] == "abort"
        assert [s for s, _, _ in followed] == list(
            range(live.first_seq, live.first_seq + len(followed))
        )
        ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert status == "cancelled"


class TestLeases:
    async def test_a_turn_whose_process_died_is_closed_once_by_a_sweeper(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("x")]))
        tenant, conversation = new_ids()
        # A process that started a turn and died: its lease runs out and nobody renews it.
        async with driver_connection(engine) as conn:
            _, first, _ = await start_turn(
                conn,
                tenant=tenant,
                conversation_id=conversation,
                create=True,
                title="dead",
                turn={"id": "dead" + conversation[:28], "message_id": "msg_dead", "owner": "gone"},
                user_message={"payload": {"role": "user", "content": "hi"}},
                lease_s=0.05,
                first_part=json.dumps({"type": "start", "messageId": "msg_dead"}),
            )
        with pytest.raises(TurnRunning):
            await manager.begin(tenant, conversation, "again")
        await asyncio.sleep(0.1)

        # This sweeper or another one (every process sweeps, and other tests' apps share the
        # database) closes it; whichever does, it is closed once.
        await manager.leases.close_orphans()
        await manager.leases.close_orphans()
        followed = await read_all(manager, conversation, first - 1)
        assert types(followed)[0] == "start"
        assert types(followed).count("error") == 1
        error = [p for _, p, _ in followed if p["type"] == "message-metadata"]
        assert error
        assert error[-1]["messageMetadata"]["error"]["code"] == "turn_interrupted"
        assert types(followed)[-1] == "error"
        ((status,),) = await rows(
            engine, "SELECT status FROM turns WHERE conversation_id = :c", c=conversation
        )
        assert status == "interrupted"
        live = await manager.begin(tenant, conversation, "again")  # The conversation is free.
        await finished(live)

    async def test_running_turns_keep_their_leases(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        manager = await runtime.manager(held_model(), held_registry(gate), lease_s=1.5)
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        await asyncio.sleep(2.0)  # Longer than the lease: renewed meanwhile.
        await manager.leases.close_orphans()  # Sweeps only others' lapsed turns, if any.
        ((running,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert running == "running"
        gate.opened.set()
        await finished(live)
        ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert status == "done"


class TestFollow:
    async def test_replay_from_any_cursor_gives_exactly_what_follows_it(
        self, runtime: Runtime
    ) -> None:
        model = ScriptedModel([text_reply("one two three four five six")])
        manager = await runtime.manager(model)
        tenant, conversation = new_ids()
        first = await manager.begin(tenant, conversation, "first", create=True)
        await finished(first)
        second = await manager.begin(tenant, conversation, "second")
        await finished(second)
        everything = await read_all(manager, conversation, 0)
        seqs = [seq for seq, _, _ in everything]
        assert seqs == list(range(1, len(seqs) + 1))
        assert types(everything).count("start") == 2
        for cursor in range(0, seqs[-1] + 1):
            assert await read_all(manager, conversation, cursor) == everything[cursor:]

    async def test_a_live_turn_is_followed_from_the_middle(self, runtime: Runtime) -> None:
        gate = Gate()
        manager = await runtime.manager(held_model(), held_registry(gate))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        await live.flushed()
        middle = live.parts[len(live.parts) // 2][0]
        following = asyncio.create_task(read_all(manager, conversation, middle))
        gate.opened.set()
        followed = await following
        assert followed[0][0] == middle + 1
        assert types(followed)[-1] == "finish"
        assert [s for s, _, _ in followed] == list(range(middle + 1, middle + 1 + len(followed)))


class TestWriter:
    async def test_parts_lost_with_a_failed_write_are_written_again(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        manager = await runtime.manager(held_model(), held_registry(gate))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        await live.flushed()
        stored_before = len(live.parts)
        # A database crash takes the last parts the writer thought stored (asynchronous commit),
        # and the writer's connection with them.
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM turn_events WHERE turn_id = :t AND seq > :s"),
                {"t": live.turn_id, "s": live.first_seq + 1},
            )
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE '%INSERT INTO turn_events%'"
                    " AND pid <> pg_backend_pid()"
                )
            )
        gate.opened.set()
        await finished(live, limit_s=20)
        assert len(live.parts) > stored_before

        stored = await rows(
            engine, "SELECT seq, part FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=live.turn_id,
        )  # fmt: skip
        assert [(s, p) for s, p in stored] == live.parts
        ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert status == "done"
