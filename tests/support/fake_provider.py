"""A fake Chat Completions provider on 127.0.0.1, with scripted replies and injected faults.

Raw asyncio streams rather than a web framework, so a test controls every byte and can reset the
connection, stall, or drip chunks. Each request takes the next :class:`Script` from the queue
(the last one repeats). Requests are recorded, and the message history is checked the way real
providers check it (an assistant message with ``tool_calls`` before every ``tool`` message), so a
malformed history fails with 400 exactly as it would in production.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "streams"


@dataclass
class Script:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    events: Sequence[bytes] = ()
    """Body pieces, written one by one (an SSE event each, usually)."""
    json_body: Any = None
    """A JSON body instead of a stream."""
    delay_s: float = 0.0
    """Pause before each piece."""
    stall_before_first_s: float = 0.0
    """Send the headers, then say nothing this long before the first piece."""
    reset_after: int | None = None
    """Abort the connection (RST) after this many pieces; 0 resets before the first."""
    refuse: bool = False
    """Close the connection as soon as the request arrives, before any response."""
    pause_before: dict[int, float] = field(default_factory=dict)
    """Extra silence before the piece at this index (a stall mid-stream)."""
    keep_alive: bool = False
    """Keep the connection open for the next request, as real providers do (HTTP/1.1); by
    default every stream ends with the connection closed."""


def sse(*chunks: dict[str, Any] | str) -> list[bytes]:
    """SSE events from chunk dicts (or raw strings such as ``"[DONE]"``)."""
    out = []
    for chunk in chunks:
        data = chunk if isinstance(chunk, str) else json.dumps(chunk, ensure_ascii=False)
        out.append(f"data: {data}\n\n".encode())
    return out


def corpus_events(name: str) -> list[bytes]:
    """A corpus file split into its SSE events (blank-line separated), bytes kept exactly."""
    raw = (CORPUS / f"{name}.sse").read_bytes().replace(b"\r\n", b"\n")
    parts = [p + b"\n\n" for p in raw.split(b"\n\n") if p.strip()]
    return parts


def text_chunks(text: str, *, model: str = "fake", usage: bool = True) -> list[bytes]:
    """A well-formed streamed text answer."""
    chunks: list[dict[str, Any] | str] = [
        {"id": "c1", "object": "chat.completion.chunk", "model": model,
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
        for piece in re.findall(r"\S+\s*", text)
    ]  # fmt: skip
    chunks.append(
        {
            "id": "c1",
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    if usage:
        chunks.append(
            {
                "id": "c1",
                "model": model,
                "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )
    chunks.append("[DONE]")
    return sse(*chunks)


def tool_calls_chunks(*calls: tuple[str, str, dict[str, Any]]) -> list[bytes]:
    """A provider response streaming several tool calls ``(call_id, name, arguments)`` in one
    assistant message (each call's arguments whole, in its own delta)."""
    chunks: list[dict[str, Any] | str] = []
    for index, (call_id, name, arguments) in enumerate(calls):
        chunks.append(
            {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": index, "id": call_id, "type": "function",
                 "function": {"name": name, "arguments": ""}}
            ]}}]}
        )  # fmt: skip
        chunks.append(
            {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": index, "function": {"arguments": json.dumps(arguments, ensure_ascii=False)}}
            ]}}]}
        )  # fmt: skip
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}})
    chunks.append("[DONE]")
    return sse(*chunks)


def history_problem(messages: list[dict[str, Any]]) -> str | None:
    """What a real provider would reject in this history, or ``None``."""
    open_ids: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            open_ids = {c["id"] for c in message["tool_calls"]}
            for call in message["tool_calls"]:
                if not isinstance(call.get("function", {}).get("arguments"), str):
                    return f"messages[{i}]: tool call arguments must be a string"
        elif role == "tool":
            if message.get("tool_call_id") not in open_ids:
                return (
                    f"messages[{i}]: messages with role 'tool' must be a response to a preceding "
                    "message with 'tool_calls'"
                )
            open_ids.discard(message["tool_call_id"])
        elif open_ids:
            return (
                f"messages[{i}]: tool_call_ids did not have response messages: {sorted(open_ids)}"
            )
    return None


class FakeProvider:
    def __init__(self) -> None:
        self.scripts: list[Script] = []
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.closed_early = 0
        """Responses the client closed before the server finished writing them."""
        self.closed_at: list[float] = []
        """``time.monotonic()`` when each of those closes was noticed."""
        self.open_streams = 0
        """Streamed responses being written right now."""
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def queue(self, *scripts: Script) -> None:
        self.scripts.extend(scripts)

    async def start(self) -> FakeProvider:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _next_script(self) -> Script:
        if len(self.scripts) > 1:
            return self.scripts.pop(0)
        return self.scripts[0] if self.scripts else Script(events=text_chunks("ok"))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = {"method": method, "path": path, "headers": headers}
                if body:
                    request["json"] = json.loads(body)
                self.requests.append(request)
                if not await self._respond(request, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            if not writer.is_closing():
                writer.close()

    async def _respond(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """Write one response; return whether the connection may be reused."""
        script = self._next_script()
        if script.refuse:
            writer.transport.abort()
            return False
        problem = history_problem(request.get("json", {}).get("messages", []))
        if problem is not None:
            script = Script(
                status=400,
                json_body={"error": {"message": problem, "type": "invalid_request_error"}},
            )
        if script.json_body is not None or script.status != 200:
            payload = json.dumps(
                script.json_body or {"error": {"message": f"HTTP {script.status}"}}
            ).encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in script.headers.items())
            writer.write(
                f"HTTP/1.1 {script.status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\n{extra}\r\n".encode()
                + payload
            )
            await writer.drain()
            return True
        extra = "".join(f"{k}: {v}\r\n" for k, v in script.headers.items())
        # Chunked, as real providers stream: a reset mid-body is then visible to the client as
        # an incomplete message, not mistaken for a normal end.
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n"
            + (b"" if script.keep_alive else b"connection: close\r\n")
            + extra.encode()
            + b"\r\n"
        )
        await writer.drain()
        self.open_streams += 1
        try:
            if script.stall_before_first_s:
                await asyncio.sleep(script.stall_before_first_s)
            for i, piece in enumerate(script.events):
                if script.reset_after is not None and i >= script.reset_after:
                    writer.transport.abort()
                    return False
                if script.delay_s:
                    await asyncio.sleep(script.delay_s)
                if i in script.pause_before:
                    await asyncio.sleep(script.pause_before[i])
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
            if script.reset_after is not None and script.reset_after >= len(script.events):
                writer.transport.abort()
                return False
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            if script.keep_alive:
                return True
        except ConnectionError:
            self.closed_early += 1
            self.closed_at.append(time.monotonic())
        finally:
            self.open_streams -= 1
        return False


# The Responses API ------------------------------------------------------------------------------

RESPONSES_CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "responses"


def responses_corpus_events(name: str) -> list[bytes]:
    """A ``tests/corpus/responses`` file split into its SSE events, bytes kept exactly."""
    raw = (RESPONSES_CORPUS / f"{name}.sse").read_bytes().replace(b"\r\n", b"\n")
    return [p + b"\n\n" for p in raw.split(b"\n\n") if p.strip()]


def response_events(*events: dict[str, Any]) -> list[bytes]:
    """Responses SSE events (``event:`` and ``data:`` lines), numbered in order."""
    out = []
    for number, event in enumerate(events):
        data = json.dumps({**event, "sequence_number": number}, ensure_ascii=False)
        out.append(f"event: {event['type']}\ndata: {data}\n\n".encode())
    return out


def responses_text(*pieces: str, usage: bool = True) -> list[bytes]:
    """A well-formed streamed Responses text answer, one delta per piece."""
    text = "".join(pieces)
    shell = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}
    item = {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress"}
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": text, "annotations": []}
    done = {**item, "status": "completed", "content": [part]}
    tokens = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15} if usage else None
    return response_events(
        {"type": "response.created", "response": shell},
        {"type": "response.in_progress", "response": shell},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        *({"type": "response.output_text.delta", **at, "delta": p} for p in pieces),
        {"type": "response.output_text.done", **at, "text": text},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        {
            "type": "response.completed",
            "response": {**shell, "status": "completed", "output": [done], "usage": tokens},
        },
    )


def input_problem(items: Any) -> str | None:
    """What the Responses API would reject in these input items, or ``None``: every
    ``function_call_output`` answers an earlier ``function_call``, and every call is answered."""
    if not isinstance(items, list):
        return None
    calls: list[str] = []
    answered: set[str] = set()
    for item in items:
        if item.get("type") == "function_call":
            calls.append(item.get("call_id"))
        elif item.get("type") == "function_call_output":
            if item.get("call_id") not in calls:
                return (
                    "No tool call found for function call output with call_id "
                    f"{item.get('call_id')}."
                )
            answered.add(item["call_id"])
    missing = [call for call in calls if call not in answered]
    return f"No tool output found for function call {missing[0]}." if missing else None


class FakeResponsesProvider(FakeProvider):
    """A :class:`FakeProvider` that also checks Responses input as the API does (400 if not)."""

    async def _respond(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        problem = input_problem((request.get("json") or {}).get("input"))
        if problem is None:
            return await super()._respond(request, writer)
        self._next_script()
        body = {"error": {"message": problem, "type": "invalid_request_error", "param": "input"}}
        payload = json.dumps(body).encode()
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        await writer.drain()
        return True
