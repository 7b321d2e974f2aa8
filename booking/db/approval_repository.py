"""Queries for approvals: the server-held record of each side-effecting tool call the traveller is asked to approve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Approval, ToolApproval


class ApprovalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(Approval).values(**values))

    async def get(self, tenant: str, approval_id: str, *, lock: bool = False) -> Approval | None:
        stmt = select(Approval).where(Approval.id == approval_id, Approval.tenant == tenant)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def for_turn(self, turn_id: str, *, lock: bool = False) -> Sequence[Approval]:
        stmt = select(Approval).where(Approval.turn_id == turn_id).order_by(Approval.created_at)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).all()

    async def decide(self, approval_id: str, status: str, reason: str | None, at: datetime) -> None:
        await self.session.execute(
            update(Approval)
            .where(Approval.id == approval_id)
            .values(status=status, reason=reason, decided_at=at)
        )


class ToolApprovalRepository:
    """Approvals asked outside a conversation (MCP): stored when asked, taken once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(ToolApproval).values(**values))

    async def take(self, approval_id: str, tenant: str, at: datetime) -> ToolApproval | None:
        """Mark the tenant's pending approval used, in one conditional statement (two takers:
        one gets it); None when there is no such pending approval."""
        return (
            await self.session.scalars(
                update(ToolApproval)
                .where(
                    ToolApproval.id == approval_id,
                    ToolApproval.tenant == tenant,
                    ToolApproval.status == "pending",
                )
                .values(status="used", used_at=at)
                .returning(ToolApproval)
            )
        ).first()

    async def get(self, tenant: str, approval_id: str) -> ToolApproval | None:
        stmt = select(ToolApproval).where(
            ToolApproval.id == approval_id, ToolApproval.tenant == tenant
        )
        return (await self.session.scalars(stmt)).first()

    async def forget(self, approval_id: str) -> None:
        await self.session.execute(delete(ToolApproval).where(ToolApproval.id == approval_id))

    async def prune(self, before: datetime) -> None:
        """Drop approvals that lapsed before ``before`` (used or not: a late answer to one is
        refused as unknown)."""
        await self.session.execute(delete(ToolApproval).where(ToolApproval.expires_at < before))
