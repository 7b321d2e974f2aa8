"""Conversations: create, list, read and delete them, and what they hold.

Rules that live here: a conversation's title is the start of its first message; a client names
a conversation by its public id, unique within the tenant only (two tenants may both have
``chat-1``; a tenant's own taken id is refused with 409, another tenant's is free, so nothing
tells a tenant what ids others use); inside, every conversation has an internal id, globally
unique, that child rows and the turn runtime use and no client ever sees; a tenant sees only its
own conversations; lists are keyset-paginated, newest activity first, with an opaque cursor. A
conversation's last event id is the newest stored part (the row's cursor moves only as turns
end, so the event log is asked as well). A conversation is deleted only at rest: with a reply
running the delete is refused (409 ``turn_running``); the API stops the reply first.

Turns themselves (starting, storing their parts, closing) are the turn runtime's
(:mod:`booking.turns`); a new message supersedes the approvals a paused turn still waits for
(:func:`booking.db.event_log.start_turn` retires them in the same transaction).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.conversation_repository import ConversationRepository
from booking.db.models import Conversation
from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.errors import ConversationExists, NotFound, TurnRunning, ValidationFailed

#: A conversation created by its first message is titled with the message's first characters.
TITLE_CHARS = 80
#: A new message while a reply waits for approval supersedes that approval: the paused tool
#: calls are answered with this (so the model's history stays valid) and can never run.
SUPERSEDED = "The traveller sent a new message instead of answering the approval request."


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: str
    """The public id (what the client chose or was given)."""
    title: str | None
    created_at: datetime
    updated_at: datetime
    last_event_id: int


@dataclass(frozen=True, slots=True)
class ConversationPage:
    items: list[ConversationView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message of the model's history, as stored."""

    position: int
    role: str
    turn_id: str | None
    payload: dict[str, Any]
    ui_message_id: str | None


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A stream part as stored in the event log."""

    seq: int
    turn_id: str
    part: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """Everything stored for one conversation: what a transcript is folded from."""

    conversation: ConversationView
    messages: list[StoredMessage]
    parts: list[StoredPart]
    running_turn_id: str | None


def title_for(first_message: str) -> str:
    return first_message[:TITLE_CHARS]


def not_found(conversation_id: str) -> NotFound:
    return NotFound(f"No conversation {conversation_id}.", conversation_id=conversation_id)


def new_internal_id() -> str:
    """A fresh internal id: opaque, and unlike any id a client is likely to choose."""
    return f"c_{uuid.uuid4().hex}"


def _view(c: Conversation, last_event_id: int | None = None) -> ConversationView:
    return ConversationView(
        id=c.public_id,
        title=c.title,
        created_at=c.created_at,
        updated_at=c.updated_at,
        last_event_id=max(c.last_seq, last_event_id or 0),
    )


async def create(
    session: AsyncSession, tenant: str, public_id: str | None, title: str | None
) -> ConversationView:
    """A new conversation (the public id is generated unless given; one the tenant already has
    is refused)."""
    public_id = public_id or uuid.uuid4().hex
    created = await ConversationRepository(session).add_if_free(
        new_internal_id(), tenant, public_id, title
    )
    if created is None:
        raise ConversationExists(
            f"Conversation {public_id} already exists.", conversation_id=public_id
        )
    return _view(created)


async def find(session: AsyncSession, tenant: str, public_id: str) -> str | None:
    """The internal id of the tenant's conversation ``public_id``, if it has one."""
    conversation = await ConversationRepository(session).by_public_id(tenant, public_id)
    return conversation.id if conversation is not None else None


async def resolve(session: AsyncSession, tenant: str, public_id: str) -> str:
    """The internal id of the tenant's conversation ``public_id``; :class:`NotFound` (naming the
    public id) when it has none, whoever else may have one."""
    found = await find(session, tenant, public_id)
    if found is None:
        raise not_found(public_id)
    return found


async def public_id_of(session: AsyncSession, conversation_id: str) -> str | None:
    """The public id of a conversation known by its internal id (None once it is deleted)."""
    return await ConversationRepository(session).public_id(conversation_id)


async def page(
    session: AsyncSession, tenant: str, limit: int, cursor: str | None
) -> ConversationPage:
    """The tenant's conversations, most recently active first, ``limit`` at a time."""
    before = _decode_cursor(cursor) if cursor else None
    rows = await ConversationRepository(session).page(tenant, limit + 1, before)
    stored = await TurnEventRepository(session).last_seqs([c.id for c in rows[:limit]])
    items = [_view(c, stored.get(c.id)) for c in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return ConversationPage(items=items, next_cursor=next_cursor)


async def require(session: AsyncSession, tenant: str, conversation_id: str) -> None:
    """Raise :class:`NotFound` unless the tenant has this conversation (by its internal id: the
    turn runtime's check; the API resolves public ids first)."""
    if await ConversationRepository(session).get(tenant, conversation_id) is None:
        raise not_found(conversation_id)


async def record(session: AsyncSession, tenant: str, public_id: str) -> ConversationRecord:
    """The conversation with its messages, its stored parts and its running turn, if any."""
    conversation = await ConversationRepository(session).by_public_id(tenant, public_id)
    if conversation is None:
        raise not_found(public_id)
    conversation_id = conversation.id
    messages = await ConversationRepository(session).messages(conversation_id)
    events = await TurnEventRepository(session).for_conversation(conversation_id)
    running = await TurnRepository(session).running(conversation_id)
    return ConversationRecord(
        conversation=_view(conversation, events[-1].seq if events else None),
        messages=[
            StoredMessage(m.position, m.role, m.turn_id, m.payload, m.ui_message_id)
            for m in messages
        ],
        parts=_parts(events),
        running_turn_id=running.id if running else None,
    )


async def delete(session: AsyncSession, tenant: str, public_id: str) -> None:
    """Delete the conversation and everything in it, if no reply is running in it; else
    :class:`TurnRunning` (stop it first). The row is locked, as a turn's start locks it, so no
    reply can start while the delete decides."""
    repo = ConversationRepository(session)
    conversation = await repo.by_public_id(tenant, public_id, lock=True)
    if conversation is None:
        raise not_found(public_id)
    running = await TurnRepository(session).running(conversation.id)
    if running is not None:
        raise TurnRunning(
            "A reply is still being written in this conversation; stop it, then delete.",
            running_turn_id=running.id,
        )
    await repo.delete(conversation.id)


async def message_parts(
    session: AsyncSession, conversation_id: str, message_id: str
) -> list[StoredPart]:
    """Every stored part of one assistant message, across the turns that wrote it."""
    rows = await TurnEventRepository(session).for_message(conversation_id, message_id)
    return _parts(rows)


def _parts(rows: Sequence[Any]) -> list[StoredPart]:
    return [StoredPart(row.seq, row.turn_id, row.part) for row in rows]


def _encode_cursor(c: Conversation) -> str:
    return base64.urlsafe_b64encode(f"{c.updated_at.isoformat()}|{c.public_id}".encode()).decode()


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
