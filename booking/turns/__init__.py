"""The turn runtime: a durable execution engine for the agent's turns (see docs/architecture.md).

The API starts, resumes, stops and follows turns only through :class:`TurnManager`."""

from booking.turns.approvals import Decided, Decision, approval_expiries, record_decisions
from booking.turns.live import Draining, Followed, LiveTurn
from booking.turns.manager import FinishedReply, RunningTurn, TurnManager
from booking.turns.metrics import Metrics
from booking.turns.transcript import transcript

__all__ = [
    "approval_expiries",
    "Decided",
    "Decision",
    "Draining",
    "FinishedReply",
    "Followed",
    "LiveTurn",
    "Metrics",
    "RunningTurn",
    "TurnManager",
    "record_decisions",
    "transcript",
]
