"""Flight search latency on the 1M-flight database left by `bench.seed_bench`.

Prints p50/p95/p99 of (a) the database time of the search query alone (the statement the
repository sends, executed on the same async connection, server round trip included) and (b) the
whole `search_flights` call (resolution, validation, query, building offers), plus the EXPLAIN plan.
Targets (issue #2): database p99 < 0.5 ms, whole call p99 < 2 ms.
Run: `python -m bench.search_bench [--n 3000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import database_url, percentiles
from booking.db.engine import make_async_engine
from booking.db.repositories import FlightRepository
from booking.domain.directory import load_gazetteer
from booking.domain.flights import build_query, search_flights
from booking.settings import Settings

ROUTES = [
    ("SGN", "Hà Nội"), ("Hà Nội", "SGN"), ("Đà Nẵng", "Sài Gòn"), ("hanoi", "Phú Quốc"),
    ("HCM", "Nha Trang"), ("Hải Phòng", "SGN"), ("SGN", "Bangkok"), ("Hà Nội", "Seoul"),
]  # fmt: skip


async def run(n: int, today: date) -> None:
    url = database_url()
    settings = Settings(database_url=url)
    engine = make_async_engine(url, settings)
    rng = random.Random(1)
    async with AsyncSession(engine) as session:
        places = await load_gazetteer(session)
        (count,) = (await session.execute(text("SELECT count(*) FROM flights"))).one()
        print(f"search benchmark on {count:,} flights")
        repo = FlightRepository(session)
        cases = [
            (a, b, today + timedelta(days=rng.randrange(1, 100)))
            for a, b in (rng.choice(ROUTES) for _ in range(n))
        ]
        for a, b, d in cases[:200]:  # warm-up: plans cached, pool and gazetteer hot
            await search_flights(session, places, today, from_city=a, to_city=b, date=d)

        db_ms: list[float] = []
        for a, b, d in cases:
            q = build_query(places, today, from_city=a, to_city=b, date=d)
            started = time.perf_counter()
            await repo.search(
                origins=[x.iata for x in q.origin.airports],
                destinations=[x.iata for x in q.destination.airports],
                day=q.day, cabin=q.cabin, passengers=q.passengers, max_price_vnd=None,
                depart_after=None, depart_before=None, airline=None, order_by="price", limit=10,
            )  # fmt: skip
            db_ms.append((time.perf_counter() - started) * 1000)

        call_ms: list[float] = []
        for a, b, d in cases:
            started = time.perf_counter()
            await search_flights(session, places, today, from_city=a, to_city=b, date=d)
            call_ms.append((time.perf_counter() - started) * 1000)

        d = today + timedelta(days=30)
        plan = await session.execute(
            text(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
                "SELECT f.*, x.*, count(*) OVER () FROM flights f JOIN fares x "
                "ON x.flight_id = f.id AND x.cabin = 'economy' WHERE f.origin IN ('SGN') "
                "AND f.destination IN ('HAN') AND f.service_date = :d AND x.seats_available >= 1 "
                "ORDER BY x.price_vnd, f.departs_at, f.id LIMIT 10"
            ),
            {"d": d},
        )
    await engine.dispose()
    print(
        f"  database (query via AsyncSession, round trip): {percentiles(db_ms)}   target p99 < 0.5 ms"
    )
    print(
        f"  whole search_flights call:                     {percentiles(call_ms)}   target p99 < 2 ms"
    )
    print("  plan:")
    for (line,) in plan:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--today", default="2026-06-01")
    args = parser.parse_args()
    asyncio.run(run(args.n, date.fromisoformat(args.today)))


if __name__ == "__main__":
    main()
