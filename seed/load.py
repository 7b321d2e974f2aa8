"""Deterministic, idempotent seeder.

Reference data (cities, destinations without an airport, airports, aliases, nearest airports,
airlines, weather conditions, climate normals) is upserted by natural key; aliases and nearest
airports are replaced wholesale. The schedule (flights, fares) and daily weather are regenerated
inside one transaction: TRUNCATE, then COPY. The same ``seed``, ``today``, ``days`` and ``scale``
always give the same rows and ids, so running the seeder twice gives the same database.

Speed: rows are generated as COPY text in Python while the server parses the previous chunk on the
other core; secondary indexes and the fares foreign key are dropped for the load and rebuilt after,
which is several times faster than maintaining them row by row.

The parts: :mod:`seed.reference` (reference data), :mod:`seed.flights` (timetable, flights and
fares), :mod:`seed.weather` (daily weather); :mod:`seed.options` holds what a run is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from booking.db.engine import libpq_url
from booking.reference import load_network
from seed.flights import load_schedule, timetable
from seed.options import Progress, SeedOptions, SeedRefused
from seed.reference import load_reference
from seed.weather import load_weather

__all__ = ["Progress", "SeedOptions", "SeedRefused", "SeedReport", "has_flights", "seed_database"]


@dataclass(frozen=True)
class SeedReport:
    cities: int
    airports: int
    aliases: int
    airlines: int
    flights: int
    fares: int
    weather_days: int
    seconds: float
    destinations: int = 0
    """Places without an airport (rows of ``cities`` too, not counted in ``cities``)."""


def has_flights(url: str) -> bool:
    """Whether the schedule holds any flight (``booking seed --if-empty`` then does nothing)."""
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM flights)").fetchone() == (True,)


def seed_database(
    url: str, options: SeedOptions, *, progress: Progress | None = None
) -> SeedReport:
    """Seed the database at ``url`` (migrated to head) and report what it holds."""
    started = datetime.now().timestamp()  # noqa: DTZ005 - a duration, not a point in time.
    network = load_network()
    today = options.today or datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    with psycopg.connect(libpq_url(url), autocommit=False) as conn:
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        counts = load_reference(conn, network)
        slots = timetable(network, options)
        flights, fares = load_schedule(conn, slots, today, options, progress)
        weather = load_weather(conn, network, today, options)
        conn.execute("ANALYZE flights; ANALYZE fares; ANALYZE weather_daily")
    return SeedReport(
        *counts,
        flights=flights,
        fares=fares,
        weather_days=weather,
        seconds=datetime.now().timestamp() - started,  # noqa: DTZ005
        destinations=len(network.destinations),
    )
