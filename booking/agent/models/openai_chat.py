"""Any OpenAI-compatible Chat Completions endpoint, through the official ``openai`` SDK.

Before the first chunk (:meth:`OpenAIChatModel.open_stream`): connection errors, 408/409/429/5xx,
timeouts, an early error object or an empty stream are retried with exponential backoff and
jitter (``tenacity``), honouring ``Retry-After``; then the next fallback model is tried. 401/403
(credentials) and 400/404/422 (request, model name or base URL) are not retried: they name the
model and the likely cause. After the first chunk nothing is replayed: a failure ends the stream
with a :class:`ModelError` and the orchestrator keeps the partial answer.

The SDK's own retries are off (``max_retries=0``) so one policy covers both failures the SDK sees
(status codes) and those it cannot (a stall or reset before the first chunk).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from booking.agent.models.base import ModelError, Pricing


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    """Our name for it (the key in the model table)."""
    model: str
    """The provider's model id sent in requests."""
    base_url: str
    api_key: str
    pricing: Pricing | None = None
    fallbacks: tuple[str, ...] = ()
    transport: httpx2.AsyncBaseTransport | None = field(default=None, compare=False)
    """In-process transport (the offline model); ``None`` means real HTTP."""
    api: Literal["chat", "responses"] = "chat"
    """The upstream protocol: Chat Completions, or the Responses API
    (:mod:`booking.agent.models.openai_responses`)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 5.0
    first_chunk_s: float = 10.0
    """From sending the request to the first chunk."""
    stall_s: float = 15.0
    """Longest silence allowed between two chunks."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    """Attempts after the first, per model, before falling back."""
    initial_wait_s: float = 0.5
    max_wait_s: float = 8.0


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
                yield data
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._sdk_stream.close()


class OpenAIChatModel:
    """A model client with an ordered fallback chain, over the ``openai`` SDK."""

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        primary: str,
        *,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
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
                return await self._open_once(spec, messages, tools)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _open_once(
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
        kwargs: dict[str, Any] = {
            "model": spec.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            kwargs["tools"] = tools
        try:
            async with asyncio.timeout(self._timeouts.first_chunk_s):
                raw = await client.chat.completions.with_raw_response.create(**kwargs)
            # Chunks as the JSON dicts the provider sent: the assembler wants dicts, and building
            # a ChatCompletionChunk model only to dump it again cost ~100 us a chunk (the SDK's
            # documented custom parse type; ``object`` means "return the data as is").
            sdk_stream: openai.AsyncStream[object] = raw.parse(to=openai.AsyncStream[object])
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
        body = getattr(raw.http_response, "stream", None)
        body = getattr(body, "_stream", body)
        return _Stream(
            spec,
            sdk_stream,
            _to_dict(first, spec),
            started,
            ttft_ms,
            self._timeouts.stall_s,
            saw_done=(lambda: body.saw_done) if isinstance(body, _FilteredStream) else lambda: True,
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


class KeepAliveFilter(httpx2.AsyncBaseTransport):
    """Drop empty ``data:`` lines some providers send as keep-alives.

    The SDK's SSE decoder turns such a line into an event with empty data and then fails to parse
    it as JSON; SSE comment lines (``: ping``) it already ignores. This wrapper streams the body
    through unchanged apart from those lines, without buffering more than one line.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return response
        # The filtered body is decoded, so it no longer has the original encoding or length.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_FilteredStream(response),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _FilteredStream(httpx2.AsyncByteStream):
    """Pass SSE events on one at a time, dropping those with no data (keep-alives)."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self.saw_done = False
        """Whether the body carried ``data: [DONE]``."""
        # One iterator for the body's whole life: after ``[DONE]`` the SDK iterates the stream
        # again to drain what is left (so the HTTP/1.1 connection can be reused); a fresh
        # iterator would ask the inner response for its body a second time, fail with
        # StreamConsumed, and the connection would be closed instead of going back to the pool.
        self._events = self._filter()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._events

    async def _filter(self) -> AsyncGenerator[bytes, None]:
        pending = b""
        event: list[bytes] = []
        # aiter_bytes() decodes gzip/deflate, so keep-alives in compressed streams are seen too.
        async for data in self._response.aiter_bytes():
            pending += data
            *lines, pending = pending.split(b"\n")
            out: list[bytes] = []
            for line in lines:
                if line.rstrip(b"\r"):
                    event.append(line)
                    continue
                if _has_data(event):
                    self.saw_done = self.saw_done or _is_done(event)
                    out.append(b"\n".join(event) + b"\n\n")
                event = []
            if out:
                yield b"".join(out)
        tail = [*event, pending] if pending.rstrip(b"\r") else event
        if _has_data(tail):
            self.saw_done = self.saw_done or _is_done(tail)
            yield b"\n".join(tail) + b"\n\n"

    async def aclose(self) -> None:
        await self._events.aclose()
        await self._response.aclose()


def _has_data(event: list[bytes]) -> bool:
    """Whether an SSE event carries a non-empty ``data:`` field (``event: ping`` alone does not)."""
    for line in event:
        if line.startswith(b"data:") and line[5:].strip(b" \r"):
            return True
    return False


def _is_done(event: list[bytes]) -> bool:
    return any(line.startswith(b"data:") and line[5:].strip(b" \r") == b"[DONE]" for line in event)


def _finishes(chunk: dict[str, Any]) -> bool:
    """Whether a chunk carries a finish reason (the answer ended, whatever follows)."""
    return any(
        isinstance(choice, dict) and choice.get("finish_reason")
        for choice in chunk.get("choices") or ()
    )


def _to_dict(chunk: object, spec: ModelSpec) -> dict[str, Any]:
    if isinstance(chunk, dict):
        return chunk
    raise ModelError(
        f"{spec.name}: the provider sent a chunk that is not a JSON object ({chunk!r:.80})",
        code="upstream_protocol",
        retryable=True,
        model=spec.name,
    )


def _nothing_sent(spec: ModelSpec) -> ModelError:
    """The stream ended before its first chunk (or event)."""
    return ModelError(
        f"{spec.name} ended the stream without sending anything",
        code="upstream_protocol",
        retryable=True,
        model=spec.name,
    )


def _timeout(spec: ModelSpec, seconds: float | None) -> ModelError:
    within = f" within {seconds:.3g} s" if seconds else " before the request timed out"
    return ModelError(
        f"{spec.name} sent nothing{within}",
        code="upstream_timeout",
        retryable=True,
        model=spec.name,
    )


def _retry_after(response: httpx2.Response) -> float | None:
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _classify(exc: BaseException, spec: ModelSpec, *, started: bool = False) -> ModelError:
    """Map SDK and transport failures to one typed error."""
    if isinstance(exc, ModelError):
        return exc
    name = spec.name
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_message(exc)
        if status in (401, 403):
            return ModelError(
                f"{name}: the provider refused the credentials (HTTP {status}: {detail}). "
                f"Check the API key and base URL ({spec.base_url}).",
                code="upstream_auth",
                retryable=False,
                model=name,
                status_code=status,
            )
        if status in (408, 409, 429) or status >= 500:
            return ModelError(
                f"{name}: the provider is {'rate limiting' if status == 429 else 'unavailable'} "
                f"(HTTP {status}: {detail})",
                code="upstream_rate_limited" if status == 429 else "upstream_unavailable",
                retryable=True,
                model=name,
                status_code=status,
                retry_after_s=_retry_after(exc.response),
            )
        return ModelError(
            f"{name}: the provider rejected the request (HTTP {status}: {detail}). "
            f"Check the model id '{spec.model}' and base URL ({spec.base_url}).",
            code="upstream_bad_request",
            retryable=False,
            model=name,
            status_code=status,
        )
    if isinstance(exc, openai.APITimeoutError):
        return _timeout(spec, None)
    if isinstance(exc, openai.APIConnectionError):
        where = (
            "lost the connection mid-answer"
            if started
            else f"cannot reach the provider at {spec.base_url}"
        )
        return ModelError(
            f"{name}: {where}",
            code="upstream_unavailable",
            retryable=True,
            model=name,
        )
    if isinstance(exc, openai.APIError):
        return ModelError(
            f"{name}: the provider reported an error mid-stream: {exc.message}",
            code="upstream_error",
            retryable=True,
            model=name,
        )
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return ModelError(
            f"{name}: the provider sent a malformed chunk ({exc})",
            code="upstream_protocol",
            retryable=True,
            model=name,
        )
    if isinstance(exc, httpx2.HTTPError | OSError):
        return ModelError(
            f"{name}: the connection failed ({type(exc).__name__})",
            code="upstream_unavailable",
            retryable=True,
            model=name,
        )
    return ModelError(
        f"{name}: unexpected failure ({type(exc).__name__}: {exc})",
        code="upstream_error",
        retryable=True,
        model=name,
    )


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return exc.message
