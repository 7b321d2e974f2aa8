"""The event writer seen from outside a real ``booking serve`` process: a conversation deleted
under a streaming turn ends that stream and nothing else (the next conversation on the same
process streams to its end), and ``/readyz`` says when the process cannot store parts."""

from __future__ import annotations

import psycopg

from booking.db.engine import libpq_url
from tests.support.api import BOOK, assert_problem, chat_body, new_id
from tests.support.server import ServerProcess, SpawnServer
from tests.support.sse import Stream, types
from tests.support.waits import wait_for


def metric(process: ServerProcess, line_start: str) -> float:
    """The value of the first ``/metrics`` sample whose line starts with ``line_start``."""
    with process.client() as client:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(line_start):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_conversation_deleted_mid_stream_ends_that_stream_and_no_other(
    spawn: SpawnServer, key: str, seeded_url: str
) -> None:
    server = spawn(deployed=True, offline_pace_ms=100)
    doomed = new_id()
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(doomed, BOOK)) as response,
    ):
        stream = Stream(response)
        start = stream.read_type("start")
        stream.read_type("text-delta")
        # Another replica (or an operator) deletes the conversation while the turn streams.
        with psycopg.connect(libpq_url(seeded_url), autocommit=True) as conn:
            deleted = conn.execute(
                "DELETE FROM conversations WHERE id ="
                " (SELECT conversation_id FROM turns WHERE message_id = %s)",
                (start.part["messageId"],),
            ).rowcount
        assert deleted == 1
        ended = stream.read_to_end()  # With [DONE]: the turn is over.
    assert types(ended)[-1] == "error"
    assert ended[-3].part["messageMetadata"]["error"] == {
        "code": "conversation_deleted",
        "retryable": False,
    }

    # The same process streams the next conversation completely.
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(new_id(), BOOK)) as response,
    ):
        after = Stream(response).read_to_end(timeout=30)
        assert client.get("/readyz").status_code == 200
    assert types(after)[-1] == "finish"
    assert (
        metric(server, 'booking_event_writer_lost_turns_total{reason="conversation_deleted"}') == 1
    )
    assert metric(server, "booking_event_writer_failures_total") == 0
    assert metric(server, "booking_event_writer_healthy") == 1


def test_readyz_fails_while_the_writer_cannot_store_parts_and_recovers(
    spawn: SpawnServer, key: str, seeded_url: str
) -> None:
    server = spawn(deployed=True, offline_pace_ms=100, event_writer_unhealthy_s=1)
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(new_id(), BOOK)) as response,
    ):
        stream = Stream(response)
        stream.read_type("text-delta")
        with server.client() as probe:
            assert probe.get("/readyz").status_code == 200
            with psycopg.connect(libpq_url(seeded_url)) as lock:
                lock.execute("SET lock_timeout = '5s'")
                lock.execute("LOCK TABLE turn_events IN ACCESS EXCLUSIVE MODE")
                failing = wait_for(lambda: probe.get("/readyz").status_code == 503)
                assert failing
                assert_problem(probe.get("/readyz"), 503, "event_writer_failing")
                assert metric(server, "booking_event_writer_healthy") == 0
                lock.rollback()
            wait_for(lambda: probe.get("/readyz").status_code == 200)
        records = stream.read_to_end(timeout=30)
    assert types(records)[-1] == "finish"
    assert metric(server, "booking_event_writer_healthy") == 1


def test_readyz_fails_while_the_listen_connection_is_down(spawn: SpawnServer) -> None:
    """Pooled queries work, but the process's LISTEN connection cannot connect (its direct URL
    points at a closed port): it is not ready, since stop requests and followers elsewhere
    cannot reach its turns (and other processes take them over)."""
    server = spawn(
        ready_path="/healthz",
        database_direct_url="postgresql://postgres@127.0.0.1:9/postgres",
        event_writer_unhealthy_s=0.5,
    )
    with server.client() as probe:
        assert wait_for(lambda: probe.get("/readyz").status_code == 503)
        assert_problem(probe.get("/readyz"), 503, "listener_disconnected")
        assert probe.get("/healthz").status_code == 200
