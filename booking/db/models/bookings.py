"""Bookings, their passengers and history, idempotency records, and approvals of side-effecting tool calls."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base

BOOKING_STATUSES = ("held", "confirmed", "expired", "cancelled")


class Booking(Base):
    """Seats on one fare for 1-9 passengers, at the price frozen when they were held."""

    __tablename__ = "bookings"

    reference: Mapped[str] = mapped_column(String(6), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    flight_id: Mapped[int] = mapped_column(BigInteger)
    cabin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="held")
    passenger_count: Mapped[int] = mapped_column(SmallInteger)
    price_per_passenger_vnd: Mapped[int] = mapped_column(BigInteger)
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    contact_email: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    conversation_id: Mapped[str | None] = mapped_column(String(64))
    """The conversation whose agent made it, if any, by its public id (the one the tenant
    knows; kept when the conversation is deleted, when no internal id would mean anything)."""
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["flight_id", "cabin"], ["fares.flight_id", "fares.cabin"], name="fk_bookings_fare"
        ),
        CheckConstraint(f"status IN {BOOKING_STATUSES!r}", name="status_known"),
        CheckConstraint("reference ~ '^[ACDEFGHJKMNPQRTUVWXY34679]{6}$'", name="reference_format"),
        CheckConstraint("passenger_count BETWEEN 1 AND 9", name="passenger_count_range"),
        CheckConstraint(
            "total_vnd = price_per_passenger_vnd * passenger_count", name="total_is_price_times_pax"
        ),
        CheckConstraint(
            "contact_email IS NOT NULL OR contact_phone IS NOT NULL", name="contact_present"
        ),
        Index("ix_bookings_tenant_created", "tenant", "created_at"),
        Index("ix_bookings_fare", "flight_id", "cabin"),
        # The expiry sweeper's query: held bookings by expiry time.
        Index(
            "ix_bookings_held_expiry", "hold_expires_at", postgresql_where=text("status = 'held'")
        ),
    )


class BookingPassenger(Base):
    __tablename__ = "booking_passengers"

    reference: Mapped[str] = mapped_column(
        ForeignKey("bookings.reference", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    full_name: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)


class BookingEvent(Base):
    """The audit trail: every status change of a booking, with who or what caused it."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(
        ForeignKey("bookings.reference", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Text)
    """"api", "agent:<conversation id>", "sweeper"..."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The first result of a side-effecting operation, returned again for the same key."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


APPROVAL_STATUSES = ("pending", "approved", "denied", "expired", "superseded")


class Approval(Base):
    """A side-effecting tool call waiting for the traveller, with exactly the arguments shown."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64))
    tool_call_id: Mapped[str] = mapped_column(String(128))
    tool_name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONB)
    arguments_hash: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {APPROVAL_STATUSES!r}", name="status_known"),
        UniqueConstraint("conversation_id", "tool_call_id", name="uq_approvals_call"),
    )


TOOL_APPROVAL_STATUSES = ("pending", "used")


class ToolApproval(Base):
    """A side-effecting tool call asked of a user outside a conversation (an MCP client's
    elicitation): bound to the tenant, the tool and a hash of the exact arguments; used once.

    Kept here rather than in memory so the answer may reach any replica."""

    __tablename__ = "tool_approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    tool_name: Mapped[str] = mapped_column(String(64))
    arguments_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {TOOL_APPROVAL_STATUSES!r}", name="status_known"),
    )
