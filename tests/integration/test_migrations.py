"""Migrations: up, down and up again on an empty database; models never drift from them."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, create_engine

from booking.db import (
    migrate,
    models,  # noqa: F401  (registers the tables)
)
from booking.db.base import Base
from booking.db.engine import libpq_url
from booking.db.retention_repository import is_event_partition
from tests.conftest import ScratchDatabases


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {name for (name,) in rows}


def test_upgrade_downgrade_upgrade_round_trip(scratch: ScratchDatabases) -> None:
    url = scratch.create()
    migrate.upgrade(url)
    assert {"flights", "fares", "airports", "place_aliases", "weather_daily"} <= _tables(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    migrate.downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()


def test_models_match_migrations(seeded_url: str) -> None:
    # Run on the seeded database: the seeder rebuilds indexes and constraints, so this also
    # proves it rebuilds them exactly as the migrations define them.
    migrate.check(seeded_url)


def test_comparison_sees_drift(seeded_url: str) -> None:
    # The same comparison `alembic check` runs, against a copy of the models with one extra column.
    probe = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(probe)
    Table("airlines", probe, Column("drift_probe", Integer), extend_existing=True)
    engine = create_engine(seeded_url)
    with engine.connect() as conn:
        # As migrations/env.py does: the event log's day partitions are not in the models.
        skip_partitions = {
            "include_name": lambda name, type_, _: (
                not (type_ == "table" and is_event_partition(name))
            )
        }
        diffs = compare_metadata(MigrationContext.configure(conn, opts=skip_partitions), probe)
    engine.dispose()
    assert [d[0] for d in diffs] == ["add_column"]
    assert diffs[0][3].name == "drift_probe"


def _rows(url: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(statement, args or None).fetchall()


def _conversation_with_a_turn(
    conn: psycopg.Connection[object], key: str, tenant: str, public_id: str | None = None
) -> None:
    """A conversation ``key`` (its internal id) with one finished turn: a turn row, two
    messages and two stored parts. With a ``public_id``, as since 0005."""
    if public_id is None:
        conn.execute(
            "INSERT INTO conversations (id, tenant, title, last_seq) VALUES (%s, %s, 'hi', 2)",
            [key, tenant],
        )
    else:
        conn.execute(
            "INSERT INTO conversations (id, tenant, public_id, title, last_seq)"
            " VALUES (%s, %s, %s, 'hi', 2)",
            [key, tenant, public_id],
        )
    conn.execute(
        "INSERT INTO turns (id, conversation_id, message_id, status, first_seq, owner,"
        " lease_until, finished_at) VALUES (%s, %s, 'msg_1', 'done', 1, 'gone', now(), now())",
        [f"t{key}"[:32], key],
    )
    for position, role in enumerate(("user", "assistant")):
        conn.execute(
            "INSERT INTO messages (conversation_id, position, turn_id, role, payload)"
            " VALUES (%s, %s, %s, %s, %s)",
            [key, position, f"t{key}"[:32], role, f'{{"role": "{role}", "content": "x"}}'],
        )
    for seq, kind in ((1, "start"), (2, "finish")):
        conn.execute(
            "INSERT INTO turn_events (conversation_id, seq, turn_id, part) VALUES (%s, %s, %s, %s)",
            [key, seq, f"t{key}"[:32], f'{{"type": "{kind}"}}'],
        )


def _children(url: str, conversation_id: str) -> dict[str, int]:
    counts = {}
    for table in ("turns", "messages", "turn_events"):
        statement = f"SELECT count(*) FROM {table} WHERE conversation_id = %s"
        ((counts[table],),) = _rows(url, statement, conversation_id)
    return counts


def test_tenant_ids_keep_existing_conversations_and_downgrade_when_no_id_clashes(
    scratch: ScratchDatabases,
) -> None:
    url = scratch.create()
    migrate.upgrade(url, "0004")
    with psycopg.connect(libpq_url(url)) as conn:
        _conversation_with_a_turn(conn, "chat-old", "tenant-a")
        _conversation_with_a_turn(conn, "chat-other", "tenant-b")

    migrate.upgrade(url, "0005")
    # Existing conversations keep their id, now also their public id; nothing else moved.
    assert _rows(url, "SELECT id, public_id, tenant FROM conversations ORDER BY id") == [
        ("chat-old", "chat-old", "tenant-a"),
        ("chat-other", "chat-other", "tenant-b"),
    ]
    assert _children(url, "chat-old") == {"turns": 1, "messages": 2, "turn_events": 2}

    with psycopg.connect(libpq_url(url)) as conn:
        # Since 0005: an opaque internal id, and another tenant's id is free.
        conn.execute(
            "INSERT INTO conversations (id, tenant, public_id) VALUES"
            " ('c_new', 'tenant-a', 'chat-new'), ('c_clash', 'tenant-b', 'chat-old')"
        )
        with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
            conn.execute(
                "INSERT INTO conversations (id, tenant, public_id)"
                " VALUES ('c_again', 'tenant-a', 'chat-new')"
            )
        conn.execute("UPDATE conversations SET title = 'new' WHERE id = 'c_new'")
    with psycopg.connect(libpq_url(url)) as conn:
        _conversation_with_a_turn(conn, "c_turns", "tenant-a", "chat-turns")

    # Two tenants share "chat-old": going back to one namespace would take it from one of them.
    with pytest.raises(RuntimeError, match="chat-old"):
        migrate.downgrade(url, "0004")
    assert migrate.current_revision(url) == "0005"
    assert len(_rows(url, "SELECT 1 FROM conversations")) == 5

    _rows(url, "DELETE FROM conversations WHERE id = 'c_clash' RETURNING id")
    migrate.downgrade(url, "0004")
    # Every conversation is keyed by its public id again, with its rows.
    assert _rows(url, "SELECT id, tenant, title FROM conversations ORDER BY id") == [
        ("chat-new", "tenant-a", "new"),
        ("chat-old", "tenant-a", "hi"),
        ("chat-other", "tenant-b", "hi"),
        ("chat-turns", "tenant-a", "hi"),
    ]
    assert _children(url, "chat-turns") == {"turns": 1, "messages": 2, "turn_events": 2}
    assert _children(url, "c_turns") == {"turns": 0, "messages": 0, "turn_events": 0}
    assert _children(url, "chat-old") == {"turns": 1, "messages": 2, "turn_events": 2}

    migrate.upgrade(url, "0005")
    assert ("chat-turns", "chat-turns") in _rows(url, "SELECT id, public_id FROM conversations")


def test_retention_partitions_the_event_log_and_downgrades_with_compacted_turns(
    scratch: ScratchDatabases,
) -> None:
    url = scratch.create()
    migrate.upgrade(url, "0004")
    with psycopg.connect(libpq_url(url)) as conn:
        _conversation_with_a_turn(conn, "chat-kept", "tenant-a")
        # One part stored a week ago: the migration makes that day's partition too.
        conn.execute("UPDATE turn_events SET created_at = now() - interval '7 days' WHERE seq = 1")

    migrate.upgrade(url, "0006")
    # Partitioned by day, every row in its day's partition, none in the default one.
    assert _rows(url, "SELECT relkind::text FROM pg_class WHERE relname = 'turn_events'") == [
        ("p",)
    ]
    placed = _rows(
        url,
        "SELECT seq, tableoid::regclass::text,"
        " 'turn_events_p' || to_char(created_at AT TIME ZONE 'UTC', 'YYYYMMDD')"
        " FROM turn_events ORDER BY seq",
    )
    assert [(seq, where) for seq, where, _ in placed] == [(seq, day) for seq, _, day in placed]
    assert _children(url, "chat-kept") == {"turns": 1, "messages": 2, "turn_events": 2}
    # Today's partition and the next three days' exist before any row needs them.
    assert _rows(
        url,
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'turn_events'::regclass AND c.relname >="
        " 'turn_events_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')",
    ) == [(4,)]

    # A compacted turn whose raw rows are gone (their partition was dropped).
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "INSERT INTO turn_archive (turn_id, conversation_id, first_seq, last_seq,"
            " finished_at, parts) SELECT id, conversation_id, 1, 2, now(),"
            ' \'[[1, {"type": "start"}], [2, {"type": "finish"}]]\' FROM turns'
        )
        conn.execute("DELETE FROM turn_events")

    migrate.downgrade(url, "0005")
    assert _rows(url, "SELECT relkind::text FROM pg_class WHERE relname = 'turn_events'") == [
        ("r",)
    ]
    assert _rows(url, "SELECT seq, part->>'type' FROM turn_events ORDER BY seq") == [
        (1, "start"),
        (2, "finish"),
    ]
    assert {"turn_archive", "tenant_settings"}.isdisjoint(_tables(url))
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
