"""The hand-kept facts in ``booking/reference/data``: cities, destinations, airlines, routes,
weather conditions. Read once, pure.

``destinations.json`` holds places travellers name that have no airport of their own (Sa Pa, Hội
An, Hạ Long, province capitals...). Their province is checked against the ``vietnam-provinces``
package (the 34 provinces after the 2025 merger) in the tests; what that package does not have is
kept here by hand: coordinates, the nearest airports with road distance and time, monthly climate
normals with their source, and every spelling people type.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from booking.domain.places import alias_key

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
    """Places with airports. A spelling a destination claims is not among their aliases."""
    airlines: list[dict[str, Any]]
    conditions: list[dict[str, str]]
    routes: list[Route]
    """Both directions of every city pair."""
    destinations: list[dict[str, Any]] = field(default_factory=list)
    """Places without an airport: ``slug``, ``name_vi``, ``name_en``, ``province``, ``latitude``,
    ``longitude``, ``aliases``, ``nearest`` (airport, road_km, road_hours; best first),
    ``climate`` (12 rows shaped like a city's) and ``climate_source``."""


def _json(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _hand_over(
    cities: list[dict[str, Any]], destinations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Cities without the spellings a destination claims.

    ``cities.json`` lists some places without an airport as spellings of the city whose airport
    serves them ("Hội An" under Đà Nẵng, "Hạ Long" under Vân Đồn). Now that those places are
    destinations of their own, the spelling means the destination, so one name never means two
    places. The tests check that only such stand-ins are handed over.
    """
    claimed = {
        alias_key(text)
        for place in destinations
        for text in (place["name_vi"], place["name_en"], *place["aliases"])
    }
    return [
        {**city, "aliases": [a for a in city["aliases"] if alias_key(a) not in claimed]}
        for city in cities
    ]


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
    destinations: list[dict[str, Any]] = _json("destinations.json")
    return Network(
        _hand_over(_json("cities.json"), destinations),
        _json("airlines.json"),
        _json("conditions.json"),
        routes,
        destinations,
    )
