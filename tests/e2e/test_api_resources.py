"""Conversations (create, list, read, delete), tenant isolation, the travel endpoints and the
operational ones (health, readiness, metrics, models), through the API, in process."""

from __future__ import annotations

import re
from typing import Any

from tests.support.api import MakeKey, assert_problem, chat_body, conversation, new_id, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import InProcessApp, StartApp
from tests.support.sse import Stream
from tests.support.tools import Gate, call_chunks, gated_registry
from tests.support.waits import wait_for

BOOK = "Đặt vé SGN → HAN ngày 15/6"


class TestConversations:
    def test_create_read_delete(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            generated = client.post("/v1/conversations", json={})
            assert generated.status_code == 201, generated.text
            body = generated.json()
            assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
            assert body["title"] is None
            assert body["last_event_id"] == 0
            assert body["created_at"]
            assert body["updated_at"]

            chosen = new_id()
            created = client.post(
                "/v1/conversations", json={"id": chosen, "title": "Chuyến đi Hà Nội"}
            )
            assert created.status_code == 201
            assert created.json()["id"] == chosen
            assert created.json()["title"] == "Chuyến đi Hà Nội"
            duplicate = client.post("/v1/conversations", json={"id": chosen})
            assert (
                assert_problem(duplicate, 409, "conversation_exists")["conversation_id"] == chosen
            )

            detail = conversation(client, chosen)
            assert detail["messages"] == []
            assert detail["running_turn_id"] is None
            assert detail["title"] == "Chuyến đi Hà Nội"

            deleted = client.delete(f"/v1/conversations/{chosen}")
            assert deleted.status_code == 204
            assert deleted.content == b""
            assert_problem(client.get(f"/v1/conversations/{chosen}"), 404, "not_found")
            assert_problem(client.delete(f"/v1/conversations/{chosen}"), 404, "not_found")
            # The generated one is untouched.
            assert client.get(f"/v1/conversations/{body['id']}").status_code == 200

    def test_transcript_holds_ui_messages(self, server: InProcessApp, key: str) -> None:
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, BOOK, message_id="user-1")
            ) as response:
                records = Stream(response).read_to_end()
            detail = wait_idle(client, conversation_id)

        assert detail["title"] == BOOK
        assert detail["last_event_id"] == records[-2].seq
        user, assistant = detail["messages"]
        assert user == {"id": "user-1", "role": "user", "parts": [{"type": "text", "text": BOOK}]}
        assert assistant["role"] == "assistant"
        assert assistant["id"] == records[0].part["messageId"]
        kinds = [p["type"] for p in assistant["parts"]]
        assert kinds == ["step-start", "tool-search_flights", "step-start", "text"]
        tool = assistant["parts"][1]
        assert tool["state"] == "output-available"
        assert tool["input"]["from_city"] == "SGN"
        assert tool["output"]["flights"]
        text = assistant["parts"][3]
        assert text["state"] == "done"
        assert tool["output"]["flights"][0]["flight_number"] in text["text"]
        assert assistant["metadata"]["finishReason"] == "stop"
        assert assistant["metadata"]["usage"]["modelCalls"] == 2

    def test_list_pages_newest_first_without_duplicates(
        self, server: InProcessApp, key: str
    ) -> None:
        with server.client(key) as client:  # a tenant of its own: only these conversations
            created = []
            for i in range(5):
                response = client.post("/v1/conversations", json={"title": f"c{i}"})
                assert response.status_code == 201
                created.append(response.json()["id"])

            seen: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                params: dict[str, Any] = {"limit": 2}
                if cursor:
                    params["cursor"] = cursor
                page = client.get("/v1/conversations", params=params)
                assert page.status_code == 200, page.text
                body = page.json()
                assert len(body["items"]) <= 2
                seen += [item["id"] for item in body["items"]]
                pages += 1
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                assert pages < 10
            everything = client.get("/v1/conversations").json()

        assert pages == 3
        assert seen == list(reversed(created))
        assert len(set(seen)) == len(seen)
        assert [item["id"] for item in everything["items"]] == seen
        assert everything["next_cursor"] is None
        stamps = [item["updated_at"] for item in everything["items"]]
        assert stamps == sorted(stamps, reverse=True)

    def test_delete_stops_a_running_reply(
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(Script(events=call_chunks("c1", "hold", {"label": "a"})))
        server = start_app(gated_registry(gate), **llm)
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "x")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                gate.wait_started()
                assert client.delete(f"/v1/conversations/{conversation_id}").status_code == 204
                records = stream.read_to_end()
            assert_problem(client.get(f"/v1/conversations/{conversation_id}"), 404, "not_found")
        assert records[-2].type == "abort"
        assert gate.cancelled.is_set()


def test_tenants_cannot_see_each_others_conversations(
    start_app: StartApp, make_key: MakeKey, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    gate = Gate.new()
    provider.queue(
        Script(events=call_chunks("c1", "hold", {"label": "a"})), Script(events=text_chunks("ok"))
    )
    server = start_app(gated_registry(gate), **llm)
    key_a, key_b = make_key(), make_key()
    conversation_id = new_id()
    path = f"/v1/conversations/{conversation_id}"
    with server.client(key_a) as a, server.client(key_b) as b:
        with a.stream("POST", "/v1/chat", json=chat_body(conversation_id, "của A")) as r:
            stream = Stream(r)
            stream.read_type("tool-input-available")
            gate.wait_started()

            # While A's reply runs, B can neither read, join, stop, write to nor delete it.
            assert_problem(b.get(path), 404, "not_found")
            assert_problem(b.get(f"{path}/events"), 404, "not_found")
            assert_problem(b.post(f"{path}/messages", json={"text": "của B"}), 404, "not_found")
            assert_problem(b.post(f"{path}/stop"), 404, "not_found")
            assert_problem(b.delete(path), 404, "not_found")
            assert b.get(f"/v1/chat/{conversation_id}/stream").status_code == 204
            listed = b.get("/v1/conversations", params={"limit": 100}).json()
            assert conversation_id not in [item["id"] for item in listed["items"]]
            assert listed["items"] == []  # B's tenant has nothing at all
            # Ids are scoped per tenant: B chatting in the same id gets a conversation of its
            # own, as with an id nobody has, and sees nothing of A's.
            with b.stream("POST", "/v1/chat", json=chat_body(conversation_id, "của B")) as mine:
                assert mine.status_code == 200
                assert Stream(mine).read_to_end()[-2].type == "finish"
            theirs = wait_idle(b, conversation_id)
            assert [m["role"] for m in theirs["messages"]] == ["user", "assistant"]
            assert "của A" not in str(theirs)

            # A still sees and owns it.
            assert conversation(a, conversation_id)["running_turn_id"] is not None
            with a.stream("GET", f"/v1/chat/{conversation_id}/stream") as joined:
                assert joined.status_code == 200
            gate.open()
            records = stream.read_to_end()
        assert records[-2].type == "finish"
        detail = wait_idle(a, conversation_id)
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
        assert conversation_id in [
            item["id"] for item in a.get("/v1/conversations", params={"limit": 100}).json()["items"]
        ]


class TestTravelEndpoints:
    def test_flight_search(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get(
                "/v1/flights/search",
                params={"from_city": "SGN", "to_city": "Hà Nội", "date": "2026-06-15"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["query"]["from"]["airports"][0]["iata"] == "SGN"
        assert body["query"]["to"]["city"] == "Hà Nội"
        assert body["query"]["date"] == "2026-06-15"
        flights = body["flights"]
        assert 0 < len(flights) <= 10
        assert all(f["origin"] == "SGN" and f["destination"] == "HAN" for f in flights)
        assert all(f["departs_at"].startswith("2026-06-15") for f in flights)
        prices = [f["price_vnd"] for f in flights]
        assert prices == sorted(prices)

    def test_weather(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get("/v1/weather", params={"city": "Đà Nẵng"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["place"]["city"] == "Đà Nẵng"
        assert body["day"] == "2026-06-01"  # today, by the fixed clock
        assert body["temp_min_c"] <= body["temp_max_c"]
        assert body["is_climate_normal"] is False

    def test_places_autocomplete(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get("/v1/places", params={"q": "da n"})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        da_nang = next(item for item in items if item["city"] == "Đà Nẵng")
        assert {"iata": "DAD", "name": da_nang["airports"][0]["name"]} in da_nang["airports"]

    def test_models(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get("/v1/models")
        assert response.status_code == 200
        assert response.json() == [
            {
                "name": "offline",
                "model": "booking-offline",
                "base_url": "http://offline.invalid/v1",
                "primary": True,
            }
        ]


class TestOperations:
    def test_health_and_readiness_need_no_key(self, server: InProcessApp) -> None:
        with server.client() as client:
            health = client.get("/healthz")
            ready = client.get("/readyz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready"}

    def test_metrics_count_turns(self, start_app: StartApp, key: str) -> None:
        server = start_app()  # of its own: the counts start at zero
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(new_id(), BOOK)) as response:
                Stream(response).read_to_end()
            text = ""

            def counted() -> bool:
                nonlocal text
                response = client.get("/metrics")
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/plain")
                text = response.text
                return 'booking_turns_total{status="done"} 1.0' in text

            wait_for(counted)
        assert 'booking_tool_calls_total{outcome="ok",tool="search_flights"} 1.0' in text
        assert "booking_active_turns 0.0" in text
        assert "booking_model_ttft_seconds_count 2.0" in text

    def test_request_ids_are_echoed_or_generated(self, server: InProcessApp) -> None:
        with server.client() as client:
            echoed = client.get("/healthz", headers={"x-request-id": "trace-123"})
            generated = client.get("/healthz")
            failed = client.get("/v1/conversations")
        assert echoed.headers["x-request-id"] == "trace-123"
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
        assert failed.status_code == 401
        assert failed.headers["x-request-id"]
