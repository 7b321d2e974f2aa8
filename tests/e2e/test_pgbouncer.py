"""Two ``booking serve`` replicas behind a real PgBouncer in transaction mode
(``BOOKING_DATABASE_POOLER=transaction``): every pooled statement goes through PgBouncer, the
LISTEN connection of each process goes straight to PostgreSQL (``BOOKING_DATABASE_DIRECT_URL``).

Before the pooler mode existed, the same deployment logged "prepared statement ... does not
exist" (psycopg prepares a query after five runs; the next run lands on another server
connection) and a stop sent through one replica never reached the other (its LISTEN session was
a pooled connection, handed to other clients between transactions)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from booking.db.engine import libpq_url
from tests.support.api import BOOK, chat_body, conversation, new_id, replay, wait_idle
from tests.support.booking_requests import BOOKINGS, hold, hold_body, roomy_flight
from tests.support.pgbouncer import PgBouncer, pgbouncer
from tests.support.server import ServerProcess, SpawnServer
from tests.support.sse import Stream, assert_contiguous, types, wire
from tests.support.waits import wait_for

#: What a server or PgBouncer logs when a pooled connection carried session state it should not.
SESSION_STATE_ERRORS = ("prepared statement", "does not exist", "already exists")


@pytest.fixture
def bouncer(seeded_url: str) -> Iterator[PgBouncer]:
    # Fewer server connections than the two replicas' pools, so transactions share them.
    with pgbouncer(seeded_url, pool_size=3) as running:
        yield running


def pooled_replica(spawn: SpawnServer, bouncer: PgBouncer, seeded_url: str) -> ServerProcess:
    return spawn(
        deployed=True,
        database_url=bouncer.url_for(seeded_url),
        database_direct_url=seeded_url,
        database_pooler="transaction",
        db_pool_size=4,
        offline_pace_ms=60,
    )


def listening_replicas(seeded_url: str) -> set[str]:
    """The ``booking:<owner>`` LISTEN sessions PostgreSQL itself sees on the test database."""
    with psycopg.connect(libpq_url(seeded_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'booking:%'"
        ).fetchall()
    return {name for (name,) in rows}


def test_two_replicas_stream_resume_stop_and_book_through_pgbouncer(
    spawn: SpawnServer, bouncer: PgBouncer, seeded_url: str, key: str
) -> None:
    before = listening_replicas(seeded_url)
    a = pooled_replica(spawn, bouncer, seeded_url)
    b = pooled_replica(spawn, bouncer, seeded_url)
    # One direct LISTEN connection per process, visible to PostgreSQL under its owner's name.
    wait_for(lambda: len(listening_replicas(seeded_url) - before) == 2)

    with a.client(key) as on_a, b.client(key) as on_b:
        # A streamed turn on A; the client leaves after the first text and resumes on B.
        streamed = new_id()
        with on_a.stream("POST", "/v1/chat", json=chat_body(streamed, BOOK)) as response:
            assert response.status_code == 200
            stream = Stream(response)
            stream.read_type("text-delta")
            seen = stream.parts
        resumed = replay(on_b, streamed, after=None, last_event_id=seen[-1].seq)
        full = replay(on_b, streamed)
        assert types(resumed)[-1] == "finish"
        assert wire(seen) + wire(resumed) == wire(full)
        assert_contiguous(seen + resumed)

        # A turn running on B, stopped through A: the cancel travels over the direct LISTEN.
        stopped = new_id()
        with on_b.stream("POST", "/v1/chat", json=chat_body(stopped, BOOK)) as response:
            stream = Stream(response)
            stream.read_type("text-delta")
            running = conversation(on_a, stopped)["running_turn_id"]
            answer = on_a.post(f"/v1/conversations/{stopped}/stop")
            assert answer.status_code == 200, answer.text
            assert answer.json()["stopped_turn_id"] == running
            records = stream.read_to_end()
        assert types(records)[-1] == "abort"
        assert wait_idle(on_b, stopped)["messages"][-1]["metadata"]["aborted"] is True

        # A booking held on A and confirmed on B (the seat UPDATE and the idempotency key run in
        # pooled transactions).
        flight = roomy_flight(on_a, "2026-06-19")
        held = hold(on_a, hold_body(flight["flight_id"], "Lê Thị Hoa"))
        confirmed = on_b.post(f"{BOOKINGS}/{held['reference']}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] == "confirmed"

        # The same statements many times on each replica: psycopg would have prepared them.
        for _ in range(15):
            assert on_a.get(f"/v1/conversations/{streamed}").status_code == 200
            assert on_b.get(f"{BOOKINGS}/{held['reference']}").status_code == 200

    for log in (a.log_path.read_text(errors="replace"), b.log_path.read_text(errors="replace")):
        assert not [line for line in log.splitlines() if "prepared statement" in line], log
        assert "Traceback" not in log, log
    assert not [
        line
        for line in bouncer.log().splitlines()
        if any(error in line for error in SESSION_STATE_ERRORS)
    ], bouncer.log()
