"""Queries for turns and their stored stream parts, through the ORM (the hot path that writes
them is :mod:`booking.db.event_log`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import column, func, insert, literal, or_, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from booking.db.models import Conversation, Message, TurnEventRow, TurnRow


class TurnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def running(self, conversation_id: str) -> TurnRow | None:
        stmt = select(TurnRow).where(
            TurnRow.conversation_id == conversation_id, TurnRow.status == "running"
        )
        return await self.session.scalar(stmt)

    async def get(self, turn_id: str) -> TurnRow | None:
        return await self.session.get(TurnRow, turn_id)

    async def renew_leases(self, owner: str, lease: timedelta, turn_ids: Sequence[str]) -> None:
        """Renew the leases of the turns this process still runs (only those: a turn it failed
        to close must lapse, so a sweeper closes it)."""
        if not turn_ids:
            return
        # Rows locked in id order, as the event writer locks them: no deadlock between the two.
        locked = (
            select(TurnRow.id)
            .where(TurnRow.owner == owner, TurnRow.status == "running", TurnRow.id.in_(turn_ids))
            .order_by(TurnRow.id)
            .with_for_update()
            .subquery()
        )
        stmt = (
            update(TurnRow).where(TurnRow.id == locked.c.id).values(lease_until=func.now() + lease)
        )
        await self.session.execute(stmt)

    async def parts_of(self, turn_id: str) -> Sequence[TurnEventRow]:
        """Every stored part of one turn, in order."""
        stmt = (
            select(TurnEventRow).where(TurnEventRow.turn_id == turn_id).order_by(TurnEventRow.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def add_messages(self, turn: TurnRow, messages: Sequence[dict[str, Any]]) -> None:
        """Append what a turn closed by another process added to the history, after every
        message of its conversation (whose row the caller has locked)."""
        if not messages:
            return
        after = await self.session.scalar(
            select(func.coalesce(func.max(Message.position) + 1, 0)).where(
                Message.conversation_id == turn.conversation_id
            )
        )
        await self.session.execute(
            insert(Message),
            [
                {
                    "conversation_id": turn.conversation_id,
                    "position": int(after or 0) + i,
                    "turn_id": turn.id,
                    "role": m["role"],
                    "payload": m,
                    "ui_message_id": turn.message_id if m["role"] == "assistant" else None,
                }
                for i, m in enumerate(messages)
            ],
        )

    async def absent_owners(
        self, *, exclude: str, started_before: timedelta, settled: timedelta
    ) -> list[str]:
        """Owners of running turns (other than ``exclude``) with no connection named after them
        in ``pg_stat_activity`` right now: one query over the running turns (a partial index).

        Turns younger than ``started_before`` are left out (their owner may still be
        connecting), and nobody is reported absent while the PostgreSQL server itself started
        less than ``settled`` ago (after a restart every process reconnects at its own pace)."""
        stmt = (
            select(TurnRow.owner)
            .distinct()
            .where(
                TurnRow.status == "running",
                TurnRow.owner != exclude,
                TurnRow.started_at < func.now() - started_before,
                _owner_absent(),
                func.pg_postmaster_start_time() < func.now() - settled,
            )
        )
        return list((await self.session.scalars(stmt)).all())

    async def claim_orphans(
        self,
        absent: Sequence[str],
        started_before: timedelta,
        *,
        limit: int = 100,
        turn_id: str | None = None,
        mine: str | None = None,
    ) -> Sequence[TurnRow]:
        """Mark orphaned running turns interrupted and return them (each is claimed once, by
        whichever process gets here first): those whose lease lapsed, and those of an owner in
        ``absent`` that still has no connection (checked again here, in the same statement).

        ``turn_id``: only that turn. ``mine``: this process's owner id, whose turns count as
        orphaned too (the caller knows it does not run them)."""
        gone: list[ColumnElement[bool]] = []
        if absent:
            gone.append(TurnRow.owner.in_(list(absent)) & _owner_absent())
        if mine is not None:
            gone.append(TurnRow.owner == mine)
        orphan = TurnRow.lease_until < func.now()
        if gone:
            orphan = orphan | ((TurnRow.started_at < func.now() - started_before) & or_(*gone))
        # Their conversations are locked first (as a turn's start and close lock them), skipping
        # any another transaction holds: claiming the turn first and then waiting for its
        # conversation deadlocks with a new message starting there. Skipped ones go next sweep.
        candidates = select(TurnRow.conversation_id).where(TurnRow.status == "running", orphan)
        if turn_id is not None:
            candidates = candidates.where(TurnRow.id == turn_id)
        conversations = (
            await self.session.scalars(
                select(Conversation.id)
                .where(Conversation.id.in_(candidates.scalar_subquery()))
                .order_by(Conversation.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not conversations:
            return []
        orphaned = (
            select(TurnRow.id)
            .where(
                TurnRow.status == "running",
                orphan,
                TurnRow.conversation_id.in_(list(conversations)),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if turn_id is not None:
            orphaned = orphaned.where(TurnRow.id == turn_id)
        stmt = (
            update(TurnRow)
            .where(TurnRow.id.in_(orphaned.scalar_subquery()))
            .values(status="interrupted", error_code="turn_interrupted", finished_at=func.now())
            .returning(TurnRow)
        )
        return (await self.session.scalars(stmt)).all()


#: Connections visible to every role (``application_name`` is never hidden).
_activity = table("pg_stat_activity", column("application_name"))
#: Each process's LISTEN connection is named ``booking:<owner>``
#: (:func:`booking.turns.follower.application_name`).
APPLICATION_NAME_PREFIX = "booking:"


def _owner_absent() -> ColumnElement[bool]:
    """The turn's owner has no connection to the database now (its process is gone)."""
    name = literal(APPLICATION_NAME_PREFIX) + TurnRow.owner
    return (
        ~select(literal(1))
        .select_from(_activity)
        .where(_activity.c.application_name == name)
        .exists()
    )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored stream part: its cursor, its turn and the part as sent (or as compacted)."""

    seq: int
    turn_id: str
    part: dict[str, Any]


class TurnEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(TurnEventRow), list(rows))

    async def after(
        self, conversation_id: str, seq: int, limit: int = 1000
    ) -> Sequence[StoredEvent]:
        return await self._read(conversation_id, after=seq, limit=limit)

    async def last_seqs(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        """The newest stored cursor of each conversation."""
        if not conversation_ids:
            return {}
        stmt = (
            select(TurnEventRow.conversation_id, func.max(TurnEventRow.seq))
            .where(TurnEventRow.conversation_id.in_(conversation_ids))
            .group_by(TurnEventRow.conversation_id)
        )
        return {cid: int(seq) for cid, seq in (await self.session.execute(stmt)).all()}

    async def for_conversation(self, conversation_id: str) -> Sequence[StoredEvent]:
        return await self._read(conversation_id)

    async def for_message(self, conversation_id: str, message_id: str) -> Sequence[StoredEvent]:
        """Every part of one assistant message, across the turns that wrote it (a reply that
        paused for approval continues in another turn)."""
        return await self._read(conversation_id, message_id=message_id)

    async def _read(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        message_id: str | None = None,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """Stored parts in cursor order: a compacted turn's from ``turn_archive`` (its raw rows,
        until their partition is dropped, are ignored), every other turn's from ``turn_events``."""
        params: dict[str, Any] = {"c": conversation_id}
        raw = ["e.conversation_id = :c"]
        archived = ["a.conversation_id = :c"]
        if after is not None:
            raw.append("e.seq > :after")
            archived += ["a.last_seq > :after", "(x.value->>0)::bigint > :after"]
            params["after"] = after
        if message_id is not None:
            turns = "(SELECT id FROM turns WHERE conversation_id = :c AND message_id = :m)"
            raw.append(f"e.turn_id IN {turns}")
            archived.append(f"a.turn_id IN {turns}")
            params["m"] = message_id
        stmt = (
            "SELECT e.seq, e.turn_id, e.part FROM turn_events e "
            f"WHERE {' AND '.join(raw)} "
            "AND NOT EXISTS (SELECT 1 FROM turn_archive a"
            " WHERE a.conversation_id = e.conversation_id AND a.turn_id = e.turn_id) "
            "UNION ALL "
            "SELECT (x.value->>0)::bigint, a.turn_id, x.value->1 FROM turn_archive a "
            "CROSS JOIN LATERAL jsonb_array_elements(a.parts) x "
            f"WHERE {' AND '.join(archived)} "
            "ORDER BY 1"
        )
        if limit is not None:
            stmt += " LIMIT :n"
            params["n"] = limit
        rows = await self.session.execute(text(stmt), params)
        return [StoredEvent(int(seq), turn_id, part) for seq, turn_id, part in rows]

    async def notify(self, channel: str, payload: str) -> None:
        await self.session.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
