"""Reference data, upserted by natural key: weather conditions, airlines, cities and destinations
without an airport, airports, place spellings, nearest airports and climate normals.

Spellings and nearest airports are replaced wholesale, so one removed from the data files goes too.
"""

from __future__ import annotations

import airportsdata
import psycopg

from booking.domain.places import alias_key
from booking.reference import Network

#: Every destination without an airport is in Vietnam.
DESTINATION_TZ = "Asia/Ho_Chi_Minh"


def load_reference(conn: psycopg.Connection, network: Network) -> tuple[int, int, int, int]:
    """Upsert the reference data; return how many cities, airports, spellings and airlines."""
    facts = airportsdata.load("IATA")
    conn.execute("SET LOCAL session_replication_role = DEFAULT")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO weather_conditions (code, text_vi, text_en) VALUES (%s, %s, %s) "
            "ON CONFLICT (code) DO UPDATE SET text_vi = EXCLUDED.text_vi, text_en = EXCLUDED.text_en",
            [(c["code"], c["text_vi"], c["text_en"]) for c in network.conditions],
        )
        cur.executemany(
            "INSERT INTO airlines (code, name, country) VALUES (%s, %s, %s) ON CONFLICT (code) "
            "DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country",
            [(a["code"], a["name"], a["country"]) for a in network.airlines],
        )
        cur.executemany(
            "INSERT INTO cities (slug, name_vi, name_en, country, timezone, province, latitude, "
            "longitude) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (slug) DO UPDATE SET name_vi = EXCLUDED.name_vi, name_en = EXCLUDED.name_en, "
            "country = EXCLUDED.country, timezone = EXCLUDED.timezone, "
            "province = EXCLUDED.province, latitude = EXCLUDED.latitude, "
            "longitude = EXCLUDED.longitude",
            [
                (c["slug"], c["name_vi"], c["name_en"], c["country"], c["timezone"], None, None,
                 None)
                for c in network.cities
            ]
            + [
                (d["slug"], d["name_vi"], d["name_en"], "VN", DESTINATION_TZ, d["province"],
                 d["latitude"], d["longitude"])
                for d in network.destinations
            ],
        )  # fmt: skip
        airports = []
        for city in network.cities:
            for iata in city["airports"]:
                fact = facts[iata]
                airports.append(
                    (iata, fact["icao"] or None, fact["name"], city["slug"], fact["country"],
                     fact["tz"], fact["lat"], fact["lon"])
                )  # fmt: skip
        cur.executemany(
            "INSERT INTO airports (iata, icao, name, city_slug, country, timezone, latitude, longitude) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (iata) DO UPDATE SET "
            "icao = EXCLUDED.icao, name = EXCLUDED.name, city_slug = EXCLUDED.city_slug, "
            "country = EXCLUDED.country, timezone = EXCLUDED.timezone, "
            "latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude",
            airports,
        )
        aliases: dict[tuple[str, str], str] = {}
        for city in network.cities:
            for text in [city["name_vi"], city["name_en"], *city["aliases"], *city["airports"]]:
                key = alias_key(text)
                if key:
                    aliases.setdefault((key, city["slug"]), text)
        for place in network.destinations:
            for text in [place["name_vi"], place["name_en"], *place["aliases"]]:
                key = alias_key(text)
                if key:
                    aliases.setdefault((key, place["slug"]), text)
        # Aliases are replaced wholesale: a spelling removed from the data file must go too.
        cur.execute("DELETE FROM place_aliases")
        cur.executemany(
            "INSERT INTO place_aliases (key, city_slug, alias) VALUES (%s, %s, %s)",
            [(key, slug, text) for (key, slug), text in sorted(aliases.items())],
        )
        # Like aliases, replaced wholesale: an airport dropped from a destination must go too.
        cur.execute("DELETE FROM nearest_airports")
        cur.executemany(
            "INSERT INTO nearest_airports (city_slug, airport_iata, road_km, road_minutes, rank) "
            "VALUES (%s, %s, %s, %s, %s)",
            [
                (place["slug"], near["airport"], near["road_km"],
                 round(near["road_hours"] * 60), rank)
                for place in network.destinations
                for rank, near in enumerate(place["nearest"], start=1)
            ],
        )  # fmt: skip
        normals = [
            (city["slug"], month, m[5], m[0], m[1], m[2], m[3], m[4])
            for city in [*network.cities, *network.destinations]
            for month, m in enumerate(city["climate"], start=1)
        ]
        cur.executemany(
            "INSERT INTO climate_normals (city_slug, month, condition_code, temp_min_c, temp_max_c, "
            "humidity_pct, precip_prob_pct, wind_kph) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (city_slug, month) DO UPDATE SET condition_code = EXCLUDED.condition_code, "
            "temp_min_c = EXCLUDED.temp_min_c, temp_max_c = EXCLUDED.temp_max_c, "
            "humidity_pct = EXCLUDED.humidity_pct, precip_prob_pct = EXCLUDED.precip_prob_pct, "
            "wind_kph = EXCLUDED.wind_kph",
            normals,
        )
    return len(network.cities), len(airports), len(aliases), len(network.airlines)
