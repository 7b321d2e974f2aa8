"""What tools receive besides their arguments. Never shown to the model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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

    def today(self) -> date:
        return today(self.clock)
