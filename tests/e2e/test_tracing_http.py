"""OpenTelemetry over HTTP: a client's W3C ``traceparent`` continues its trace through the HTTP
server span into the turn's spans; with no OTLP endpoint nothing is traced and no middleware is
installed; with one, the spans reach an OTLP/HTTP collector (a stub on 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from booking import telemetry
from tests.support.api import chat_body, new_id
from tests.support.in_process import InProcessApp, StartApp
from tests.support.sse import Stream
from tests.support.waits import wait_for

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"
TEXT = "thời tiết Đà Nẵng ngày mai"


def chat(app: InProcessApp, key: str, headers: dict[str, str] | None = None) -> None:
    with (
        app.client(key, headers=headers or {}) as client,
        client.stream("POST", "/v1/chat", json=chat_body(new_id(), TEXT)) as response,
    ):
        assert response.status_code == 200
        events = Stream(response).read_to_end()
    assert events[-2].type == "finish"


def middleware(app: InProcessApp) -> list[Any]:
    return [m.cls for m in app.app.user_middleware]


def test_a_traceparent_continues_the_trace_into_the_turn(
    start_app: StartApp, key: str, exporter: InMemorySpanExporter
) -> None:
    app = start_app()
    assert OpenTelemetryMiddleware in middleware(app)
    chat(app, key, {"traceparent": TRACEPARENT})

    def turn_span() -> Any:
        spans = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent booking"]
        return spans[0] if spans else None

    turn = wait_for(turn_span)
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.name == "POST /v1/chat"
    assert server.context.trace_id == TRACE_ID
    assert server.parent is not None
    assert server.parent.span_id == PARENT_ID
    assert server.parent.is_remote
    assert turn.context.trace_id == TRACE_ID
    assert turn.parent is not None
    assert turn.parent.span_id == server.context.span_id
    chats = [s for s in spans if s.name.startswith("chat ")]
    tools = [s for s in spans if s.name.startswith("execute_tool ")]
    assert chats
    assert tools
    for span in chats + tools:
        assert span.context.trace_id == TRACE_ID
        assert span.parent is not None
        assert span.parent.span_id == turn.context.span_id
    assert {dict(s.attributes or {})["gen_ai.provider.name"] for s in chats} == {
        "booking.offline_model"
    }
    assert {s.name for s in tools} == {"execute_tool get_weather"}
    # Health checks are not traced.
    with app.client() as client:
        assert client.get("/healthz").status_code == 200
    assert not [s for s in exporter.get_finished_spans() if "healthz" in s.name]


def test_without_an_endpoint_nothing_is_traced(start_app: StartApp, key: str) -> None:
    assert not telemetry.enabled()
    app = start_app()
    assert OpenTelemetryMiddleware not in middleware(app)
    assert isinstance(telemetry.tracer(), trace.NoOpTracer)
    chat(app, key, {"traceparent": TRACEPARENT})
    assert not telemetry.enabled()


class Collector(ThreadingHTTPServer):
    """A stub OTLP/HTTP collector: keeps every export request it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.paths.append(self.path)
        self.server.requests.append(ExportTraceServiceRequest.FromString(body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_with_an_endpoint_spans_are_exported_over_otlp_http(
    start_app: StartApp, key: str, collector: Collector
) -> None:
    assert not telemetry.enabled()
    app = start_app(otel_exporter_otlp_endpoint=f"http://127.0.0.1:{collector.server_port}")
    assert telemetry.enabled()
    assert OpenTelemetryMiddleware in middleware(app)
    chat(app, key)
    app.close()  # Shuts the provider down, which flushes its batch.
    assert not telemetry.enabled()

    assert set(collector.paths) == {"/v1/traces"}
    names: set[str] = set()
    for request in collector.requests:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "booking"
            for scope_spans in resource_spans.scope_spans:
                names |= {span.name for span in scope_spans.spans}
    assert {"POST /v1/chat", "invoke_agent booking", "execute_tool get_weather"} <= names
    assert any(name.startswith("chat ") for name in names)
