"""Flight search latency on a 1M-flight database.

Prints p50/p95/p99 of (a) database time: the exact statement the repository builds, compiled once
and run as a prepared statement on a plain psycopg connection (server round trip included, no
ORM) and (b) the whole ``search_flights`` call through an ``AsyncSession`` (resolution,
validation, query, ORM rows to offers), plus the EXPLAIN plan.
Targets (issue #2): database p99 < 0.5 ms, whole call p99 < 2 ms.

Two databases, both of about 1M flights:
- ``booking_search`` (default, built here when missing): a two-year schedule at 1.4x today's
  frequencies, so each route has a realistic number of flights a day (SGN→HAN about 80);
- ``booking_bench`` (``--database booking_bench``, left by ``bench.seed_bench``): 120 days at 8x
  frequencies, about 440 SGN→HAN flights a day: a stress case, since a search reads every
  flight of the route and day to sort them by price.

Run: ``python -m bench.search_bench [--database NAME]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import date, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import database_url, percentiles, server_url
from booking.db import migrate
from booking.db.engine import libpq_url, make_async_engine
from booking.db.repositories import SearchCriteria, search_statement
from booking.domain.directory import load_gazetteer
from booking.domain.flights import build_query, search_flights
from booking.domain.search_request import SearchRequest
from booking.domain.types import SearchQuery
from booking.settings import Settings
from seed.load import SeedOptions, seed_database

SEARCH_DB = "booking_search"

ROUTES = [
    ("SGN", "Hà Nội"), ("Hà Nội", "SGN"), ("Đà Nẵng", "Sài Gòn"), ("hanoi", "Phú Quốc"),
    ("HCM", "Nha Trang"), ("Hải Phòng", "SGN"), ("SGN", "Bangkok"), ("Hà Nội", "Seoul"),
]  # fmt: skip


def _compile(q: SearchQuery) -> tuple[Any, dict[str, Any]]:
    """The repository's statement as SQL text and parameters for a bare psycopg connection."""
    compiled = search_statement(**_criteria(q)).compile(
        dialect=PGDialect_psycopg(),  # type: ignore[no-untyped-call]
        compile_kwargs={"render_postcompile": True},
    )
    return str(compiled), dict(compiled.params)


def _criteria(q: SearchQuery) -> SearchCriteria:
    return {
        "origins": [a.iata for a in q.origin.airports],
        "destinations": [a.iata for a in q.destination.airports],
        "day": q.day,
        "cabin": q.cabin,
        "passengers": q.passengers,
    }


def ensure_database(name: str, today: date) -> None:
    """Create and seed the realistic-density database unless it exists."""
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return
        if name != SEARCH_DB:
            raise SystemExit(
                f"database {name} does not exist; run python -m bench.seed_bench first"
            )
        conn.execute(f'CREATE DATABASE "{SEARCH_DB}"')
    migrate.upgrade(database_url(name))
    seed_database(database_url(name), SeedOptions(seed=42, today=today, days=730, scale=1.4))


async def run(n: int, today: date, database: str) -> None:
    ensure_database(database, today)
    url = database_url(database)
    engine = make_async_engine(url, Settings(database_url=url))
    rng = random.Random(1)
    async with AsyncSession(engine) as session:
        places = await load_gazetteer(session)
        (count,) = (await session.execute(text("SELECT count(*) FROM flights"))).one()
        (busiest,) = (
            await session.execute(
                text(
                    "SELECT count(*) FROM flights WHERE origin = 'SGN' AND destination = 'HAN' "
                    "AND service_date = :d"
                ),
                {"d": today + timedelta(days=30)},
            )
        ).one()
        print(f"search benchmark on {database}: {count:,} flights, SGN→HAN {busiest} a day")
        cases = [
            (a, b, today + timedelta(days=rng.randrange(1, 100)))
            for a, b in (rng.choice(ROUTES) for _ in range(n))
        ]
        queries = [
            build_query(places, today, SearchRequest(from_city=a, to_city=b, date=d.isoformat()))
            for a, b, d in cases
        ]

        # (a) Database time: the compiled statement, prepared, on a bare connection.
        compiled = [_compile(q) for q in queries]
        db_ms: list[float] = []
        async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
            for round_ in (0, 1):  # warm-up round, then the measured one
                for sql, params in compiled:
                    started = time.perf_counter()
                    await (await conn.execute(sql, params, prepare=True)).fetchall()
                    if round_:
                        db_ms.append((time.perf_counter() - started) * 1000)

        # (b) The whole call.
        call_ms: list[float] = []
        for round_ in (0, 1):
            for a, b, d in cases:
                started = time.perf_counter()
                request = SearchRequest(from_city=a, to_city=b, date=d.isoformat())
                await search_flights(session, places, today, request)
                if round_:
                    call_ms.append((time.perf_counter() - started) * 1000)

        busiest = next(i for i, (a, b, _) in enumerate(cases) if (a, b) == ROUTES[0])
        sql, params = compiled[busiest]
        async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
            explain = f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"
            plan = await (await conn.execute(explain, params)).fetchall()
    await engine.dispose()
    print(f"  database time (prepared, round trip): {percentiles(db_ms)}   target p99 < 0.5 ms")
    print(f"  whole search_flights call:            {percentiles(call_ms)}   target p99 < 2 ms")
    print("  plan of a SGN→HAN query:")
    for (line,) in plan:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--today", default="2026-06-01")
    parser.add_argument("--database", default=SEARCH_DB)
    args = parser.parse_args()
    asyncio.run(run(args.n, date.fromisoformat(args.today), args.database))


if __name__ == "__main__":
    main()
