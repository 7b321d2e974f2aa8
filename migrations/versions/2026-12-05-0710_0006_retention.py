"""Event-log retention: time-partitioned turn_events, compacted turns, tenant retention.

``turn_events`` becomes a table partitioned by range on ``created_at``: one partition per UTC
day (``turn_events_pYYYYMMDD``) plus ``turn_events_default``; its key becomes
(conversation_id, seq, created_at), as a partitioned table's key must hold the partition key.
Existing rows are copied into the day partitions they belong to (made here, with three days
ahead; the retention keeper makes the later ones). Downgrade restores the plain table, with the
parts of compacted turns whose raw rows are gone expanded back into rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 07:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Day partitions for every day that has rows, and for today and the next three days. Written
#: out here rather than imported from booking.db.retention_repository: a migration must keep
#: doing what it did when it was written.
_DAY_PARTITIONS = """
DO $$
DECLARE
    day date;
    first_day date := coalesce(
        (SELECT min(created_at AT TIME ZONE 'UTC')::date FROM turn_events_plain),
        (now() AT TIME ZONE 'UTC')::date
    );
    last_day date := greatest(
        (SELECT max(created_at AT TIME ZONE 'UTC')::date FROM turn_events_plain),
        (now() AT TIME ZONE 'UTC')::date + 3
    );
BEGIN
    FOR day IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        IF EXISTS (SELECT 1 FROM turn_events_plain
                   WHERE created_at >= (day::timestamp AT TIME ZONE 'UTC')
                     AND created_at < ((day + 1)::timestamp AT TIME ZONE 'UTC'))
           OR day >= (now() AT TIME ZONE 'UTC')::date THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF turn_events FOR VALUES FROM (%L) TO (%L)',
                'turn_events_p' || to_char(day, 'YYYYMMDD'),
                day::timestamp AT TIME ZONE 'UTC',
                (day + 1)::timestamp AT TIME ZONE 'UTC'
            );
        END IF;
    END LOOP;
END $$;
"""


def _rename_plain(old: str, new: str) -> None:
    op.execute(f"ALTER TABLE {old} RENAME TO {new}")
    # Index names are unique per schema (constraint names of foreign keys only per table).
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_turn_events TO pk_{new}")
    op.execute(f"ALTER INDEX ix_turn_events_turn_id RENAME TO ix_{new}_turn_id")


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("turn_id", sa.String(length=32), nullable=False),
        sa.Column("part", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_turn_events_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"], ["turns.id"], name=op.f("fk_turn_events_turn_id_turns"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    _rename_plain("turn_events", "turn_events_plain")
    op.create_table(
        "turn_events",
        *_columns(),
        sa.PrimaryKeyConstraint(
            "conversation_id", "seq", "created_at", name=op.f("pk_turn_events")
        ),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(op.f("ix_turn_events_turn_id"), "turn_events", ["turn_id"], unique=False)
    op.execute("CREATE TABLE turn_events_default PARTITION OF turn_events DEFAULT")
    op.execute(_DAY_PARTITIONS)
    op.execute(
        "INSERT INTO turn_events (conversation_id, seq, turn_id, part, created_at) "
        "SELECT conversation_id, seq, turn_id, part, created_at FROM turn_events_plain"
    )
    op.drop_table("turn_events_plain")

    op.create_table(
        "turn_archive",
        sa.Column("turn_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "archived_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_turn_archive_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["turns.id"],
            name=op.f("fk_turn_archive_turn_id_turns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("turn_id", name=op.f("pk_turn_archive")),
    )
    op.create_index(
        "ix_turn_archive_conversation_last_seq",
        "turn_archive",
        ["conversation_id", "last_seq"],
        unique=False,
    )
    op.create_index("ix_turn_archive_finished_at", "turn_archive", ["finished_at"], unique=False)
    op.create_index(
        "ix_turns_finished_at",
        "turns",
        ["finished_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'running'"),
    )

    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("conversation_retention_days", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "conversation_retention_days IS NULL OR conversation_retention_days >= 1",
            name=op.f("ck_tenant_settings_retention_positive"),
        ),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_settings")),
    )


def downgrade() -> None:
    op.drop_table("tenant_settings")
    op.drop_index(
        "ix_turns_finished_at", table_name="turns", postgresql_where=sa.text("status <> 'running'")
    )

    op.create_table(
        "turn_events_plain",
        *_columns(),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name=op.f("pk_turn_events_plain")),
    )
    # Raw rows first (the partitioned key allowed a cursor twice in different partitions: keep
    # one), then the parts of compacted turns whose raw rows were dropped with their partition.
    op.execute(
        "INSERT INTO turn_events_plain (conversation_id, seq, turn_id, part, created_at) "
        "SELECT DISTINCT ON (conversation_id, seq) conversation_id, seq, turn_id, part, created_at "
        "FROM turn_events ORDER BY conversation_id, seq, created_at"
    )
    op.execute(
        "INSERT INTO turn_events_plain (conversation_id, seq, turn_id, part, created_at) "
        "SELECT a.conversation_id, (x.value->>0)::bigint, a.turn_id, x.value->1, a.finished_at "
        "FROM turn_archive a CROSS JOIN LATERAL jsonb_array_elements(a.parts) x "
        "ON CONFLICT DO NOTHING"
    )
    op.drop_table("turn_archive")
    op.drop_index(op.f("ix_turn_events_turn_id"), table_name="turn_events")
    op.drop_table("turn_events")  # With every partition.
    op.create_index("ix_turn_events_plain_turn_id", "turn_events_plain", ["turn_id"], unique=False)
    op.execute("ALTER TABLE turn_events_plain RENAME TO turn_events")
    op.execute("ALTER TABLE turn_events RENAME CONSTRAINT pk_turn_events_plain TO pk_turn_events")
    op.execute("ALTER INDEX ix_turn_events_plain_turn_id RENAME TO ix_turn_events_turn_id")
