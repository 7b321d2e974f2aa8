"""The endpoints ``useChat`` (``DefaultChatTransport``) calls."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from booking.api.deps import CurrentClient, StateDep
from booking.api.schemas import CONVERSATION_ID, ChatRequest
from booking.api.streaming import stream_response
from booking.errors import NotFound, ValidationFailed

router = APIRouter(prefix="/v1/chat", tags=["chat"])

STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "UI message stream"}
}


class MessageTooLong(ValidationFailed):
    code = "message_too_long"


def user_text(body: ChatRequest, limit: int) -> tuple[str, str | None]:
    """The new user message's text and id; history sent by the client is never trusted."""
    last = body.messages[-1]
    if last.role != "user":
        raise ValidationFailed("The last message must be the user's new message.")
    text = "".join(p.text or "" for p in last.parts if p.type == "text").strip()
    if not text:
        raise ValidationFailed("The message has no text.")
    if len(text) > limit:
        raise MessageTooLong(f"Messages are limited to {limit} characters.", limit=limit)
    return text, last.id


@router.post("", responses={**STREAM, 409: {}, 422: {}, 503: {}})
async def chat(
    body: ChatRequest, request: Request, client: CurrentClient, state: StateDep
) -> EventSourceResponse:
    """Send the user's new message and stream the answer (creates the conversation on first use)."""
    text, message_id = user_text(body, state.settings.max_message_chars)
    live = await state.turns.begin(
        client.tenant, body.id, text, ui_message_id=message_id, create=True
    )
    return stream_response(state, request, body.id, live.first_seq - 1)


@router.get("/{chat_id}/stream", responses={**STREAM, 204: {"description": "No reply running"}})
async def resume(
    chat_id: str, request: Request, client: CurrentClient, state: StateDep
) -> Response:
    """Resume the running reply from its start (204 when none is running)."""
    if not re.fullmatch(CONVERSATION_ID, chat_id):
        return Response(status_code=204)
    try:
        turn = await state.turns.running_turn(client.tenant, chat_id)
    except NotFound:
        turn = None  # A chat the server never saw has nothing to resume, like one at rest.
    if turn is None:
        return Response(status_code=204)
    return stream_response(state, request, chat_id, turn.first_seq - 1)
