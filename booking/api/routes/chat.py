"""The endpoints ``useChat`` (``DefaultChatTransport``) calls."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.schemas import CONVERSATION_ID, ChatRequest
from booking.api.sse import stream_response
from booking.errors import MessageTooLong, NotFound, ValidationFailed
from booking.turns import Decision, record_decisions

router = APIRouter(prefix="/v1/chat", tags=["chat"], responses=problem_responses(401, 429))

#: One event of a stream, as its SSE fields.
_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "description": "A UI message stream part as JSON, or [DONE]."},
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "Resume after it."},
    },
}
STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The reply as a UI message stream (docs/api.md), ending with [DONE].",
        "content": {"text/event-stream": {"itemSchema": _EVENT}},
        "headers": {
            "x-vercel-ai-ui-message-stream": {
                "description": "The stream protocol's version (streams only).",
                "schema": {"type": "string", "enum": ["v1"]},
            }
        },
    }
}


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


def approval_responses(body: ChatRequest) -> list[Decision] | None:
    """The approval decisions in the last (assistant) message; None when it is the user's turn.

    Only the approval id, the decision, the reason and the tool input are read; the server
    checks each against its own record."""
    last = body.messages[-1]
    if last.role != "assistant":
        return None
    decisions: list[Decision] = []
    for part in last.parts:
        extra = part.model_extra or {}
        approval = extra.get("approval")
        if not (part.type.startswith("tool-") or part.type == "dynamic-tool"):
            continue
        if extra.get("state") != "approval-responded" or not isinstance(approval, dict):
            continue
        if not isinstance(approval.get("id"), str) or not isinstance(
            approval.get("approved"), bool
        ):
            raise ValidationFailed("An approval response needs an id and approved true or false.")
        reason = approval.get("reason")
        arguments = extra.get("input")
        decisions.append(
            Decision(
                approval["id"],
                approval["approved"],
                str(reason)[:500] if reason is not None else None,
                arguments if isinstance(arguments, dict) else None,
            )
        )
    if not decisions:
        raise ValidationFailed(
            "The last message must be the user's new message or carry approval responses."
        )
    return decisions


@router.post(
    "",
    responses={**STREAM, **problem_responses(404, 409, 413, 422, 503)},
    response_class=Response,  # The stream's only media type is the one STREAM documents.
)
async def chat(
    body: ChatRequest, request: Request, client: CurrentClient, state: StateDep
) -> EventSourceResponse:
    """Send the user's new message and stream the answer (creates the conversation on first use).

    When the last message is the assistant's with approval responses (``useChat`` after
    ``addToolApprovalResponse``), the decisions are checked against the server's pending
    approvals and the paused reply continues."""
    decisions = approval_responses(body)
    if decisions is not None:
        state.turns.check_capacity()
        decided = await record_decisions(
            state.sessionmaker, client.tenant, body.id, decisions, require_all=True
        )
        live = await state.turns.resume_after_approval(
            client.tenant, body.id, decided.message_id, decided.resolved
        )
        return stream_response(state, request, body.id, live.first_seq - 1)
    text, message_id = user_text(body, state.settings.max_message_chars)
    live = await state.turns.begin(
        client.tenant, body.id, text, ui_message_id=message_id, create=True
    )
    return stream_response(state, request, body.id, live.first_seq - 1)


@router.get(
    "/{chat_id}/stream",
    responses={**STREAM, 204: {"description": "No reply running"}, **problem_responses(422)},
    response_class=Response,
)
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
