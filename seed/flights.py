"""The flight schedule: a daily timetable per route, then every day's flights and fares by COPY.

The same seed and scale give the same timetable, and with the same first day the same rows and
ids. Keys and indexes of the two tables are dropped for the load and rebuilt after it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from faker import Faker

from booking.reference import Network, Route
from seed.options import Progress, SeedOptions, SeedRefused

#: Seats (economy, business) by aircraft type; business 0 means no business cabin.
SEATS: dict[str, tuple[int, int]] = {
    "ATR72": (68, 0),
    "A320": (168, 12),
    "A321": (184, 16),
    "A330": (260, 24),
    "A350": (276, 29),
    "B737": (162, 12),
    "B777": (300, 42),
    "B787": (274, 28),
    "E190": (90, 8),
    "A220": (120, 12),
}
#: Airlines that sell no business cabin.
NO_BUSINESS = frozenset({"VU", "BL", "0V", "FD", "AK", "TR", "7C", "5J", "QV", "K6", "UO", "9C"})
#: Price level of each airline relative to the route's base fare.
AIRLINE_LEVEL: dict[str, float] = {"VN": 1.18, "QH": 1.05, "VJ": 0.88, "VU": 0.9, "BL": 0.9}
REGISTRATION_PREFIX: dict[str, str] = {
    "VN": "VN-A", "TH": "HS-", "SG": "9V-", "MY": "9M-", "KR": "HL", "JP": "JA", "TW": "B-",
    "HK": "B-", "CN": "B-", "KH": "XU-", "LA": "RDPL-", "PH": "RP-C", "ID": "PK-",
}  # fmt: skip
FIRST_DEPARTURE = 5 * 60 + 30
LAST_DEPARTURE = 23 * 60 + 30


@dataclass(frozen=True, slots=True)
class _Slot:
    """A flight that operates daily on one route at one time."""

    route: Route
    airline: str
    number: str
    dep_minute: int
    arr_day_shift: int
    arr_hm: str
    dep_hm: str
    aircraft: str
    level: float
    seats: tuple[int, int]


def _seats(aircraft: str) -> tuple[int, int]:
    for prefix, seats in SEATS.items():
        if aircraft.upper().startswith(prefix):
            return seats
    return (180, 12)


def timetable(network: Network, options: SeedOptions) -> list[_Slot]:
    """The daily timetable: which airline flies each route when, under which number, on what."""
    rng = random.Random(options.seed)
    fleets = {a["code"]: a["aircraft"] for a in network.airlines}
    next_number = {a["code"]: 101 for a in network.airlines}
    slots: list[_Slot] = []
    for route in network.routes:
        daily = max(1, round(route.daily_flights * options.scale))
        # Spread the day's departures over the operating window, with a little seeded jitter.
        span = LAST_DEPARTURE - FIRST_DEPARTURE
        carriers = [code for code, share in route.shares for _ in range(max(1, share))]
        for i in range(daily):
            base = (
                FIRST_DEPARTURE + (span * i) // daily
                if daily > 1
                else 8 * 60 + rng.randrange(0, 600)
            )
            # Timetables use whole five minutes.
            dep = min(
                LAST_DEPARTURE, max(FIRST_DEPARTURE, (base + rng.randrange(-10, 11)) // 5 * 5)
            )
            airline = carriers[(i * 37 + rng.randrange(len(carriers))) % len(carriers)]
            number = next_number[airline]
            next_number[airline] += 1
            if number > 9999:
                raise ValueError(
                    f"--scale {options.scale} gives {airline} more than 9,999 daily flights"
                )
            fleet = fleets.get(airline) or ["A321"]
            # Long routes get the widebodies, short ones the turboprops and narrowbodies.
            fleet_sorted = sorted(fleet, key=lambda t: _seats(t)[0])
            pick = min(
                len(fleet_sorted) - 1, int(len(fleet_sorted) * min(route.block_minutes, 360) / 361)
            )
            aircraft = fleet_sorted[
                pick if rng.random() < 0.7 else rng.randrange(len(fleet_sorted))
            ]
            arr = dep + route.block_minutes
            hour = dep // 60
            peak = 1.2 if hour in (7, 8, 17, 18, 19) else 0.85 if hour < 7 or hour >= 22 else 1.0
            slots.append(
                _Slot(
                    route=route,
                    airline=airline,
                    number=f"{airline}{number}",
                    dep_minute=dep,
                    arr_day_shift=arr // 1440,
                    arr_hm=f"{arr % 1440 // 60:02d}:{arr % 60:02d}",
                    dep_hm=f"{hour:02d}:{dep % 60:02d}",
                    aircraft=aircraft,
                    level=AIRLINE_LEVEL.get(airline, 1.0) * peak,
                    seats=(
                        _seats(aircraft)[0],
                        0 if airline in NO_BUSINESS else _seats(aircraft)[1],
                    ),
                )
            )
    return slots


def _advance_factor(days_out: int) -> float:
    """Fares rise as departure nears."""
    if days_out < 3:
        return 1.6
    if days_out < 7:
        return 1.35
    if days_out < 14:
        return 1.15
    if days_out < 30:
        return 1.0
    return 0.9


def _load_fraction(days_out: int) -> float:
    """Share of seats already sold, on average, this many days before departure."""
    return max(0.05, 0.92 - days_out * 0.012)


def _utc_offset(zone: str, day: date, cache: dict[tuple[str, date], str]) -> str:
    key = (zone, day)
    if key not in cache:
        offset = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        cache[key] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return cache[key]


def load_schedule(
    conn: psycopg.Connection,
    slots: list[_Slot],
    today: date,
    options: SeedOptions,
    progress: Progress | None,
) -> tuple[int, int]:
    """Replace the flights and fares with ``options.days`` days of ``slots`` from ``today``;
    return how many flights and fares. Refuses while live bookings exist, unless told to delete
    them (:class:`SeedRefused`)."""
    faker = Faker()
    faker.seed_instance(options.seed)
    zones: dict[str, str] = dict(conn.execute("SELECT iata, timezone FROM airports").fetchall())
    countries: dict[str, str] = dict(conn.execute("SELECT code, country FROM airlines").fetchall())
    # A small fleet of registrations per airline; each slot flies one tail.
    registrations = {
        slot.number: faker.bothify(
            REGISTRATION_PREFIX.get(countries.get(slot.airline, ""), "VN-A") + "###"
        )
        for slot in slots
    }
    # Seeded noise tables indexed by flight id keep per-row work to a few arithmetic operations.
    rng = random.Random(options.seed * 7919)
    price_noise = [0.9 + 0.2 * rng.random() for _ in range(4096)]
    sold_noise = [rng.uniform(-0.15, 0.15) for _ in range(4096)]

    booked = conn.execute(
        "SELECT count(*) FROM bookings WHERE status IN ('held', 'confirmed')"
    ).fetchone()
    if booked and booked[0] and not options.replace_bookings:
        raise SeedRefused(
            f"{booked[0]} held or confirmed bookings reference the current schedule; reseeding "
            "flights would delete them. Pass --replace-bookings to delete every booking too."
        )
    # The bookings' foreign key to fares goes with the fares' own keys (TRUNCATE needs it gone).
    restore = _drop_keys_and_indexes(conn, ("flights", "fares"))
    conn.execute("TRUNCATE bookings, idempotency_keys CASCADE")
    conn.execute("TRUNCATE fares, flights")

    offsets: dict[tuple[str, date], str] = {}
    fares_buf: list[str] = []
    flight_id = 0
    total = options.days * len(slots)
    with conn.cursor().copy(
        "COPY flights (id, airline_code, flight_number, origin, destination, service_date, "
        "departs_at, arrives_at, aircraft, registration) FROM STDIN"
    ) as copy:
        for day_index in range(options.days):
            day = today + timedelta(days=day_index)
            day_s = day.isoformat()
            next_s = (day + timedelta(days=1)).isoformat()
            advance = _advance_factor(day_index)
            sold_base = _load_fraction(day_index)
            lines: list[str] = []
            for slot in slots:
                flight_id += 1
                route = slot.route
                off = _utc_offset(zones[route.origin], day, offsets)
                arr_day = next_s if slot.arr_day_shift else day_s
                lines.append(
                    f"{flight_id}\t{slot.airline}\t{slot.number}\t{route.origin}\t{route.destination}\t"
                    f"{day_s}\t{day_s} {slot.dep_hm}{off}\t{arr_day} {slot.arr_hm}{off}\t"
                    f"{slot.aircraft}\t{registrations[slot.number]}\n"
                )
                noise = flight_id & 4095
                price = (
                    int(route.base_fare_vnd * slot.level * advance * price_noise[noise])
                    // 1000
                    * 1000
                )
                eco, biz = slot.seats
                sold = min(1.0, max(0.0, sold_base + sold_noise[noise]))
                fares_buf.append(f"{flight_id}\teconomy\t{price}\t{eco}\t{eco - int(eco * sold)}\n")
                if biz:
                    biz_sold = int(biz * max(0.0, sold - 0.1))
                    fares_buf.append(
                        f"{flight_id}\tbusiness\t{price * 27 // 10000 * 1000}\t{biz}\t{biz - biz_sold}\n"
                    )
            copy.write("".join(lines))
            if progress:
                progress("flights", flight_id, total)
    with conn.cursor().copy(
        "COPY fares (flight_id, cabin, price_vnd, seats_total, seats_available) FROM STDIN"
    ) as copy:
        for chunk in _chunks(fares_buf, 100_000):
            copy.write("".join(chunk))
    if progress:
        progress("indexes", 0, 1)
    for statement in restore:
        conn.execute(statement)  # our own DDL, read back from the catalog
    if progress:
        progress("indexes", 1, 1)
    return flight_id, len(fares_buf)


def _drop_keys_and_indexes(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the keys, foreign keys and indexes of ``tables``; return the DDL that rebuilds them.

    The definitions are read back from the catalog, so they are rebuilt exactly as the migrations
    made them (the migration drift test runs on a seeded database to prove it). Foreign keys are
    checked row by row during COPY and indexes updated row by row; building them afterwards is
    several times faster.
    """
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype "
        "FROM pg_constraint c WHERE (c.contype IN ('p', 'u', 'f') "
        "AND c.conrelid = ANY(%s::regclass[])) OR (c.contype = 'f' AND c.confrelid = ANY(%s::regclass[])) "
        "ORDER BY c.contype = 'f' DESC",
        [list(tables), list(tables)],
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [list(tables)],
    ).fetchall()
    for table, name, _, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    keys = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, kind in reversed(constraints)
        if kind != "f"
    ]
    foreign = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition, kind in constraints
        if kind == "f"
    ]
    return keys + [definition for _, definition in indexes] + foreign


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
