"""Turns over real HTTP: the UI message stream, heartbeats, disconnect and resume, stop, restarts,
and following a turn that another server runs."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx2
import psycopg
import pytest

from booking.db.engine import libpq_url
from tests.e2e.conftest import SpawnServer, StartServer
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import (
    DEADLINE_S,
    Gate,
    RunningServer,
    SSERecord,
    Stream,
    assert_contiguous,
    call_chunks,
    chat_body,
    conversation,
    gated_registry,
    new_id,
    replay,
    slow_registry,
    wait_for,
    wait_idle,
    wire,
)

BOOK = "Đặt vé SGN → HAN ngày 15/6"
SSE_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def types(records: list[SSERecord]) -> list[str | None]:
    return [r.type for r in records if r.data is not None and not r.is_done]


def assert_stream_headers(response: httpx2.Response) -> None:
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    for name, value in SSE_HEADERS.items():
        assert response.headers[name] == value, (name, response.headers)


def text_of(records: list[SSERecord]) -> str:
    return "".join(r.part["delta"] for r in records if r.type == "text-delta")


def of_turn(records: list[SSERecord], first_seq: int) -> list[SSERecord]:
    """The events of the turn starting at ``first_seq`` (and the closing ``[DONE]``)."""
    return [r for r in records if r.is_done or (r.id is not None and r.seq >= first_seq)]


class TestFullTurn:
    def test_chat_streams_a_complete_ui_message(self, server: RunningServer, key: str) -> None:
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

    def test_send_message_as_json_then_as_stream(self, server: RunningServer, key: str) -> None:
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


def test_a_message_right_after_done_is_accepted(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any], seeded_url: str
) -> None:
    """useChat may send the next message as soon as a stream ends; it must not be refused."""
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})),
        Script(events=text_chunks("Một.")),
        Script(events=text_chunks("Hai.")),
    )
    server = start(gated_registry(gate), **llm)
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
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Để tôi tìm chuyến bay.")),
            Script(events=text_chunks("Được, hỏi lại nhé.")),
        )
        server = start(gated_registry(gate), **llm)
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
        roles = [m["role"] for m in provider.requests[-1]["json"]["messages"]]
        assert roles == ["system", "user", "assistant", "tool", "user"]

    def test_stop_mid_answer_persists_exactly_what_was_streamed(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        words = "một hai ba bốn năm sáu bảy tám chín mười mười một mười hai"
        provider.queue(
            Script(events=text_chunks(words), delay_s=0.15),
            Script(events=text_chunks("ok")),
        )
        server = start(**llm)
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


class TestRestart:
    """A server stops between a client's disconnect and its resume on another server."""

    def test_interrupted_turn_resumes_on_the_next_server(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Đang tìm.")),
            Script(events=text_chunks("Chào lại.")),
        )
        server_a = start(gated_registry(gate), shutdown_grace_s=0.2, **llm)
        conversation_id = new_id()
        with server_a.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                seen = stream.parts
            gate.wait_started()
        server_a.stop()  # the gate never opens: the turn outlives the grace period
        assert gate.cancelled.is_set()

        server_b = start(**llm)
        last = seen[-1].seq
        with server_b.client(key) as client:
            resumed = replay(client, conversation_id, after=None, last_event_id=last)
            full = replay(client, conversation_id)
            detail = wait_idle(client, conversation_id)

            kinds = types(resumed)
            assert kinds[-2:] == ["message-metadata", "error"]
            assert resumed[-3].part["messageMetadata"]["error"] == {
                "code": "turn_interrupted",
                "retryable": True,
            }
            assert resumed[-2].part["errorText"]
            assert wire(seen) + wire(resumed) == wire(full)
            assert_contiguous(seen + resumed)
            assert detail["messages"][-1]["metadata"]["error"]["code"] == "turn_interrupted"

            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "lại")) as r:
                after = Stream(r).read_to_end()
        assert after[0].seq == full[-2].seq + 1
        assert types(after)[-1] == "finish"
        assert text_of(after) == "Chào lại."

    def test_graceful_stop_lets_the_turn_finish_then_resume_elsewhere(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"})),
            Script(events=text_chunks("Kịp xong trước khi tắt.")),
        )
        server_a = start(gated_registry(gate), shutdown_grace_s=DEADLINE_S, **llm)
        conversation_id = new_id()
        with server_a.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                seen = stream.parts
            gate.wait_started()
        stopping = threading.Thread(target=server_a.stop)
        stopping.start()
        wait_for(lambda: server_a.turns.closing)
        gate.open()  # during the grace period
        stopping.join(DEADLINE_S * 2)
        assert server_a.stopped

        server_b = start(**llm)
        with server_b.client(key) as client:
            resumed = replay(client, conversation_id, after=seen[-1].seq)
            full = replay(client, conversation_id)
        assert types(resumed)[-1] == "finish"
        assert text_of(resumed) == "Kịp xong trước khi tắt."
        assert wire(seen) + wire(resumed) == wire(full)
        assert_contiguous(full)

    def test_interrupted_mid_answer_closes_its_text(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        provider.queue(Script(events=text_chunks("một hai ba bốn năm sáu bảy tám"), delay_s=0.2))
        server_a = start(shutdown_grace_s=0.1, **llm)
        conversation_id = new_id()
        with server_a.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "đếm")) as r:
                Stream(r).read_type("text-delta")
        server_a.stop()
        server_b = start(**llm)
        with server_b.client(key) as client:
            full = replay(client, conversation_id)
            detail = conversation(client, conversation_id)
        assert types(full)[-2:] == ["message-metadata", "error"]
        kinds = types(full)
        assert "text-end" in kinds
        assert "finish-step" in kinds
        texts = [p for p in detail["messages"][-1]["parts"] if p["type"] == "text"]
        assert texts
        assert all(p["state"] == "done" for p in texts)


class TestAcrossServers:
    def test_a_turn_on_one_server_is_followed_live_through_another(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"})),
            # Spaced chunks: each is persisted and NOTIFYed on its own.
            Script(events=text_chunks("một hai ba bốn năm"), delay_s=0.3),
        )
        server_a = start(gated_registry(gate), **llm)
        server_b = start(**llm)
        conversation_id = new_id()
        with server_a.client(key) as on_a, server_b.client(key) as on_b:
            with on_a.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
                original = Stream(r)
                original.read_type("tool-input-available")
                gate.wait_started()

                with on_b.stream("GET", f"/v1/conversations/{conversation_id}/events") as rb:
                    assert_stream_headers(rb)
                    followed = Stream(rb)
                    followed.read_type("tool-input-available")
                    assert conversation(on_b, conversation_id)["running_turn_id"] is not None
                    gate.open()
                    records = followed.read_to_end()
                all_on_a = original.read_to_end()

        assert wire(records) == wire(all_on_a)
        assert types(records)[-1] == "finish"
        # Woken by NOTIFY, not by the 1 s fallback poll: deltas arrive as they are written.
        arrivals = [r.at for r in followed.records if r.type == "text-delta"]
        assert len(arrivals) == 5
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
        assert max(gaps) < 0.75, gaps

    def test_stop_through_another_server_cancels_the_turn(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(Script(events=call_chunks("c1", "hold", {"label": "a"}, text="Đợi.")))
        server_a = start(gated_registry(gate), **llm)
        server_b = start(**llm)
        conversation_id = new_id()
        with server_a.client(key) as on_a, server_b.client(key) as on_b:
            with on_a.stream("POST", "/v1/chat", json=chat_body(conversation_id, "tìm")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                gate.wait_started()
                running = conversation(on_b, conversation_id)["running_turn_id"]
                stopped = on_b.post(f"/v1/conversations/{conversation_id}/stop")
                assert stopped.json() == {"stopped_turn_id": running}
                records = stream.read_to_end()
            detail = wait_idle(on_b, conversation_id)
        assert types(records)[-1] == "abort"
        assert gate.cancelled.is_set()
        assert detail["messages"][-1]["metadata"]["aborted"] is True


class TestCrash:
    """A server process dies (SIGKILL) mid-turn: no shutdown, its lease is left to expire, and a
    surviving server's sweeper closes the turn with a retryable error."""

    def test_a_survivor_closes_the_crashed_turn_and_resume_ends_with_the_error(
        self, spawn: SpawnServer, start: StartServer, key: str
    ) -> None:
        crashed = spawn(offline_pace_ms=200, turn_lease_s=1)
        conversation_id = new_id()
        with (
            crashed.client(key) as client,
            client.stream("POST", "/v1/chat", json=chat_body(conversation_id, BOOK)) as r,
        ):
            stream = Stream(r)
            stream.read_type("text-delta")
            seen = stream.parts
            # What the client saw is stored (for when it is not, see the next test).
            wait_for(lambda: conversation(client, conversation_id)["last_event_id"] >= seen[-1].seq)
            crashed.kill()

        survivor = start(turn_lease_s=1.0)
        with survivor.client(key) as client:
            # Started while the dead process's turn is still "running": it follows until the
            # sweeper closes it.
            resumed = replay(client, conversation_id, after=None, last_event_id=seen[-1].seq)
            full = replay(client, conversation_id)
            assert wait_idle(client, conversation_id)["running_turn_id"] is None
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Thời tiết Đà Nẵng")
            ) as r:
                after = Stream(r).read_to_end()

        assert types(resumed)[-2:] == ["message-metadata", "error"]
        assert resumed[-3].part["messageMetadata"]["error"] == {
            "code": "turn_interrupted",
            "retryable": True,
        }
        assert wire(seen) + wire(resumed) == wire(full)
        assert_contiguous(seen + resumed)
        assert types(after)[-1] == "finish"
        assert after[0].seq == full[-2].seq + 1

    def test_no_part_is_streamed_before_it_is_stored(
        self, spawn: SpawnServer, start: StartServer, key: str, seeded_url: str
    ) -> None:
        crashed = spawn(offline_pace_ms=200, turn_lease_s=1)
        conversation_id = new_id()
        with (
            crashed.client(key) as client,
            client.stream("POST", "/v1/chat", json=chat_body(conversation_id, BOOK)) as r,
        ):
            stream = Stream(r)
            stream.read_type("text-delta")
            stored = stream.parts[-1].seq
            wait_for(lambda: conversation(client, conversation_id)["last_event_id"] >= stored)
            # Hold the conversation row: the server can no longer store this turn's parts.
            with psycopg.connect(libpq_url(seeded_url)) as lock:
                lock.execute(
                    "SELECT 1 FROM conversations WHERE id = %s FOR UPDATE", (conversation_id,)
                )
                deltas = len([p for p in stream.parts if p.type == "text-delta"])
                # Correct servers send nothing more now; the bug sends parts it has not stored.
                stream.read_for(
                    lambda _: (
                        len([p for p in stream.parts if p.type == "text-delta"]) >= deltas + 3
                    ),
                    timeout=1.5,
                )
                seen = stream.parts
                crashed.kill()
                lock.rollback()

        survivor = start(turn_lease_s=1.0)
        with survivor.client(key) as client:
            resumed = replay(client, conversation_id, after=None, last_event_id=seen[-1].seq)
            full = replay(client, conversation_id)
        assert wire(full)[: len(seen)] == wire(seen)  # no id now names another part
        assert types(resumed)[-2:] == ["message-metadata", "error"]
