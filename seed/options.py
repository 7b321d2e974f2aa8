"""What a seeding run is asked for, and how it reports progress or refuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

Progress = Callable[[str, int, int], None]
"""(stage, done, total) -> None."""


@dataclass(frozen=True)
class SeedOptions:
    seed: int = 42
    today: date | None = None
    days: int = 120
    scale: float = 1.0
    replace_bookings: bool = False
    """Reseeding the schedule deletes every booking; without this it refuses while any is live."""


class SeedRefused(Exception):
    """Seeding would destroy data that matters (live bookings)."""
