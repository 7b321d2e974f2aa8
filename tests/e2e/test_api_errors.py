"""Every error the API returns, as ``application/problem+json`` with a stable ``code``, and model
provider failures as the stream's terminal parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.api import MakeKey, assert_problem, chat_body, conversation, new_id, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import InProcessApp, StartApp
from tests.support.sse import Stream
from tests.support.tools import Gate, call_chunks, gated_registry

SEARCH = "/v1/flights/search"


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/v1/conversations"),
            ("POST", "/v1/conversations"),
            ("POST", "/v1/chat"),
            ("GET", "/v1/chat/some-chat/stream"),
            ("GET", SEARCH),
            ("GET", "/v1/weather"),
            ("GET", "/v1/places"),
            ("GET", "/v1/models"),
        ],
    )
    def test_no_key_is_unauthorized(self, server: InProcessApp, method: str, path: str) -> None:
        with server.client() as client:
            response = client.request(method, path, json={} if method == "POST" else None)
        assert_problem(response, 401, "unauthorized")

    @pytest.mark.parametrize(
        "header",
        ["Bearer bk_not-a-real-key", "Bearer", "Basic dXNlcjpwYXNz", "bk_no_scheme"],
    )
    def test_wrong_key_is_unauthorized(self, server: InProcessApp, header: str) -> None:
        with server.client(headers={"authorization": header}) as client:
            assert_problem(client.get("/v1/conversations"), 401, "unauthorized")

    def test_a_key_must_match_exactly(self, server: InProcessApp, make_key: MakeKey) -> None:
        key = make_key()
        with server.client(key + "x") as client:
            assert_problem(client.get("/v1/conversations"), 401, "unauthorized")

    def test_auth_off_needs_no_key(self, start_app: StartApp) -> None:
        server = start_app(auth="off")
        conversation_id = new_id()
        with server.client() as client:
            assert client.get("/v1/conversations").status_code == 200
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Đặt vé SGN → HAN ngày 15/6")
            ) as response:
                assert response.status_code == 200
                records = Stream(response).read_to_end()
            assert records[-2].part == {"type": "finish", "finishReason": "stop"}
            assert client.get(f"/v1/conversations/{conversation_id}").status_code == 200


class TestValidation:
    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"messages": []}, id="no-id-and-no-messages"),
            pytest.param(
                {**chat_body("x", "hi"), "id": "bad id!"}, id="id-with-forbidden-characters"
            ),
            pytest.param({**chat_body("x", "hi"), "id": "a" * 65}, id="id-too-long"),
            pytest.param({"id": new_id(), "messages": []}, id="empty-messages"),
            pytest.param({**chat_body(new_id(), "hi"), "trigger": "nope"}, id="unknown-trigger"),
            pytest.param(
                {"id": new_id(), "messages": [{"role": "user", "parts": "not a list"}]},
                id="parts-not-a-list",
            ),
        ],
    )
    def test_chat_body_schema(self, server: InProcessApp, key: str, body: dict[str, Any]) -> None:
        with server.client(key) as client:
            problem = assert_problem(client.post("/v1/chat", json=body), 422, "validation_failed")
        assert problem["errors"]
        assert all({"loc", "msg", "type"} <= set(e) for e in problem["errors"])

    def test_chat_message_content(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            last_from_assistant = chat_body(new_id(), "hi")
            last_from_assistant["messages"][0]["role"] = "assistant"
            assert_problem(
                client.post("/v1/chat", json=last_from_assistant), 422, "validation_failed"
            )
            assert_problem(
                client.post("/v1/chat", json=chat_body(new_id(), "   ")), 422, "validation_failed"
            )
            no_text = chat_body(new_id(), "hi")
            no_text["messages"][0]["parts"] = [{"type": "file", "url": "x", "mediaType": "a/b"}]
            assert_problem(client.post("/v1/chat", json=no_text), 422, "validation_failed")
            broken = client.post(
                "/v1/chat", content=b'{"id": "x", ', headers={"content-type": "application/json"}
            )
            assert_problem(broken, 422, "validation_failed")

    def test_other_bodies_queries_and_headers(self, server: InProcessApp, key: str) -> None:
        conversation_id = new_id()
        with server.client(key) as client:
            assert client.post("/v1/conversations", json={"id": conversation_id}).status_code == 201
            cases = [
                client.post("/v1/conversations", json={"id": "has space"}),
                client.post("/v1/conversations", json={"unknown": 1}),
                client.post(f"/v1/conversations/{conversation_id}/messages", json={}),
                client.post(f"/v1/conversations/{conversation_id}/messages", json={"text": ""}),
                client.post(
                    f"/v1/conversations/{conversation_id}/messages", json={"text": "a", "x": 1}
                ),
                client.get(
                    f"/v1/conversations/{conversation_id}/events",
                    headers={"last-event-id": "abc"},
                ),
                client.get(f"/v1/conversations/{conversation_id}/events", params={"after": -1}),
                client.get("/v1/conversations", params={"limit": 0}),
                client.get("/v1/conversations", params={"limit": 101}),
                client.get("/v1/conversations", params={"cursor": "not-a-cursor"}),
                client.get(SEARCH, params={"from_city": "SGN", "to_city": "HAN"}),
                client.get(
                    SEARCH,
                    params={
                        "from_city": "SGN",
                        "to_city": "HAN",
                        "date": "2026-06-15",
                        "passengers": 0,
                    },
                ),
                client.get(
                    SEARCH,
                    params={
                        "from_city": "SGN",
                        "to_city": "HAN",
                        "date": "2026-06-15",
                        "cabin": "first",
                    },
                ),
                client.get("/v1/places", params={"q": ""}),
            ]
        for response in cases:
            assert_problem(response, 422, "validation_failed")


class TestLimits:
    def test_message_too_long(self, start_app: StartApp, key: str) -> None:
        server = start_app(max_message_chars=10)
        conversation_id = new_id()
        with server.client(key) as client:
            too_long = client.post("/v1/chat", json=chat_body(conversation_id, "x" * 11))
            assert assert_problem(too_long, 422, "message_too_long")["limit"] == 10
            assert client.get(f"/v1/conversations/{conversation_id}").status_code == 404
            assert client.post("/v1/conversations", json={"id": conversation_id}).status_code == 201
            assert_problem(
                client.post(
                    f"/v1/conversations/{conversation_id}/messages", json={"text": "y" * 11}
                ),
                422,
                "message_too_long",
            )
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "x" * 10)
            ) as at_limit:
                assert at_limit.status_code == 200
                Stream(at_limit).read_to_end()

    def test_message_limit_is_the_configured_one(self, start_app: StartApp, key: str) -> None:
        server = start_app(max_message_chars=6000)
        text = "Đặt vé SGN → HAN ngày 15/6. " + "x" * 4500
        conversation_id = new_id()
        with server.client(key) as client:
            assert client.post("/v1/conversations", json={"id": conversation_id}).status_code == 201
            response = client.post(
                f"/v1/conversations/{conversation_id}/messages",
                json={"text": text},
                headers={"accept": "application/json"},
            )
        assert response.status_code == 200, response.text

    def test_only_messages_are_too_long_messages(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            title = client.post("/v1/conversations", json={"title": "t" * 201})
            city = client.get(
                SEARCH, params={"from_city": "S" * 101, "to_city": "HAN", "date": "2026-06-15"}
            )
        assert_problem(title, 422, "validation_failed")
        assert_problem(city, 422, "validation_failed")

    def test_body_too_large_with_content_length(self, start_app: StartApp, key: str) -> None:
        server = start_app(max_body_bytes=1024)
        body = chat_body(new_id(), "x" * 2000)
        with server.client(key) as client:
            response = client.post("/v1/chat", json=body)
            unauthenticated = client.post("/v1/chat", json=body, headers={"authorization": ""})
        assert_problem(response, 413, "body_too_large")
        assert_problem(unauthenticated, 413, "body_too_large")

    def test_body_too_large_without_content_length(self, start_app: StartApp, key: str) -> None:
        server = start_app(max_body_bytes=1024)
        conversation_id = new_id()

        def chunked() -> Iterator[bytes]:
            yield b'{"id": "' + conversation_id.encode() + b'", "messages": [{"role": "user", '
            yield b'"parts": [{"type": "text", "text": "' + b"x" * 2000 + b'"}]}]}'

        with server.client(key) as client:
            response = client.post(
                "/v1/chat", content=chunked(), headers={"content-type": "application/json"}
            )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "body_too_large")

    def test_small_chunked_bodies_pass(self, start_app: StartApp, key: str) -> None:
        server = start_app(max_body_bytes=1024)

        def chunked() -> Iterator[bytes]:
            yield b'{"title": '
            yield b'"chunked"}'

        with server.client(key) as client:
            response = client.post(
                "/v1/conversations", content=chunked(), headers={"content-type": "application/json"}
            )
        assert response.status_code == 201, response.text
        assert response.json()["title"] == "chunked"

    def test_rate_limited_per_key(self, start_app: StartApp, make_key: MakeKey) -> None:
        server = start_app(rate_limit_per_minute=3)
        key, other = make_key(), make_key()
        with server.client(key) as client, server.client(other) as other_client:
            for _ in range(3):
                assert client.get("/v1/conversations").status_code == 200
            limited = client.get("/v1/conversations")
            assert other_client.get("/v1/conversations").status_code == 200
        assert_problem(limited, 429, "rate_limited")
        retry_after = limited.headers["retry-after"]
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= 60

    def test_server_busy_past_capacity(
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"})),
            Script(events=text_chunks("ok")),
        )
        server = start_app(gated_registry(gate), max_running_turns=1, **llm)
        busy_id, other_id, existing_id = new_id(), new_id(), new_id()
        with server.client(key) as client:
            assert client.post("/v1/conversations", json={"id": existing_id}).status_code == 201
            with client.stream("POST", "/v1/chat", json=chat_body(busy_id, "chờ")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                gate.wait_started()

                refused = client.post("/v1/chat", json=chat_body(other_id, "tôi nữa"))
                assert_problem(refused, 503, "server_busy")
                assert refused.headers["retry-after"] == "1"
                assert client.get(f"/v1/conversations/{other_id}").status_code == 404
                also_refused = client.post(
                    f"/v1/conversations/{existing_id}/messages", json={"text": "tôi nữa"}
                )
                assert_problem(also_refused, 503, "server_busy")
                gate.open()
                stream.read_to_end()
            wait_idle(client, busy_id)
            metrics = client.get("/metrics").text
            with client.stream("POST", "/v1/chat", json=chat_body(other_id, "giờ thì sao")) as r:
                assert r.status_code == 200
                assert Stream(r).read_to_end()[-2].type == "finish"
        assert "booking_turns_rejected_total 2.0" in metrics

    def test_turn_running_conflict(
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        gate = Gate.new()
        provider.queue(
            Script(events=call_chunks("c1", "hold", {"label": "a"})),
            Script(events=text_chunks("ok")),
        )
        server = start_app(gated_registry(gate), **llm)
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "một")) as r:
                stream = Stream(r)
                stream.read_type("tool-input-available")
                running = conversation(client, conversation_id)["running_turn_id"]
                assert running

                via_messages = client.post(
                    f"/v1/conversations/{conversation_id}/messages", json={"text": "hai"}
                )
                assert (
                    assert_problem(via_messages, 409, "turn_running")["running_turn_id"] == running
                )
                via_chat = client.post("/v1/chat", json=chat_body(conversation_id, "hai"))
                assert assert_problem(via_chat, 409, "turn_running")["running_turn_id"] == running
                gate.open()
                stream.read_to_end()
            detail = wait_idle(client, conversation_id)
        # The refused messages left no trace in the history.
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]


class TestNotFound:
    def test_unknown_conversation(self, server: InProcessApp, key: str) -> None:
        unknown = new_id()
        path = f"/v1/conversations/{unknown}"
        with server.client(key) as client:
            responses = [
                client.get(path),
                client.delete(path),
                client.post(f"{path}/messages", json={"text": "hi"}),
                client.get(f"{path}/events"),
                client.post(f"{path}/stop"),
            ]
            assert client.get(f"/v1/chat/{unknown}/stream").status_code == 204
        for response in responses:
            assert assert_problem(response, 404, "not_found")["conversation_id"] == unknown

    def test_unknown_route_and_method(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
            assert_problem(client.get("/static/nothing-here.js"), 404, "not_found")
            page = client.get("/")
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert_problem(client.delete(SEARCH), 405, "method_not_allowed")


class TestDomainErrors:
    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"from_city": "Atlantis", "to_city": "Hà Nội", "date": "2026-06-15"}, "unknown_place"),
            ({"from_city": "SGN", "to_city": "Hà Nội", "date": "2026-05-01"}, "date_in_past"),
            ({"from_city": "SGN", "to_city": "Sài Gòn", "date": "2026-06-15"}, "same_origin_destination"),
            ({"from_city": "SGN", "to_city": "HAN", "date": "2028-06-15"}, "date_beyond_horizon"),
            ({"from_city": "SGN", "to_city": "HAN", "date": "someday"}, "invalid_date"),
        ],
    )  # fmt: skip
    def test_flight_search(
        self, server: InProcessApp, key: str, params: dict[str, str], code: str
    ) -> None:
        with server.client(key) as client:
            assert_problem(client.get(SEARCH, params=params), 422, code)

    def test_unknown_place_names_suggestions(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            problem = assert_problem(
                client.get(
                    SEARCH, params={"from_city": "Atlantis", "to_city": "HAN", "date": "2026-06-15"}
                ),
                422,
                "unknown_place",
            )
        assert problem["query"] == "Atlantis"
        assert isinstance(problem["suggestions"], list)

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"city": "Atlantis"}, "unknown_place"),
            ({"city": "Huế", "date": "2026-05-01"}, "date_in_past"),
        ],
    )
    def test_weather(
        self, server: InProcessApp, key: str, params: dict[str, str], code: str
    ) -> None:
        with server.client(key) as client:
            assert_problem(client.get("/v1/weather", params=params), 422, code)


class TestUpstream:
    @pytest.mark.parametrize(
        ("script", "code", "retryable"),
        [
            pytest.param(
                Script(status=401, json_body={"error": {"message": "Incorrect API key provided"}}),
                "upstream_auth",
                False,
                id="refused-credentials",
            ),
            pytest.param(
                Script(status=503, json_body={"error": {"message": "overloaded"}}),
                "upstream_unavailable",
                True,
                id="unavailable",
            ),
            pytest.param(
                Script(status=404, json_body={"error": {"message": "no such model"}}),
                "upstream_bad_request",
                False,
                id="unknown-model",
            ),
        ],
    )
    def test_provider_failure_ends_the_stream_with_an_error(
        self,
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        script: Script,
        code: str,
        retryable: bool,
    ) -> None:
        provider.queue(script)
        server = start_app(**llm)
        conversation_id = new_id()
        with server.client(key) as client:
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "hi")) as r:
                assert r.status_code == 200  # the failure is in the stream, after `start`
                records = Stream(r).read_to_end()
            detail = wait_idle(client, conversation_id)
            metrics = client.get("/metrics").text

        kinds = [r.type for r in records[:-1]]
        assert kinds == ["start", "message-metadata", "error"]
        metadata = records[1].part["messageMetadata"]
        assert metadata["error"] == {"code": code, "retryable": retryable}
        assert metadata["usage"]["modelCalls"] == 0
        assert records[2].part["errorText"]
        assert records[-1].is_done
        answer = detail["messages"][-1]
        assert answer["metadata"]["error"]["code"] == code
        assert answer["metadata"]["errorText"] == records[2].part["errorText"]
        assert 'booking_turns_total{status="failed"} 1.0' in metrics
        assert f'booking_upstream_errors_total{{code="{code}"}} 1.0' in metrics
