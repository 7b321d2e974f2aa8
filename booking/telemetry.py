"""OpenTelemetry traces in the GenAI semantic conventions: the setup and the span helpers.

Off unless an OTLP endpoint is configured (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, read as :class:`~booking.settings.Settings` fields):
then spans go out over OTLP/HTTP through a ``BatchSpanProcessor``, and the SDK honours the other
standard variables itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER[_ARG]``, ``OTEL_EXPORTER_OTLP_HEADERS``/``_TIMEOUT``/``_COMPRESSION``,
``OTEL_BSP_*``). Otherwise :func:`tracer` is the API's no-op tracer and nothing is recorded.

The spans (semantic conventions v1.44.0, the GenAI attributes as generated in
``opentelemetry-semantic-conventions`` 0.66b2; ``docs/interop.md`` draws the tree)::

    invoke_agent booking          INTERNAL  one per turn (booking.turns.runner)
    ├── chat {model}              CLIENT    one per request to a model, retries included
    └── execute_tool {name}       INTERNAL  one per tool call (they overlap: tools run in parallel)

A leaf: it imports nothing of ours but the settings. The provider is the process's (installed
once by the composition root, or by a test), not the API's global one, so tests can swap it.
Message text and tool arguments are recorded only with ``BOOKING_OTEL_CAPTURE_CONTENT``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from booking import __version__
from booking.settings import Settings

#: The semantic conventions these spans follow (the schema of the installed package).
SEMCONV_VERSION = "1.44.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
AGENT_NAME = "booking"
TURN_ID = "booking.turn.id"
TURN_STATUS = "booking.turn.status"
MODEL_NAME = "booking.model.name"
"""Our name for the model (the key in the model table), next to the provider's id."""
MODEL_API = "booking.model.api"
TOOL_OUTCOME = "booking.tool.outcome"
"""``ok`` or the tool error's stable code (as the Prometheus metric's ``outcome`` label)."""
RESEND_COUNT = "http.request.resend_count"
"""Set on the retries of a model call (1 on the second attempt), as in the HTTP conventions."""

#: Hosts whose provider the conventions name; any other OpenAI-compatible endpoint is ``openai``
#: (the protocol it speaks) with ``server.address`` telling which server it is.
_PROVIDERS = {
    "api.openai.com": "openai",
    "openai.azure.com": "azure.ai.openai",
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "generativelanguage.googleapis.com": "gcp.gemini",
}


class _State:
    provider: TracerProvider | None = None
    tracer: Tracer = trace.NoOpTracer()
    capture_content: bool = False


def install(provider: TracerProvider | None, *, capture_content: bool = False) -> None:
    """Make ``provider`` the one our spans go to (None: tracing off, the no-op tracer)."""
    _State.provider = provider
    _State.capture_content = capture_content and provider is not None
    _State.tracer = (
        provider.get_tracer("booking", __version__, schema_url=SCHEMA_URL)
        if provider is not None
        else trace.NoOpTracer()
    )


def enabled() -> bool:
    return _State.provider is not None


def provider() -> TracerProvider | None:
    return _State.provider


def tracer() -> Tracer:
    return _State.tracer


def capture_content() -> bool:
    return _State.capture_content


def traces_endpoint(settings: Settings) -> str | None:
    """Where spans go, as the OTLP/HTTP exporter resolves it: the traces endpoint as is, else
    the base endpoint plus ``v1/traces``; None when neither is set or the SDK is disabled."""
    if settings.otel_sdk_disabled:
        return None
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def from_settings(settings: Settings) -> TracerProvider | None:
    """A provider exporting over OTLP/HTTP, or None when no endpoint is configured."""
    endpoint = traces_endpoint(settings)
    if endpoint is None:
        return None
    # Imported here: only a process that exports pays for the exporter's imports.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; "booking" only when
    # neither names the service (the SDK's fallback is "unknown_service").
    resource = Resource.create()
    defaults: dict[str, str] = {}
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        defaults[SERVICE_NAME] = "booking"
    if SERVICE_VERSION not in resource.attributes:
        defaults[SERVICE_VERSION] = __version__
    resource = resource.merge(Resource(defaults))
    provider = TracerProvider(resource=resource)  # The sampler: OTEL_TRACES_SAMPLER[_ARG].
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def setup(settings: Settings) -> TracerProvider | None:
    """Install a provider from the settings unless one is installed already (a test's); return
    the provider this call created (the caller shuts it down), or None."""
    if enabled():
        return None
    created = from_settings(settings)
    if created is not None:
        install(created, capture_content=settings.otel_capture_content)
    return created


def shutdown(created: TracerProvider | None) -> None:
    """Flush and stop a provider :func:`setup` created, and turn tracing off."""
    if created is None:
        return
    if _State.provider is created:
        install(None)
    created.shutdown()


# Spans --------------------------------------------------------------------------------------


def start_turn(conversation_id: str, turn_id: str, parent: Context | None) -> Span:
    """The turn's span, child of the span current when the turn began (the HTTP request's)."""
    return _State.tracer.start_span(
        f"invoke_agent {AGENT_NAME}",
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes={
            gen_ai.GEN_AI_OPERATION_NAME: "invoke_agent",
            gen_ai.GEN_AI_AGENT_NAME: AGENT_NAME,
            gen_ai.GEN_AI_CONVERSATION_ID: conversation_id,
            TURN_ID: turn_id,
        },
    )


def end_turn(
    span: Span,
    status: str,
    error_code: str | None,
    usage: dict[str, Any] | None,
) -> None:
    """``status`` as stored on the turn (done, awaiting_approval, failed, cancelled,
    interrupted); failed and interrupted turns are errors with ``error.type`` = the code."""
    if span.is_recording():
        span.set_attribute(TURN_STATUS, status)
        if usage:
            span.set_attribute(gen_ai.GEN_AI_USAGE_INPUT_TOKENS, int(usage["prompt_tokens"]))
            span.set_attribute(gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS, int(usage["completion_tokens"]))
            if usage.get("models"):
                span.set_attribute(gen_ai.GEN_AI_RESPONSE_MODEL, usage["models"][-1])
        if status in ("failed", "interrupted"):
            fail(span, error_code or status)
    span.end()


def start_chat(
    *,
    request_model: str,
    model_name: str,
    base_url: str,
    api: str,
    in_process: bool,
    attempt: int,
    messages: Sequence[dict[str, Any]],
) -> Span:
    """A model request's span (a child of the current span: the turn's)."""
    turn = trace.get_current_span()
    span = _State.tracer.start_span(f"chat {request_model}", kind=SpanKind.CLIENT)
    if not span.is_recording():
        return span
    url = urlsplit(base_url)
    provider = "booking.offline_model" if in_process else provider_name(url.hostname or "")
    # The conventions require the provider on invoke_agent too; only the model call knows it.
    if turn.is_recording() and isinstance(turn, ReadableSpan):
        if gen_ai.GEN_AI_PROVIDER_NAME not in (turn.attributes or {}):
            turn.set_attribute(gen_ai.GEN_AI_PROVIDER_NAME, provider)
    span.set_attributes(
        {
            gen_ai.GEN_AI_OPERATION_NAME: "chat",
            gen_ai.GEN_AI_PROVIDER_NAME: provider,
            gen_ai.GEN_AI_REQUEST_MODEL: request_model,
            MODEL_NAME: model_name,
            MODEL_API: api,
        }
    )
    if not in_process and url.hostname:
        span.set_attribute(server_attributes.SERVER_ADDRESS, url.hostname)
        span.set_attribute(
            server_attributes.SERVER_PORT, url.port or (443 if url.scheme == "https" else 80)
        )
    if attempt > 1:
        span.set_attribute(RESEND_COUNT, attempt - 1)
    if _State.capture_content:
        span.set_attribute(gen_ai.GEN_AI_INPUT_MESSAGES, input_messages(messages))
    return span


def first_chunk(span: Span, ttft_ms: float) -> None:
    """Time to first chunk, as the ``gen_ai.response.time_to_first_chunk`` attribute (s)."""
    span.set_attribute(gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ttft_ms / 1000)


class ChatObserver:
    """Reads a model's chunks (Chat Completions dicts) for the span: response model, usage,
    finish reasons and, with content capture, the answer."""

    __slots__ = ("model", "usage", "finish_reasons", "text", "calls")

    def __init__(self) -> None:
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None
        self.finish_reasons: list[str] = []
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}

    def see(self, chunk: dict[str, Any]) -> None:
        if self.model is None and isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            if choice.get("finish_reason"):
                self.finish_reasons.append(str(choice["finish_reason"]))
            if _State.capture_content:
                self._content(choice.get("delta") or {})

    def _content(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("content"), str):
            self.text.append(delta["content"])
        for call in delta.get("tool_calls") or ():
            slot = self.calls.setdefault(int(call.get("index", 0)), {"arguments": ""})
            if call.get("id"):
                slot["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                slot["name"] = function["name"]
            slot["arguments"] += function.get("arguments") or ""

    def end(self, span: Span, error: BaseException | None = None) -> None:
        if span.is_recording():
            if self.model:
                span.set_attribute(gen_ai.GEN_AI_RESPONSE_MODEL, self.model)
            if self.usage:
                span.set_attribute(
                    gen_ai.GEN_AI_USAGE_INPUT_TOKENS, int(self.usage.get("prompt_tokens") or 0)
                )
                span.set_attribute(
                    gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS,
                    int(self.usage.get("completion_tokens") or 0),
                )
            if self.finish_reasons:
                span.set_attribute(gen_ai.GEN_AI_RESPONSE_FINISH_REASONS, self.finish_reasons)
            if _State.capture_content:
                span.set_attribute(gen_ai.GEN_AI_OUTPUT_MESSAGES, self._output())
            if error is not None:
                fail(span, error_type(error))
        span.end()

    def _output(self) -> str:
        parts: list[dict[str, Any]] = []
        if self.text:
            parts.append({"type": "text", "content": "".join(self.text)})
        for call in self.calls.values():
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": call["arguments"],
                }
            )
        reason = self.finish_reasons[-1] if self.finish_reasons else None
        return _json([{"role": "assistant", "parts": parts, "finish_reason": reason}])


def start_tool(name: str, call_id: str, arguments: dict[str, Any] | None) -> Span:
    """A tool call's span (a child of the current span: the turn's)."""
    span = _State.tracer.start_span(f"execute_tool {name}", kind=SpanKind.INTERNAL)
    if span.is_recording():
        span.set_attributes(
            {
                gen_ai.GEN_AI_OPERATION_NAME: "execute_tool",
                gen_ai.GEN_AI_TOOL_NAME: name,
                gen_ai.GEN_AI_TOOL_CALL_ID: call_id,
                gen_ai.GEN_AI_TOOL_TYPE: "function",
            }
        )
        if _State.capture_content and arguments is not None:
            span.set_attribute(gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS, _json(arguments))
    return span


def end_tool(span: Span, error_code: str | None, result: Any = None) -> None:
    """``error_code`` None: the tool answered (outcome ``ok``); else its stable error code."""
    if span.is_recording():
        span.set_attribute(TOOL_OUTCOME, error_code or "ok")
        if error_code is not None:
            fail(span, error_code)
        if _State.capture_content:
            span.set_attribute(gen_ai.GEN_AI_TOOL_CALL_RESULT, _json(result))
    span.end()


def fail(span: Span, error_type_: str) -> None:
    span.set_attribute(error_attributes.ERROR_TYPE, error_type_)
    span.set_status(Status(StatusCode.ERROR, error_type_))


def error_type(error: BaseException) -> str:
    """Our stable code when the error has one (``upstream_unavailable``...), else its class."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else type(error).__qualname__


def provider_name(host: str) -> str:
    for known, name in _PROVIDERS.items():
        if host == known or host.endswith("." + known):
            return name
    return "openai"


def input_messages(messages: Sequence[dict[str, Any]]) -> str:
    """Chat Completions messages in the conventions' ``gen_ai.input.messages`` shape."""
    out: list[dict[str, Any]] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        content = message.get("content")
        if message.get("role") == "tool":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": content,
                }
            )
        elif content:
            parts.append({"type": "text", "content": content})
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
        out.append({"role": message.get("role"), "parts": parts})
    return _json(out)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
