"""Conversation ids are scoped per tenant (issue #15, defect 6), and a conversation is never
deleted under a running reply (defect 1).

Two tenants both have ``chat-1``: each converses, streams, resumes, stops, lists and deletes its
own, and never sees the other's. Another tenant's id answers exactly as a free id does. Internal
ids never reach a client. A delete stops the running reply first, wherever it runs, or (when its
server is stalled) refuses with 409 ``turn_running`` and deletes nothing; the writer of the
process that ran the reply never fails afterwards.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import (
    BOOK,
    MakeKey,
    assert_problem,
    chat_body,
    conversation,
    new_id,
    replay,
    wait_idle,
)
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import InProcessApp, StartApp
from tests.support.queries import query, tenant_of
from tests.support.server import SpawnServer
from tests.support.sse import (
    Stream,
    assert_stream_headers,
    text_of,
    types,
    wire,
)

#: A reply long enough to still run while the test acts on it (~300 pieces, 20 ms apart).
SLOW = Script(events=text_chunks(" ".join(["chữ"] * 300)), delay_s=0.02)
#: What a client of ours never sees: the internal id's prefix, as the migration documents it.
INTERNAL_PREFIX = "c_"


def chat(client: httpx2.Client, conversation_id: str, text: str) -> tuple[list[Any], str]:
    """One message through ``/v1/chat``, read to its end: the events and the raw body."""
    with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, text)) as response:
        assert_stream_headers(response)
        stream = Stream(response)
        events = stream.read_to_end()
    return events, "\n".join(r.data or "" for r in stream.records)


def user_texts(body: dict[str, Any]) -> list[str]:
    return [
        part["text"]
        for message in body["messages"]
        if message["role"] == "user"
        for part in message["parts"]
        if part["type"] == "text"
    ]


def internal_ids(url: str, public_id: str, *tenants: str) -> list[str]:
    rows = query(
        url,
        "SELECT id FROM conversations WHERE public_id = %s AND tenant = ANY(%s) ORDER BY tenant",
        public_id,
        list(tenants),
    )
    return [str(internal) for (internal,) in rows]


def writer_trouble(client: httpx2.Client) -> dict[str, float]:
    """The event writer's failure counters and health, from ``/metrics``."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name.startswith("booking_event_writer"):
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    found[sample.name] = found.get(sample.name, 0.0) + sample.value
    assert "booking_event_writer_healthy" in found, found
    return found


def assert_writer_fine(client: httpx2.Client) -> None:
    trouble = writer_trouble(client)
    assert trouble.pop("booking_event_writer_healthy") == 1.0, trouble
    assert not any(trouble.values()), trouble


class TestTwoTenantsOneId:
    def test_both_have_chat_1_and_each_sees_only_its_own(
        self, server: InProcessApp, make_key: MakeKey, seeded_url: str
    ) -> None:
        key_a, key_b = make_key(), make_key()
        tenants = tenant_of(seeded_url, key_a), tenant_of(seeded_url, key_b)
        seen: list[str] = []  # Every body a client got, to look for internal ids.
        with server.client(key_a) as a, server.client(key_b) as b:
            a_events, raw = chat(a, "chat-1", "Xin chào")
            seen.append(raw)
            # B's first message in "chat-1", A's id: exactly what the same message gets in an id
            # nobody has (a new conversation of B's), nothing about A's.
            b_events, raw = chat(b, "chat-1", BOOK)
            seen.append(raw)
            fresh_events, _ = chat(b, new_id(), BOOK)
            assert types(b_events) == types(fresh_events)
            assert text_of(b_events) == text_of(fresh_events)
            assert [r.seq for r in b_events[:-1]] == [r.seq for r in fresh_events[:-1]]
            a_again, raw = chat(a, "chat-1", "Cảm ơn")
            seen.append(raw)

            for client, said, streamed in (
                (a, ["Xin chào", "Cảm ơn"], a_events + a_again),
                (b, [BOOK], b_events),
            ):
                body = conversation(client, "chat-1")
                seen.append(str(body))
                assert body["id"] == "chat-1"
                assert user_texts(body) == said
                # Resume from the start, and from the middle, replays exactly its own parts.
                replayed = replay(client, "chat-1")
                assert [p for p in wire(replayed) if p[0]] == [p for p in wire(streamed) if p[0]]
                middle = streamed[2].seq
                tail = replay(client, "chat-1", after=None, last_event_id=middle)
                assert [r.seq for r in tail[:-1]] == [
                    r.seq for r in streamed if r.id is not None and r.seq > middle
                ]
                listed = client.get("/v1/conversations", params={"limit": 100})
                seen.append(listed.text)
                assert "chat-1" in [c["id"] for c in listed.json()["items"]]

            ids = internal_ids(seeded_url, "chat-1", *tenants)
            assert len(set(ids)) == 2, ids
            assert all(i.startswith(INTERNAL_PREFIX) for i in ids), ids
            for answer in seen:
                assert not any(i in answer for i in ids)

            # A deletes its chat-1; B's is untouched, and A may use the id again.
            assert a.delete("/v1/conversations/chat-1").status_code == 204
            assert_problem(a.get("/v1/conversations/chat-1"), 404, "not_found")
            assert user_texts(conversation(b, "chat-1")) == [BOOK]
            created = a.post("/v1/conversations", json={"id": "chat-1"})
            assert created.status_code == 201, created.text
            assert user_texts(conversation(a, "chat-1")) == []
            again = b.post("/v1/conversations", json={"id": "chat-1"})
            assert assert_problem(again, 409, "conversation_exists")["conversation_id"] == "chat-1"

    def test_stop_resume_and_delete_of_one_leave_the_other_running(
        self,
        start_app: StartApp,
        make_key: MakeKey,
        provider: FakeProvider,
        llm: dict[str, Any],
    ) -> None:
        provider.queue(SLOW)
        app = start_app(**llm)
        key_a, key_b = make_key(), make_key()
        with app.client(key_a) as a, app.client(key_b) as b:
            with (
                a.stream("POST", "/v1/chat", json=chat_body("chat-1", "kể đi")) as a_reply,
                b.stream("POST", "/v1/chat", json=chat_body("chat-1", "kể đi")) as b_reply,
            ):
                a_stream, b_stream = Stream(a_reply), Stream(b_reply)
                a_stream.read_type("text-delta")
                b_stream.read_type("text-delta")
                a_turn = conversation(a, "chat-1")["running_turn_id"]
                b_turn = conversation(b, "chat-1")["running_turn_id"]
                assert a_turn
                assert b_turn
                assert a_turn != b_turn

                # Each resumes its own reply.
                with b.stream("GET", "/v1/chat/chat-1/stream") as joined:
                    assert_stream_headers(joined)
                    first = Stream(joined).read_type("start")
                    assert first.part["messageId"] == b_stream.parts[0].part["messageId"]

                # A stops its reply; B's runs on.
                stopped = a.post("/v1/conversations/chat-1/stop")
                assert stopped.json() == {"stopped_turn_id": a_turn}, stopped.text
                assert types(a_stream.read_to_end())[-1] == "abort"
                assert a.get("/v1/chat/chat-1/stream").status_code == 204
                assert conversation(b, "chat-1")["running_turn_id"] == b_turn

                # B deletes its conversation while its reply runs: stopped first, then deleted.
                deleted = b.delete("/v1/conversations/chat-1")
                assert deleted.status_code == 204, deleted.text
                assert types(b_stream.read_to_end())[-1] == "abort"
            assert_problem(b.get("/v1/conversations/chat-1"), 404, "not_found")
            assert b.get("/v1/chat/chat-1/stream").status_code == 204
            partial = conversation(a, "chat-1")
            assert partial["running_turn_id"] is None
            assert user_texts(partial) == ["kể đi"]

            # The writer never failed, and B's next conversation streams to its end.
            provider.queue(Script(events=text_chunks("Xong.")))
            events, _ = chat(b, "chat-2", "nữa")
            assert types(events)[-1] == "finish"
            assert_writer_fine(b)


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP), as a stalled server is: alive, leases valid, deaf."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


class TestDeleteWithARunningReply:
    def test_a_reply_on_another_server_is_stopped_there_or_the_delete_is_refused(
        self,
        spawn: SpawnServer,
        start_app: StartApp,
        make_key: MakeKey,
        provider: FakeProvider,
        llm: dict[str, Any],
    ) -> None:
        provider.queue(SLOW)
        runner = spawn(**llm)
        other = start_app(**llm)
        key = make_key()
        with (
            runner.client(key) as on_runner,
            # Longer than the delete's wait for a reply to stop.
            other.client(key, timeout=httpx2.Timeout(10.0, read=15.0)) as elsewhere,
            on_runner.stream("POST", "/v1/chat", json=chat_body("chat-1", "kể đi")) as reply,
        ):
            stream = Stream(reply)
            stream.read_type("text-delta")
            turn = conversation(elsewhere, "chat-1")["running_turn_id"]
            assert turn

            # Its server is stalled: the reply cannot be stopped, so nothing is deleted.
            with paused(runner.process.pid):
                started = time.monotonic()
                refused = elsewhere.delete("/v1/conversations/chat-1")
                waited = time.monotonic() - started
                body = assert_problem(refused, 409, "turn_running")
                assert body["running_turn_id"] == turn
                assert 5.0 <= waited < 8.0, waited
                assert conversation(elsewhere, "chat-1")["running_turn_id"] == turn

            # Its server is back: the delete stops the reply there, then deletes.
            deleted = elsewhere.delete("/v1/conversations/chat-1")
            assert deleted.status_code == 204, deleted.text
            assert types(stream.read_to_end())[-1] == "abort"
            assert_problem(elsewhere.get("/v1/conversations/chat-1"), 404, "not_found")
        with runner.client(key) as on_runner:
            # The process that ran it wrote nothing into the deleted conversation, and goes on.
            provider.queue(Script(events=text_chunks("Xong.")))
            events, _ = chat(on_runner, "chat-2", "nữa")
            assert types(events)[-1] == "finish"
            wait_idle(on_runner, "chat-2")
            assert_writer_fine(on_runner)
