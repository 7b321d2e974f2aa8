"""The SSE response over the real server: heartbeats on an idle stream from the one shared
timer, and a client that goes away releases its stream at once while its turn runs on."""

from __future__ import annotations

import re
from typing import Any

from tests.support.api import chat_body, conversation, new_id, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import RunningServer, StartServer
from tests.support.sse import Stream
from tests.support.tools import Gate, call_chunks, gated_registry
from tests.support.waits import wait_for


def open_streams(server: RunningServer) -> float:
    with server.client() as client:
        metrics = client.get("/metrics").text
    found = re.search(r"^booking_active_streams (\S+)$", metrics, re.MULTILINE)
    assert found, metrics
    return float(found.group(1))


def test_an_idle_stream_gets_heartbeats_and_a_client_that_leaves_releases_it(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})),
        Script(events=text_chunks("Vẫn xong.")),
    )
    server = start(gated_registry(gate), heartbeat_s=0.2, auth="off", **llm)
    conversation_id = new_id()
    with server.client(key) as client:
        with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "chờ")) as r:
            stream = Stream(r)
            stream.read_type("tool-input-available")
            gate.wait_started()
            idle_from = len(stream.records)
            for _ in range(3):  # Nothing but heartbeats while the tool waits.
                stream.read_until(lambda record: record.comment is not None, timeout=5)
            idle = stream.records[idle_from:]
            assert [(r.comment, r.id, r.data) for r in idle] == [("ping", None, None)] * 3
            assert open_streams(server) == 1
        # The client closed its response: the stream is released, the turn is not cancelled.
        wait_for(lambda: open_streams(server) == 0, timeout=5)
        assert conversation(client, conversation_id)["running_turn_id"] is not None
        assert not gate.cancelled.is_set()
        gate.open()
        detail = wait_idle(client, conversation_id)
    assert detail["messages"][-1]["metadata"]["finishReason"] == "stop"
    heartbeats = server.app.state.sse_heartbeats
    assert len(heartbeats) == 0  # The shared timer holds no stream that ended.
