"""Conversation ids are scoped per tenant.

``conversations.id`` stays the internal key every child table references; the id a client
names (``public_id``) is unique per tenant. Existing conversations keep their id as their public
id, so nothing a client holds changes. Bookings already store the id the tenant knows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table whose rows belong to a conversation (by its internal id).
CHILDREN = ("turns", "messages", "turn_events", "approvals")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("public_id", sa.String(length=64), nullable=True))
    op.execute("UPDATE conversations SET public_id = id")
    op.alter_column("conversations", "public_id", nullable=False)
    op.create_check_constraint(
        op.f("ck_conversations_public_id_format"),
        "conversations",
        "public_id ~ '^[A-Za-z0-9_-]{1,64}$'",
    )
    op.create_unique_constraint(
        "uq_conversations_tenant_public_id", "conversations", ["tenant", "public_id"]
    )
    op.drop_index("ix_conversations_tenant_updated", table_name="conversations")
    op.create_index(
        "ix_conversations_tenant_updated", "conversations", ["tenant", "updated_at", "public_id"]
    )


def downgrade() -> None:
    """Back to one namespace: every conversation's id becomes its public id again. Refused
    (nothing changed) when two tenants use the same public id: one of them would lose it."""
    bind = op.get_bind()
    clashes = (
        bind.execute(
            sa.text(
                "SELECT public_id FROM conversations GROUP BY public_id HAVING count(*) > 1 "
                "ORDER BY public_id LIMIT 10"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "Cannot downgrade below 0005: these conversation ids are used by several tenants "
            f"(first {len(clashes)} shown): {', '.join(clashes)}. Delete or rename one of each "
            "pair first."
        )
    op.drop_index("ix_conversations_tenant_updated", table_name="conversations")
    op.drop_constraint("uq_conversations_tenant_public_id", "conversations", type_="unique")
    # Re-keyed without touching the foreign keys: a copy of each conversation under its public
    # id, its rows moved over, then the original removed (its cascade finds nothing left).
    op.execute(
        "INSERT INTO conversations (id, public_id, tenant, title, last_seq, created_at, updated_at) "
        "SELECT public_id, public_id, tenant, title, last_seq, created_at, updated_at "
        "FROM conversations WHERE id <> public_id"
    )
    for table in CHILDREN:
        op.execute(
            f"UPDATE {table} AS child SET conversation_id = c.public_id FROM conversations c "
            "WHERE child.conversation_id = c.id AND c.id <> c.public_id"
        )
    op.execute("DELETE FROM conversations WHERE id <> public_id")
    op.drop_constraint(op.f("ck_conversations_public_id_format"), "conversations", type_="check")
    op.drop_column("conversations", "public_id")
    op.create_index(
        "ix_conversations_tenant_updated", "conversations", ["tenant", "updated_at", "id"]
    )
