"""Retention on a real PostgreSQL: compaction keeps what readers see, day partitions are made
ahead and dropped only when safe, conversations expire per tenant with their bookings kept.

Compaction and partitions run on databases of their own (partition DDL and "every turn before
the cutoff" would reach other tests' rows on the shared one); times are passed explicitly, so
nothing depends on BOOKING_NOW or the day the tests run."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from booking.cli import app as cli
from booking.db import migrate
from booking.db.engine import libpq_url, make_async_engine, make_sessionmaker
from booking.db.retention_repository import RetentionRepository, partition_name
from booking.db.turn_repository import TurnEventRepository
from booking.domain import conversations
from booking.domain.places import Gazetteer
from booking.settings import Settings
from booking.turns import Metrics
from booking.turns.retention import RetentionKeeper, compact_parts
from booking.turns.transcript import fold_parts
from tests.conftest import ScratchDatabases
from tests.support.turn_runtime import (
    Runtime,
    ScriptedModel,
    finished,
    new_ids,
    read_all,
    text_reply,
    tool_call,
)

WINDOW_S = 86400.0
LONG_TEXT = " ".join(f"word{i}" for i in range(60))


def instant_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool(timeout_s=10)
    async def hold(ctx: ToolContext, label: str = "x") -> dict[str, Any]:
        """Holds nothing.

        Args:
            label: Echoed back.
        """
        return {"label": label, "held": True}

    return registry


@pytest.fixture(scope="module")
def own_url(scratch: ScratchDatabases) -> str:
    url = scratch.create("booking_retention")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="module")
async def own_engine(own_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(own_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def runtime(
    own_engine: AsyncEngine, own_url: str, gazetteer: Gazetteer
) -> AsyncIterator[Runtime]:
    built = Runtime(own_engine, own_url, gazetteer)
    yield built
    await built.close()


def keeper_on(engine: AsyncEngine, metrics: Metrics | None = None) -> RetentionKeeper:
    return RetentionKeeper(make_sessionmaker(engine), resume_window_s=WINDOW_S, metrics=metrics)


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> list[Any]:
    async with engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def stored(engine: AsyncEngine, conversation_id: str) -> list[tuple[int, str, Any]]:
    async with make_sessionmaker(engine)() as session:
        events = await TurnEventRepository(session).for_conversation(conversation_id)
    return [(e.seq, e.turn_id, e.part) for e in events]


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def folded_by_turn(events: list[tuple[int, str, Any]]) -> dict[str, Any]:
    turns: dict[str, list[Any]] = {}
    for _, turn_id, part in events:
        turns.setdefault(turn_id, []).append(part)
    return {turn_id: fold_parts(parts) for turn_id, parts in turns.items()}


class TestCompactParts:
    def test_deltas_fold_into_one_per_block_at_the_last_cursor(self) -> None:
        raw: list[tuple[int, dict[str, Any]]] = [
            (1, {"type": "start", "messageId": "m"}),
            (2, {"type": "start-step"}),
            (3, {"type": "reasoning-start", "id": "r0"}),
            (4, {"type": "reasoning-delta", "id": "r0", "delta": "thin"}),
            (5, {"type": "reasoning-delta", "id": "r0", "delta": "king"}),
            (6, {"type": "reasoning-end", "id": "r0"}),
            (7, {"type": "text-start", "id": "t0"}),
            (8, {"type": "text-delta", "id": "t0", "delta": "Xin "}),
            (9, {"type": "text-delta", "id": "t0", "delta": "chào"}),
            (10, {"type": "text-end", "id": "t0"}),
            (11, {"type": "tool-input-start", "toolCallId": "c1", "toolName": "hold"}),
            (12, {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{}"}),
            (13, {"type": "tool-input-available", "toolCallId": "c1", "toolName": "hold",
                  "input": {}}),
            (14, {"type": "tool-output-available", "toolCallId": "c1", "output": {"ok": 1}}),
            (15, {"type": "tool-input-start", "toolCallId": "c2", "toolName": "hold"}),
            (16, {"type": "tool-input-delta", "toolCallId": "c2", "inputTextDelta": "{"}),
            (17, {"type": "text-start", "id": "t1"}),
            (18, {"type": "text-delta", "id": "t1", "delta": "one"}),
            (19, {"type": "text-end", "id": "t1"}),
            (20, {"type": "finish", "finishReason": "stop"}),
        ]  # fmt: skip

        compacted = compact_parts(raw)

        assert [seq for seq, _ in compacted] == [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 16, 17,
                                                 18, 19, 20]  # fmt: skip
        parts = dict(compacted)
        assert parts[5] == {"type": "reasoning-delta", "id": "r0", "delta": "thinking"}
        assert parts[9] == {"type": "text-delta", "id": "t0", "delta": "Xin chào"}
        # A tool input that never completed keeps its deltas (the call was cut short).
        assert parts[16]["type"] == "tool-input-delta"
        assert fold_parts(p for _, p in compacted) == fold_parts(p for _, p in raw)


class TestCompaction:
    async def test_archived_turns_read_the_same_and_replay_in_cursor_order(
        self, runtime: Runtime, own_engine: AsyncEngine
    ) -> None:
        model = ScriptedModel(
            [text_reply(LONG_TEXT), tool_call("hold", '{"label": "a"}'), text_reply(LONG_TEXT)]
        )
        manager = await runtime.manager(model, registry=instant_registry())
        tenant, conversation = new_ids()
        first = await manager.begin(tenant, conversation, "one", create=True)
        await finished(first)
        second = await manager.begin(tenant, first.conversation_id, "two")
        await finished(second)
        conversation = first.conversation_id
        before = await stored(own_engine, conversation)
        async with make_sessionmaker(own_engine)() as session:
            message_before = await conversations.message_parts(
                session, conversation, second.message_id
            )

        keeper = keeper_on(own_engine, metrics := Metrics())
        far = datetime.now(UTC) + timedelta(days=30)
        archived = await keeper.compact(far, [first.turn_id, second.turn_id])

        assert archived == 2
        assert sample(metrics, "booking_retention_archived_turns_total") == 2
        after = await stored(own_engine, conversation)
        seqs = [seq for seq, _, _ in after]
        assert seqs == sorted(set(seqs)), "cursors strictly increase, no duplicates"
        assert len(after) < len(before) / 3
        assert folded_by_turn(after) == folded_by_turn(before)
        # The raw rows are still there (until their partition is dropped), and ignored.
        ((raw_count,),) = await sql(
            own_engine,
            "SELECT count(*) FROM turn_events WHERE conversation_id = :c",
            c=conversation,
        )
        assert raw_count == len(before)
        async with make_sessionmaker(own_engine)() as session:
            message_after = await conversations.message_parts(
                session, conversation, second.message_id
            )
        assert fold_parts(p.part for p in message_after) == fold_parts(
            p.part for p in message_before
        )
        # Replay from the start gives the compacted stream, in cursor order; a follower's cursor
        # inside a folded block gets the parts after it.
        replayed = await read_all(manager, conversation, 0)
        assert [(seq, part) for seq, part, _ in replayed] == [(s, p) for s, _, p in after]
        middle = before[len(before) // 2][0]
        assert [seq for seq, _, _ in await read_all(manager, conversation, middle)] == [
            s for s in seqs if s > middle
        ]
        # A new turn continues after every archived cursor, and is stored raw.
        third = await manager.begin(tenant, conversation, "three")
        await finished(third)
        assert third.first_seq > max(seqs)
        tail = await read_all(manager, conversation, third.first_seq - 1)
        assert [(s, p) for s, p, _ in tail] == [
            (s, p) for s, t, p in await stored(own_engine, conversation) if t == third.turn_id
        ]

    async def test_inside_the_window_nothing_is_compacted_and_resume_is_exact(
        self, runtime: Runtime, own_engine: AsyncEngine
    ) -> None:
        manager = await runtime.manager(ScriptedModel([text_reply(LONG_TEXT)]))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hi", create=True)
        await finished(live)
        conversation = live.conversation_id
        raw = await sql(
            own_engine,
            "SELECT seq, part FROM turn_events WHERE conversation_id = :c ORDER BY seq",
            c=conversation,
        )

        report = await keeper_on(own_engine).run_once()

        assert not report.skipped
        archived = await sql(
            own_engine, "SELECT count(*) FROM turn_archive WHERE turn_id = :t", t=live.turn_id
        )
        assert archived == [(0,)]
        cursor = raw[len(raw) // 2][0]
        resumed = await read_all(manager, conversation, cursor)
        assert [(s, p) for s, p, _ in resumed] == [(s, p) for s, p in raw if s > cursor]

    async def test_new_rows_land_in_their_day_partition_never_the_default(
        self, runtime: Runtime, own_engine: AsyncEngine
    ) -> None:
        await keeper_on(own_engine).run_once()
        manager = await runtime.manager(ScriptedModel([text_reply("Hello there.")]))
        tenant, conversation = new_ids()
        live = await manager.begin(tenant, conversation, "hi", create=True)
        await finished(live)
        (today,) = await sql(own_engine, "SELECT (now() AT TIME ZONE 'UTC')::date")
        partitions = await sql(
            own_engine,
            "SELECT DISTINCT tableoid::regclass::text FROM turn_events WHERE turn_id = :t",
            t=live.turn_id,
        )
        assert partitions == [(partition_name(today[0]),)]

    async def test_one_process_at_a_time(self, own_engine: AsyncEngine) -> None:
        async with make_sessionmaker(own_engine)() as session, session.begin():
            assert await RetentionRepository(session).try_lock()
            report = await keeper_on(own_engine).run_once()
        assert report.skipped


class TestPartitions:
    """On a database of its own: drops reach every partition before the cutoff."""

    @pytest.fixture
    async def engine_of_own(
        self, scratch: ScratchDatabases, settings: Settings
    ) -> AsyncIterator[AsyncEngine]:
        url = scratch.create("booking_partitions")
        migrate.upgrade(url)
        engine = make_async_engine(url, settings)
        yield engine
        await engine.dispose()

    async def _turn(
        self,
        engine: AsyncEngine,
        conversation: str,
        first_seq: int,
        at: datetime,
        finished_at: datetime | None,
    ) -> str:
        turn_id = uuid.uuid4().hex
        status = "done" if finished_at else "running"
        await sql(
            engine,
            "INSERT INTO turns (id, conversation_id, message_id, status, first_seq, owner, "
            "lease_until, started_at, finished_at) VALUES (:id, :c, :m, :s, :f, 'x', :at, :at, :fin)",
            id=turn_id, c=conversation, m=f"m-{turn_id}", s=status, f=first_seq, at=at,
            fin=finished_at,
        )  # fmt: skip
        parts = [{"type": "start", "messageId": f"m-{turn_id}"}, {"type": "text-start", "id": "t"}]
        parts += [{"type": "text-delta", "id": "t", "delta": f"w{i} "} for i in range(20)]
        parts += [{"type": "text-end", "id": "t"}, {"type": "finish", "finishReason": "stop"}]
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert isinstance(driver, psycopg.AsyncConnection)
            async with driver.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO turn_events (conversation_id, seq, turn_id, part, created_at) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [
                        (conversation, first_seq + i, turn_id, Jsonb(p), at + timedelta(seconds=i))
                        for i, p in enumerate(parts)
                    ],
                )
        return turn_id

    async def test_made_ahead_and_dropped_only_once_every_turn_is_archived(
        self, engine_of_own: AsyncEngine
    ) -> None:
        engine = engine_of_own
        day = (datetime.now(UTC) + timedelta(days=400)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        metrics = Metrics()
        keeper = keeper_on(engine, metrics)
        report = await keeper.run_once(now=day + timedelta(hours=9))
        assert report.created_partitions == [
            str((day + timedelta(days=n)).date()) for n in range(4)
        ]
        # A second pass has nothing to make.
        assert (await keeper.run_once(now=day + timedelta(hours=9))).created_partitions == []

        await sql(
            engine, "INSERT INTO conversations (id, public_id, tenant) VALUES ('c1', 'c1', 't')"
        )
        closed = await self._turn(
            engine, "c1", 1, day + timedelta(hours=9), day + timedelta(hours=10)
        )
        running = await self._turn(engine, "c1", 100, day + timedelta(days=1, hours=9), None)
        recent = await self._turn(
            engine, "c1", 200, day + timedelta(days=2, hours=23), day + timedelta(days=3, hours=1)
        )
        by_partition = dict(
            await sql(
                engine,
                "SELECT turn_id, min(tableoid::regclass::text) FROM turn_events GROUP BY turn_id",
            )
        )
        assert by_partition == {
            closed: partition_name(day.date()),
            running: partition_name((day + timedelta(days=1)).date()),
            recent: partition_name((day + timedelta(days=2)).date()),
        }
        before = await stored(engine, "c1")

        # The cutoff: every one of the three days has ended, the third turn closed after it.
        cutoff = day + timedelta(days=3)
        dropped_before = sample(metrics, "booking_retention_dropped_partitions_total")
        dropped = await keeper.drop_partitions(cutoff)

        assert partition_name(day.date()) in dropped  # Its turn was archived first.
        assert partition_name((day + timedelta(days=1)).date()) not in dropped  # Running turn.
        assert partition_name((day + timedelta(days=2)).date()) not in dropped  # Inside window.
        assert sample(
            metrics, "booking_retention_dropped_partitions_total"
        ) == dropped_before + len(dropped)
        archived = await sql(engine, "SELECT turn_id FROM turn_archive")
        assert archived == [(closed,)]
        after = await stored(engine, "c1")
        assert [seq for seq, _, _ in after] == sorted({seq for seq, _, _ in after})
        assert folded_by_turn(after) == folded_by_turn(before)
        assert len([1 for _, t, _ in after if t == closed]) == 5  # start, text x3, finish.
        async with make_sessionmaker(engine)() as session:
            left = await RetentionRepository(session).partitions()
        assert day.date() not in left
        assert (day + timedelta(days=1)).date() in left

    async def test_a_busy_event_log_keeps_its_partitions_until_the_next_pass(
        self, engine_of_own: AsyncEngine
    ) -> None:
        engine = engine_of_own
        day = (datetime.now(UTC) + timedelta(days=600)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        keeper = keeper_on(engine)
        await keeper.ensure_partitions(day)
        async with engine.connect() as reader:
            # A long reader holds turn_events: the drop must not queue every writer behind it.
            await reader.execute(text("SELECT count(*) FROM turn_events"))
            started = time.monotonic()
            assert await keeper.drop_partitions(day + timedelta(days=10)) == []
            assert time.monotonic() - started < 2.0
            await reader.rollback()
        dropped = await keeper.drop_partitions(day + timedelta(days=10))
        assert partition_name(day.date()) in dropped

    async def test_rows_in_the_default_partition_move_into_their_day(
        self, engine_of_own: AsyncEngine
    ) -> None:
        engine = engine_of_own
        day = (datetime.now(UTC) + timedelta(days=500)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        await sql(
            engine, "INSERT INTO conversations (id, public_id, tenant) VALUES ('c9', 'c9', 't')"
        )
        turn = await self._turn(engine, "c9", 1, day + timedelta(hours=3), None)
        assert await sql(engine, "SELECT count(*) FROM turn_events_default") == [(24,)]

        report = await keeper_on(engine).run_once(now=day)

        assert report.moved_from_default == 24
        assert await sql(engine, "SELECT count(*) FROM turn_events_default") == [(0,)]
        assert await sql(
            engine,
            "SELECT DISTINCT tableoid::regclass::text FROM turn_events WHERE turn_id = :t",
            t=turn,
        ) == [(partition_name(day.date()),)]


class TestExpiry:
    async def test_old_conversations_of_a_tenant_with_retention_go_and_their_bookings_stay(
        self, engine: AsyncEngine
    ) -> None:
        tenant, other = f"t-{uuid.uuid4().hex[:10]}", f"t-{uuid.uuid4().hex[:10]}"
        now = datetime.now(UTC)
        ids = {name: f"{name}-{uuid.uuid4().hex[:10]}" for name in ("old", "new", "busy", "other")}
        rows = [
            (ids["old"], tenant, now - timedelta(days=40)),
            (ids["new"], tenant, now - timedelta(days=10)),
            (ids["busy"], tenant, now - timedelta(days=40)),
            (ids["other"], other, now - timedelta(days=400)),
        ]
        reference = "".join(uuid.uuid4().hex.upper() for _ in range(4))
        reference = "".join(ch for ch in reference if ch in "ACDEFGHJKMNPQRTUVWXY34679")[:6]
        try:
            for conversation_id, owner, updated in rows:
                await sql(
                    engine,
                    "INSERT INTO conversations (id, public_id, tenant, updated_at) VALUES (:i, :i, :t, :u)",
                    i=conversation_id, t=owner, u=updated,
                )  # fmt: skip
            for conversation_id, status in ((ids["old"], "done"), (ids["busy"], "running")):
                await sql(
                    engine,
                    "INSERT INTO turns (id, conversation_id, message_id, status, first_seq, owner, "
                    "lease_until, finished_at) VALUES (:id, :c, 'm', :s, 1, 'x', now() + interval '1 day', "
                    ":fin)",
                    id=uuid.uuid4().hex, c=conversation_id, s=status,
                    fin=None if status == "running" else now,
                )  # fmt: skip
            await sql(
                engine,
                "INSERT INTO bookings (reference, tenant, flight_id, cabin, passenger_count, "
                "price_per_passenger_vnd, total_vnd, contact_email, conversation_id, "
                "hold_expires_at, created_at) SELECT :r, :t, flight_id, cabin, 1, 1000, 1000, "
                "'a@b.vn', :c, now(), now() FROM fares LIMIT 1",
                r=reference, t=tenant, c=ids["old"],
            )  # fmt: skip
            async with make_sessionmaker(engine)() as session, session.begin():
                await RetentionRepository(session).set_conversation_retention(tenant, 30)
            metrics = Metrics()

            expired = await keeper_on(engine, metrics).expire_conversations(now)

            assert expired == 1
            assert sample(metrics, "booking_retention_expired_conversations_total") == 1
            left = await sql(
                engine, "SELECT id FROM conversations WHERE id = ANY(:ids)", ids=list(ids.values())
            )
            assert {i for (i,) in left} == {ids["new"], ids["busy"], ids["other"]}
            assert await sql(
                engine, "SELECT conversation_id FROM bookings WHERE reference = :r", r=reference
            ) == [(ids["old"],)]
        finally:
            await sql(engine, "DELETE FROM bookings WHERE reference = :r", r=reference)
            await sql(
                engine, "DELETE FROM conversations WHERE id = ANY(:ids)", ids=list(ids.values())
            )
            await sql(engine, "DELETE FROM tenant_settings WHERE tenant = :t", t=tenant)


class TestCommands:
    def test_tenants_retention_and_db_maintain(
        self, seeded_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BOOKING_DATABASE_URL", seeded_url)
        tenant = f"t-{uuid.uuid4().hex[:10]}"

        def setting() -> Any:
            with psycopg.connect(libpq_url(seeded_url)) as conn:
                return conn.execute(
                    "SELECT conversation_retention_days FROM tenant_settings WHERE tenant = %s",
                    [tenant],
                ).fetchall()

        result = CliRunner().invoke(cli, ["tenants", "retention", tenant, "30"])
        assert result.exit_code == 0, result.output
        assert setting() == [(30,)]
        result = CliRunner().invoke(cli, ["tenants", "retention", tenant, "none"])
        assert result.exit_code == 0, result.output
        assert setting() == [(None,)]
        result = CliRunner().invoke(cli, ["tenants", "retention", tenant, "soon"])
        assert result.exit_code == 1
        assert "DAYS must be" in result.output

        result = CliRunner().invoke(cli, ["db", "maintain"])
        assert result.exit_code == 0, result.output
        assert "turns archived:" in result.output
        assert "conversations expired:" in result.output
