"""Admission control first, over the real server (``booking.api.server`` answers at the edge):
past capacity, a request that would start a turn is refused with ``503``, its problem code and
``Retry-After`` before auth, before its body is read and before the database is touched; other
requests are served as usual. The in-process app (the ASGI middleware's path) is covered by
``test_api_errors.py::test_server_busy_past_capacity``."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.support.api import assert_problem, chat_body, new_id, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import StartServer
from tests.support.sse import Stream
from tests.support.tools import Gate, call_chunks, gated_registry


def assert_busy(response: httpx2.Response) -> None:
    assert_problem(response, 503, "server_busy")
    assert response.headers["retry-after"] == "1"


def test_past_capacity_new_turns_are_refused_first(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})),
        Script(events=text_chunks("ok")),
    )
    server = start(gated_registry(gate), max_running_turns=1, **llm)
    busy_id, other_id = new_id(), new_id()
    with server.client(key) as client, server.client() as anonymous:
        assert client.post("/v1/conversations", json={"id": other_id}).status_code == 201
        with client.stream("POST", "/v1/chat", json=chat_body(busy_id, "chờ")) as r:
            stream = Stream(r)
            stream.read_type("tool-input-available")
            gate.wait_started()

            # Before auth and before the body: no key and a body that is not JSON.
            assert_busy(anonymous.post("/v1/chat", content=b"{not json"))
            # A real one: refused, and nothing of it is stored.
            assert_busy(client.post("/v1/chat", json=chat_body(new_id(), "tôi nữa")))
            assert_busy(
                client.post(f"/v1/conversations/{other_id}/messages", json={"text": "tôi nữa"})
            )
            # An approval decision continues a turn: refused before it is recorded.
            assert_busy(
                client.post(
                    f"/v1/conversations/{busy_id}/approvals/appr_x", json={"approved": True}
                )
            )
            messages = client.get(f"/v1/conversations/{other_id}").json()["messages"]
            assert messages == []
            # Whatever starts no turn is served as usual.
            assert client.get("/healthz").status_code == 200
            assert client.get(f"/v1/conversations/{busy_id}").status_code == 200
            gate.open()
            assert stream.read_to_end()[-2].type == "finish"
        wait_idle(client, busy_id)
        metrics = client.get("/metrics").text
        with client.stream("POST", "/v1/chat", json=chat_body(other_id, "giờ thì sao")) as r:
            assert r.status_code == 200
            assert Stream(r).read_to_end()[-2].type == "finish"
    assert "booking_turns_rejected_total 4.0" in metrics
