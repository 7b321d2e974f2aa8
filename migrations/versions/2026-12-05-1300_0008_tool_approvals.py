"""Approvals asked outside a conversation: an MCP client's elicitation (issue #18).

``tool_approvals`` holds each side-effecting MCP tool call the user is asked to approve: the
tenant, the tool, a SHA-256 of the exact arguments, the expiry, and whether it was used. In the
database rather than one process's memory, so the user's answer may reach any replica; taken
with one conditional UPDATE, so it is used once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 13:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tool_approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("tool_name", sa.String(length=64), nullable=False),
        sa.Column("arguments_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'used')", name=op.f("ck_tool_approvals_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_approvals")),
    )
    op.create_index(
        op.f("ix_tool_approvals_expires_at"), "tool_approvals", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tool_approvals_expires_at"), table_name="tool_approvals")
    op.drop_table("tool_approvals")
