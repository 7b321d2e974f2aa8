"""What retention does to the event log: bytes and rows per turn before and after, and resume.

Runs ``--turns`` turns (the built-in offline model, through the real :class:`TurnManager`, tools
and seeded schedule, ``--concurrency`` at a time, four messages per conversation) on a database
of its own, then:

1. measures ``turn_events`` (every partition, indexes and TOAST included) and ``turn_archive``
   with ``pg_total_relation_size``, per turn;
2. checks that a resume from the middle of a turn inside the resume window is exact (the same
   cursors and parts as stored);
3. runs one retention pass as if the resume window had passed (``now`` = the database's clock
   + window + 1 day): every turn is compacted, the day partitions holding their raw rows are
   dropped; measures again and prints the ratio;
4. checks that replaying a compacted conversation from 0 gives increasing cursors and folds to
   the same messages, and that a new turn in it resumes exactly again.

Run: ``python -m bench.retention_bench [--turns 400] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import fresh_database
from booking.agent.factory import build_orchestrator
from booking.agent.models.select import build_model_client
from booking.db.engine import libpq_url, make_async_engine, make_sessionmaker
from booking.db.turn_repository import TurnEventRepository
from booking.domain.dates import clock_from
from booking.domain.directory import load_gazetteer
from booking.settings import Settings, environment
from booking.turns import Metrics, TurnManager
from booking.turns.retention import RetentionKeeper
from booking.turns.transcript import fold_parts

DB = "booking_retention_bench"
MESSAGES = (
    "Tìm vé Hà Nội đi Đà Nẵng ngày mai",
    "Thời tiết Đà Nẵng ngày mai thế nào?",
    "Find flights from SGN to HAN tomorrow",
    "Chuyến rẻ nhất là chuyến nào?",
)
SIZE_SQL = (
    "SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
    "        WHERE inhparent = 'turn_events'::regclass),"
    " pg_total_relation_size('turn_archive'),"
    " (SELECT count(*) FROM turn_events), (SELECT count(*) FROM turn_archive),"
    " (SELECT count(*) FROM turns),"
    " (SELECT coalesce(sum(jsonb_array_length(parts)), 0) FROM turn_archive)"
)


def prepare_database() -> str:
    return fresh_database(DB)


async def sizes(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(SIZE_SQL))).one()
    keys = ("events_bytes", "archive_bytes", "event_rows", "archived_turns", "turns", "kept_parts")
    return dict(zip(keys, (int(v) for v in row), strict=True))


async def stored(engine: AsyncEngine, conversation_id: str) -> list[tuple[int, str, Any]]:
    async with make_sessionmaker(engine)() as session:
        events = await TurnEventRepository(session).for_conversation(conversation_id)
    return [(e.seq, e.turn_id, e.part) for e in events]


async def followed(manager: TurnManager, conversation_id: str, after: int) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    async for batch in manager.follow(conversation_id, after):
        out.extend((seq, part) for seq, part, _ in batch)
    return out


async def resume_is_exact(
    manager: TurnManager, engine: AsyncEngine, conversation_id: str, turn_id: str
) -> bool:
    rows = [(s, p) for s, t, p in await stored(engine, conversation_id) if t == turn_id]
    cursor = rows[len(rows) // 2][0]
    return await followed(manager, conversation_id, cursor) == [r for r in rows if r[0] > cursor]


def by_turn(events: list[tuple[int, str, Any]]) -> dict[str, Any]:
    turns: dict[str, list[Any]] = {}
    for _, turn_id, part in events:
        turns.setdefault(turn_id, []).append(part)
    return {turn_id: fold_parts(parts) for turn_id, parts in turns.items()}


def per_turn(measured: dict[str, int]) -> tuple[float, float]:
    turns = max(measured["turns"], 1)
    return (measured["events_bytes"] + measured["archive_bytes"]) / turns, measured[
        "event_rows"
    ] / turns


async def main(turns: int, concurrency: int) -> None:
    url = prepare_database()
    settings = Settings(database_url=url, environment="development")
    engine = make_async_engine(url, settings)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        places = await load_gazetteer(session)
    clock = clock_from(settings)
    model = build_model_client(settings, clock, environment())

    def orchestrator_for(conversation_id: str, tenant: str) -> Any:
        return build_orchestrator(
            settings, sessionmaker, places, clock, model,
            conversation_id=conversation_id, tenant=tenant,
        )  # fmt: skip

    manager = TurnManager(
        sessionmaker, orchestrator_for, listen_url=libpq_url(url), metrics=Metrics()
    )
    await manager.start()
    keeper = RetentionKeeper(sessionmaker, resume_window_s=settings.resume_window_s)
    try:
        tenant = "bench"
        conversations = [uuid.uuid4().hex for _ in range(max(1, turns // len(MESSAGES)))]
        ids: dict[str, str] = {}
        last_turn: dict[str, str] = {}
        gate = asyncio.Semaphore(concurrency)

        async def converse(conversation: str) -> None:
            for message in MESSAGES:
                async with gate:
                    live = await manager.begin(
                        tenant, ids.get(conversation, conversation), message,
                        create=conversation not in ids,
                    )  # fmt: skip
                    ids[conversation] = live.conversation_id
                    last_turn[conversation] = live.turn_id
                    assert live.task is not None
                    await live.task

        started = time.perf_counter()
        await asyncio.gather(*(converse(c) for c in conversations))
        elapsed = time.perf_counter() - started
        before = await sizes(engine)
        print(f"{before['turns']} turns in {elapsed:.1f} s on {DB}")
        probe = ids[conversations[0]]
        exact_before = await resume_is_exact(manager, engine, probe, last_turn[conversations[0]])
        folded_before = by_turn(await stored(engine, probe))

        async with sessionmaker() as session:
            now = (await session.execute(text("SELECT now()"))).scalar_one()
        report = await keeper.run_once(now=now + keeper.resume_window + timedelta(days=1))
        after = await sizes(engine)
        # The pass dropped today's partition as if days had passed: make it again for the
        # turn below (a real pass never drops a partition inside the window).
        await keeper.ensure_partitions(now)

        events = await stored(engine, probe)
        seqs = [seq for seq, _, _ in events]
        increasing = all(a < b for a, b in zip(seqs, seqs[1:], strict=False))
        same_messages = by_turn(events) == folded_before
        live = await manager.begin(tenant, probe, MESSAGES[0])
        assert live.task is not None
        await live.task
        exact_after = await resume_is_exact(manager, engine, probe, live.turn_id)

        bytes_before, rows_before = per_turn(before)
        bytes_after, rows_after = per_turn(after)
        print(
            f"before: {bytes_before / 1024:.1f} KiB and {rows_before:.1f} event rows per turn "
            f"(turn_events {before['events_bytes'] / 2**20:.2f} MiB, "
            f"{before['event_rows']} rows)"
        )
        print(
            f"after compaction + partition drop: {bytes_after / 1024:.2f} KiB per turn "
            f"(turn_archive {after['archive_bytes'] / 2**20:.2f} MiB, "
            f"{after['archived_turns']} turns; turn_events {after['events_bytes'] / 2**10:.0f} KiB, "
            f"{after['event_rows']} rows; dropped {', '.join(report.dropped_partitions)})"
        )
        archive_only = after["archive_bytes"] / max(after["archived_turns"], 1)
        print(
            f"turn_archive alone: {archive_only / 1024:.2f} KiB and "
            f"{after['kept_parts'] / max(after['archived_turns'], 1):.1f} parts per turn (the rest "
            "is the fixed size of the empty partitions made ahead)"
        )
        ratio = bytes_after / bytes_before
        print(f"ratio after/before: {ratio:.3f} ({1 / ratio:.1f}x smaller)")
        per_million = bytes_before * 1e6 / 2**30, bytes_after * 1e6 / 2**30
        print(f"per million turns: {per_million[0]:.1f} GiB before, {per_million[1]:.1f} GiB after")
        print(
            f"resume inside the window exact: before compaction {exact_before}, "
            f"after (new turn in a compacted conversation) {exact_after}; "
            f"replay of a compacted conversation: cursors increasing {increasing}, "
            f"same messages {same_messages}"
        )
        if not (exact_before and exact_after and increasing and same_messages):
            raise SystemExit("retention check FAILED")
    finally:
        await manager.close(grace_s=5)
        await model.aclose()
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.turns, args.concurrency))
