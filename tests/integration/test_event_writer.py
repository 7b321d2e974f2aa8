"""The event writer on a real PostgreSQL: one turn the database cannot take (its conversation
deleted by another process, its parts refused) fails alone and never blocks the other turns of
the process; the writer's health (``/readyz``, metrics) follows whether it can write; a follower
in another process is woken by a notification only when it follows, and only then."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.engine import libpq_url
from booking.settings import Settings
from booking.turns import TurnManager, follower
from booking.turns.writer import conversation_channel
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


def sample(manager: TurnManager, name: str, **labels: str) -> float:
    value = manager.runner.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def error_code(followed: list[Any]) -> str | None:
    """The error code a stream ended with (its last ``message-metadata`` error)."""
    codes = [
        p["messageMetadata"]["error"]["code"]
        for _, p, _ in followed
        if p["type"] == "message-metadata" and "error" in p.get("messageMetadata", {})
    ]
    return codes[-1] if codes else None


async def until(condition: Any, limit_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds (checked every 20 ms), at most ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class TestOneTurnNeverBlocksTheOthers:
    async def test_a_conversation_deleted_under_a_running_turn_fails_that_turn_alone(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        model = ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply("Second answer.")])
        manager = await runtime.manager(model, held_registry(gate))
        tenant, doomed = new_ids()
        first = await manager.begin(tenant, doomed, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        following = asyncio.create_task(read_all(manager, doomed, first.first_seq - 1))
        await first.flushed()
        stored_before = first.persisted

        # Another process deletes the conversation (as an API replica would, or an operator).
        await rows(engine, "DELETE FROM conversations WHERE id = :c", c=doomed)
        gate.opened.set()  # The turn goes on: its next parts have nowhere to go.
        await until(lambda: first.lost is not None)

        # Every later turn of this process streams to its end and is stored.
        _, other = new_ids()
        second = await manager.begin(tenant, other, "and you?", create=True)
        streamed = await read_all(manager, other, second.first_seq - 1)
        await finished(second)
        assert types(streamed)[0] == "start"
        assert types(streamed)[-1] == "finish"
        stored = await rows(
            engine,
            "SELECT seq, part FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=second.turn_id,
        )
        assert [(s, p) for s, p in stored] == [(s, p) for s, p, _ in streamed]

        # The deleted conversation's turn ended with a terminal part here, once, and was stopped.
        doomed_followed = await asyncio.wait_for(following, 10)
        assert types(doomed_followed)[-1] == "error"
        assert error_code(doomed_followed) == "conversation_deleted"
        await finished(first)
        assert first.task is not None
        assert first.task.done()
        assert first.persisted == stored_before
        assert doomed not in manager.live
        # Never retried: no failed write, one lost turn, nothing left of it in the log.
        assert sample(manager, "booking_event_writer_failures_total") == 0
        assert (
            sample(manager, "booking_event_writer_lost_turns_total", reason="conversation_deleted")
            == 1
        )
        statements = manager.writer.statements
        await asyncio.sleep(0.3)
        assert manager.writer.statements == statements
        assert (
            await rows(engine, "SELECT 1 FROM turn_events WHERE turn_id = :t", t=first.turn_id)
            == []
        )
        assert manager.writer.healthy()

    async def test_parts_the_database_refuses_fail_that_turn_alone(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        # PostgreSQL's jsonb cannot hold a NUL character: a model that streams one made the
        # whole batch fail forever before.
        gate = Gate()
        model = ScriptedModel(
            [
                tool_call("hold", '{"label": "a"}'),
                text_reply("Bad \x00 byte here."),
                text_reply("All fine."),
            ]
        )
        manager = await runtime.manager(model, held_registry(gate))
        tenant, refused = new_ids()
        first = await manager.begin(tenant, refused, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        following = asyncio.create_task(read_all(manager, refused, first.first_seq - 1))
        gate.opened.set()
        await until(lambda: first.refused is not None)

        _, other = new_ids()
        second = await manager.begin(tenant, other, "and you?", create=True)
        streamed = await read_all(manager, other, second.first_seq - 1)
        await finished(second)
        assert types(streamed)[-1] == "finish"

        refused_followed = await asyncio.wait_for(following, 10)
        assert types(refused_followed)[-1] == "error"
        assert error_code(refused_followed) == "event_rejected"
        # The error is stored: a client resuming anywhere ends the same way.
        stored = await rows(
            engine,
            "SELECT seq, part FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=first.turn_id,
        )
        assert [(s, p) for s, p in stored] == [(s, p) for s, p, _ in refused_followed]
        assert not any("\x00" in str(p) for _, p in stored)
        assert (
            sample(manager, "booking_event_writer_lost_turns_total", reason="event_rejected") == 1
        )
        assert sample(manager, "booking_event_writer_failures_total") == 0


class TestHealth:
    async def test_unhealthy_while_writes_wait_on_a_lock_and_healthy_after(
        self, runtime: Runtime, engine: AsyncEngine, settings: Settings
    ) -> None:
        gate = Gate()
        manager = await runtime.manager(
            ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply("Done after all.")]),
            held_registry(gate),
        )
        manager.writer.configure(unhealthy_after_s=0.5)
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        await live.flushed()
        assert manager.writer.healthy()
        healthy = "booking_event_writer_healthy"
        assert sample(manager, healthy) == 1

        assert settings.database_url
        async with await psycopg.AsyncConnection.connect(libpq_url(settings.database_url)) as lock:
            await lock.execute("LOCK TABLE turn_events IN ACCESS EXCLUSIVE MODE")
            gate.opened.set()  # Its parts now wait on the lock.
            await until(lambda: not manager.writer.healthy())
            assert sample(manager, healthy) == 0
            await lock.rollback()
        await finished(live)
        await until(manager.writer.healthy)
        assert sample(manager, healthy) == 1
        ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=live.turn_id)
        assert status == "done"

    async def test_unhealthy_while_the_database_cannot_be_reached_and_healthy_after(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        gate = Gate()
        manager = await runtime.manager(
            ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply("Done after all.")]),
            held_registry(gate),
        )
        writer = manager.writer
        writer.configure(unhealthy_after_s=0.5)
        writer.retry_s = 0.1
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        await live.flushed()

        # The writer's database goes away (its connection dropped, the server refusing).
        url = writer._url
        writer._url = "postgresql://postgres@127.0.0.1:1/nowhere"
        await rows(
            engine,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE '%INSERT INTO turn_events%'"
            " AND pid <> pg_backend_pid()",
        )
        gate.opened.set()
        await until(lambda: not writer.healthy())
        failures = sample(manager, "booking_event_writer_failures_total")
        assert failures >= 1

        writer._url = url  # Back.
        await finished(live, limit_s=20)
        await until(writer.healthy)
        followed = await read_all(manager, conversation, live.first_seq - 1)
        assert types(followed)[-1] == "finish"
        stored = await rows(
            engine,
            "SELECT seq FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=live.turn_id,
        )
        assert [s for (s,) in stored] == [s for s, _, _ in followed]


class TestNotifications:
    async def test_a_follower_elsewhere_gets_every_part_once_and_woken_by_notifications(
        self, runtime: Runtime, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # No polling to fall back on: only a notification can wake the follower in time.
        monkeypatch.setattr(follower, "POLL_S", 60.0)
        gate = Gate()
        words = " ".join(f"w{i}" for i in range(40))
        runner = await runtime.manager(
            ScriptedModel([tool_call("hold", '{"label": "a"}'), text_reply(words)]),
            held_registry(gate),
        )
        other = await runtime.manager(ScriptedModel([text_reply("unused")]))
        tenant, conversation = new_ids()
        live = await runner.begin(tenant, conversation, "hold it", create=True)
        await asyncio.wait_for(gate.entered.wait(), 10)
        sent = "booking_notifications_sent_total"
        assert sample(runner, sent) == 0  # Nobody follows from elsewhere: no NOTIFY.

        following = asyncio.create_task(read_all(other, conversation, live.first_seq - 1))
        await until(lambda: live.followed_until > time.monotonic())
        opened = time.monotonic()
        gate.opened.set()
        followed = await asyncio.wait_for(following, 10)
        took = time.monotonic() - opened
        await finished(live)
        assert took < 2.0, took

        assert [s for s, _, _ in followed] == [s for s, _ in live.parts]
        assert [p for _, p, _ in followed] == [p for _, p in live.parts]
        assert types(followed)[-1] == "finish"
        assert sample(runner, sent) >= 1
        assert sample(other, sent) == 0

    async def test_no_notification_for_a_turn_nobody_follows_elsewhere(
        self, runtime: Runtime, engine: AsyncEngine, settings: Settings
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("one two three four")]))
        tenant, conversation = new_ids()
        assert settings.database_url
        async with await psycopg.AsyncConnection.connect(
            libpq_url(settings.database_url), autocommit=True
        ) as listener:
            await listener.execute(f"LISTEN {conversation_channel(conversation)}")
            await listener.execute("LISTEN booking_turn_events")
            live = await manager.begin(tenant, conversation, "hi", create=True)
            followed = await read_all(manager, conversation, live.first_seq - 1)
            await finished(live)
            heard = [n async for n in listener.notifies(timeout=0.3)]
        assert types(followed)[-1] == "finish"
        assert heard == []
        assert sample(manager, "booking_notifications_sent_total") == 0

    async def test_with_notify_all_every_batch_is_announced_to_every_process(
        self, runtime: Runtime, settings: Settings
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply("one two three four")]))
        manager.writer.configure(notify="all")
        tenant, conversation = new_ids()
        assert settings.database_url
        async with await psycopg.AsyncConnection.connect(
            libpq_url(settings.database_url), autocommit=True
        ) as listener:
            await listener.execute("LISTEN booking_turn_events")
            live = await manager.begin(tenant, conversation, "hi", create=True)
            await finished(live)
            heard = [n async for n in listener.notifies(timeout=0.3)]
        ours = [n for n in heard if n.payload.startswith(f"{conversation}:")]
        assert ours
        assert ours[-1].payload == f"{conversation}:{live.last_seq}"
        assert sample(manager, "booking_notifications_sent_total") >= len(ours)


class PacedModel(ScriptedModel):
    """A scripted model whose chunks come ``gap_s`` apart, as a real model's tokens do."""

    def __init__(self, scripts: list[Any], gap_s: float) -> None:
        super().__init__(scripts)
        self.gap_s = gap_s

    async def open_stream(self, messages: list[Any], tools: list[Any]) -> Any:
        stream = await super().open_stream(messages, tools)
        chunks, gap = list(stream.chunks), self.gap_s

        async def paced() -> Any:
            for chunk in chunks:
                await asyncio.sleep(gap)
                yield chunk

        stream._chunks = paced  # type: ignore[method-assign]
        return stream


class TestLinger:
    """``BOOKING_EVENT_WRITER_LINGER_MS``: continuing deltas wait for company, nothing else."""

    async def _turn(self, runtime: Runtime, engine: AsyncEngine, linger_s: float) -> dict[str, Any]:
        words = " ".join(f"w{i}" for i in range(30))
        manager = await runtime.manager(PacedModel([text_reply(words)], gap_s=0.02))
        manager.writer.configure(linger_s=linger_s)
        tenant, conversation = new_ids()
        before = manager.writer.statements
        live = await manager.begin(tenant, conversation, "hi", create=True)
        # When the first text-delta was made, and when it was stored (released to followers).
        made = stored = None
        while stored is None:
            index = next(
                (i for i, (_, p) in enumerate(live.parts) if p["type"] == "text-delta"), None
            )
            if index is not None and made is None:
                made = time.monotonic()
            if index is not None and live.persisted > index:
                stored = time.monotonic()
            await asyncio.sleep(0.002)
        await finished(live)
        stored_rows = await rows(
            engine,
            "SELECT seq, part FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=live.turn_id,
        )
        assert made is not None
        return {
            "first_delta_wait_s": stored - made,
            "statements": manager.writer.statements - before,
            "parts": [(s, p) for s, p in live.parts],
            "stored": [(s, p) for s, p in stored_rows],
        }

    async def test_continuing_deltas_are_stored_together_the_first_at_once(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        lingering = await self._turn(runtime, engine, linger_s=1.0)
        at_once = await self._turn(runtime, engine, linger_s=0.0)
        for turn in (lingering, at_once):
            # Nothing lost or reordered either way: every part, stored in order, once.
            assert turn["stored"] == turn["parts"]
            assert [p["type"] for _, p in turn["parts"]].count("text-delta") == 30
        # The first text is never held (time to first token), even with a 1 s linger.
        assert lingering["first_delta_wait_s"] < 0.5, lingering["first_delta_wait_s"]
        # 30 deltas 20 ms apart: one statement each without a linger; with one, the run after
        # the first waits (at most 1 s) and goes with the turn's end, which is never held.
        assert at_once["statements"] >= 20, at_once["statements"]
        assert lingering["statements"] <= 5, lingering["statements"]
