"""OpenAI's Responses API as a second upstream protocol, through the official ``openai`` SDK.

A model configured with ``api = "responses"`` is reached with ``POST /responses`` (streamed,
through the SDK's ``post``): :class:`~booking.agent.models.openai_chat.OpenAIChatModel` dispatches here from
``_open_once``, so retries, Retry-After, fallbacks (to either protocol), the keep-alive filter,
the first-chunk and stall timeouts, usage and cost are the Chat Completions adapter's. The request
and the translation of events into Chat Completions chunks are pure
(:mod:`booking.agent.models.responses_wire`): the orchestrator and the assembler never see the
protocol.

A stream that ends with none of ``response.completed``, ``response.incomplete``,
``response.failed`` or ``error`` is ``upstream_incomplete``; ``response.failed`` and ``error`` are
``upstream_error``, retried like any failure when nothing was streamed yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import openai

from booking.agent.models.base import ModelError
from booking.agent.models.model_spec import ModelSpec, Timeouts
from booking.agent.models.openai_chat import _Stream, post_stream
from booking.agent.models.responses_wire import ResponsesTranslator, request_body
from booking.agent.models.upstream_errors import _classify, _nothing_sent, _timeout, _to_dict

#: Longest wait for the end of the body after the final event: reading it to the end gives the
#: HTTP/1.1 connection back to the pool; a server that keeps it open only loses the connection.
_DRAIN_S = 0.2


class ResponsesStream(_Stream):
    """An opened Responses stream: the first chunk is in; events are read with a stall timeout
    (any event, even one that adds nothing, proves the provider is alive)."""

    def __init__(
        self,
        spec: ModelSpec,
        sdk_stream: openai.AsyncStream[object],
        translator: ResponsesTranslator,
        first: dict[str, Any],
        started_at: float,
        ttft_ms: float,
        stall_s: float,
    ) -> None:
        super().__init__(spec, sdk_stream, first, started_at, ttft_ms, stall_s)
        self._translator = translator

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        spec, translator = self._spec, self._translator
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            while not translator.finished:
                try:
                    async with asyncio.timeout(self._stall_s):
                        event = await anext(self._sdk_stream)
                except StopAsyncIteration:
                    raise _incomplete(spec) from None
                except TimeoutError:
                    raise ModelError(
                        f"{spec.name} went silent for {self._stall_s:.0f} s mid-answer",
                        code="upstream_stalled",
                        retryable=True,
                        model=spec.name,
                    ) from None
                except Exception as exc:
                    raise _classify(exc, spec, started=True) from exc
                chunk = translator.feed(_to_dict(event, spec))
                if chunk is not None:
                    chunk = _checked(chunk, spec)
                    if self._observer is not None:
                        self._observer.see(chunk)
                    yield chunk
            await _drain(self._sdk_stream)
        except ModelError as exc:
            self._error = exc
            raise
        finally:
            await self.aclose()


async def open_responses_stream(
    client: openai.AsyncOpenAI,
    spec: ModelSpec,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    timeouts: Timeouts,
) -> ResponsesStream:
    """Send the request; return once the first chunk is in. Raises :class:`ModelError`.

    Events that add nothing (``response.created``, ``response.in_progress``) do not open the
    stream: until the first text, reasoning or call, a failure is still safe to retry.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeouts.first_chunk_s):
            # Events as the JSON dicts the provider sent, through the SDK's generic post, as
            # for Chat Completions (``post_stream`` says why).
            sdk_stream = await post_stream(
                client, "/responses", request_body(spec.model, messages, tools)
            )
    except TimeoutError:
        raise _timeout(spec, timeouts.first_chunk_s) from None
    except Exception as exc:
        raise _classify(exc, spec) from exc
    translator = ResponsesTranslator()
    try:
        remaining = max(0.001, timeouts.first_chunk_s - (time.perf_counter() - started))
        async with asyncio.timeout(remaining):
            first = None
            while first is None:
                first = translator.feed(_to_dict(await anext(sdk_stream), spec))
        first = _checked(first, spec)
    except BaseException as exc:
        await sdk_stream.close()
        if isinstance(exc, TimeoutError):
            raise _timeout(spec, timeouts.first_chunk_s) from None
        if isinstance(exc, StopAsyncIteration):
            if translator.events:
                raise _incomplete(spec) from None
            raise _nothing_sent(spec) from None
        if isinstance(exc, ModelError):
            raise
        if isinstance(exc, Exception):
            raise _classify(exc, spec) from exc
        raise
    ttft_ms = (time.perf_counter() - started) * 1000
    return ResponsesStream(spec, sdk_stream, translator, first, started, ttft_ms, timeouts.stall_s)


def _checked(chunk: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """The chunk, unless it carries the provider's error: then the typed error naming the model
    (retried when nothing was streamed yet, as an early error object in Chat Completions)."""
    error = chunk.get("error")
    if error is None:
        return chunk
    code = error.get("code")
    detail = f" ({code})" if code else ""
    raise ModelError(
        f"{spec.name}: the provider reported an error mid-stream: {error['message']}{detail}",
        code="upstream_error",
        retryable=True,
        model=spec.name,
    )


def _incomplete(spec: ModelSpec) -> ModelError:
    return ModelError(
        f"{spec.name} ended the stream before the response was complete "
        "(no response.completed, response.incomplete or response.failed)",
        code="upstream_incomplete",
        retryable=True,
        model=spec.name,
    )


async def _drain(sdk_stream: openai.AsyncStream[object]) -> None:
    """Read what follows the final event (normally just the end of the body)."""
    try:
        async with asyncio.timeout(_DRAIN_S):
            async for _ in sdk_stream:
                pass
    except Exception:
        pass  # The answer is complete; only the connection's reuse is at stake.
