"""A turn's parts as an SSE response: ids, heartbeats, a lifetime cap, ``[DONE]`` at the end."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from booking.api.sse import DONE, SSE_HEADERS, is_terminal
from booking.api.state import AppState


def stream_response(
    state: AppState, request: Request, conversation_id: str, after: int
) -> EventSourceResponse:
    """Replay parts after ``after`` and follow the running turn until it ends.

    A client that goes away stops only its stream: the turn runs on in the server.
    """

    async def frames() -> AsyncIterator[bytes]:
        state.metrics.active_streams.inc()
        deadline = time.monotonic() + state.settings.max_stream_lifetime_s
        try:
            async for batch in state.turns.follow(conversation_id, after):
                # The parts' JSON is one line and already encoded: frame it directly, and send
                # what one group commit released in one write.
                yield "".join(f"id: {seq}\ndata: {data}\n\n" for seq, _, data in batch).encode()
                if time.monotonic() > deadline and not is_terminal(batch[-1][1]):
                    return  # Capped: no [DONE], so the client resumes from the last id it saw.
            yield f"data: {DONE}\n\n".encode()
        finally:
            state.metrics.active_streams.dec()

    return EventSourceResponse(
        frames(),
        headers=SSE_HEADERS,
        ping=state.settings.heartbeat_s,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
    )
