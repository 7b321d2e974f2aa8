"""Queries of retention: the event log's day partitions, compacted turns and conversation expiry.

``turn_events`` is partitioned by range on ``created_at``, one partition per UTC day named
``turn_events_pYYYYMMDD`` plus ``turn_events_default`` (which stays empty while partitions are
made ahead of time). Every statement here is plain SQL on the caller's session and transaction;
none uses session state, so all of it runs behind a transaction-mode pooler.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import TenantSettings, TurnArchive

PARTITION_PREFIX = "turn_events_p"
DEFAULT_PARTITION = "turn_events_default"
_DAY_NAME = re.compile(r"^turn_events_p(\d{8})$")
#: pg_try_advisory_xact_lock key of retention work ("bkrt"): one process at a time does it.
RETENTION_LOCK = 0x626B7274
#: Longest a partition's DDL waits for its locks before giving up until the next pass: a DDL
#: statement queued behind a long reader holds up every statement queued behind it. Making a
#: partition locks only the default partition exclusively (and the table in a mode writers
#: share); dropping one locks ``turn_events`` itself for a moment, so it waits less.
CREATE_LOCK_TIMEOUT = "2s"
DROP_LOCK_TIMEOUT = "500ms"


@dataclass(frozen=True, slots=True)
class ClosedTurn:
    id: str
    conversation_id: str
    first_seq: int
    finished_at: datetime


def is_event_partition(name: str) -> bool:
    """Whether a table is one of the event log's partitions (made and dropped at run time, so
    not in the models: schema comparisons skip them)."""
    return bool(_DAY_NAME.match(name)) or name == DEFAULT_PARTITION


def partition_name(day: date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def now(self) -> datetime:
        """The database's clock (rows are stamped with it, so retention reads it too)."""
        value = await self.session.scalar(text("SELECT now()"))
        assert isinstance(value, datetime)
        return value

    async def try_lock(self) -> bool:
        """Take the retention lock for this transaction, unless another process holds it."""
        got = await self.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK}
        )
        return bool(got)

    async def _wait_for_locks(self, at_most: str) -> None:
        await self.session.execute(text(f"SET LOCAL lock_timeout = '{at_most}'"))

    # Partitions.

    async def partitions(self) -> dict[date, str]:
        """The day partitions of ``turn_events``, by day."""
        rows = await self.session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'turn_events'::regclass"
            )
        )
        days = {}
        for (name,) in rows:
            match = _DAY_NAME.match(name)
            if match:
                days[datetime.strptime(match.group(1), "%Y%m%d").date()] = name  # noqa: DTZ007
        return days

    async def create_partition(self, day: date) -> int | None:
        """Make ``day``'s partition; rows the default partition holds for that day move into
        it. Returns how many moved (0 in normal operation), None when the locks it needs were
        not free in time (nothing changed; the next pass tries again)."""
        try:
            async with self.session.begin_nested():
                await self._wait_for_locks(CREATE_LOCK_TIMEOUT)
                return await self._create_partition(day)
        except DBAPIError as exc:
            if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                return None
            raise

    async def _create_partition(self, day: date) -> int:
        name = partition_name(day)
        bounds = {"lo": day_start(day), "hi": day_start(day + timedelta(days=1))}
        # The default partition is locked first so no row for this day lands in it between the
        # move and the attach (which would then fail).
        await self.session.execute(text(f"LOCK TABLE {DEFAULT_PARTITION} IN EXCLUSIVE MODE"))
        await self.session.execute(
            text(f"CREATE TABLE {name} (LIKE turn_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        moved = await self.session.execute(
            text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
                "  WHERE created_at >= :lo AND created_at < :hi RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"
            ),
            bounds,
        )
        lo, hi = (v.isoformat() for v in bounds.values())
        await self.session.execute(
            text(
                f"ALTER TABLE turn_events ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"
            )
        )
        return int(getattr(moved, "rowcount", 0) or 0)

    async def unarchived_turns_in(self, partition: str, limit: int) -> list[str]:
        """Turns with raw rows in ``partition`` and no ``turn_archive`` row: while any is left,
        dropping the partition would lose parts."""
        rows = await self.session.execute(
            text(
                f"SELECT DISTINCT e.turn_id FROM {partition} e WHERE NOT EXISTS "
                "(SELECT 1 FROM turn_archive a WHERE a.turn_id = e.turn_id) LIMIT :n"
            ),
            {"n": limit},
        )
        return [turn_id for (turn_id,) in rows]

    async def drop_partition(self, partition: str) -> bool:
        """Drop a partition; False when ``turn_events`` was not free in time (kept until the
        next pass)."""
        try:
            async with self.session.begin_nested():
                await self._wait_for_locks(DROP_LOCK_TIMEOUT)
                await self.session.execute(text(f"DROP TABLE {partition}"))
        except DBAPIError as exc:
            if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                return False
            raise
        return True

    # Compaction.

    async def archive_watermark(self) -> datetime | None:
        """The newest ``finished_at`` archived: compaction resumes a little before it."""
        value = await self.session.scalar(text("SELECT max(finished_at) FROM turn_archive"))
        return value if isinstance(value, datetime) else None

    async def closed_turns(
        self,
        *,
        finished_before: datetime,
        finished_since: datetime | None = None,
        turn_ids: Sequence[str] | None = None,
        limit: int,
    ) -> list[ClosedTurn]:
        """Closed, unarchived turns that finished before ``finished_before``, oldest first, locked
        against concurrent compaction (``SKIP LOCKED``: two processes never take the same turn)."""
        where = [
            "t.status <> 'running'",
            "t.finished_at < :before",
            "NOT EXISTS (SELECT 1 FROM turn_archive a WHERE a.turn_id = t.id)",
        ]
        params: dict[str, Any] = {"before": finished_before, "n": limit}
        if finished_since is not None:
            where.append("t.finished_at >= :since")
            params["since"] = finished_since
        if turn_ids is not None:
            where.append("t.id = ANY(:ids)")
            params["ids"] = list(turn_ids)
        rows = await self.session.execute(
            text(
                "SELECT t.id, t.conversation_id, t.first_seq, t.finished_at FROM turns t "
                f"WHERE {' AND '.join(where)} ORDER BY t.finished_at LIMIT :n "
                "FOR NO KEY UPDATE OF t SKIP LOCKED"
            ),
            params,
        )
        return [ClosedTurn(*row) for row in rows]

    async def raw_parts(self, turn_ids: Sequence[str]) -> dict[str, list[tuple[int, Any]]]:
        """Each turn's raw (seq, part) rows in seq order, one per cursor."""
        rows = await self.session.execute(
            text(
                "SELECT DISTINCT ON (turn_id, seq) turn_id, seq, part FROM turn_events "
                "WHERE turn_id = ANY(:ids) ORDER BY turn_id, seq, created_at"
            ),
            {"ids": list(turn_ids)},
        )
        parts: dict[str, list[tuple[int, Any]]] = {turn_id: [] for turn_id in turn_ids}
        for turn_id, seq, part in rows:
            parts[turn_id].append((int(seq), part))
        return parts

    async def archive(self, turn: ClosedTurn, parts: Sequence[tuple[int, Any]]) -> None:
        """Store a turn's compacted parts; the conversation's cursor is moved past them so a
        later turn never reuses a cursor once the raw rows are gone."""
        seqs = [seq for seq, _ in parts] or [turn.first_seq]
        await self.session.execute(
            insert(TurnArchive)
            .values(
                turn_id=turn.id,
                conversation_id=turn.conversation_id,
                first_seq=min(seqs),
                last_seq=max(seqs),
                finished_at=turn.finished_at,
                parts=[[seq, part] for seq, part in parts],
            )
            .on_conflict_do_nothing()
        )
        await self.session.execute(
            text("UPDATE conversations SET last_seq = :s WHERE id = :c AND last_seq < :s"),
            {"s": max(seqs), "c": turn.conversation_id},
        )

    # Conversations.

    async def set_conversation_retention(self, tenant: str, days: int | None) -> None:
        await self.session.execute(
            insert(TenantSettings)
            .values(tenant=tenant, conversation_retention_days=days)
            .on_conflict_do_update(
                index_elements=[TenantSettings.tenant],
                set_={"conversation_retention_days": days, "updated_at": text("now()")},
            )
        )

    async def tenants_with_retention(self) -> list[tuple[str, int]]:
        rows = await self.session.execute(
            text(
                "SELECT tenant, conversation_retention_days FROM tenant_settings "
                "WHERE conversation_retention_days IS NOT NULL ORDER BY tenant"
            )
        )
        return [(tenant, int(days)) for tenant, days in rows]

    async def delete_idle_conversations(
        self, tenant: str, idle_before: datetime, limit: int
    ) -> list[str]:
        """Delete up to ``limit`` of the tenant's conversations last active before
        ``idle_before`` and with no running turn; their turns, messages, parts and approvals go
        with them (foreign keys), their bookings stay (``bookings.conversation_id`` has none).
        A conversation a turn is starting in is locked, so skipped until the next pass."""
        rows = await self.session.execute(
            text(
                "DELETE FROM conversations WHERE id IN ("
                "  SELECT c.id FROM conversations c"
                "  WHERE c.tenant = :t AND c.updated_at < :before AND NOT EXISTS"
                "    (SELECT 1 FROM turns r WHERE r.conversation_id = c.id AND r.status = 'running')"
                "  ORDER BY c.updated_at LIMIT :n FOR UPDATE SKIP LOCKED"
                ") RETURNING id"
            ),
            {"t": tenant, "before": idle_before, "n": limit},
        )
        return [conversation_id for (conversation_id,) in rows]
