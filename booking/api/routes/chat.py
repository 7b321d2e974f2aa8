"""The endpoints ``useChat`` (``DefaultChatTransport``) calls."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.schemas import CONVERSATION_ID, ChatRequest
from booking.api.sse import UIMessageStream, stream_response
from booking.api.state import AppState
from booking.domain import conversations
from booking.errors import ApprovalNotFound, MessageTooLong, NotFound, ValidationFailed
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


async def find_conversation(state: AppState, tenant: str, public_id: str) -> str | None:
    """The internal id of the tenant's conversation ``public_id`` (None when it has none).

    Clients name conversations by their public id, unique per tenant; the turn runtime keys
    them by the internal id, so every route resolves the one to the other first."""
    async with state.sessionmaker() as session:
        return await conversations.find(session, tenant, public_id)


async def resolve_conversation(state: AppState, tenant: str, public_id: str) -> str:
    """As :func:`find_conversation`, or 404 ``not_found`` naming the public id."""
    async with state.sessionmaker() as session:
        return await conversations.resolve(session, tenant, public_id)


def no_such_approval(decision: Decision) -> ApprovalNotFound:
    """What a decision gets in a conversation the tenant does not have: what it gets for an
    approval that is not in the conversation (so neither tells which)."""
    return ApprovalNotFound(
        f"No pending approval {decision.approval_id} in this conversation.",
        approval_id=decision.approval_id,
    )


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
) -> UIMessageStream:
    """Send the user's new message and stream the answer (creates the conversation on first use).

    When the last message is the assistant's with approval responses (``useChat`` after
    ``addToolApprovalResponse``), the decisions are checked against the server's pending
    approvals and the paused reply continues."""
    decisions = approval_responses(body)
    if decisions is not None:
        state.turns.check_capacity()
        found = await find_conversation(state, client.tenant, body.id)
        if found is None:
            raise no_such_approval(decisions[0])
        decided = await record_decisions(
            state.sessionmaker, client.tenant, found, decisions, require_all=True
        )
        live = await state.turns.resume_after_approval(
            client.tenant, found, decided.message_id, decided.resolved, public_id=body.id
        )
        return stream_response(state, request, live.conversation_id, live.first_seq - 1)
    text, message_id = user_text(body, state.settings.max_message_chars)
    # The conversation is found (or created) by the client's id in the statement that starts
    # the turn: one round trip.
    live = await state.turns.begin(
        client.tenant, None, text, ui_message_id=message_id, create=True, public_id=body.id
    )
    return stream_response(state, request, live.conversation_id, live.first_seq - 1)


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
    # A chat the server never saw (or another tenant's) has nothing to resume, like one at rest.
    found = await find_conversation(state, client.tenant, chat_id)
    try:
        turn = await state.turns.running_turn(client.tenant, found) if found else None
    except NotFound:
        turn = None  # Deleted meanwhile.
    if found is None or turn is None:
        return Response(status_code=204)
    return stream_response(state, request, found, turn.first_seq - 1)
