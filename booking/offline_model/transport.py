"""The offline model speaking the Chat Completions and Responses protocols, in-process or served.

:class:`OfflineModel` answers ``POST /chat/completions`` and ``POST /responses`` (streaming and
not, tool calls, usage) and ``GET /models`` from :func:`~booking.offline_model.brain.respond`: a
Responses request's ``input`` items are read back into Chat Completions messages, so both
protocols give the same answer.
:class:`OfflineTransport` plugs it into ``httpx2`` the way ``MockTransport`` plugs in a function,
so the real ``openai`` SDK sends real requests and parses a real SSE stream with no socket;
:func:`asgi_app` serves the same thing over HTTP (``booking offline-model serve``).
Deterministic: the same request gives the same bytes (ids derive from the request body).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2

from booking.domain.dates import Clock, today
from booking.offline_model.brain import Response, respond
from booking.offline_model.payloads import (
    MODEL_ID,
    call_items,
    chat_completion,
    count_completion_tokens,
    message_items,
    output_text,
    response_object,
    responses_usage,
)
from booking.offline_model.prices import DEFAULT_USD_VND_RATE

__all__ = ["MODEL_ID", "OfflineModel", "OfflineTransport", "Reply", "asgi_app"]

_WORD = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]


class OfflineModel:
    """A deterministic, rule-based stand-in for an LLM (not an LLM)."""

    def __init__(
        self, clock: Clock, *, pace_s: float = 0.0, usd_rate: int = DEFAULT_USD_VND_RATE
    ) -> None:
        self._clock = clock
        self._pace_s = pace_s
        """Pause between streamed chunks, so a person watching sees the text arrive."""
        self._usd_rate = usd_rate
        """VND per US dollar for prices said in dollars."""

    async def handle(self, method: str, path: str, body: bytes) -> Reply:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            models = {
                "object": "list",
                "data": [{"id": MODEL_ID, "object": "model", "owned_by": "booking"}],
            }
            return _json(200, models)
        if method == "POST" and path.rstrip("/").endswith("/responses"):
            return self._responses(body)
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            return _error(404, f"no route {method} {path}", "not_found")
        try:
            request = json.loads(body)
            messages = request["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("messages must be a non-empty list")
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        response = respond(messages, today(self._clock), usd_rate=self._usd_rate)
        seed = hashlib.sha256(body).hexdigest()[:16]
        created = int(self._clock.now().timestamp())
        prompt_tokens = math.ceil(len(json.dumps(messages, ensure_ascii=False)) / 4)
        if request.get("stream"):
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            stream = self._stream(response, seed, created, prompt_tokens, include_usage)
            return Reply(
                200, {"content-type": "text/event-stream", "cache-control": "no-cache"}, stream
            )
        return _json(200, chat_completion(response, seed, created, prompt_tokens))

    async def _stream(
        self, response: Response, seed: str, created: int, prompt_tokens: int, include_usage: bool
    ) -> AsyncIterator[bytes]:
        base = {
            "id": f"chatcmpl-{seed}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
        }

        def frame(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            data = {**base, "choices": choices, **extra}
            return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

        def delta(d: dict[str, Any], finish: str | None = None) -> bytes:
            return frame([{"index": 0, "delta": d, "finish_reason": finish}])

        yield delta({"role": "assistant", "content": ""})
        for piece in _WORD.findall(response.text or ""):
            await self._pause()
            yield delta({"content": piece})
        for index, call in enumerate(response.calls):
            await self._pause()
            call_id = f"call_{seed[:8]}_{index}"
            function = {"name": call.name, "arguments": ""}
            yield delta(
                {
                    "tool_calls": [
                        {"index": index, "id": call_id, "type": "function", "function": function}
                    ]
                }
            )
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                yield delta({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
        yield delta({}, "tool_calls" if response.calls else "stop")
        if include_usage:
            completion_tokens = count_completion_tokens(response)
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            yield frame([], usage=usage)
        yield b"data: [DONE]\n\n"

    def _responses(self, body: bytes) -> Reply:
        try:
            request = json.loads(body)
            messages = _messages_from_input(request)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _error(400, f"invalid request: {exc}", "invalid_request_error")
        response = respond(messages, today(self._clock), usd_rate=self._usd_rate)
        seed = hashlib.sha256(body).hexdigest()[:16]
        created = int(self._clock.now().timestamp())
        prompt_tokens = math.ceil(len(json.dumps(messages, ensure_ascii=False)) / 4)
        usage = responses_usage(prompt_tokens, count_completion_tokens(response))
        if request.get("stream"):
            stream = self._response_events(response, seed, created, usage)
            return Reply(
                200, {"content-type": "text/event-stream", "cache-control": "no-cache"}, stream
            )
        output = [*message_items(response, seed, "completed"), *call_items(response, seed)]
        return _json(200, response_object(seed, created, "completed", output, usage))

    async def _response_events(
        self, response: Response, seed: str, created: int, usage: dict[str, Any]
    ) -> AsyncIterator[bytes]:
        """The Responses stream OpenAI sends: every event named and numbered in order."""
        numbers = itertools.count()

        def event(kind: str, **fields: Any) -> bytes:
            data = {"type": kind, "sequence_number": next(numbers), **fields}
            return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

        started = response_object(seed, created, "in_progress", [], None)
        yield event("response.created", response=started)
        yield event("response.in_progress", response=started)
        output: list[dict[str, Any]] = []
        for item in message_items(response, seed, "in_progress"):
            at = {"item_id": item["id"], "output_index": len(output), "content_index": 0}
            yield event("response.output_item.added", output_index=len(output), item=item)
            yield event("response.content_part.added", **at, part=output_text(""))
            for piece in _WORD.findall(response.text or ""):
                await self._pause()
                yield event("response.output_text.delta", **at, delta=piece, logprobs=[])
            part = output_text(response.text or "")
            yield event("response.output_text.done", **at, text=part["text"], logprobs=[])
            yield event("response.content_part.done", **at, part=part)
            done = {**item, "status": "completed", "content": [part]}
            yield event("response.output_item.done", output_index=len(output), item=done)
            output.append(done)
        for item in call_items(response, seed):
            await self._pause()
            at = {"item_id": item["id"], "output_index": len(output)}
            started_item = {**item, "arguments": "", "status": "in_progress"}
            yield event("response.output_item.added", output_index=len(output), item=started_item)
            arguments = item["arguments"]
            half = len(arguments) // 2
            for part_text in (arguments[:half], arguments[half:]):
                yield event("response.function_call_arguments.delta", **at, delta=part_text)
            yield event("response.function_call_arguments.done", **at, arguments=arguments)
            yield event("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        completed = response_object(seed, created, "completed", output, usage)
        yield event("response.completed", response=completed)

    async def _pause(self) -> None:
        if self._pace_s > 0:
            await asyncio.sleep(self._pace_s)


def _messages_from_input(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Chat Completions messages for a Responses request: ``instructions`` -> a system message,
    message items -> messages, ``function_call`` items -> the ``tool_calls`` of the assistant
    message before them, ``function_call_output`` items -> ``tool`` messages."""
    messages: list[dict[str, Any]] = []
    if request.get("instructions"):
        messages.append({"role": "system", "content": str(request["instructions"])})
    items = request["input"]
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise ValueError("input must be a string or a non-empty list of items")
    for item in items:
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            messages.append({"role": item["role"], "content": _text_of(item.get("content"))})
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item.get("arguments") or ""},
            }
            last = messages[-1] if messages else None
            if last is None or last["role"] != "assistant":
                last = {"role": "assistant", "content": None}
                messages.append(last)
            last.setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            content = _text_of(item.get("output"))
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
    return messages


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _json(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(
        status,
        {"content-type": "application/json"},
        _once(json.dumps(payload, ensure_ascii=False).encode()),
    )


def _error(status: int, message: str, kind: str) -> Reply:
    return _json(status, {"error": {"message": message, "type": kind, "code": kind}})


class OfflineTransport(httpx2.AsyncBaseTransport):
    """``httpx2`` transport that answers every request from an :class:`OfflineModel`."""

    def __init__(self, model: OfflineModel) -> None:
        self._model = model

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        reply = await self._model.handle(request.method, request.url.path, body)
        return httpx2.Response(
            reply.status, headers=reply.headers, content=reply.body, request=request
        )


def asgi_app(model: OfflineModel) -> Any:
    """The offline model as an ASGI app: any OpenAI client can use it at ``http://host:port/v1``."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reply = await model.handle(scope["method"], scope["path"], body)
        headers = [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        async for data in reply.body:
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app
