"""Conversations, their messages, their event log, and stopping a reply."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.routes.chat import (
    STREAM,
    find_conversation,
    no_such_approval,
    resolve_conversation,
)
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
from booking.api.sse import UIMessageStream, stream_response
from booking.api.state import AppState
from booking.domain import conversations
from booking.errors import ApprovalNotFound, MessageTooLong, NotFound, TurnRunning
from booking.turns import Decision, LiveTurn, record_decisions, transcript

router = APIRouter(
    prefix="/v1/conversations", tags=["conversations"], responses=problem_responses(401, 429)
)
APPROVAL_ID = r"^apr_[0-9a-f]{32}$"


# Ids that cannot exist are simply not found (404), as unknown ones are, never a 422 that would
# tell them apart; and they are answered before any query (a NUL cannot even be sent to
# PostgreSQL). The client is resolved first, so a request without a key still gets 401. Async,
# as every dependency here: FastAPI runs a plain ``def`` one in a worker thread.
async def _conversation_id(
    conversation_id: Annotated[str, Path(json_schema_extra={"pattern": CONVERSATION_ID})],
    client: CurrentClient,
) -> str:
    if not re.fullmatch(CONVERSATION_ID, conversation_id):
        raise _not_found(conversation_id)
    return conversation_id


async def _approval_id(
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
#: How long a delete waits for the conversation's running reply to stop (wherever it runs)
#: before it answers 409 ``turn_running`` and deletes nothing. A live server stops a reply in
#: milliseconds; one that is stalled (paused, overloaded) does not, and then the delete is
#: refused rather than leaving a reply writing into a deleted conversation.
DELETE_STOP_WAIT_S = 5.0


def _not_found(conversation_id: str) -> Exception:
    return conversations.not_found(conversation_id)


@router.post("", status_code=201, responses=problem_responses(409, 413, 422))
async def create_conversation(
    body: ConversationCreate, client: CurrentClient, state: StateDep
) -> ConversationRead:
    """Create a conversation (the id is generated unless given)."""
    async with state.sessionmaker() as session, session.begin():
        created = await conversations.create(session, client.tenant, body.id, body.title)
    return ConversationRead.model_validate(created, from_attributes=True)


@router.get("", responses=problem_responses(422))
async def list_conversations(
    client: CurrentClient,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ConversationPage:
    """List conversations, most recently active first."""
    async with state.sessionmaker() as session:
        page = await conversations.page(session, client.tenant, limit, cursor)
    return ConversationPage.model_validate(page, from_attributes=True)


@router.get("/{conversation_id}", responses=problem_responses(404, 422))
async def get_conversation(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep
) -> ConversationDetail:
    """The conversation and its transcript as UI messages, to hydrate a chat window."""
    async with state.sessionmaker() as session:
        record = await conversations.record(session, client.tenant, conversation_id)
    return ConversationDetail(
        **ConversationRead.model_validate(record.conversation, from_attributes=True).model_dump(),
        running_turn_id=record.running_turn_id,
        messages=transcript(record),
    )


@router.delete("/{conversation_id}", status_code=204, responses=problem_responses(404, 409, 422))
async def delete_conversation(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep
) -> Response:
    """Delete a conversation and everything in it (a running reply is stopped first, wherever it
    runs; 409 `turn_running` and nothing deleted if it has not stopped within 5 s)."""
    internal = await resolve_conversation(state, client.tenant, conversation_id)
    try:
        outcome = await state.turns.stop_turn(client.tenant, internal, wait_s=DELETE_STOP_WAIT_S)
    except NotFound:
        raise _not_found(conversation_id) from None  # Deleted since it was resolved.
    if not outcome.closed:
        raise TurnRunning(
            f"The reply being written did not stop within {DELETE_STOP_WAIT_S:g} s (its server "
            "is alive but not answering); nothing was deleted. Try again in a moment.",
            running_turn_id=outcome.turn_id,
        )
    # Deletes only at rest, with the row locked as a turn's start locks it: a reply started
    # since the stop gets the delete refused (409) rather than cut off.
    async with state.sessionmaker() as session, session.begin():
        await conversations.delete(session, client.tenant, conversation_id)
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
) -> UIMessageStream | TurnResult:
    """Send a message: `Accept: text/event-stream` streams the reply; `application/json` waits for it."""
    if len(body.text) > state.settings.max_message_chars:
        raise MessageTooLong(
            f"Messages are limited to {state.settings.max_message_chars} characters."
        )
    internal = await resolve_conversation(state, client.tenant, conversation_id)
    live = await state.turns.begin(
        client.tenant, internal, body.text, ui_message_id=body.id, public_id=conversation_id
    )
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
) -> UIMessageStream | TurnResult | JSONResponse:
    """Approve or decline a paused action; the reply continues (streamed, or as JSON)."""
    state.turns.check_capacity()
    decision = Decision(approval_id, body.approved, body.reason, body.arguments)
    internal = await find_conversation(state, client.tenant, conversation_id)
    if internal is None:
        raise no_such_approval(decision)
    decided = await record_decisions(state.sessionmaker, client.tenant, internal, [decision])
    if decided.still_pending:
        pending = ApprovalsPending(pending_approval_ids=decided.still_pending)
        return JSONResponse(pending.model_dump(), status_code=202)
    live = await state.turns.resume_after_approval(
        client.tenant, internal, decided.message_id, decided.resolved, public_id=conversation_id
    )
    return await _reply(state, request, live, accept)


async def _reply(
    state: AppState, request: Request, live: LiveTurn, accept: str
) -> UIMessageStream | TurnResult:
    """Stream the turn, or (``Accept: application/json``) wait for it and return the message."""
    wants_json = "application/json" in accept and "text/event-stream" not in accept
    if not wants_json:
        return stream_response(state, request, live.conversation_id, live.first_seq - 1)
    reply = await state.turns.reply(live)
    return TurnResult.model_validate(reply, from_attributes=True)


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
) -> UIMessageStream:
    """Replay the events after a cursor (`Last-Event-ID` or `?after=`), then follow the running reply."""
    cursor = after
    if cursor is None and last_event_id:  # An empty one is no cursor, as for EventSource.
        cursor = int(last_event_id)
    internal = await resolve_conversation(state, client.tenant, conversation_id)
    return stream_response(state, request, internal, cursor or 0)


@router.post(
    "/{conversation_id}/stop",
    responses={
        202: {
            "model": StopResult,
            "description": "Asked to stop, not yet stopped: the reply's server is alive but has "
            "not closed it within 5 s (it will, or its lease lapses and another server does).",
        },
        **problem_responses(404, 422),
    },
)
async def stop(
    conversation_id: ConversationId, client: CurrentClient, state: StateDep, response: Response
) -> StopResult:
    """Stop the running reply: its partial answer is kept and its stream ends with `abort` (or,
    when its server is gone, with a retryable `turn_interrupted` error). 200 once it has
    stopped; 202 if its server has not confirmed within 5 s. Idempotent."""
    internal = await resolve_conversation(state, client.tenant, conversation_id)
    try:
        outcome = await state.turns.stop_turn(client.tenant, internal)
    except NotFound:
        raise _not_found(conversation_id) from None  # Deleted since it was resolved.
    if not outcome.closed:
        response.status_code = 202
    return StopResult(stopped_turn_id=outcome.turn_id)
