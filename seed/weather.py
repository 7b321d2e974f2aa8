"""Daily weather for every city and destination: seeded draws around the month's climate normals."""

from __future__ import annotations

import random
from datetime import date, timedelta

import psycopg

from booking.reference import Network
from seed.options import SeedOptions


def load_weather(
    conn: psycopg.Connection, network: Network, today: date, options: SeedOptions
) -> int:
    """Replace the daily weather with ``options.days`` days from ``today``; return how many rows."""
    rng = random.Random(options.seed * 104729)
    rainy = ["drizzle", "light_rain", "showers", "thunderstorm", "heavy_rain"]
    dry = ["sunny", "partly_cloudy", "cloudy"]
    conn.execute("TRUNCATE weather_daily")
    count = 0
    with conn.cursor().copy(
        "COPY weather_daily (city_slug, day, condition_code, temp_min_c, temp_max_c, humidity_pct, "
        "precip_prob_pct, wind_kph) FROM STDIN"
    ) as copy:
        # Destinations come after the cities, so the cities' rows stay what they were before
        # destinations existed (the same random draws in the same order).
        for city in [*network.cities, *network.destinations]:
            for day_index in range(options.days):
                day = today + timedelta(days=day_index)
                tmin, tmax, humidity, precip, wind, _ = city["climate"][day.month - 1]
                shift = rng.gauss(0, 1.3)
                lo = round(tmin + shift + rng.gauss(0, 0.6), 1)
                hi = round(max(lo + 2, tmax + shift + rng.gauss(0, 0.8)), 1)
                prob = int(min(100, max(0, precip + rng.gauss(0, 15))))
                if rng.random() * 100 < prob:
                    condition = rainy[min(4, int(prob / 100 * 5 * rng.random() + prob / 40))]
                else:
                    condition = dry[min(2, int(humidity / 100 * 3 * rng.random() + 0.3))]
                copy.write_row(
                    (
                        city["slug"],
                        day,
                        condition,
                        lo,
                        hi,
                        int(min(100, max(20, humidity + rng.gauss(0, 6)))),
                        prob,
                        round(max(0.0, wind + rng.gauss(0, 4)), 1),
                    )
                )
                count += 1
    return count
