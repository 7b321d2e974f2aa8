"""Turns over real HTTP, where the connection is the point: heartbeats while a tool runs, a
client that disconnects and resumes (by cursor, or ``useChat``'s resume from the turn's start),
and a JSON client that goes away without cancelling its turn."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest

from tests.support.api import chat_body, conversation, new_id, replay, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import StartServer
from tests.support.sse import (
    Stream,
    assert_contiguous,
    assert_stream_headers,
    of_turn,
    text_of,
    types,
    wire,
)
from tests.support.tools import Gate, call_chunks, gated_registry, slow_registry
from tests.support.waits import DEADLINE_S


def test_heartbeats_while_a_slow_tool_runs(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    provider.queue(
        Script(events=call_chunks("c1", "slow_lookup", {"what": "fares"})),
        Script(events=text_chunks("Đã tìm xong.")),
    )
    server = start(slow_registry(1.2), heartbeat_s=0.3, **llm)
    with (
        server.client(key) as client,
        client.stream("POST", "/v1/chat", json=chat_body(new_id(), "tra giá")) as response,
    ):
        assert_stream_headers(response)
        stream = Stream(response)
        records = stream.read_to_end()

    everything = stream.records
    began = next(i for i, r in enumerate(everything) if r.type == "tool-input-available")
    ended = next(i for i, r in enumerate(everything) if r.type == "tool-output-available")
    pings = [r for r in everything[began:ended] if r.comment is not None]
    assert len(pings) >= 2, [r.comment or r.data for r in everything]
    assert all(r.comment == "ping" and r.id is None for r in pings)
    assert everything[ended].at - everything[began].at >= 1.1
    assert everything[ended].part["output"] == {"what": "fares", "found": True}
    assert records[-2].part["type"] == "finish"
    assert text_of(records) == "Đã tìm xong."


def test_disconnect_then_resume_by_cursor(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=text_chunks("Chào bạn.")),
        Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Để tôi xem.")),
        Script(events=text_chunks("Xong rồi, đây là kết quả.")),
    )
    server = start(gated_registry(gate), **llm)
    conversation_id = new_id()
    with server.client(key) as client:
        # An earlier turn, so "this turn" is a strict suffix of the conversation's events.
        with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "chào")) as r:
            first_turn = Stream(r).read_to_end()
        assert first_turn[-2].type == "finish"
        wait_idle(client, conversation_id)  # see test_a_message_right_after_done_is_accepted

        with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "xem giúp")) as r:
            stream = Stream(r)
            stream.read_type("tool-input-available")
            seen = stream.parts
        # The connection is closed; the turn goes on in the server.
        gate.wait_started()
        assert conversation(client, conversation_id)["running_turn_id"] is not None
        last = seen[-1].seq
        assert seen[0].type == "start"
        assert seen[0].seq == first_turn[-2].seq + 1

        # Resume while it still runs (Last-Event-ID), follow it live to the end.
        with client.stream(
            "GET",
            f"/v1/conversations/{conversation_id}/events",
            headers={"last-event-id": str(last)},
        ) as r:
            assert r.status_code == 200
            gate.open()  # the resumed stream is already following the turn
            resumed_live = Stream(r).read_to_end()
            assert resumed_live[0].seq == last + 1

        wait_idle(client, conversation_id)
        resumed_by_header = replay(client, conversation_id, after=None, last_event_id=last)
        resumed_by_query = replay(client, conversation_id, after=last)
        full = replay(client, conversation_id, after=0)

    assert wire(resumed_live) == wire(resumed_by_header) == wire(resumed_by_query)
    turn = of_turn(full, seen[0].seq)
    assert wire(seen) + wire(resumed_live) == wire(turn)
    assert_contiguous(seen + resumed_live)
    assert_contiguous(full)
    assert wire(full)[: len(first_turn) - 1] == wire(first_turn)[:-1]
    assert types(resumed_live)[-1] == "finish"
    assert "tool-output-available" in types(resumed_live)
    assert text_of(turn) == "Để tôi xem.Xong rồi, đây là kết quả."


def test_a_json_client_that_goes_away_does_not_cancel_its_turn(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})),
        Script(events=text_chunks("Vẫn xong.")),
    )
    server = start(gated_registry(gate), **llm)
    conversation_id = new_id()
    with server.client(key) as client:
        assert client.post("/v1/conversations", json={"id": conversation_id}).status_code == 201
        with pytest.raises(httpx2.ReadTimeout):
            client.post(
                f"/v1/conversations/{conversation_id}/messages",
                json={"text": "chờ nhé"},
                headers={"accept": "application/json"},
                timeout=httpx2.Timeout(DEADLINE_S, read=0.5),
            )
        gate.wait_started()
        # Nothing to poll for "the server saw the disconnect"; a server that cancels on
        # disconnect does so at once, so a short pause is enough to expose it.
        time.sleep(0.3)
        gate.open()
        detail = wait_idle(client, conversation_id)
    assert not gate.cancelled.is_set()
    answer = detail["messages"][-1]
    assert answer["metadata"]["finishReason"] == "stop"
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == ["Vẫn xong."]


def test_usechat_resume_replays_the_running_turn_from_its_start(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Một chút.")),
        Script(events=text_chunks("Đây rồi.")),
    )
    server = start(gated_registry(gate), **llm)
    conversation_id = new_id()
    with server.client(key) as client:
        for unknown in (new_id(), "not.a.valid.id"):
            nothing = client.get(f"/v1/chat/{unknown}/stream")
            assert nothing.status_code == 204, nothing.text
            assert nothing.content == b""

        with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
            original = Stream(r)
            original.read_type("tool-input-available")
        gate.wait_started()

        with client.stream("GET", f"/v1/chat/{conversation_id}/stream") as r:
            assert_stream_headers(r)
            resumed = Stream(r)
            resumed.read_type("tool-input-available")
            # From the turn's `start`, not from where the first connection stopped.
            assert wire(resumed.parts) == wire(original.parts)
            gate.open()
            records = resumed.read_to_end()

        wait_idle(client, conversation_id)
        at_rest = client.get(f"/v1/chat/{conversation_id}/stream")
        assert at_rest.status_code == 204
        full = replay(client, conversation_id)

    assert records[0].type == "start"
    assert records[0].part["messageId"] == original.parts[0].part["messageId"]
    assert wire(records) == wire(full)
    assert types(records)[-1] == "finish"
