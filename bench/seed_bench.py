"""Generate and load at least 1,000,000 flights with their fares and indexes; print the time.

Target (issue #2): under 15 s on the 2-core machine (stretch: 10 s).
Run: `python -m bench.seed_bench [--flights 1000000]`. Leaves the database `booking_bench` for
`bench.search_bench`.
"""

from __future__ import annotations

import argparse
import math
from datetime import date

import psycopg

from bench.common import BENCH_DB, database_url, server_url
from booking.db import migrate
from booking.db.engine import libpq_url
from seed.flights import timetable
from seed.load import SeedOptions, seed_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--today", default="2026-06-01")
    args = parser.parse_args()

    per_day_at_scale_1 = len(_schedule_for(1.0))
    scale = args.flights / (per_day_at_scale_1 * args.days)
    # Round the scale up until the schedule really yields the asked number of flights.
    while len(_schedule_for(scale)) * args.days < args.flights:
        scale = math.ceil(scale * 1.01 * 100) / 100
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = database_url()
    migrate.upgrade(url)
    options = SeedOptions(
        seed=42, today=date.fromisoformat(args.today), days=args.days, scale=scale
    )
    report = seed_database(url, options)
    rows = report.flights + report.fares
    print(f"seed benchmark: scale {scale:.2f}, {args.days} days")
    print(
        f"  flights {report.flights:,}  fares {report.fares:,}  weather days {report.weather_days:,}"
    )
    print(
        f"  total {report.seconds:.2f} s (generate + COPY + indexes + ANALYZE), "
        f"{rows / report.seconds:,.0f} rows/s   target < 15 s, stretch < 10 s"
    )


def _schedule_for(scale: float) -> list[object]:
    from booking.reference import load_network

    return list(timetable(load_network(), SeedOptions(scale=scale)))


if __name__ == "__main__":
    main()
