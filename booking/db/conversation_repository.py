"""Queries for conversations and their messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Conversation, Message, TurnEventRow


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, tenant: str, conversation_id: str, *, lock: bool = False
    ) -> Conversation | None:
        """By its internal id, if it is the tenant's."""
        stmt = select(Conversation).where(
            Conversation.id == conversation_id, Conversation.tenant == tenant
        )
        if lock:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_public_id(
        self, tenant: str, public_id: str, *, lock: bool = False
    ) -> Conversation | None:
        """By the id the tenant knows it by."""
        stmt = select(Conversation).where(
            Conversation.tenant == tenant, Conversation.public_id == public_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def public_id(self, conversation_id: str) -> str | None:
        """The public id of a conversation known by its internal id."""
        stmt = select(Conversation.public_id).where(Conversation.id == conversation_id)
        return await self.session.scalar(stmt)

    async def add_if_free(
        self, conversation_id: str, tenant: str, public_id: str, title: str | None
    ) -> Conversation | None:
        """Insert it unless the tenant already has ``public_id`` (then None): one statement, so
        two concurrent creations of one id cannot both succeed."""
        stmt = (
            insert(Conversation)
            .values(id=conversation_id, tenant=tenant, public_id=public_id, title=title)
            .on_conflict_do_nothing()
            .returning(Conversation)
        )
        return await self.session.scalar(stmt)

    async def page(
        self, tenant: str, limit: int, before: tuple[datetime, str] | None
    ) -> Sequence[Conversation]:
        """Newest first, keyset-paginated on (updated_at, public_id)."""
        stmt = select(Conversation).where(Conversation.tenant == tenant)
        if before is not None:
            stmt = stmt.where(
                func.row(Conversation.updated_at, Conversation.public_id) < func.row(*before)
            )
        stmt = stmt.order_by(Conversation.updated_at.desc(), Conversation.public_id.desc()).limit(
            limit
        )
        return (await self.session.scalars(stmt)).all()

    async def delete(self, conversation_id: str) -> None:
        await self.session.execute(delete(Conversation).where(Conversation.id == conversation_id))

    async def allocate_seqs(self, conversation_id: str, count: int) -> int:
        """Take ``count`` cursors after every stored part; return the first (locks the row)."""
        stored = select(func.coalesce(func.max(TurnEventRow.seq), 0)).where(
            TurnEventRow.conversation_id == conversation_id
        )
        stmt = (
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                last_seq=func.greatest(Conversation.last_seq, stored.scalar_subquery()) + count,
                updated_at=func.now(),
            )
            .returning(Conversation.last_seq)
        )
        last = (await self.session.execute(stmt)).scalar_one()
        return int(last) - count + 1

    async def messages(self, conversation_id: str) -> Sequence[Message]:
        stmt = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.position)
        )
        return (await self.session.scalars(stmt)).all()
