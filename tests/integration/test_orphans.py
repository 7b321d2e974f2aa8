"""Liveness of a turn's process on a real PostgreSQL: its owner is connected (its LISTEN
connection, named ``booking:<owner>``, is in ``pg_stat_activity``) or gone; the sweeper takes a
gone owner's turns after two looks, never a connected owner's before its lease lapses; stop
closes a gone owner's turn at once; and an answer cut short (taken over, stopped, shut down)
leaves what the traveller saw in the history the model reads next."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.db.engine import driver_connection, libpq_url, make_sessionmaker
from booking.db.event_log import start_turn
from booking.db.turn_repository import TurnRepository
from booking.settings import Settings
from booking.turns.follower import application_name
from booking.turns.leases import INTERRUPTED_MESSAGE, INTERRUPTED_NOTE, LeaseKeeper
from tests.support.turn_runtime import (
    Runtime,
    ScriptedModel,
    finished,
    new_ids,
    read_all,
    rows,
    text_reply,
    types,
)

GRACE = timedelta(seconds=1)


async def foreign_turn(
    engine: AsyncEngine, owner: str, *, lease_s: float = 60.0, age_s: float = 5.0
) -> tuple[str, str, str, int]:
    """A turn another process ("owner") started ``age_s`` ago and streamed a few words of;
    (tenant, conversation, turn id, first seq)."""
    tenant, conversation = new_ids()
    turn_id = "t" + conversation[:31]
    async with driver_connection(engine) as conn:
        _, first, _ = await start_turn(
            conn,
            tenant=tenant,
            conversation_id=conversation,
            create=True,
            title="foreign",
            turn={"id": turn_id, "message_id": f"msg_{turn_id}", "owner": owner},
            user_message={"payload": {"role": "user", "content": "Đặt vé SGN → HAN"}},
            lease_s=lease_s,
            first_part=json.dumps({"type": "start", "messageId": f"msg_{turn_id}"}),
        )
    parts = [
        {"type": "start-step"},
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Có 3 chuyến "},
        {"type": "text-delta", "id": "text-1", "delta": "bay SGN → HAN"},
    ]
    async with engine.begin() as conn:
        for i, part in enumerate(parts, start=1):
            await conn.execute(
                text(
                    "INSERT INTO turn_events (conversation_id, seq, turn_id, part) "
                    "VALUES (:c, :s, :t, CAST(:p AS jsonb))"
                ),
                {"c": conversation, "s": first + i, "t": turn_id, "p": json.dumps(part)},
            )
        await conn.execute(
            text("UPDATE turns SET started_at = now() - make_interval(secs => :a) WHERE id = :t"),
            {"a": age_s, "t": turn_id},
        )
    return tenant, conversation, turn_id, first


@pytest.fixture
def connected(settings: Settings) -> Iterator[Any]:
    """``connected(owner)`` opens a connection named as ``owner``'s LISTEN connection."""
    assert settings.database_url
    conns: list[psycopg.Connection[Any]] = []

    def connect(owner: str) -> None:
        url = libpq_url(settings.database_url or "")
        conns.append(psycopg.connect(url, application_name=application_name(owner)))

    yield connect
    for conn in conns:
        conn.close()


def keeper(engine: AsyncEngine, owner: str = "sweeper", **options: Any) -> LeaseKeeper:
    return LeaseKeeper(make_sessionmaker(engine), owner, timedelta(seconds=15), list, **options)


async def absent(engine: AsyncEngine, **options: Any) -> list[str]:
    async with make_sessionmaker(engine)() as session:
        return await TurnRepository(session).absent_owners(
            exclude=options.pop("exclude", "sweeper"),
            started_before=options.pop("started_before", GRACE),
            settled=options.pop("settled", timedelta(0)),
        )


async def status_of(engine: AsyncEngine, turn_id: str) -> str:
    ((status,),) = await rows(engine, "SELECT status FROM turns WHERE id = :t", t=turn_id)
    return str(status)


async def history(engine: AsyncEngine, conversation: str) -> list[dict[str, Any]]:
    found = await rows(
        engine,
        "SELECT payload FROM messages WHERE conversation_id = :c ORDER BY position",
        c=conversation,
    )
    return [payload for (payload,) in found]


class TestLiveness:
    async def test_an_owner_without_a_connection_is_absent_and_a_connected_one_is_not(
        self, engine: AsyncEngine, connected: Any
    ) -> None:
        gone, alive, young = (f"proc-{new_ids()[1][:12]}" for _ in range(3))
        connected(alive)
        await foreign_turn(engine, gone)
        await foreign_turn(engine, alive)
        await foreign_turn(engine, young, age_s=0)

        owners = await absent(engine)
        assert gone in owners
        assert alive not in owners
        assert young not in owners  # Its process may still be connecting.
        assert gone not in await absent(engine, exclude=gone)  # A process never judges itself.
        # Just after the server started, every process may be reconnecting: nobody is judged.
        assert gone not in await absent(engine, settled=timedelta(days=36500))

    async def test_the_sweeper_takes_a_gone_owners_turn_after_two_looks(
        self, engine: AsyncEngine
    ) -> None:
        gone = f"proc-{new_ids()[1][:12]}"
        _, conversation, turn_id, first = await foreign_turn(engine, gone)
        sweeper = keeper(engine, absent_confirm_s=0.3)

        await sweeper.close_orphans()
        assert await status_of(engine, turn_id) == "running"  # One look is not enough.
        await asyncio.sleep(0.3)
        await sweeper.close_orphans()
        assert await status_of(engine, turn_id) == "interrupted"

        stored = await rows(
            engine,
            "SELECT part FROM turn_events WHERE turn_id = :t ORDER BY seq",
            t=turn_id,
        )
        kinds = [part["type"] for (part,) in stored]
        # What the stream left open is closed before the retryable error.
        assert kinds[-4:] == ["text-end", "finish-step", "message-metadata", "error"]
        assert stored[-2][0]["messageMetadata"]["error"] == {
            "code": "turn_interrupted",
            "retryable": True,
        }
        assert stored[-1][0]["errorText"] == INTERRUPTED_MESSAGE
        assert "Nothing was lost" not in INTERRUPTED_MESSAGE
        # What the traveller saw is in the history, marked incomplete: user, assistant.
        assert await history(engine, conversation) == [
            {"role": "user", "content": "Đặt vé SGN → HAN"},
            {"role": "assistant", "content": f"Có 3 chuyến bay SGN → HAN\n\n{INTERRUPTED_NOTE}"},
        ]
        await sweeper.close_orphans()
        ((count,),) = await rows(
            engine,
            "SELECT count(*) FROM turn_events WHERE turn_id = :t AND part->>'type' = 'error'",
            t=turn_id,
        )
        assert count == 1  # Closed once.

    async def test_a_connected_owner_keeps_its_turn_until_its_lease_lapses(
        self, engine: AsyncEngine, connected: Any
    ) -> None:
        slow = f"proc-{new_ids()[1][:12]}"  # Alive but not answering (SIGSTOP): connected.
        connected(slow)
        _, _, turn_id, _ = await foreign_turn(engine, slow, lease_s=1.0)
        sweeper = keeper(engine, absent_confirm_s=0.2)
        for _ in range(3):
            await sweeper.close_orphans()
            await asyncio.sleep(0.25)
        assert await status_of(engine, turn_id) == "running"
        await asyncio.sleep(0.5)  # The lease (1 s) lapses.
        await sweeper.close_orphans()
        assert await status_of(engine, turn_id) == "interrupted"


class TestStopOrphan:
    async def test_stop_closes_a_gone_owners_turn_at_once_and_the_next_message_runs(
        self, runtime: Runtime, engine: AsyncEngine
    ) -> None:
        manager = await runtime.manager(_model("Vâng, đây là chuyến tiếp theo."))
        gone = f"proc-{new_ids()[1][:12]}"
        tenant, conversation, turn_id, first = await foreign_turn(engine, gone)

        outcome = await asyncio.wait_for(manager.stop_turn(tenant, conversation), 2)
        assert outcome.turn_id == turn_id
        assert outcome.closed
        assert await status_of(engine, turn_id) == "interrupted"
        followed = await read_all(manager, conversation, first - 1)
        assert types(followed)[-1] == "error"
        # Idempotent, and truthful: nothing runs now.
        again = await manager.stop_turn(tenant, conversation)
        assert (again.turn_id, again.closed) == (None, True)

        live = await manager.begin(tenant, conversation, "tiếp đi")  # Not 409.
        await finished(live)
        assert [m["role"] for m in await history(engine, conversation)] == [
            "user",
            "assistant",
            "user",
            "assistant",
        ]

    async def test_stop_of_a_connected_owner_that_does_not_answer_says_so(
        self, runtime: Runtime, engine: AsyncEngine, connected: Any
    ) -> None:
        manager = await runtime.manager(_model("x"))
        slow = f"proc-{new_ids()[1][:12]}"
        connected(slow)
        tenant, conversation, turn_id, _ = await foreign_turn(engine, slow)
        outcome = await manager.stop_turn(tenant, conversation, wait_s=0.5)
        assert (outcome.turn_id, outcome.closed) == (turn_id, False)
        assert await status_of(engine, turn_id) == "running"


class TestCutShort:
    """The runner's own endings: what the traveller saw is kept in the history."""

    @pytest.mark.parametrize(
        ("ending", "status", "note"),
        [
            ("stop", "cancelled", "[answer interrupted: the traveller stopped it]"),
            ("shutdown", "interrupted", INTERRUPTED_NOTE),
        ],
    )
    async def test_the_partial_answer_is_in_the_next_turns_history(
        self, runtime: Runtime, engine: AsyncEngine, ending: str, status: str, note: str
    ) -> None:
        model = StalledModel(["Chuyến sớm nhất ", "là VN 201"])
        manager = await runtime.manager(model)
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "Chuyến nào sớm nhất?", create=True)
        await asyncio.wait_for(model.stalled.wait(), 10)
        await asyncio.wait_for(live.flushed(), 10)
        if ending == "stop":
            assert (await manager.stop_turn(tenant, conversation)).closed
        else:
            await manager.close(grace_s=0.1)
        assert await status_of(engine, live.turn_id) == status
        assert await history(engine, conversation) == [
            {"role": "user", "content": "Chuyến nào sớm nhất?"},
            {"role": "assistant", "content": f"Chuyến sớm nhất là VN 201\n\n{note}"},
        ]


def _model(answer: str) -> ScriptedModel:
    return ScriptedModel([text_reply(answer)])


@dataclass
class _StalledStream:
    pieces: list[str]
    stalled: asyncio.Event
    model: str = "stalled"
    pricing: Any = None
    started_at: float = 0.0
    ttft_ms: float = 1.0

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        for piece in self.pieces:
            yield {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        self.stalled.set()
        await asyncio.Event().wait()  # Never answers more: only a cancel ends it.
        yield {}

    async def aclose(self) -> None:
        return None


@dataclass
class StalledModel:
    """Streams some words, then nothing until the turn is cancelled."""

    pieces: list[str]
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    name: str = "stalled"

    async def open_stream(self, messages: Any, tools: Any) -> _StalledStream:
        return _StalledStream(self.pieces, self.stalled)
