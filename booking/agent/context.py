"""What tools receive besides their arguments. Never shown to the model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain.booking_rules import Policy
from booking.domain.dates import Clock, today
from booking.domain.places import Gazetteer


@dataclass(frozen=True, slots=True)
class ToolContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    """Each tool call opens its own session: one AsyncSession is not for concurrent tasks."""
    places: Gazetteer
    clock: Clock
    max_days_ahead: int = 365
    conversation_id: str | None = None
    """The conversation's internal id (idempotency scope; bookings store its public id)."""
    tenant: str | None = None
    """Whose bookings the tools see and make; booking tools refuse to run without one."""
    booking_policy: Policy = Policy()
    call_id: str | None = None
    """The tool call being run (set per call): the idempotency key of side-effecting tools."""

    def today(self) -> date:
        return today(self.clock)
