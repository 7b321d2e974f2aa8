"""Bookings: holds with their passengers and audit trail, seat counts on fares, idempotency keys
and pending approvals of side-effecting tool calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:40:10.033082+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("turn_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("tool_call_id", sa.String(length=128), nullable=False),
        sa.Column("tool_name", sa.String(length=64), nullable=False),
        sa.Column("arguments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("arguments_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired', 'superseded')",
            name=op.f("ck_approvals_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_approvals_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_approvals_turn_id_turns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("conversation_id", "tool_call_id", name="uq_approvals_call"),
    )
    op.create_index(
        op.f("ix_approvals_conversation_id"), "approvals", ["conversation_id"], unique=False
    )
    op.create_table(
        "bookings",
        sa.Column("reference", sa.String(length=6), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("flight_id", sa.BigInteger(), nullable=False),
        sa.Column("cabin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="held", nullable=False),
        sa.Column("passenger_count", sa.SmallInteger(), nullable=False),
        sa.Column("price_per_passenger_vnd", sa.BigInteger(), nullable=False),
        sa.Column("total_vnd", sa.BigInteger(), nullable=False),
        sa.Column("contact_email", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reference ~ '^[ACDEFGHJKMNPQRTUVWXY34679]{6}$'",
            name=op.f("ck_bookings_reference_format"),
        ),
        sa.CheckConstraint(
            "status IN ('held', 'confirmed', 'expired', 'cancelled')",
            name=op.f("ck_bookings_status_known"),
        ),
        sa.CheckConstraint(
            "contact_email IS NOT NULL OR contact_phone IS NOT NULL",
            name=op.f("ck_bookings_contact_present"),
        ),
        sa.CheckConstraint(
            "passenger_count BETWEEN 1 AND 9", name=op.f("ck_bookings_passenger_count_range")
        ),
        sa.CheckConstraint(
            "total_vnd = price_per_passenger_vnd * passenger_count",
            name=op.f("ck_bookings_total_is_price_times_pax"),
        ),
        sa.ForeignKeyConstraint(
            ["flight_id", "cabin"], ["fares.flight_id", "fares.cabin"], name="fk_bookings_fare"
        ),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_fare", "bookings", ["flight_id", "cabin"], unique=False)
    op.create_index(
        "ix_bookings_held_expiry",
        "bookings",
        ["hold_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'held'"),
    )
    op.create_index(
        "ix_bookings_tenant_created", "bookings", ["tenant", "created_at"], unique=False
    )
    op.create_table(
        "booking_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=6), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["bookings.reference"],
            name=op.f("fk_booking_events_reference_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_events")),
    )
    op.create_index(
        op.f("ix_booking_events_reference"), "booking_events", ["reference"], unique=False
    )
    op.create_table(
        "booking_passengers",
        sa.Column("reference", sa.String(length=6), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reference"],
            ["bookings.reference"],
            name=op.f("fk_booking_passengers_reference_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reference", "position", name=op.f("pk_booking_passengers")),
    )
    op.add_column(
        "fares", sa.Column("seats_booked", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        "seats_booked_in_range",
        "fares",
        "seats_booked >= 0 AND seats_booked + seats_available <= seats_total",
    )
    op.alter_column("turns", "status", type_=sa.String(length=24), existing_nullable=False)
    op.drop_constraint(op.f("ck_turns_status_known"), "turns", type_="check")
    op.create_check_constraint(
        "status_known",
        "turns",
        "status IN ('running', 'done', 'failed', 'cancelled', 'interrupted', 'awaiting_approval')",
    )


def downgrade() -> None:
    op.execute("UPDATE turns SET status = 'done' WHERE status = 'awaiting_approval'")
    op.drop_constraint(op.f("ck_turns_status_known"), "turns", type_="check")
    op.create_check_constraint(
        "status_known",
        "turns",
        "status IN ('running', 'done', 'failed', 'cancelled', 'interrupted')",
    )
    op.drop_constraint(op.f("ck_fares_seats_booked_in_range"), "fares", type_="check")
    op.drop_column("fares", "seats_booked")
    op.drop_table("booking_passengers")
    op.drop_index(op.f("ix_booking_events_reference"), table_name="booking_events")
    op.drop_table("booking_events")
    op.drop_index("ix_bookings_tenant_created", table_name="bookings")
    op.drop_index(
        "ix_bookings_held_expiry",
        table_name="bookings",
        postgresql_where=sa.text("status = 'held'"),
    )
    op.drop_index("ix_bookings_fare", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index(op.f("ix_approvals_conversation_id"), table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("idempotency_keys")
