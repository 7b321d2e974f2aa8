"""Any OpenAI-compatible Chat Completions endpoint, through the official ``openai`` SDK.

Before the first chunk (:meth:`OpenAIChatModel.open_stream`): connection errors, 408/409/429/5xx,
timeouts, an early error object or an empty stream are retried with exponential backoff and
jitter (``tenacity``), honouring ``Retry-After``; then the next fallback model is tried. 401/403
(credentials) and 400/404/422 (request, model name or base URL) are not retried: they name the
model and the likely cause. After the first chunk nothing is replayed: a failure ends the stream
with a :class:`ModelError` and the orchestrator keeps the partial answer.

The SDK's own retries are off (``max_retries=0``) so one policy covers both failures the SDK sees
(status codes) and those it cannot (a stall or reset before the first chunk).

A model's endpoint, protocol, timeouts and retry policy are :mod:`model_spec`; failures are mapped
to :class:`ModelError` by :mod:`upstream_errors`; empty keep-alives are dropped by :mod:`keepalive`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx2
import openai
from opentelemetry.trace import Span
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from booking import telemetry
from booking.agent.models.base import ModelError
from booking.agent.models.keepalive import KeepAliveFilter, _FilteredStream
from booking.agent.models.model_spec import ModelSpec, RetryPolicy, Timeouts
from booking.agent.models.upstream_errors import _classify, _nothing_sent, _timeout, _to_dict

__all__ = ["KeepAliveFilter", "ModelSpec", "OpenAIChatModel", "RetryPolicy", "Timeouts"]

#: The defaults of :class:`OpenAIChatModel` (frozen, so one instance serves every client).
_TIMEOUTS = Timeouts()
_RETRY = RetryPolicy()


class _Stream:
    """An opened stream: the first chunk is in; the rest is read with a stall timeout."""

    def __init__(
        self,
        spec: ModelSpec,
        sdk_stream: openai.AsyncStream[object],
        first: dict[str, Any],
        started_at: float,
        ttft_ms: float,
        stall_s: float,
        saw_done: Callable[[], bool] = lambda: True,
    ) -> None:
        self.model = spec.name
        self.pricing = spec.pricing
        self.started_at = started_at
        self.ttft_ms = ttft_ms
        self._spec = spec
        self._sdk_stream = sdk_stream
        self._first: dict[str, Any] | None = first
        self._stall_s = stall_s
        self._saw_done = saw_done
        """Whether the body carried ``data: [DONE]`` (unknowable in-process: then True)."""
        self._span: Span | None = None
        """The request's ``chat`` span, ended when the stream is closed (tracing on only)."""
        self._observer: telemetry.ChatObserver | None = None
        self._error: ModelError | None = None

    def trace(self, span: Span) -> None:
        """Record the chunks on ``span`` and end it when the stream closes."""
        self._span, self._observer = span, telemetry.ChatObserver()
        if self._first is not None:
            self._observer.see(self._first)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        finished = False
        try:
            if self._first is not None:
                first, self._first = self._first, None
                finished = _finishes(first)
                yield first
            while True:
                try:
                    # asyncio.timeout, not wait_for: no task per chunk, and a cancellation
                    # reaches the read directly (3.11's wait_for waits for its inner task to
                    # give up, which a read shielded by the HTTP client can delay forever).
                    async with asyncio.timeout(self._stall_s):
                        chunk = await anext(self._sdk_stream)
                except StopAsyncIteration:
                    if not finished and not self._saw_done():
                        # A clean end of the connection with neither a finish reason nor
                        # [DONE] is a cut, not an answer: nothing of it may run (vercel/ai
                        # reports such OpenAI-compatible streams as errors too).
                        raise ModelError(
                            f"{self._spec.name} stopped mid-answer: the stream ended without "
                            "a finish reason",
                            code="upstream_incomplete",
                            retryable=True,
                            model=self._spec.name,
                        ) from None
                    return
                except TimeoutError:
                    raise ModelError(
                        f"{self._spec.name} went silent for {self._stall_s:.0f} s mid-answer",
                        code="upstream_stalled",
                        retryable=True,
                        model=self._spec.name,
                    ) from None
                except Exception as exc:
                    raise _classify(exc, self._spec, started=True) from exc
                data = _to_dict(chunk, self._spec)
                finished = finished or _finishes(data)
                if self._observer is not None:
                    self._observer.see(data)
                yield data
        except ModelError as exc:
            self._error = exc
            raise
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._span is not None and self._observer is not None:
            span, self._span = self._span, None
            self._observer.end(span, self._error)
        await self._sdk_stream.close()


class OpenAIChatModel:
    """A model client with an ordered fallback chain, over the ``openai`` SDK."""

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        primary: str,
        *,
        timeouts: Timeouts = _TIMEOUTS,
        retry: RetryPolicy = _RETRY,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        if primary not in self._specs:
            raise ValueError(f"unknown model {primary!r}; configured: {sorted(self._specs)}")
        self._primary = primary
        self._timeouts = timeouts
        self._retry = retry
        self._sleep = sleep or asyncio.sleep
        self._clients: dict[str, openai.AsyncOpenAI] = {}

    @property
    def name(self) -> str:
        return self._primary

    def chain(self) -> list[ModelSpec]:
        """The primary model, then its fallbacks in order (each once)."""
        names = [self._primary, *self._specs[self._primary].fallbacks]
        return [self._specs[n] for n in dict.fromkeys(names) if n in self._specs]

    async def open_stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> _Stream:
        last: ModelError | None = None
        chain = self.chain()
        for index, spec in enumerate(chain):
            try:
                return await self._open_with_retries(
                    spec, messages, tools, has_fallback=index + 1 < len(chain)
                )
            except ModelError as exc:
                if not exc.retryable:
                    raise
                last = exc
        assert last is not None
        raise last

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    async def _open_with_retries(
        self,
        spec: ModelSpec,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        has_fallback: bool = False,
    ) -> _Stream:
        # Exponential from initial_wait_s, plus up to one initial_wait_s of jitter, capped.
        backoff = wait_exponential_jitter(
            multiplier=self._retry.initial_wait_s,
            max=self._retry.max_wait_s,
            jitter=self._retry.initial_wait_s,
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, ModelError) and exc.retry_after_s is not None:
                return min(exc.retry_after_s, self._retry.max_wait_s)
            return float(backoff(state))

        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, ModelError) or not exc.retryable:
                return False
            # A model that sent nothing for the whole first-chunk timeout has already cost the
            # traveller that long: the next model answers sooner than another wait on this one.
            return not (has_fallback and exc.code == "upstream_timeout")

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.retries + 1),
            wait=wait,
            retry=retry_if_exception(worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._open_once(
                    spec, messages, tools, attempt=attempt.retry_state.attempt_number
                )
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _open_once(
        self,
        spec: ModelSpec,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        attempt: int = 1,
    ) -> _Stream:
        """One request. Traced, it is a ``chat {model}`` span of its own (a retry is a second
        span, with ``http.request.resend_count``): ended here when the request fails, else by
        the stream once it is read (usage and finish reasons come last)."""
        if not telemetry.enabled():
            return await self._send(spec, messages, tools)
        span = telemetry.start_chat(
            request_model=spec.model,
            model_name=spec.name,
            base_url=spec.base_url,
            api=spec.api,
            in_process=spec.transport is not None,
            attempt=attempt,
            messages=messages,
        )
        try:
            stream = await self._send(spec, messages, tools)
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            telemetry.ChatObserver().end(span, None if cancelled else exc)
            raise
        telemetry.first_chunk(span, stream.ttft_ms)
        stream.trace(span)
        return stream

    async def _send(
        self, spec: ModelSpec, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> _Stream:
        if spec.api == "responses":
            # Imported here: the Responses adapter builds on this module.
            from booking.agent.models.openai_responses import open_responses_stream

            return await open_responses_stream(
                self._client(spec), spec, messages, tools, self._timeouts
            )
        client = self._client(spec)
        started = time.perf_counter()
        body: dict[str, Any] = {
            "model": spec.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = tools
        try:
            async with asyncio.timeout(self._timeouts.first_chunk_s):
                sdk_stream = await post_stream(client, "/chat/completions", body)
        except TimeoutError:
            raise _timeout(spec, self._timeouts.first_chunk_s) from None
        except Exception as exc:
            raise _classify(exc, spec) from exc
        try:
            remaining = max(0.001, self._timeouts.first_chunk_s - (time.perf_counter() - started))
            async with asyncio.timeout(remaining):
                first = await anext(sdk_stream)
        except BaseException as exc:
            await sdk_stream.close()
            if isinstance(exc, TimeoutError):
                raise _timeout(spec, self._timeouts.first_chunk_s) from None
            if isinstance(exc, StopAsyncIteration):
                raise _nothing_sent(spec) from None
            if isinstance(exc, Exception):
                raise _classify(exc, spec) from exc
            raise
        ttft_ms = (time.perf_counter() - started) * 1000
        # httpx wraps the transport's body to time it; ours is inside (``_stream``).
        wire = getattr(sdk_stream.response, "stream", None)
        wire = getattr(wire, "_stream", wire)
        return _Stream(
            spec,
            sdk_stream,
            _to_dict(first, spec),
            started,
            ttft_ms,
            self._timeouts.stall_s,
            saw_done=(lambda: wire.saw_done) if isinstance(wire, _FilteredStream) else lambda: True,
        )

    def _client(self, spec: ModelSpec) -> openai.AsyncOpenAI:
        client = self._clients.get(spec.name)
        if client is None:
            timeout = httpx2.Timeout(
                connect=self._timeouts.connect_s,
                read=max(self._timeouts.first_chunk_s, self._timeouts.stall_s) + 1,
                write=10.0,
                pool=10.0,
            )
            # One upstream connection per running turn: httpx's default cap of 100 would make the
            # 101st concurrent turn wait for a connection and then fail as a pool timeout.
            limits = httpx2.Limits(max_connections=None, max_keepalive_connections=100)
            transport = KeepAliveFilter(spec.transport or httpx2.AsyncHTTPTransport(limits=limits))
            client = openai.AsyncOpenAI(
                base_url=spec.base_url,
                api_key=spec.api_key,
                max_retries=0,
                timeout=timeout,
                http_client=httpx2.AsyncClient(transport=transport, timeout=timeout, limits=limits),
            )
            self._clients[spec.name] = client
        return client


async def post_stream(
    client: openai.AsyncOpenAI, path: str, body: dict[str, Any]
) -> openai.AsyncStream[object]:
    """POST ``body`` (already in wire form) and return the SDK's stream of events as the JSON
    dicts the provider sent.

    Through the SDK's own generic ``post`` rather than ``chat.completions.create``: the typed
    method first walks every message and tool schema through its TypedDict transform, which
    cost 1-3 ms per model call on our 8.6 KB of tool schemas (issue #17, against the fake
    provider in one run: 6.5 ms p50 to the first chunk through ``create``, 2.25 ms here) and
    changes nothing in a body that is already wire JSON. Everything else is the SDK's as
    before: base URL, auth and default headers, timeouts, ``APIStatusError`` and friends,
    and the SSE decoding. ``object`` as the parse type returns the data as is: building a
    ``ChatCompletionChunk`` only to dump it again cost ~100 us a chunk."""
    return await client.post(
        path, body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
    )


def _finishes(chunk: dict[str, Any]) -> bool:
    """Whether a chunk carries a finish reason (the answer ended, whatever follows)."""
    return any(
        isinstance(choice, dict) and choice.get("finish_reason")
        for choice in chunk.get("choices") or ()
    )
