"""Retention: compacted turns (``turn_archive``) and each tenant's retention settings.

``turn_events`` itself is partitioned by day on ``created_at`` (migration 0006); its partitions
are made and dropped by :mod:`booking.db.retention_repository`, never declared here.
"""

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
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base
from booking.db.models.conversations import TurnRow


class TurnArchive(Base):
    """A closed turn's parts once its resume window passed, folded into one row."""

    __tablename__ = "turn_archive"

    turn_id: Mapped[str] = mapped_column(
        ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The turn's ``finished_at``: where the next compaction pass starts looking."""
    parts: Mapped[list[Any]] = mapped_column(JSONB)
    """``[[seq, part], ...]`` in seq order: each kept part with its original cursor."""
    archived_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        Index("ix_turn_archive_conversation_last_seq", "conversation_id", "last_seq"),
        Index("ix_turn_archive_finished_at", "finished_at"),
    )


class TenantSettings(Base):
    """Per-tenant settings an operator sets with ``booking tenants``."""

    __tablename__ = "tenant_settings"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_retention_days: Mapped[int | None] = mapped_column(Integer)
    """Conversations idle longer than this are deleted (bookings are kept); NULL keeps them."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "conversation_retention_days IS NULL OR conversation_retention_days >= 1",
            name="retention_positive",
        ),
    )


# The compaction pass walks closed turns by ``finished_at``; declared here, next to its only user,
# rather than in the turns model.
Index(
    "ix_turns_finished_at",
    TurnRow.finished_at,
    postgresql_where=text("status <> 'running'"),
)
