"""Approvals of side-effecting tool calls asked outside a conversation (an MCP client's
elicitation): the same rules as the chat's approvals (``booking.turns.approvals``): bound to
the tenant, the tool and the exact arguments, with an expiry, used once, never trusted from the
client; stored in PostgreSQL, so the answer may reach any replica."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.approval_repository import ToolApprovalRepository
from booking.errors import ApprovalDecided, ApprovalExpired, ApprovalMismatch, ApprovalNotFound

#: How long a lapsed approval is kept (so a late answer says "expired", not "unknown").
KEEP_LAPSED = timedelta(days=1)


def arguments_hash(arguments: dict[str, Any]) -> str:
    """SHA-256 of the arguments in canonical JSON (``booking.turns.approvals`` hashes alike)."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    tenant: str
    tool: str
    arguments_hash: str
    expires_at: datetime


class ToolApprovals:
    """Ask (store a pending approval), take (use it once, or learn why not), forget."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        ttl_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessionmaker = sessionmaker
        self.ttl_s = ttl_s
        # Real time, as the chat's approvals: an expiry is about the user's wait, not the
        # service's (possibly fixed, BOOKING_NOW) "today".
        self._now = now

    async def ask(self, tenant: str, tool: str, arguments: dict[str, Any]) -> Pending:
        now = self._now()
        pending = Pending(
            f"apr_{secrets.token_hex(16)}",
            tenant,
            tool,
            arguments_hash(arguments),
            now + timedelta(seconds=self.ttl_s),
        )
        async with self._sessionmaker.begin() as session:
            repo = ToolApprovalRepository(session)
            await repo.prune(now - KEEP_LAPSED)
            await repo.add(
                {
                    "id": pending.id,
                    "tenant": tenant,
                    "tool_name": tool,
                    "arguments_hash": pending.arguments_hash,
                    "created_at": now,
                    "expires_at": pending.expires_at,
                }
            )
        return pending

    async def take(
        self, approval_id: str, tenant: str, tool: str, arguments: dict[str, Any]
    ) -> Pending:
        """The approval, now used (single use, whichever replica answers); or why not:
        ``approval_not_found`` (unknown, or another tenant's), ``approval_decided`` (used
        before), ``approval_expired``, ``approval_mismatch`` (other tool or arguments)."""
        now = self._now()
        async with self._sessionmaker.begin() as session:
            repo = ToolApprovalRepository(session)
            row = await repo.take(approval_id, tenant, now)
            if row is None:
                known = await repo.get(tenant, approval_id)
                if known is not None:
                    raise ApprovalDecided(
                        f"Approval {approval_id} was already used; call the tool again to be "
                        "asked again.",
                        approval_id=approval_id,
                    )
                raise ApprovalNotFound(
                    f"No pending approval {approval_id}.", approval_id=approval_id
                )
            taken = Pending(row.id, row.tenant, row.tool_name, row.arguments_hash, row.expires_at)
        if taken.expires_at <= now:
            raise ApprovalExpired(
                f"Approval {approval_id} expired; call the tool again.", approval_id=approval_id
            )
        if taken.tool != tool or taken.arguments_hash != arguments_hash(arguments):
            raise ApprovalMismatch(
                f"Approval {approval_id} was asked for other arguments than these; nothing was "
                "done.",
                approval_id=approval_id,
            )
        return taken

    async def forget(self, approval_id: str) -> None:
        """Drop an approval that could not be asked."""
        async with self._sessionmaker.begin() as session:
            await ToolApprovalRepository(session).forget(approval_id)
