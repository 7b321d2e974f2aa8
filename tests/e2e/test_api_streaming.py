"""Turns through the API, in process: the UI message stream of a whole turn, the JSON reply, a
message sent right after ``[DONE]``, and stop. What needs the wire (heartbeats, disconnects,
several servers, crashes) is in ``test_streaming_wire.py`` and ``test_streaming_servers.py``."""

from __future__ import annotations

from typing import Any

import psycopg

from booking.db.engine import libpq_url
from tests.support.api import BOOK, chat_body, conversation, new_id, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import InProcessApp, StartApp
from tests.support.sse import (
    Stream,
    assert_contiguous,
    assert_stream_headers,
    text_of,
    types,
)
from tests.support.tools import Gate, call_chunks, gated_registry
from tests.support.waits import DEADLINE_S


class TestFullTurn:
    def test_chat_streams_a_complete_ui_message(self, server: InProcessApp, key: str) -> None:
        conversation_id = new_id()
        with (
            server.client(key) as client,
            client.stream("POST", "/v1/chat", json=chat_body(conversation_id, BOOK)) as response,
        ):
            assert_stream_headers(response)
            records = Stream(response).read_to_end()

        assert_contiguous(records)
        assert records[0].seq == 1  # a new conversation's first cursor
        kinds = types(records)
        start = records[0].part
        assert start["type"] == "start"
        assert isinstance(start["messageId"], str)
        assert start["messageId"]
        assert kinds.count("start") == 1
        assert "start-step" in kinds
        assert (
            kinds.index("tool-input-start")
            < kinds.index("tool-input-available")
            < kinds.index("tool-output-available")
            < kinds.index("text-start")
            < kinds.index("text-delta")
            < kinds.index("text-end")
        )
        tool_start = next(r.part for r in records if r.type == "tool-input-start")
        assert tool_start["toolName"] == "search_flights"
        tool_input = next(r.part for r in records if r.type == "tool-input-available")
        assert tool_input["toolCallId"] == tool_start["toolCallId"]
        assert tool_input["input"]["date"] == "2026-06-15"
        output = next(r.part for r in records if r.type == "tool-output-available")
        assert output["toolCallId"] == tool_start["toolCallId"]
        flights = output["output"]["flights"]
        assert flights
        assert all(f["origin"] == "SGN" and f["destination"] == "HAN" for f in flights)
        # The answer lists the flights the tool found.
        answer = text_of(records)
        assert flights[0]["flight_number"] in answer
        text_ids = {r.part["id"] for r in records if r.type and r.type.startswith("text-")}
        assert len(text_ids) == 1
        usage = [
            r.part["messageMetadata"]["usage"]
            for r in records
            if r.type == "message-metadata" and "usage" in r.part["messageMetadata"]
        ]
        assert len(usage) == 1
        assert usage[0]["modelCalls"] == 2
        assert usage[0]["models"] == ["offline"]
        assert usage[0]["promptTokens"] > 0
        assert kinds[-2:] == ["message-metadata", "finish"]
        assert records[-2].part == {"type": "finish", "finishReason": "stop"}
        assert records[-1].is_done

    def test_send_message_as_json_then_as_stream(self, server: InProcessApp, key: str) -> None:
        conversation_id = new_id()
        with server.client(key) as client:
            created = client.post("/v1/conversations", json={"id": conversation_id})
            assert created.status_code == 201, created.text
            response = client.post(
                f"/v1/conversations/{conversation_id}/messages",
                json={"text": BOOK, "id": "client-msg-1"},
                headers={"accept": "application/json"},
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("application/json")
            result = response.json()
            assert result["status"] == "done"
            message = result["message"]
            assert message["role"] == "assistant"
            assert message["id"].startswith("msg_")
            tool = next(p for p in message["parts"] if p["type"] == "tool-search_flights")
            assert tool["state"] == "output-available"
            assert tool["output"]["flights"]
            assert any(p["type"] == "text" and p["text"] for p in message["parts"])
            assert message["metadata"]["finishReason"] == "stop"
            detail = conversation(client, conversation_id)
            assert result["last_event_id"] == detail["last_event_id"]
            assert detail["running_turn_id"] is None
            assert detail["messages"][-1]["id"] == message["id"]
            assert detail["messages"][0]["id"] == "client-msg-1"

            with client.stream(
                "POST",
                f"/v1/conversations/{conversation_id}/messages",
                json={"text": "còn ngày hôm sau thì sao?"},
                headers={"accept": "text/event-stream"},
            ) as streamed:
                assert_stream_headers(streamed)
                records = Stream(streamed).read_to_end()
            assert_contiguous(records)
            assert records[0].seq == result["last_event_id"] + 1
            assert records[0].type == "start"
            assert records[0].part["messageId"] != message["id"]
            assert records[-2].part == {"type": "finish", "finishReason": "stop"}
            # The turn is closed (and its last parts stored) a moment after [DONE]: see
            # test_a_message_right_after_done_is_accepted.
            roles = [m["role"] for m in wait_idle(client, conversation_id)["messages"]]
            assert roles == ["user", "assistant", "user", "assistant"]


def test_a_message_right_after_done_is_accepted(
    start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any], seeded_url: str
) -> None:
    """useChat may send the next message as soon as a stream ends; it must not be refused."""
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})),
        Script(events=text_chunks("Một.")),
        Script(events=text_chunks("Hai.")),
    )
    server = start_app(gated_registry(gate), **llm)
    conversation_id = new_id()
    with server.client(key) as client:
        with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "một")) as r:
            stream = Stream(r)
            stream.read_type("tool-input-available")
            running = conversation(client, conversation_id)["running_turn_id"]
            # Widen the window deterministically: closing the turn (UPDATE turns) waits on this
            # lock, storing its parts (a foreign key check, KEY SHARE) does not.
            with psycopg.connect(libpq_url(seeded_url)) as lock:
                lock.execute("SELECT 1 FROM turns WHERE id = %s FOR NO KEY UPDATE", (running,))
                gate.open()
                status = None
                if stream.read_for(lambda rec: rec.is_done, timeout=1.5):
                    # The client was told the reply is over: it sends the next message.
                    refused = client.post("/v1/chat", json=chat_body(conversation_id, "hai"))
                    status = refused.status_code
                lock.rollback()
            if status is None:  # a server that announces the end only once the turn is closed
                stream.read_to_end()
        if status is None:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "hai")) as r:
                status = r.status_code
                if status == 200:
                    Stream(r).read_to_end()
    assert status == 200


class TestStop:
    def test_stop_keeps_the_partial_answer_and_the_history_valid(
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Để tôi tìm chuyến bay.")),
            Script(events=text_chunks("Được, hỏi lại nhé.")),
        )
        server = start_app(gated_registry(gate), **llm)
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                gate.wait_started()
                running = conversation(client, conversation_id)["running_turn_id"]
                assert running
                stopped = client.post(f"/v1/conversations/{conversation_id}/stop")
                assert stopped.status_code == 200, stopped.text
                assert stopped.json() == {"stopped_turn_id": running}
                records = stream.read_to_end()

            assert types(records)[-1] == "abort"
            assert "finish" not in types(records)
            assert records[-1].is_done
            assert_contiguous(records)
            assert gate.cancelled.wait(DEADLINE_S)

            detail = conversation(client, conversation_id)
            assert detail["running_turn_id"] is None
            answer = detail["messages"][-1]
            assert answer["role"] == "assistant"
            assert answer["metadata"]["aborted"] is True
            assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == [
                "Để tôi tìm chuyến bay."
            ]
            assert any(p["type"] == "tool-hold" for p in answer["parts"])

            again = client.post(f"/v1/conversations/{conversation_id}/stop")
            assert again.status_code == 200
            assert again.json() == {"stopped_turn_id": None}

            # The next message works: the history the model gets is valid (the fake provider
            # rejects an unanswered tool call with 400, which would end this turn with `error`).
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "thôi")) as r:
                after = Stream(r).read_to_end()
        assert types(after)[-1] == "finish"
        assert text_of(after) == "Được, hỏi lại nhé."
        history = provider.requests[-1]["json"]["messages"]
        assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
        # What the traveller saw, marked incomplete; the call that never returned is dropped.
        assert history[2] == {
            "role": "assistant",
            "content": "Để tôi tìm chuyến bay.\n\n[answer interrupted: the traveller stopped it]",
        }

    def test_stop_mid_answer_persists_exactly_what_was_streamed(
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        words = "một hai ba bốn năm sáu bảy tám chín mười mười một mười hai"
        provider.queue(
            Script(events=text_chunks(words), delay_s=0.15),
            Script(events=text_chunks("ok")),
        )
        server = start_app(**llm)
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "đếm")) as r:
                stream = Stream(r)
                stream.read_until(lambda _: text_of(stream.records).count(" ") >= 2)
                before_stop = text_of(stream.records)
                stopped = client.post(f"/v1/conversations/{conversation_id}/stop")
                assert stopped.json()["stopped_turn_id"]
                records = stream.read_to_end()
            detail = conversation(client, conversation_id)

        kinds = types(records)
        assert kinds[-3:] == ["text-end", "finish-step", "abort"]
        streamed = text_of(records)
        assert streamed.startswith(before_stop)
        assert len(streamed) < len(words)
        answer = detail["messages"][-1]
        assert answer["metadata"]["aborted"] is True
        texts = [p for p in answer["parts"] if p["type"] == "text"]
        assert texts == [{"type": "text", "text": streamed, "state": "done"}]
