"""Conversations, their messages, their event log, and stopping a reply."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from booking.api.approvals import Decision, record_decisions
from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.routes.chat import STREAM, MessageTooLong
from booking.api.schemas import (
    CONVERSATION_ID,
    ApprovalDecisionIn,
    ApprovalsPending,
    ConversationCreate,
    ConversationDetail,
    ConversationPage,
    ConversationRead,
    MessageCreate,
    StopResult,
    TurnResult,
)
from booking.api.state import AppState
from booking.api.streaming import stream_response
from booking.api.transcript import fold_parts, user_message
from booking.api.turns import ConversationExists, LiveTurn
from booking.db.conversation_repository import (
    ConversationRepository,
    TurnEventRepository,
    TurnRepository,
)
from booking.db.models import Conversation
from booking.errors import ApprovalNotFound, NotFound, ValidationFailed

router = APIRouter(
    prefix="/v1/conversations", tags=["conversations"], responses=problem_responses(401, 429)
)
APPROVAL_ID = r"^apr_[0-9a-f]{32}$"


# Ids that cannot exist are simply not found (404), as unknown ones are, never a 422 that would
# tell them apart; and they are answered before any query (a NUL cannot even be sent to
# PostgreSQL). The client is resolved first, so a request without a key still gets 401.
def _conversation_id(
    conversation_id: Annotated[str, Path(json_schema_extra={"pattern": CONVERSATION_ID})],
    client: CurrentClient,
) -> str:
    if not re.fullmatch(CONVERSATION_ID, conversation_id):
        raise _not_found(conversation_id)
    return conversation_id


def _approval_id(
    approval_id: Annotated[str, Path(json_schema_extra={"pattern": APPROVAL_ID})],
    client: CurrentClient,
) -> str:
    if not re.fullmatch(APPROVAL_ID, approval_id):
        raise ApprovalNotFound(
            f"No pending approval {approval_id} in this conversation.", approval_id=approval_id
        )
    return approval_id


ConversationId = Annotated[str, Depends(_conversation_id)]
ApprovalId = Annotated[str, Depends(_approval_id)]
#: Parsed by hand: any media range may come, and only an exact preference for JSON changes the
#: answer. The 200 response documents both media types.
Accept = Annotated[str, Header(include_in_schema=False)]
#: Cursors are bigints, but none gets past the largest integer every JSON parser reads exactly
#: (JavaScript's MAX_SAFE_INTEGER); a Last-Event-ID has at most 15 digits, below it.
MAX_CURSOR = 2**53 - 1


def _read(c: Conversation, last_event_id: int | None = None) -> ConversationRead:
    """``last_event_id`` is the newest stored part (the row's cursor moves only as turns end)."""
    return ConversationRead(
        id=c.id,
        title=c.title,
        created_at=c.created_at,
        updated_at=c.updated_at,
        last_event_id=max(c.last_seq, last_event_id or 0),
    )


def _not_found(conversation_id: str) -> NotFound:
    return NotFound(f"No conversation {conversation_id}.", conversation_id=conversation_id)


@router.post("", status_code=201, responses=problem_responses(409, 413, 422))
async def create_conversation(
    body: ConversationCreate, client: CurrentClient, state: StateDep
) -> ConversationRead:
    """Create a conversation (the id is generated unless given)."""
    conversation_id = body.id or uuid.uuid4().hex
    async with state.sessionmaker() as session, session.begin():
        repo = ConversationRepository(session)
        if await repo.exists_anywhere(conversation_id):
            raise ConversationExists(
                f"Conversation {conversation_id} already exists.", conversation_id=conversation_id
            )
        conversation = Conversation(id=conversation_id, tenant=client.tenant, title=body.title)
        await repo.add(conversation)
        await session.refresh(conversation)
    return _read(conversation)


@router.get("", responses=problem_responses(422))
async def list_conversations(
    client: CurrentClient,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ConversationPage:
    """List conversations, most recently active first."""
    before = _decode_cursor(cursor) if cursor else None
    async with state.sessionmaker() as session:
        rows = await ConversationRepository(session).page(client.tenant, limit + 1, before)
        stored = await TurnEventRepository(session).last_seqs([c.id for c in rows[:limit]])
    items = [_read(c, stored.get(c.id)) for c in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ConversationPage(items=items, next_cursor=next_cursor)


@router.get("/{conversation_id}", responses=problem_responses(404, 422))
async def get_conversation(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep
) -> ConversationDetail:
    """The conversation and its transcript as UI messages, to hydrate a chat window."""
    async with state.sessionmaker() as session:
        conversation = await ConversationRepository(session).get(client.tenant, conversation_id)
        if conversation is None:
            raise _not_found(conversation_id)
        messages = await ConversationRepository(session).messages(conversation_id)
        events = await TurnEventRepository(session).for_conversation(conversation_id)
        running = await TurnRepository(session).running(conversation_id)
    # A reply that paused for approval continues in another turn as the same message: group the
    # parts by the message id each turn's `start` names.
    message_of: dict[str, str] = {}
    by_message: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        message_id = message_of.setdefault(
            event.turn_id, str(event.part.get("messageId") or event.turn_id)
        )
        by_message.setdefault(message_id, []).append(event.part)
    transcript = []
    for m in messages:
        if m.role == "user":
            transcript.append(
                user_message(
                    m.ui_message_id, str(m.payload.get("content", "")), f"user-{m.position}"
                )
            )
            if message_of.get(m.turn_id) in by_message:
                transcript.append(fold_parts(by_message.pop(message_of[m.turn_id])))
    return ConversationDetail(
        **_read(conversation, events[-1].seq if events else None).model_dump(),
        running_turn_id=running.id if running else None,
        messages=transcript,
    )


@router.delete("/{conversation_id}", status_code=204, responses=problem_responses(404, 422))
async def delete_conversation(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep
) -> Response:
    """Delete a conversation and everything in it (a running reply is stopped first)."""
    await state.turns.stop(client.tenant, conversation_id)
    async with state.sessionmaker() as session, session.begin():
        if await ConversationRepository(session).get(client.tenant, conversation_id) is None:
            raise _not_found(conversation_id)
        await ConversationRepository(session).delete(conversation_id)
    return Response(status_code=204)


@router.post(
    "/{conversation_id}/messages",
    responses={**STREAM, **problem_responses(404, 409, 413, 422, 503)},
    response_model=TurnResult,
)
async def send_message(
    conversation_id: ConversationId,
    body: MessageCreate,
    request: Request,
    client: CurrentClient,
    state: StateDep,
    accept: Accept = "text/event-stream",
) -> EventSourceResponse | TurnResult:
    """Send a message: `Accept: text/event-stream` streams the reply; `application/json` waits for it."""
    if len(body.text) > state.settings.max_message_chars:
        raise MessageTooLong(
            f"Messages are limited to {state.settings.max_message_chars} characters."
        )
    live = await state.turns.begin(client.tenant, conversation_id, body.text, ui_message_id=body.id)
    return await _reply(state, request, live, accept)


@router.post(
    "/{conversation_id}/approvals/{approval_id}",
    responses={
        **STREAM,
        202: {"model": ApprovalsPending, "description": "Other approvals of the reply still wait"},
        **problem_responses(404, 409, 413, 422, 503),
    },
    response_model=TurnResult,
)
async def decide_approval(
    conversation_id: ConversationId,
    approval_id: ApprovalId,
    body: ApprovalDecisionIn,
    request: Request,
    client: CurrentClient,
    state: StateDep,
    accept: Accept = "text/event-stream",
) -> EventSourceResponse | TurnResult | JSONResponse:
    """Approve or decline a paused action; the reply continues (streamed, or as JSON)."""
    state.turns.check_capacity()
    decided = await record_decisions(
        state.sessionmaker,
        client.tenant,
        conversation_id,
        [Decision(approval_id, body.approved, body.reason, body.arguments)],
    )
    if decided.still_pending:
        pending = ApprovalsPending(pending_approval_ids=decided.still_pending)
        return JSONResponse(pending.model_dump(), status_code=202)
    live = await state.turns.resume_after_approval(
        client.tenant, conversation_id, decided.message_id, decided.resolved
    )
    return await _reply(state, request, live, accept)


async def _reply(
    state: AppState, request: Request, live: LiveTurn, accept: str
) -> EventSourceResponse | TurnResult:
    """Stream the turn, or (``Accept: application/json``) wait for it and return the message."""
    wants_json = "application/json" in accept and "text/event-stream" not in accept
    if not wants_json:
        return stream_response(state, request, live.conversation_id, live.first_seq - 1)
    assert live.task is not None
    # Shielded: a client that goes away must not cancel the turn (only stop does).
    await asyncio.shield(live.task)
    async with state.sessionmaker() as session:
        turn = await TurnRepository(session).get(live.turn_id)
        rows = await TurnEventRepository(session).for_message(live.conversation_id, live.message_id)
    return TurnResult(
        turn_id=live.turn_id,
        status=turn.status if turn else "done",
        message=fold_parts(row.part for row in rows),
        last_event_id=live.parts[-1][0] if live.parts else live.first_seq - 1,
    )


@router.get(
    "/{conversation_id}/events",
    responses={**STREAM, **problem_responses(404, 422)},
    response_class=Response,  # The stream's only media type is the one STREAM documents.
)
async def events(
    conversation_id: ConversationId,
    request: Request,
    client: CurrentClient,
    state: StateDep,
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    last_event_id: Annotated[str | None, Header(pattern=r"^[0-9]{0,15}$")] = None,
) -> EventSourceResponse:
    """Replay the events after a cursor (`Last-Event-ID` or `?after=`), then follow the running reply."""
    cursor = after
    if cursor is None and last_event_id:  # An empty one is no cursor, as for EventSource.
        cursor = int(last_event_id)
    async with state.sessionmaker() as session:
        if await ConversationRepository(session).get(client.tenant, conversation_id) is None:
            raise _not_found(conversation_id)
    return stream_response(state, request, conversation_id, cursor or 0)


@router.post("/{conversation_id}/stop", responses=problem_responses(404, 422))
async def stop(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep
) -> StopResult:
    """Stop the running reply: its partial answer is kept and its stream ends with `abort`. Idempotent."""
    return StopResult(stopped_turn_id=await state.turns.stop(client.tenant, conversation_id))


def _encode_cursor(c: Conversation) -> str:
    return base64.urlsafe_b64encode(f"{c.updated_at.isoformat()}|{c.id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, _, conversation_id = (
            base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        )
        when = datetime.fromisoformat(stamp)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("Invalid cursor.", cursor=cursor) from None
    if not conversation_id or when.tzinfo is None:
        raise ValidationFailed("Invalid cursor.", cursor=cursor)
    return when, conversation_id
