"""API keys, conversations, their turns, messages and stored stream parts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base


class ApiKey(Base):
    """A bearer key; only its SHA-256 is stored. Every conversation belongs to a key's tenant."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The key's first characters, to tell keys apart in listings; never enough to use it."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    """A tenant's conversation. Two keys: ``id``, the internal one every child row and the turn
    runtime use (globally unique, never shown to a client), and ``public_id``, the one the
    client chose or was given, unique within its tenant only: two tenants may both have
    ``chat-1`` and neither can tell that the other has it."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Internal: ``c_`` and 32 hex digits for conversations created since revision 0005; older
    ones kept their id (equal to their ``public_id``)."""
    tenant: Mapped[str] = mapped_column(String(64))
    public_id: Mapped[str] = mapped_column(String(64))
    """Chosen by the client (useChat's chat id) or generated; every API request and answer
    names the conversation by this, within the caller's tenant."""
    title: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """The highest event cursor handed out in this conversation."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("id ~ '^[A-Za-z0-9_-]{1,64}$'", name="id_format"),
        CheckConstraint("public_id ~ '^[A-Za-z0-9_-]{1,64}$'", name="public_id_format"),
        UniqueConstraint("tenant", "public_id", name="uq_conversations_tenant_public_id"),
        # Lists: a tenant's conversations by activity, keyset-paginated on (updated_at, public_id).
        Index("ix_conversations_tenant_updated", "tenant", "updated_at", "public_id"),
    )


TURN_STATUSES = ("running", "done", "failed", "cancelled", "interrupted", "awaiting_approval")


class TurnRow(Base):
    """One user message and the assistant's answer to it, run by a server process."""

    __tablename__ = "turns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    """The assistant UI message id (the stream's ``start`` part)."""
    status: Mapped[str] = mapped_column(String(24), server_default="running")
    first_seq: Mapped[int] = mapped_column(BigInteger)
    """Cursor of the turn's first event; resuming "from the start" replays from here."""
    owner: Mapped[str] = mapped_column(String(64))
    """The server process running it."""
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The owner renews this while it runs; a turn past its lease was orphaned by a crash."""
    error_code: Mapped[str | None] = mapped_column(String(64))
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {TURN_STATUSES!r}", name="status_known"),
        CheckConstraint(
            "(status = 'running') = (finished_at IS NULL)", name="finished_iff_not_running"
        ),
        # One running turn per conversation, enforced by the database.
        Index(
            "uq_turns_one_running",
            "conversation_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_turns_conversation", "conversation_id", "started_at"),
        Index("ix_turns_running_lease", "lease_until", postgresql_where=text("status = 'running'")),
    )


class Message(Base):
    """One Chat Completions message of a conversation's history, in order."""

    __tablename__ = "messages"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The message exactly as sent to the model (role, content, tool_calls, tool_call_id)."""
    ui_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("role IN ('user', 'assistant', 'tool')", name="role_known"),)


class TurnEventRow(Base):
    """Every part a turn streamed, append-only, keyed by the conversation's cursor.

    Partitioned by day on ``created_at`` (retention drops whole partitions once their turns are
    compacted into ``turn_archive``), so the key includes ``created_at``: the cursor is unique per
    conversation by construction, not by this key."""

    __tablename__ = "turn_events"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    part: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The UI message stream part exactly as sent."""
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), primary_key=True
    )

    __table_args__ = ({"postgresql_partition_by": "RANGE (created_at)"},)
