"""Failover between real server processes on one database: the process running a turn is
killed (SIGKILL) or paused (SIGSTOP) mid-answer, and another one serves the conversation.

A killed process's PostgreSQL connections end with it, so the survivor sees at once that the
turn's owner is gone (its LISTEN connection, named after the owner, left ``pg_stat_activity``)
and does not wait for the lease (15 s here, the default): a follower gets a retryable
``turn_interrupted`` within 5 s, a stop closes the turn at once, and the next message is
accepted with the partial answer in the model's history. A paused process keeps its
connections: it is slow, not gone, and nobody takes its turn over.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from tests.support.api import chat_body, conversation, new_id, replay
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import ServerProcess, SpawnServer
from tests.support.sse import Stream, assert_contiguous, text_of, types, wire
from tests.support.waits import wait_for

#: A long answer, one word every 0.25 s: the turn runs long enough to be killed mid-answer.
LONG = " ".join(f"chuyến{i}" for i in range(60))
NEXT = "Chào lại."
FAILOVER_S = 5.0
INTERRUPTED_NOTE = "[answer interrupted: the server stopped]"


def two_replicas(
    spawn: SpawnServer, provider: FakeProvider, llm: dict[str, Any]
) -> tuple[ServerProcess, ServerProcess]:
    provider.queue(Script(events=text_chunks(LONG), delay_s=0.25), Script(events=text_chunks(NEXT)))
    return spawn(**llm), spawn(**llm)


def start_answer(a: ServerProcess, key: str, conversation_id: str) -> tuple[Any, Any, Stream]:
    """A turn streaming on ``a``, read until a few words arrived and are stored."""
    client = a.client(key)
    response = client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "Tìm vé"))
    stream = Stream(response.__enter__())
    for _ in range(3):
        stream.read_type("text-delta")
    seen = stream.parts[-1].seq
    wait_for(lambda: conversation(client, conversation_id)["last_event_id"] >= seen)
    return client, response, stream


class TestKilled:
    def test_a_follower_on_the_survivor_gets_the_retryable_error_within_5_s(
        self, spawn: SpawnServer, provider: FakeProvider, llm: dict[str, Any], key: str
    ) -> None:
        a, b = two_replicas(spawn, provider, llm)
        conversation_id = new_id()
        client_a, response_a, on_a = start_answer(a, key, conversation_id)
        seen = on_a.parts
        with (
            b.client(key) as client_b,
            client_b.stream(
                "GET",
                f"/v1/conversations/{conversation_id}/events",
                headers={"last-event-id": str(seen[-1].seq)},
            ) as followed,
        ):
            follower = Stream(followed)
            killed_at = time.monotonic()
            a.kill()
            error = follower.read_type("error", timeout=FAILOVER_S + 5)
            failover_s = error.at - killed_at
            rest = follower.read_to_end()
            # The figure docs/operations.md quotes (shown with ``pytest -s``).
            sys.stdout.write(f"failover: {failover_s:.2f} s from SIGKILL to turn_interrupted\n")
            assert failover_s <= FAILOVER_S, failover_s
            metadata = [r.part for r in rest if r.type == "message-metadata"][-1]
            assert metadata["messageMetadata"]["error"] == {
                "code": "turn_interrupted",
                "retryable": True,
            }
            assert "Nothing was lost" not in error.part["errorText"]
            # Resume is exact: what A sent, then what B sent, is the whole log.
            assert wire(seen) + wire(rest) == wire(replay(client_b, conversation_id))
            assert_contiguous(seen + rest)

            # The next message is accepted, and the model reads the partial answer back.
            with client_b.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Tiếp đi")
            ) as r:
                after = Stream(r).read_to_end()
        assert types(after)[-1] == "finish"
        assert text_of(after) == NEXT
        messages = provider.requests[-1]["json"]["messages"]
        assert [m["role"] for m in messages[-3:]] == ["user", "assistant", "user"]
        partial = messages[-2]["content"]
        assert partial.startswith(text_of(seen).rstrip()), (partial, text_of(seen))
        assert partial.endswith(INTERRUPTED_NOTE)
        assert LONG.startswith(partial.removesuffix(INTERRUPTED_NOTE).rstrip())
        response_a.__exit__(None, None, None)
        client_a.close()

    def test_stop_on_the_survivor_closes_the_turn_at_once_and_the_next_message_runs(
        self, spawn: SpawnServer, provider: FakeProvider, llm: dict[str, Any], key: str
    ) -> None:
        a, b = two_replicas(spawn, provider, llm)
        conversation_id = new_id()
        client_a, response_a, _ = start_answer(a, key, conversation_id)
        with b.client(key) as client_b:
            running = conversation(client_b, conversation_id)["running_turn_id"]
            assert running
            a.kill()
            started = time.monotonic()
            stopped = client_b.post(f"/v1/conversations/{conversation_id}/stop")
            took = time.monotonic() - started
            assert stopped.status_code == 200, stopped.text
            assert stopped.json() == {"stopped_turn_id": running}
            assert took < 2.0, took  # At once, not after the lease (15 s).
            detail = conversation(client_b, conversation_id)
            assert detail["running_turn_id"] is None  # The answer was true.
            assert detail["messages"][-1]["metadata"]["error"]["code"] == "turn_interrupted"
            again = client_b.post(f"/v1/conversations/{conversation_id}/stop")
            assert (again.status_code, again.json()) == (200, {"stopped_turn_id": None})
            with client_b.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Tiếp đi")
            ) as r:
                assert r.status_code == 200, r.read()  # Not 409 turn_running.
                assert types(Stream(r).read_to_end())[-1] == "finish"
        response_a.__exit__(None, None, None)
        client_a.close()


class TestPaused:
    def test_a_paused_replica_is_not_taken_over_and_finishes_its_answer(
        self, spawn: SpawnServer, provider: FakeProvider, llm: dict[str, Any], key: str
    ) -> None:
        provider.queue(Script(events=text_chunks(" ".join(LONG.split()[:16])), delay_s=0.2))
        a, b = spawn(**llm), spawn(**llm)
        conversation_id = new_id()
        client_a, response_a, on_a = start_answer(a, key, conversation_id)
        with b.client(key) as client_b:
            os.kill(a.process.pid, signal.SIGSTOP)
            try:
                time.sleep(3.0)  # Three sweeps on B, two looks each: A stays connected.
                detail = conversation(client_b, conversation_id)
                assert detail["running_turn_id"] is not None
            finally:
                os.kill(a.process.pid, signal.SIGCONT)
            records = on_a.read_to_end()
            full = replay(client_b, conversation_id)
        response_a.__exit__(None, None, None)
        client_a.close()
        assert types(records)[-1] == "finish"
        assert "error" not in types(full)
        assert text_of(records) == " ".join(LONG.split()[:16])
