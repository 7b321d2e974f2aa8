"""The event writer's statement finds what it locks by key, however many conversations and
running turns the database holds: it runs for every batch of every turn, so a scan there costs
each chunk of every stream more as the tables grow (at a few thousand conversations it already
cost a seq scan of all of them and a scan of every running turn per batch)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from booking.db.event_log import APPEND_EVENTS_SQL, append_events
from booking.settings import Settings
from tests.support.turn_runtime import new_ids

OWNER = "proc-plan"


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


async def test_a_batch_touches_only_its_own_conversations_and_turns(settings: Settings) -> None:
    assert settings.database_url
    tenant, _ = new_ids()
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        # A busy database: thousands of conversations, each with a running turn of this owner
        # and of others (the shapes the old statement scanned).
        await conn.execute(
            "INSERT INTO conversations (id, tenant, public_id)"
            " SELECT %(t)s || '_' || g, %(t)s, %(t)s || '_' || g FROM generate_series(1, 4000) g",
            {"t": tenant},
        )
        await conn.execute(
            "INSERT INTO turns (id, conversation_id, message_id, status, first_seq, owner,"
            " lease_until) SELECT %(t)s || '_t' || g, %(t)s || '_' || g, 'm' || g, 'running', 1,"
            " CASE WHEN g %% 2 = 0 THEN %(o)s ELSE 'elsewhere' END, now() + interval '1 hour'"
            " FROM generate_series(1, 4000) g",
            {"t": tenant, "o": OWNER},
        )
        await conn.execute("ANALYZE conversations")
        await conn.execute("ANALYZE turns")
        try:
            batch = [
                (f"{tenant}_{g}", seq, f"{tenant}_t{g}", json.dumps({"type": "text-delta"}))
                for g in (2, 4)
                for seq in (2, 3, 4)
            ]
            document = json.dumps([[c, s, t, json.loads(p)] for c, s, t, p in batch])
            async with conn.transaction(force_rollback=True):
                cursor = await conn.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + APPEND_EVENTS_SQL,
                    {"rows": document, "owner": OWNER, "notify": "{}"},
                )
                row = await cursor.fetchone()
                assert row is not None
                plan = row[0][0]["Plan"]
            on_tables = [
                node
                for node in _nodes(plan)
                if node.get("Relation Name") in ("conversations", "turns")
            ]
            assert on_tables, "the plan reads conversations and turns"
            for node in on_tables:
                assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
                # Each lookup reads its own row: nothing fetched and thrown away.
                assert node["Actual Rows"] <= 1, node
                assert node.get("Rows Removed by Filter", 0) == 0, node

            # And the statement itself still does its work: the owner's two turns are written,
            # a turn running elsewhere (odd numbers) is not.
            elsewhere = [(f"{tenant}_1", 2, f"{tenant}_t1", json.dumps({"type": "text-delta"}))]
            written, _ = await append_events(conn, batch + elsewhere, owner=OWNER)
            assert written == {f"{tenant}_t2": 4, f"{tenant}_t4": 4}
        finally:
            await conn.execute("DELETE FROM conversations WHERE tenant = %s", [tenant])
