"""What tests of whole agent turns share: the fixed clock of the seeded data, and a turn run to
its last event."""

from __future__ import annotations

from booking.agent.events import TurnEvent
from booking.agent.orchestrator import Orchestrator
from booking.domain.dates import FixedClock
from tests.conftest import TEST_NOW

CLOCK = FixedClock(TEST_NOW)


async def collect(orchestrator: Orchestrator, text: str) -> list[TurnEvent]:
    """Start a turn answering ``text`` with no history, and read it to its last event."""
    return [event async for event in orchestrator.start([], text)]
