"""The event writer's statement as the tables grow: PostgreSQL's CPU and the wall time per batch.

Every batch of every streaming turn runs :data:`booking.db.event_log.APPEND_EVENTS_SQL` (lock
each conversation and turn of the batch, insert its parts). Its cost must not grow with the
number of conversations or of running turns. The baseline, in the same run, is the statement as
it was before #17 (``IN (SELECT ... FROM r)`` with the row locks): the planner guesses that the
JSON holds 100 rows and, at a few thousand conversations, scans every conversation and every
running turn for each batch.

For each table size (conversations, each with a finished turn; a tenth more running elsewhere),
both statements alternate on one autocommit connection: 100 turns of 20 parts, sent one part per
statement (one stream: the writer's usual batch) and four per statement (a busy process). CPU
is the backend's own (``/proc``, this machine's PostgreSQL), so it needs the server local.

Run: ``python -m bench.append_bench [--sizes 0,2000,50000]``
(``BOOKING_BENCH_DATABASE_URL`` or ``BOOKING_TEST_DATABASE_URL``, else an embedded server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import psycopg

from bench.common import database_url, server_url
from booking.db import migrate
from booking.db.engine import libpq_url
from booking.db.event_log import APPEND_EVENTS_SQL, start_turn

BENCH_DB = "booking_appendbench"
OWNER = "bench-writer"
TURNS = 100
PARTS = 20

BEFORE = (
    "WITH cfg AS (SELECT set_config('synchronous_commit', 'off', true)),"
    " r AS ("
    "  SELECT e->>0 AS conversation_id, (e->>1)::bigint AS seq, e->>2 AS turn_id, e->3 AS part"
    "  FROM jsonb_array_elements(%(rows)s::jsonb) e"
    "), c AS ("
    "  SELECT id FROM conversations WHERE id IN (SELECT conversation_id FROM r)"
    "  ORDER BY id FOR KEY SHARE"
    "), t AS ("
    "  SELECT id, conversation_id FROM turns"
    "  WHERE id IN (SELECT turn_id FROM r) AND conversation_id IN (SELECT id FROM c)"
    "    AND status = 'running' AND owner = %(owner)s"
    "  ORDER BY id FOR SHARE"
    "), ins AS ("
    "  INSERT INTO turn_events (conversation_id, seq, turn_id, part)"
    "  SELECT r.conversation_id, r.seq, r.turn_id, r.part"
    "  FROM r JOIN t ON t.id = r.turn_id AND t.conversation_id = r.conversation_id CROSS JOIN cfg"
    "  RETURNING conversation_id, turn_id, seq"
    "), w AS (SELECT conversation_id, turn_id, max(seq) AS seq FROM ins GROUP BY 1, 2)"
    " SELECT w.turn_id, w.seq, CASE WHEN n.channel IS NULL THEN false"
    "  ELSE pg_notify(n.channel, w.conversation_id || ':' || w.seq) IS NOT NULL END"
    " FROM w LEFT JOIN jsonb_each_text(%(notify)s::jsonb) n(conversation_id, channel)"
    "  ON n.conversation_id = w.conversation_id"
)
"""The statement before #17, kept here only as this benchmark's baseline."""

PART = json.dumps({"type": "text-delta", "id": "text_1", "delta": "Chuyến bay VN 213 "})


def _backend_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _fresh(size: int) -> str:
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = database_url(BENCH_DB)
    migrate.upgrade(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO conversations (id, tenant, public_id)"
            " SELECT 'c' || g, 'default', 'c' || g FROM generate_series(1, %(n)s) g",
            {"n": size},
        )
        conn.execute(
            "INSERT INTO turns (id, conversation_id, message_id, status, first_seq, owner,"
            " lease_until, finished_at) SELECT 't' || g, 'c' || g, 'm' || g,"
            " CASE WHEN g %% 10 = 0 THEN 'running' ELSE 'done' END, 1, 'elsewhere',"
            " now() + interval '1 hour', CASE WHEN g %% 10 = 0 THEN NULL ELSE now() END"
            " FROM generate_series(1, %(n)s) g",
            {"n": size},
        )
        conn.execute("VACUUM ANALYZE")
    return url


async def _run(conn: psycopg.AsyncConnection[Any], pid: int, sql: str, batch: int) -> list[float]:
    """``TURNS`` turns of ``PARTS`` parts in statements of ``batch``: [cpu ms, wall ms] per
    statement."""
    cpu = wall = 0.0
    statements = 0
    for _ in range(TURNS):
        turn_id = uuid.uuid4().hex
        conversation, seq, _ = await start_turn(
            conn,
            tenant="default",
            conversation_id=None,
            create=True,
            new_id=uuid.uuid4().hex,
            title="bench",
            turn={"id": turn_id, "message_id": uuid.uuid4().hex, "owner": OWNER},
            user_message={"payload": {"role": "user", "content": "hi"}, "ui_message_id": None},
            lease_s=60,
            first_part=json.dumps({"type": "start"}),
        )
        for _ in range(PARTS // batch):
            rows = []
            for _ in range(batch):
                seq += 1
                rows.append(f"[{json.dumps(conversation)},{seq},{json.dumps(turn_id)},{PART}]")
            params = {"rows": "[" + ",".join(rows) + "]", "owner": OWNER, "notify": "{}"}
            before_cpu, before_wall = _backend_cpu_s(pid), time.perf_counter()
            written = await (await conn.execute(sql, params)).fetchall()
            cpu += _backend_cpu_s(pid) - before_cpu
            wall += time.perf_counter() - before_wall
            statements += 1
            assert written, "the batch was written"
        await conn.execute(
            "UPDATE turns SET status = 'done', finished_at = now() WHERE id = %s", [turn_id]
        )
    return [cpu / statements * 1000, wall / statements * 1000]


async def measure(url: str) -> dict[tuple[str, int], list[float]]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        pid = int(row[0])
        results: dict[tuple[str, int], list[float]] = {}
        for batch in (1, 4):
            await _run(conn, pid, APPEND_EVENTS_SQL, batch)  # warm-up (plans, caches)
            sums = {"before": [0.0, 0.0], "now": [0.0, 0.0]}
            for _ in range(3):  # interleaved, so drift hits both alike
                for name, sql in (("before", BEFORE), ("now", APPEND_EVENTS_SQL)):
                    cpu, wall = await _run(conn, pid, sql, batch)
                    sums[name][0] += cpu / 3
                    sums[name][1] += wall / 3
            for name, figures in sums.items():
                results[(name, batch)] = figures
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,2000,50000", help="conversations in the tables")
    args = parser.parse_args()
    print("event writer statement: PostgreSQL CPU / wall per statement (ms), before #17 -> now")
    for size in (int(s) for s in args.sizes.split(",")):
        results = asyncio.run(measure(_fresh(size)))
        for batch in (1, 4):
            (cpu_b, wall_b), (cpu_n, wall_n) = results[("before", batch)], results[("now", batch)]
            print(
                f"  {size:>7,} conversations, {batch} part(s) a statement: "
                f"CPU {cpu_b:.3f} -> {cpu_n:.3f} ({cpu_n / cpu_b:.2f}x), "
                f"wall {wall_b:.3f} -> {wall_n:.3f} ({wall_n / wall_b:.2f}x)"
            )


if __name__ == "__main__":
    main()
