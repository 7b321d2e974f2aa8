"""Deciding on a paused tool call: the server's pending approval is the only truth.

A decision names an approval the server stored when it asked (id, conversation, tenant, tool
call, a hash of the exact arguments, an expiry). It is refused when the approval belongs to
another conversation or tenant (404, as if it did not exist), was already decided or superseded
(409 ``approval_decided``), has expired (409 ``approval_expired``), or the client claims other
arguments than those asked about (409 ``approval_mismatch``). When every approval of the paused
turn is decided, the turn continues as the same assistant message, running exactly the stored
arguments.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.agent.orchestrator import ResolvedApproval
from booking.db.approval_repository import ApprovalRepository
from booking.db.models import Approval, TurnRow
from booking.db.turn_repository import TurnRepository
from booking.domain.tool_approvals import arguments_hash
from booking.errors import (
    ApprovalDecided,
    ApprovalExpired,
    ApprovalMismatch,
    ApprovalNotFound,
    TurnRunning,
    ValidationFailed,
)


@dataclass(frozen=True, slots=True)
class Decision:
    approval_id: str
    approved: bool
    reason: str | None = None
    arguments: dict[str, Any] | None = None
    """The arguments the client believes it approves (useChat sends the tool input); checked."""


@dataclass(frozen=True, slots=True)
class Decided:
    """The outcome: either the turn can continue, or approvals of it are still pending."""

    conversation_id: str
    message_id: str
    resolved: list[ResolvedApproval]
    still_pending: list[str]


async def record_decisions(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: str,
    conversation_id: str,
    decisions: list[Decision],
    *,
    wait_s: float = 10.0,
    require_all: bool = False,
) -> Decided:
    """Validate and store the decisions in one transaction. With ``require_all`` (useChat sends
    every answer of a reply at once) nothing is stored unless no approval of the reply is left."""
    if not decisions:
        raise ValidationFailed("No approval decision in the request.")
    if len({d.approval_id for d in decisions}) != len(decisions):
        raise ValidationFailed("The same approval is decided twice in one request.")
    await _paused_turn_closed(sessionmaker, tenant, conversation_id, decisions, wait_s)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        repo = ApprovalRepository(session)
        turn_ids: set[str] = set()
        for decision in decisions:
            approval = await repo.get(tenant, decision.approval_id, lock=True)
            _check(approval, decision, conversation_id, now)
            assert approval is not None
            status = "approved" if decision.approved else "denied"
            if approval.turn_id not in turn_ids and await _still_running(session, approval.turn_id):
                raise TurnRunning(
                    "The reply that asked is still being stored; retry in a moment.",
                    running_turn_id=approval.turn_id,
                )
            await repo.decide(approval.id, status, decision.reason, now)
            turn_ids.add(approval.turn_id)
        if len(turn_ids) != 1:
            raise ValidationFailed("The decisions belong to different replies; send them apart.")
        # Locked: of two requests deciding the last approvals of one turn, exactly one sees none
        # left pending and continues the turn.
        every = await repo.for_turn(turn_ids.pop(), lock=True)
        await session.flush()
        for approval in every:
            await session.refresh(approval)
        pending = [a.id for a in every if a.status == "pending"]
        if pending and require_all:
            raise ValidationFailed(
                "Every pending approval of the reply needs an answer; nothing was recorded.",
                pending_approval_ids=pending,
            )
        resolved = [
            ResolvedApproval(
                a.tool_call_id, a.tool_name, dict(a.arguments), a.status == "approved", a.reason
            )
            for a in every
            if a.status in ("approved", "denied")
        ]
        return Decided(conversation_id, every[0].message_id, resolved, pending)


async def _still_running(session: AsyncSession, turn_id: str) -> bool:
    turn = await session.get(TurnRow, turn_id)
    return turn is not None and turn.status == "running"


def _check(
    approval: Approval | None, decision: Decision, conversation_id: str, now: datetime
) -> None:
    if approval is None or approval.conversation_id != conversation_id:
        raise ApprovalNotFound(
            f"No pending approval {decision.approval_id} in this conversation.",
            approval_id=decision.approval_id,
        )
    if approval.status != "pending":
        raise ApprovalDecided(
            f"Approval {approval.id} is already {approval.status}; it cannot be decided again.",
            approval_id=approval.id,
            approval_status=approval.status,
        )
    if approval.expires_at <= now:
        raise ApprovalExpired(
            f"Approval {approval.id} expired at {approval.expires_at.isoformat()}; ask again.",
            approval_id=approval.id,
        )
    if (
        decision.arguments is not None
        and arguments_hash(decision.arguments) != approval.arguments_hash
    ):
        raise ApprovalMismatch(
            f"Approval {approval.id} was asked for other arguments than these; nothing was done.",
            approval_id=approval.id,
        )


async def _paused_turn_closed(
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: str,
    conversation_id: str,
    decisions: list[Decision],
    wait_s: float,
) -> None:
    """A client may decide as soon as it sees the request, while the paused turn is still being
    stored; wait (briefly) until it is closed so the continuation can start."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        async with sessionmaker() as session:
            approval = await ApprovalRepository(session).get(tenant, decisions[0].approval_id)
            if approval is None or approval.conversation_id != conversation_id:
                return  # _check refuses it.
            running = await TurnRepository(session).running(conversation_id)
        if running is None or running.id != approval.turn_id:
            return
        if asyncio.get_running_loop().time() >= deadline:
            return  # The continuation then gets the usual 409 turn_running.
        await asyncio.sleep(0.05)


async def approval_expiries(
    sessionmaker: async_sessionmaker[AsyncSession], tenant: str, approval_ids: list[str]
) -> dict[str, datetime]:
    """When each of the tenant's approvals ``approval_ids`` lapses (another tenant's, or an
    unknown id, is absent): protocols whose pause carries the deadline (AG-UI's interrupt) read
    it here, as the stored stream part does not hold it."""
    found: dict[str, datetime] = {}
    async with sessionmaker() as session:
        repo = ApprovalRepository(session)
        for approval_id in approval_ids:
            approval = await repo.get(tenant, approval_id)
            if approval is not None:
                found[approval_id] = approval.expires_at
    return found
