"""The server runs retention itself: a pass when it starts (and every
``BOOKING_RETENTION_EVERY_S``) makes the event log's day partitions ahead."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from booking.db.engine import libpq_url
from booking.db.retention_repository import partition_name
from tests.support.in_process import StartApp
from tests.support.waits import wait_for


def _exists(url: str, name: str) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [name]).fetchone()
    return bool(row and row[0])


def test_a_starting_server_makes_the_missing_partitions(
    start_app: StartApp, seeded_url: str
) -> None:
    with psycopg.connect(libpq_url(seeded_url), autocommit=True) as conn:
        row = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
        assert row is not None
        name = partition_name(row[0] + timedelta(days=3))
        # The last partition made ahead holds nothing yet: without it, rows of that day would
        # land in the default partition.
        assert conn.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,)
        conn.execute(f"DROP TABLE {name}")
    assert not _exists(seeded_url, name)

    start_app()

    assert wait_for(lambda: _exists(seeded_url, name))
