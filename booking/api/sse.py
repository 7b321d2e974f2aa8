"""A turn's parts as an SSE response: ids, heartbeats, a lifetime cap, ``[DONE]`` at the end.

The wire format (``useChat`` / ``readUIMessageStream`` of the ``ai`` package, see
``docs/ui-message-stream.md``): ``text/event-stream``, header
``x-vercel-ai-ui-message-stream: v1``, one ``data: <compact JSON part>`` per event, each with an
``id:`` (the conversation's cursor, which useChat ignores and our clients resume with), and a
final ``data: [DONE]``. The parts themselves are made by :mod:`booking.turns.ui_stream`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from booking.api.state import AppState
from booking.turns import Draining
from booking.turns.ui_stream import encode_part, is_terminal

SSE_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
DONE = "[DONE]"


def _farewell(last_event_id: int) -> bytes:
    """What a follower gets when the server shuts down mid-turn: a retryable error naming the
    last event id, then the end of the body without ``[DONE]``. No ``id:`` lines: these parts
    are not stored, so the client's cursor stays on the last stored part and it resumes from
    there on any other process (the turn runs on, or is closed as interrupted, meanwhile)."""
    error = {"code": "server_restarting", "retryable": True, "lastEventId": last_event_id}
    parts: list[dict[str, Any]] = [
        {"type": "message-metadata", "messageMetadata": {"error": error}},
        {
            "type": "error",
            "errorText": "The server is restarting. Reconnecting continues the answer.",
        },
    ]
    return "".join(f"data: {encode_part(p)}\n\n" for p in parts).encode()


def stream_response(
    state: AppState, request: Request, conversation_id: str, after: int
) -> EventSourceResponse:
    """Replay parts after ``after`` and follow the running turn until it ends.

    A client that goes away stops only its stream: the turn runs on in the server.
    """

    async def frames() -> AsyncIterator[bytes]:
        state.metrics.active_streams.inc()
        deadline = time.monotonic() + state.settings.max_stream_lifetime_s
        last = after
        try:
            async for batch in state.turns.follow(conversation_id, after):
                # The parts' JSON is one line and already encoded: frame it directly, and send
                # what one group commit released in one write.
                yield "".join(f"id: {seq}\ndata: {data}\n\n" for seq, _, data in batch).encode()
                last = batch[-1][0]
                if time.monotonic() > deadline and not is_terminal(batch[-1][1]):
                    return  # Capped: no [DONE], so the client resumes from the last id it saw.
            yield f"data: {DONE}\n\n".encode()
        except Draining:
            yield _farewell(last)
        finally:
            state.metrics.active_streams.dec()

    return EventSourceResponse(
        frames(),
        headers=SSE_HEADERS,
        # On shutdown sse-starlette would cancel the body at once, cutting the response short;
        # the turn manager ends every follower itself with a farewell part (``Draining``), so
        # give the generator time to do that and finish the response properly.
        shutdown_event=anyio.Event(),
        shutdown_grace_period=2.0,
        ping=state.settings.heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
    )
