"""A tool call the offline model makes: shared by the planner and the dialogue state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One tool call the model makes."""

    name: str
    """"search_flights", "get_weather", "hold_booking", "confirm_booking", "cancel_booking" or
    "get_booking"."""
    arguments: dict[str, Any]
    """JSON-serializable arguments, only those the user expressed."""
