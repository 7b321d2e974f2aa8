"""AG-UI (``@ag-ui/client``'s ``HttpAgent``, CopilotKit): ``POST /v1/agui`` runs a turn and
streams it as AG-UI events; the same POST with ``Last-Event-ID``, or ``GET
/v1/agui/{thread_id}/events``, resumes it. See docs/interop.md, "AG-UI".

A turn is the same turn ``/v1/chat`` runs: the same admission, tenants, history from the server
(only the new user message is read), approvals decided through the same
:func:`~booking.turns.record_decisions`, and the same stored parts, translated by
:class:`~booking.api.agui.AguiEncoder` as they are sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from ag_ui.core import (
    BaseEvent,
    RunAgentInput,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    TextPart,
)
from ag_ui.encoder import EventEncoder
from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import Field

from booking.api.agui import AguiEncoder
from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.routes.chat import find_conversation, no_such_approval, resolve_conversation
from booking.api.schemas import CONVERSATION_ID, RequestBody
from booking.api.sse import UIMessageStream, app_heartbeats
from booking.api.state import AppState
from booking.domain import conversations
from booking.errors import MessageTooLong, NotFound, ValidationFailed
from booking.turns import Decision, Draining, approval_expiries, record_decisions
from booking.turns.ui_stream import is_terminal

router = APIRouter(prefix="/v1/agui", tags=["agui"], responses=problem_responses(401, 429))

#: Cursors a client may resume after (as on ``/v1/conversations/{id}/events``).
MAX_CURSOR = 2**53 - 1
LAST_EVENT_ID = r"^[0-9]{0,15}$"
_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "description": "An AG-UI event as JSON."},
        "id": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "On the last event each stored part made: resume after it.",
        },
    },
}
STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The run as AG-UI events (RUN_STARTED ... RUN_FINISHED or RUN_ERROR).",
        "content": {"text/event-stream": {"itemSchema": _EVENT}},
    }
}
HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no", "connection": "keep-alive"}


class AguiRunInput(RequestBody, RunAgentInput):
    """AG-UI's ``RunAgentInput`` (1.0): ``threadId`` is the conversation's id within your
    tenant (created on first use), ``runId`` the client's, echoed back. Of ``messages`` only the
    last, the user's new message, is read; ``resume`` answers the approvals a paused run asked
    for. ``tools``, ``context``, ``state`` and ``forwardedProps`` are accepted and ignored (the
    agent's tools are the server's)."""

    thread_id: str = Field(pattern=CONVERSATION_ID)
    run_id: str = Field(min_length=1, max_length=128)


class AguiStream(UIMessageStream):
    """The shared SSE body loop and heartbeats, without the UI message stream's header."""

    def __init__(self, frames: AsyncIterator[bytes], request: Request, heartbeat_s: float) -> None:
        super().__init__(frames, app_heartbeats(request, heartbeat_s))
        self.init_headers(HEADERS)


def _frame(events: list[BaseEvent], seq: int | None) -> str:
    """SSE frames; the part's cursor goes on its last event only, so a resume never splits a
    part."""
    encoder = EventEncoder()
    frames = [encoder.encode(event) for event in events]
    if seq is not None and frames:
        frames[-1] = f"id: {seq}\n{frames[-1]}"
    return "".join(frames)


async def _with_expiry(state: AppState, tenant: str, events: list[BaseEvent]) -> None:
    """Fill each approval interrupt's ``expiresAt`` from the server's record (the stored part
    does not carry it)."""
    for event in events:
        if isinstance(event, RunFinishedEvent) and isinstance(
            event.outcome, RunFinishedInterruptOutcome
        ):
            interrupts = event.outcome.interrupts
            expiries = await approval_expiries(
                state.sessionmaker, tenant, [interrupt.id for interrupt in interrupts]
            )
            for interrupt in interrupts:
                if interrupt.id in expiries:
                    interrupt.expires_at = expiries[interrupt.id].isoformat()


def agui_response(
    state: AppState,
    request: Request,
    tenant: str,
    conversation_id: str,
    *,
    thread_id: str,
    run_id: str,
    after: int,
    replay_from: int,
) -> AguiStream:
    """Follow the conversation from ``replay_from`` (the start of the run's turn, or earlier),
    encode every part, send what comes after ``after``, and end with the run.

    Parts up to ``after`` are encoded and dropped: the encoder then knows the open messages,
    steps and tool calls of the run being resumed, so the rest is exactly what the first stream
    would have sent."""

    async def frames() -> AsyncIterator[bytes]:
        state.metrics.active_streams.inc()
        deadline = time.monotonic() + state.settings.max_stream_lifetime_s
        encoder = AguiEncoder(thread_id, run_id)
        last = after
        try:
            ended = beyond = False
            async for batch in state.turns.follow(conversation_id, replay_from):
                out: list[str] = []
                for seq, part, _ in batch:
                    if ended:
                        beyond = True  # Another turn's part: this run is over.
                        break
                    events = encoder.encode(seq, part)
                    if seq <= after:
                        continue
                    last = seq
                    if events:
                        await _with_expiry(state, tenant, events)
                        out.append(_frame(events, seq))
                    ended = is_terminal(part)
                if out:
                    yield "".join(out).encode()
                if beyond:
                    return
                # After the run's last event, the body ends only once the turn is closed (the
                # follow ends): a client that sends its next message at once must not find the
                # turn still running (409 turn_running).
                if not ended and time.monotonic() > deadline and last > after:
                    return  # Capped: the client resumes from the last id it saw.
        except Draining:
            yield _frame([AguiEncoder.farewell(last)], None).encode()
        finally:
            state.metrics.active_streams.dec()

    return AguiStream(frames(), request, state.settings.heartbeat_s)


def _user_text(body: AguiRunInput, limit: int) -> tuple[str, str]:
    """The new user message (the last message) and its id; earlier messages are not read."""
    if not body.messages:
        raise ValidationFailed("messages must end with the user's new message.")
    last = body.messages[-1]
    if last.role != "user":
        raise ValidationFailed(
            "The last message must be the user's new message (or send resume entries)."
        )
    content = last.content
    if isinstance(content, str):
        text = content
    else:
        text = "".join(p.text for p in content if isinstance(p, TextPart))
    text = text.strip()
    if not text:
        raise ValidationFailed("The message has no text.")
    if len(text) > limit:
        raise MessageTooLong(f"Messages are limited to {limit} characters.", limit=limit)
    return text, last.id


def _decisions(body: AguiRunInput) -> list[Decision]:
    """``resume`` entries as approval decisions: ``resolved`` with ``{approved, reason?,
    arguments?}``; ``cancelled`` declines. The server checks each against its own record."""
    decisions = []
    for entry in body.resume or []:
        payload = entry.payload if isinstance(entry.payload, dict) else {}
        if entry.status == "cancelled":
            decisions.append(Decision(entry.interrupt_id, False, "cancelled", None))
            continue
        approved = payload.get("approved")
        if not isinstance(approved, bool):
            raise ValidationFailed(
                "A resolved approval needs a payload with approved true or false.",
                interrupt_id=entry.interrupt_id,
            )
        reason = payload.get("reason")
        arguments = payload.get("arguments")
        decisions.append(
            Decision(
                entry.interrupt_id,
                approved,
                str(reason)[:500] if reason is not None else None,
                arguments if isinstance(arguments, dict) else None,
            )
        )
    return decisions


async def _replay_from(state: AppState, tenant: str, conversation_id: str, after: int) -> int:
    """Where to replay from to resume after ``after``: the running turn's start when the cursor
    is inside it, else the conversation's first stored part (a turn that has ended since; the
    event log keeps a conversation's parts for the resume window only)."""
    try:
        turn = await state.turns.running_turn(tenant, conversation_id)
    except NotFound:
        turn = None
    if turn is not None and turn.first_seq - 1 <= after:
        return turn.first_seq - 1
    return 0


@router.post(
    "",
    responses={**STREAM, **problem_responses(404, 409, 413, 422, 503)},
    response_class=Response,  # The stream's only media type is the one STREAM documents.
)
async def run(
    body: AguiRunInput,
    request: Request,
    client: CurrentClient,
    state: StateDep,
    last_event_id: Annotated[str | None, Header(pattern=LAST_EVENT_ID)] = None,
) -> AguiStream:
    """Run the agent (AG-UI ``RunAgentInput``) and stream the run as AG-UI events.

    With ``resume`` (after a run that ended with an interrupt outcome), the approvals are
    decided and the paused reply continues. With ``Last-Event-ID``, nothing new starts: the
    run is resumed after that id."""
    tenant = client.tenant
    if last_event_id:
        after = int(last_event_id)
        internal = await resolve_conversation(state, tenant, body.thread_id)
        replay = await _replay_from(state, tenant, internal, after)
        return agui_response(
            state,
            request,
            tenant,
            internal,
            thread_id=body.thread_id,
            run_id=body.run_id,
            after=after,
            replay_from=replay,
        )
    if body.resume:
        decisions = _decisions(body)
        state.turns.check_capacity()
        found = await find_conversation(state, tenant, body.thread_id)
        if found is None:
            raise no_such_approval(decisions[0])
        decided = await record_decisions(
            state.sessionmaker, tenant, found, decisions, require_all=True
        )
        live = await state.turns.resume_after_approval(
            tenant, found, decided.message_id, decided.resolved, public_id=body.thread_id
        )
    else:
        text, message_id = _user_text(body, state.settings.max_message_chars)
        live = await state.turns.begin(
            tenant, None, text, ui_message_id=message_id, create=True, public_id=body.thread_id
        )
    start = live.first_seq - 1
    return agui_response(
        state,
        request,
        tenant,
        live.conversation_id,
        thread_id=body.thread_id,
        run_id=body.run_id,
        after=start,
        replay_from=start,
    )


@router.get(
    "/{thread_id}/events",
    responses={**STREAM, **problem_responses(404, 422)},
    response_class=Response,
)
async def resume(
    thread_id: Annotated[str, Path(json_schema_extra={"pattern": CONVERSATION_ID})],
    request: Request,
    client: CurrentClient,
    state: StateDep,
    run_id: Annotated[str, Query(alias="runId", min_length=1, max_length=128)],
    after: Annotated[int | None, Query(ge=0, le=MAX_CURSOR)] = None,
    last_event_id: Annotated[str | None, Header(pattern=LAST_EVENT_ID)] = None,
) -> AguiStream:
    """Resume a run after a cursor (``Last-Event-ID`` or ``?after=``): exactly the events the
    first stream had not sent yet, then the run live until it ends. ``runId`` is echoed."""
    cursor = after
    if cursor is None and last_event_id:
        cursor = int(last_event_id)
    cursor = cursor or 0
    if not re.fullmatch(CONVERSATION_ID, thread_id):  # Cannot exist: not found, as elsewhere.
        raise conversations.not_found(thread_id)
    internal = await resolve_conversation(state, client.tenant, thread_id)
    replay = await _replay_from(state, client.tenant, internal, cursor)
    return agui_response(
        state,
        request,
        client.tenant,
        internal,
        thread_id=thread_id,
        run_id=run_id,
        after=cursor,
        replay_from=replay,
    )
