"""Schema: places, airlines, flights with fares and seat inventory, weather.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:46:08.839045+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "airlines",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_airlines")),
    )
    op.create_table(
        "cities",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_cities")),
    )
    op.create_table(
        "weather_conditions",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("text_vi", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_weather_conditions")),
    )
    op.create_table(
        "airports",
        sa.Column("iata", sa.String(length=3), nullable=False),
        sa.Column("icao", sa.String(length=4), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city_slug", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.CheckConstraint("iata ~ '^[A-Z]{3}$'", name=op.f("ck_airports_iata_format")),
        sa.CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
            name=op.f("ck_airports_coords"),
        ),
        sa.ForeignKeyConstraint(
            ["city_slug"], ["cities.slug"], name=op.f("fk_airports_city_slug_cities")
        ),
        sa.PrimaryKeyConstraint("iata", name=op.f("pk_airports")),
    )
    op.create_index(op.f("ix_airports_city_slug"), "airports", ["city_slug"], unique=False)
    op.create_table(
        "climate_normals",
        sa.Column("city_slug", sa.String(length=64), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column("condition_code", sa.String(length=32), nullable=False),
        sa.Column("temp_min_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("temp_max_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("humidity_pct", sa.SmallInteger(), nullable=False),
        sa.Column("precip_prob_pct", sa.SmallInteger(), nullable=False),
        sa.Column("wind_kph", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.CheckConstraint(
            "humidity_pct BETWEEN 0 AND 100", name=op.f("ck_climate_normals_humidity_pct")
        ),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_climate_normals_month")),
        sa.CheckConstraint(
            "precip_prob_pct BETWEEN 0 AND 100", name=op.f("ck_climate_normals_precip_prob_pct")
        ),
        sa.CheckConstraint("temp_min_c <= temp_max_c", name=op.f("ck_climate_normals_temp_order")),
        sa.CheckConstraint("wind_kph >= 0", name=op.f("ck_climate_normals_wind_kph")),
        sa.ForeignKeyConstraint(
            ["city_slug"],
            ["cities.slug"],
            name=op.f("fk_climate_normals_city_slug_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["condition_code"],
            ["weather_conditions.code"],
            name=op.f("fk_climate_normals_condition_code_weather_conditions"),
        ),
        sa.PrimaryKeyConstraint("city_slug", "month", name=op.f("pk_climate_normals")),
    )
    op.create_table(
        "place_aliases",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("city_slug", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.CheckConstraint("key <> ''", name=op.f("ck_place_aliases_key_not_empty")),
        sa.ForeignKeyConstraint(
            ["city_slug"],
            ["cities.slug"],
            name=op.f("fk_place_aliases_city_slug_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "city_slug", name=op.f("pk_place_aliases")),
    )
    op.create_table(
        "weather_daily",
        sa.Column("city_slug", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("condition_code", sa.String(length=32), nullable=False),
        sa.Column("temp_min_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("temp_max_c", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("humidity_pct", sa.SmallInteger(), nullable=False),
        sa.Column("precip_prob_pct", sa.SmallInteger(), nullable=False),
        sa.Column("wind_kph", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.CheckConstraint(
            "humidity_pct BETWEEN 0 AND 100", name=op.f("ck_weather_daily_humidity_pct")
        ),
        sa.CheckConstraint(
            "precip_prob_pct BETWEEN 0 AND 100", name=op.f("ck_weather_daily_precip_prob_pct")
        ),
        sa.CheckConstraint("temp_min_c <= temp_max_c", name=op.f("ck_weather_daily_temp_order")),
        sa.CheckConstraint("wind_kph >= 0", name=op.f("ck_weather_daily_wind_kph")),
        sa.ForeignKeyConstraint(
            ["city_slug"],
            ["cities.slug"],
            name=op.f("fk_weather_daily_city_slug_cities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["condition_code"],
            ["weather_conditions.code"],
            name=op.f("fk_weather_daily_condition_code_weather_conditions"),
        ),
        sa.PrimaryKeyConstraint("city_slug", "day", name=op.f("pk_weather_daily")),
    )
    op.create_table(
        "flights",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("airline_code", sa.String(length=2), nullable=False),
        sa.Column("flight_number", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=3), nullable=False),
        sa.Column("destination", sa.String(length=3), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("departs_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("arrives_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aircraft", sa.String(length=16), nullable=False),
        sa.Column("registration", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "arrives_at > departs_at", name=op.f("ck_flights_arrives_after_departure")
        ),
        sa.CheckConstraint(
            "origin <> destination", name=op.f("ck_flights_origin_differs_from_destination")
        ),
        sa.ForeignKeyConstraint(
            ["airline_code"], ["airlines.code"], name=op.f("fk_flights_airline_code_airlines")
        ),
        sa.ForeignKeyConstraint(
            ["destination"], ["airports.iata"], name=op.f("fk_flights_destination_airports")
        ),
        sa.ForeignKeyConstraint(
            ["origin"], ["airports.iata"], name=op.f("fk_flights_origin_airports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flights")),
        sa.UniqueConstraint("flight_number", "service_date", name="uq_flights_number_date"),
    )
    op.create_index(
        "ix_flights_route_date",
        "flights",
        ["origin", "destination", "service_date", "departs_at"],
        unique=False,
    )
    op.create_table(
        "fares",
        sa.Column("flight_id", sa.BigInteger(), nullable=False),
        sa.Column("cabin", sa.String(length=16), nullable=False),
        sa.Column("price_vnd", sa.BigInteger(), nullable=False),
        sa.Column("seats_total", sa.SmallInteger(), nullable=False),
        sa.Column("seats_available", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("cabin IN ('economy', 'business')", name=op.f("ck_fares_cabin_known")),
        sa.CheckConstraint("price_vnd > 0", name=op.f("ck_fares_price_positive")),
        sa.CheckConstraint(
            "seats_available BETWEEN 0 AND seats_total",
            name=op.f("ck_fares_seats_available_in_range"),
        ),
        sa.CheckConstraint("seats_total > 0", name=op.f("ck_fares_seats_total_positive")),
        sa.ForeignKeyConstraint(
            ["flight_id"],
            ["flights.id"],
            name=op.f("fk_fares_flight_id_flights"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flight_id", "cabin", name=op.f("pk_fares")),
    )


def downgrade() -> None:
    op.drop_table("fares")
    op.drop_index("ix_flights_route_date", table_name="flights")
    op.drop_table("flights")
    op.drop_table("weather_daily")
    op.drop_table("place_aliases")
    op.drop_table("climate_normals")
    op.drop_index(op.f("ix_airports_city_slug"), table_name="airports")
    op.drop_table("airports")
    op.drop_table("weather_conditions")
    op.drop_table("cities")
    op.drop_table("airlines")
