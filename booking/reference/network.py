"""The hand-kept facts in ``booking/reference/data``: cities, airlines, routes, weather conditions. Read once, pure."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True, slots=True)
class Route:
    origin: str
    destination: str
    block_minutes: int
    daily_flights: int
    shares: tuple[tuple[str, int], ...]
    """(airline code, percent of the route's flights)."""
    base_fare_vnd: int

    def reversed(self) -> Route:
        return Route(
            self.destination,
            self.origin,
            self.block_minutes,
            self.daily_flights,
            self.shares,
            self.base_fare_vnd,
        )


@dataclass(frozen=True, slots=True)
class Network:
    cities: list[dict[str, Any]]
    airlines: list[dict[str, Any]]
    conditions: list[dict[str, str]]
    routes: list[Route]
    """Both directions of every city pair."""


def _json(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


@cache
def load_network() -> Network:
    routes: list[Route] = []
    with (DATA_DIR / "routes.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            shares = tuple(
                (code.strip(), int(pct))
                for code, pct in (part.split(":") for part in row["airlines"].split(";"))
            )
            route = Route(
                row["origin"].strip(),
                row["destination"].strip(),
                int(row["block_minutes"]),
                int(row["daily_flights"]),
                shares,
                int(row["base_fare_vnd"]),
            )
            routes += [route, route.reversed()]
    return Network(_json("cities.json"), _json("airlines.json"), _json("conditions.json"), routes)
