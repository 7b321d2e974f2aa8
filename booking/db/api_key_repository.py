"""Queries for API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import ApiKey


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this SHA-256, unless it is revoked."""
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        return await self.session.scalar(stmt)

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def listed(self, tenant: str | None = None) -> Sequence[ApiKey]:
        """Every key (revoked ones too), oldest first; only ``tenant``'s when given."""
        stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if tenant is not None:
            stmt = stmt.where(ApiKey.tenant == tenant)
        return (await self.session.scalars(stmt)).all()

    async def matching(self, id_or_prefix: str) -> Sequence[ApiKey]:
        """The keys whose id, or whose display prefix, is exactly ``id_or_prefix``."""
        stmt = (
            select(ApiKey)
            .where(or_(ApiKey.id == id_or_prefix, ApiKey.prefix == id_or_prefix))
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def revoke(self, key_id: str) -> datetime | None:
        """Mark the key revoked now, unless it already is; the time it is revoked since (the
        first revocation's), or None when no key has this id."""
        stmt = (
            update(ApiKey)
            .where(ApiKey.id == key_id)
            .values(revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
            .returning(ApiKey.revoked_at)
            .execution_options(synchronize_session=False)
        )
        revoked_at: datetime | None = await self.session.scalar(stmt)
        return revoked_at
