"""Retention: the event log stays bounded and conversations expire per tenant.

A pass (every ``retention_every_s`` on every server, the work done by one at a time):

1. **Partitions ahead.** ``turn_events`` is partitioned by UTC day; today's and the next
   :data:`DAYS_AHEAD` days' partitions are made before any row needs them, so rows never land in
   the default partition (if some did, making their day's partition moves them).
2. **Compaction.** A closed turn whose resume window (``resume_window_s``) has passed is folded
   into one ``turn_archive`` row (:func:`compact_parts`): the transcript folds to the same
   message, the rows shrink to a few parts. Readers take an archived turn's parts from there.
3. **Partition drop.** A day partition that ended before the resume window and whose every
   turn is archived is dropped: retention is a ``DROP TABLE``, never a ``DELETE`` of millions
   of rows. A partition still holding unarchived closed turns gets them archived first; one
   with a turn still running waits.
4. **Conversation expiry.** Each tenant's conversations idle longer than its
   ``conversation_retention_days`` (``booking tenants retention``) are deleted with their turns,
   messages and parts; the bookings they made stay.

Every step is a short transaction of its own that first takes a transaction-level advisory
lock (never a session lock: those do not survive a transaction-mode pooler); a process that
does not get it leaves the step to the one that did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.retention_repository import ClosedTurn, RetentionRepository, day_start
from booking.turns.metrics import Metrics
from booking.turns.ui_stream import Part

log = logging.getLogger(__name__)
#: Day partitions made ahead of today.
DAYS_AHEAD = 3
#: Turns compacted per transaction, and conversations deleted per transaction.
BATCH = 200
#: Compaction walks turns by ``finished_at`` from a little before the newest archived one: a
#: turn whose close committed late (or was locked and skipped) is still picked up.
WATERMARK_MARGIN = timedelta(hours=1)
#: Longest one pass keeps compacting or expiring before it yields to the next pass.
PASS_BUDGET_S = 60.0


def compact_parts(parts: Sequence[tuple[int, Part]]) -> list[tuple[int, Part]]:
    """A turn's stored parts with the streaming detail folded away, each kept part with its
    original cursor.

    Consecutive text (or reasoning) deltas of one block become one delta, at the cursor of the
    block's last delta; tool input deltas go once the complete input (``tool-input-available``)
    follows. Every other part is kept as it was, so :func:`booking.turns.transcript.fold_parts`
    folds the result to the same message."""
    complete_inputs = {
        part.get("toolCallId") for _, part in parts if part.get("type") == "tool-input-available"
    }
    out: list[tuple[int, Part]] = []
    pending: list[str] = []  # The deltas of the run ``out[-1]`` ends, joined once at the end.

    def flush() -> None:
        if len(pending) > 1:
            seq, last = out[-1]
            out[-1] = (seq, {**last, "delta": "".join(pending)})
        pending.clear()

    for seq, part in parts:
        kind = part.get("type")
        if kind == "tool-input-delta" and part.get("toolCallId") in complete_inputs:
            continue
        if kind in ("text-delta", "reasoning-delta"):
            previous = out[-1][1] if out and pending else None
            if (
                previous is not None
                and previous.get("type") == kind
                and previous.get("id") == part.get("id")
            ):
                out[-1] = (seq, {**part, "delta": ""})
                pending.append(str(part.get("delta", "")))
                continue
            flush()
            out.append((seq, part))
            pending.append(str(part.get("delta", "")))
            continue
        flush()
        out.append((seq, part))
    flush()
    return out


@dataclass
class PassReport:
    """What one retention pass did."""

    created_partitions: list[str] = field(default_factory=list)
    archived_turns: int = 0
    dropped_partitions: list[str] = field(default_factory=list)
    expired_conversations: int = 0
    moved_from_default: int = 0
    skipped: bool = False
    """Another process held the retention lock."""


class RetentionKeeper:
    """Runs retention passes for as long as the server runs (:meth:`run`), or one now
    (:meth:`run_once`, which ``booking db maintain`` calls)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        resume_window_s: float,
        every_s: float = 300.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.resume_window = timedelta(seconds=resume_window_s)
        self.every_s = every_s
        self.metrics = metrics

    async def run(self) -> None:
        while True:
            try:
                report = await self.run_once()
                if (
                    report.archived_turns
                    or report.dropped_partitions
                    or report.expired_conversations
                ):
                    log.info(
                        "retention: archived %d turns, dropped partitions %s, expired %d conversations",
                        report.archived_turns,
                        report.dropped_partitions,
                        report.expired_conversations,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.metrics:
                    self.metrics.retention_failures.inc()
                log.exception("retention pass failed; retrying at the next one")
            await asyncio.sleep(self.every_s)

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """One pass. ``now`` defaults to the database's clock (rows are stamped with it)."""
        report = PassReport()
        if now is None:
            async with self._sessionmaker() as session:
                now = await RetentionRepository(session).now()
        cutoff = now - self.resume_window
        deadline = asyncio.get_running_loop().time() + PASS_BUDGET_S
        if not await self.ensure_partitions(now, report):
            report.skipped = True
            return report
        while asyncio.get_running_loop().time() < deadline:
            archived = await self.compact(cutoff)
            report.archived_turns += archived
            if archived < BATCH:
                break
        await self.drop_partitions(cutoff, report)
        while asyncio.get_running_loop().time() < deadline:
            expired = await self.expire_conversations(now)
            report.expired_conversations += expired
            if expired < BATCH:
                break
        return report

    async def ensure_partitions(self, now: datetime, report: PassReport | None = None) -> bool:
        """Make the partitions of ``now``'s day and the next :data:`DAYS_AHEAD`; False when
        another process holds the retention lock."""
        report = report if report is not None else PassReport()
        today = now.astimezone(UTC).date()
        async with self._sessionmaker() as session, session.begin():
            repo = RetentionRepository(session)
            if not await repo.try_lock():
                return False
            existing = await repo.partitions()
        for offset in range(DAYS_AHEAD + 1):
            day = today + timedelta(days=offset)
            if day in existing:
                continue
            async with self._sessionmaker() as session, session.begin():
                repo = RetentionRepository(session)
                if not await repo.try_lock():
                    return False
                moved = await repo.create_partition(day)
            if moved is None:
                log.warning("partition for %s not made: its locks were busy; next pass", day)
                continue
            report.created_partitions.append(str(day))
            if moved:
                log.warning("moved %d event rows of %s out of the default partition", moved, day)
                report.moved_from_default += moved
        return True

    async def compact(self, cutoff: datetime, turn_ids: Sequence[str] | None = None) -> int:
        """Archive up to :data:`BATCH` closed turns that finished before ``cutoff`` (only those of
        ``turn_ids`` when given); how many were archived."""
        async with self._sessionmaker() as session, session.begin():
            repo = RetentionRepository(session)
            if not await repo.try_lock():
                return 0
            since = None
            if turn_ids is None:
                watermark = await repo.archive_watermark()
                since = watermark - WATERMARK_MARGIN if watermark else None
            turns: list[ClosedTurn] = await repo.closed_turns(
                finished_before=cutoff, finished_since=since, turn_ids=turn_ids, limit=BATCH
            )
            if not turns:
                return 0
            raw = await repo.raw_parts([t.id for t in turns])
            for turn in turns:
                await repo.archive(turn, compact_parts(raw[turn.id]))
        if self.metrics:
            self.metrics.archived_turns.inc(len(turns))
        return len(turns)

    async def drop_partitions(
        self, cutoff: datetime, report: PassReport | None = None
    ) -> list[str]:
        """Drop the day partitions that ended by ``cutoff`` once every turn in them is archived
        (archiving the closed ones still missing first); the names dropped."""
        report = report if report is not None else PassReport()
        async with self._sessionmaker() as session:
            existing = await RetentionRepository(session).partitions()
        for day, name in sorted(existing.items()):
            if day_start(day + timedelta(days=1)) > cutoff:
                continue
            async with self._sessionmaker() as session, session.begin():
                repo = RetentionRepository(session)
                if not await repo.try_lock():
                    return report.dropped_partitions
                blocking = await repo.unarchived_turns_in(name, BATCH)
            if blocking:
                report.archived_turns += await self.compact(cutoff, blocking)
                async with self._sessionmaker() as session:
                    if await RetentionRepository(session).unarchived_turns_in(name, 1):
                        log.info("partition %s kept: a turn in it is not archived yet", name)
                        continue
            async with self._sessionmaker() as session, session.begin():
                repo = RetentionRepository(session)
                if not await repo.try_lock():
                    return report.dropped_partitions
                # Checked again under the lock: nothing may have been added since.
                if await repo.unarchived_turns_in(name, 1):
                    continue
                if not await repo.drop_partition(name):
                    log.warning("partition %s kept: turn_events was busy; next pass", name)
                    break
            report.dropped_partitions.append(name)
            if self.metrics:
                self.metrics.dropped_partitions.inc()
        return report.dropped_partitions

    async def expire_conversations(self, now: datetime) -> int:
        """Delete up to :data:`BATCH` conversations per tenant idle past its retention."""
        deleted = 0
        async with self._sessionmaker() as session:
            tenants = await RetentionRepository(session).tenants_with_retention()
        for tenant, days in tenants:
            async with self._sessionmaker() as session, session.begin():
                repo = RetentionRepository(session)
                if not await repo.try_lock():
                    return deleted
                ids = await repo.delete_idle_conversations(
                    tenant, now - timedelta(days=days), BATCH
                )
            deleted += len(ids)
            if ids:
                log.info("expired %d conversations of tenant %s", len(ids), tenant)
        if self.metrics and deleted:
            self.metrics.expired_conversations.inc(deleted)
        return deleted
