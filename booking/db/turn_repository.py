"""Queries for turns and their stored stream parts, through the ORM (the hot path that writes
them is :mod:`booking.db.event_log`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import TurnEventRow, TurnRow


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
        stmt = (
            update(TurnRow)
            .where(TurnRow.owner == owner, TurnRow.status == "running", TurnRow.id.in_(turn_ids))
            .values(lease_until=func.now() + lease)
        )
        await self.session.execute(stmt)

    async def claim_expired(self, limit: int = 100) -> Sequence[TurnRow]:
        """Running turns whose owner stopped renewing: mark them interrupted, return them."""
        expired = (
            select(TurnRow.id)
            .where(TurnRow.status == "running", TurnRow.lease_until < func.now())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(TurnRow)
            .where(TurnRow.id.in_(expired))
            .values(status="interrupted", error_code="turn_interrupted", finished_at=func.now())
            .returning(TurnRow)
        )
        return (await self.session.scalars(stmt)).all()


class TurnEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(TurnEventRow), list(rows))

    async def after(
        self, conversation_id: str, seq: int, limit: int = 1000
    ) -> Sequence[TurnEventRow]:
        stmt = (
            select(TurnEventRow)
            .where(TurnEventRow.conversation_id == conversation_id, TurnEventRow.seq > seq)
            .order_by(TurnEventRow.seq)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

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

    async def for_conversation(self, conversation_id: str) -> Sequence[TurnEventRow]:
        stmt = (
            select(TurnEventRow)
            .where(TurnEventRow.conversation_id == conversation_id)
            .order_by(TurnEventRow.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def for_message(self, conversation_id: str, message_id: str) -> Sequence[TurnEventRow]:
        """Every part of one assistant message, across the turns that wrote it (a reply that
        paused for approval continues in another turn)."""
        turns = select(TurnRow.id).where(
            TurnRow.conversation_id == conversation_id, TurnRow.message_id == message_id
        )
        stmt = (
            select(TurnEventRow)
            .where(
                TurnEventRow.conversation_id == conversation_id,
                TurnEventRow.turn_id.in_(turns),
            )
            .order_by(TurnEventRow.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def notify(self, channel: str, payload: str) -> None:
        await self.session.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})
