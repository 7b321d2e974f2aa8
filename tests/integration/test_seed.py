"""The seeder: realistic, consistent, deterministic and idempotent."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import psycopg
import pytest

from booking.db import migrate
from booking.db.engine import libpq_url
from seed.load import SeedOptions, SeedRefused, has_flights, seed_database
from tests.conftest import TEST_SEED, ScratchDatabases

FINGERPRINT = """
SELECT
  (SELECT count(*) FROM flights),
  (SELECT count(*) FROM fares),
  (SELECT md5(string_agg(f::text, ',' ORDER BY id)) FROM flights f),
  (SELECT md5(string_agg(x::text, ',' ORDER BY flight_id, cabin)) FROM fares x),
  (SELECT md5(string_agg(w::text, ',' ORDER BY city_slug, day)) FROM weather_daily w),
  (SELECT md5(string_agg(a::text, ',' ORDER BY key, city_slug)) FROM place_aliases a)
"""


def _one(url: str, sql: str) -> tuple:  # type: ignore[type-arg]
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row


@pytest.fixture(scope="module")
def small_options() -> SeedOptions:
    return SeedOptions(seed=7, today=date(2026, 6, 1), days=5, scale=0.3)


def test_seeding_twice_gives_the_same_database(
    scratch: ScratchDatabases, small_options: SeedOptions
) -> None:
    url = scratch.create()
    migrate.upgrade(url)
    first = seed_database(url, small_options)
    before = _one(url, FINGERPRINT)
    second = seed_database(url, small_options)
    assert first.flights == second.flights > 0
    assert _one(url, FINGERPRINT) == before


def test_another_seed_gives_other_data(
    scratch: ScratchDatabases, small_options: SeedOptions
) -> None:
    url = scratch.create()
    migrate.upgrade(url)
    seed_database(url, small_options)
    a = _one(url, FINGERPRINT)
    seed_database(url, SeedOptions(seed=8, today=small_options.today, days=5, scale=0.3))
    assert _one(url, FINGERPRINT)[2] != a[2]


def test_every_vietnamese_commercial_airport_is_served(seeded_url: str) -> None:
    expected = {
        "HAN", "SGN", "DAD", "CXR", "PQC", "HPH", "VII", "HUI", "VCA", "DLI", "UIH",
        "BMV", "THD", "VDH", "PXU", "VCL", "TBB", "VKG", "CAH", "VCS", "DIN", "VDO",
    }  # fmt: skip
    regional = {"BKK", "SIN", "KUL", "ICN", "NRT", "TPE", "HKG", "CAN"}
    (served,) = _one(seeded_url, "SELECT array_agg(DISTINCT origin) FROM flights")
    assert expected | regional <= set(served)


def test_sgn_han_is_the_busiest_route(seeded_url: str) -> None:
    route, per_day = _one(
        seeded_url,
        "SELECT origin || '-' || destination, count(*) / count(DISTINCT service_date) FROM flights "
        "GROUP BY origin, destination ORDER BY count(*) DESC LIMIT 1",
    )
    assert route in {"SGN-HAN", "HAN-SGN"}
    # Dozens a day at full scale; the test data set runs at half scale.
    assert per_day >= 20


def test_inventory_and_fares_are_sane(seeded_url: str) -> None:
    bad, min_price, max_price = _one(
        seeded_url,
        "SELECT count(*) FILTER (WHERE seats_available NOT BETWEEN 0 AND seats_total), "
        "min(price_vnd), max(price_vnd) FROM fares WHERE cabin = 'economy'",
    )
    assert bad == 0
    assert 300_000 <= min_price
    assert max_price <= 40_000_000


def test_weather_covers_every_city_every_day(seeded_url: str) -> None:
    cities, days = _one(
        seeded_url, "SELECT count(DISTINCT city_slug), count(DISTINCT day) FROM weather_daily"
    )
    (all_cities,) = _one(seeded_url, "SELECT count(*) FROM cities")
    assert cities == all_cities
    assert days == TEST_SEED.days


def test_reseeding_refuses_to_delete_live_bookings(
    scratch: ScratchDatabases, small_options: SeedOptions
) -> None:
    url = scratch.create()
    migrate.upgrade(url)
    seed_database(url, small_options)
    with psycopg.connect(libpq_url(url)) as conn:
        flight_id, departs_at = conn.execute(
            "SELECT f.id, f.departs_at FROM flights f JOIN fares x ON x.flight_id = f.id "
            "WHERE x.cabin = 'economy' AND x.seats_available > 0 ORDER BY f.id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            "INSERT INTO bookings (reference, tenant, flight_id, cabin, passenger_count,"
            " price_per_passenger_vnd, total_vnd, contact_phone, hold_expires_at, created_at)"
            " VALUES ('ACDEFG', 't', %s, 'economy', 1, 1000, 1000, '0901234567', %s, %s)",
            [flight_id, departs_at, departs_at],
        )
        conn.execute(
            "UPDATE fares SET seats_available = seats_available - 1, seats_booked = 1 "
            "WHERE flight_id = %s AND cabin = 'economy'",
            [flight_id],
        )
    with pytest.raises(SeedRefused, match="1 held or confirmed bookings"):
        seed_database(url, small_options)
    assert _one(url, "SELECT count(*) FROM bookings") == (1,)

    seed_database(url, replace(small_options, replace_bookings=True))
    assert _one(url, "SELECT count(*) FROM bookings") == (0,)
    assert _one(url, "SELECT count(*) FROM fares WHERE seats_booked <> 0") == (0,)
    # The bookings' key to fares was dropped for the load and rebuilt with the others.
    assert _one(url, "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_bookings_fare'") == (
        1,
    )


def test_if_empty_tells_a_seeded_database_from_an_empty_one(
    scratch: ScratchDatabases, seeded_url: str
) -> None:
    empty = scratch.create()
    migrate.upgrade(empty)
    assert has_flights(empty) is False
    assert has_flights(seeded_url) is True
