"""Destinations: places without an airport of their own (Sa Pa, Hội An, province capitals) are
cities with a province and coordinates, reached from their nearest airports by road.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cities", sa.Column("province", sa.Text(), nullable=True))
    op.add_column("cities", sa.Column("latitude", sa.Double(), nullable=True))
    op.add_column("cities", sa.Column("longitude", sa.Double(), nullable=True))
    op.create_check_constraint(
        op.f("ck_cities_coords_together"), "cities", "(latitude IS NULL) = (longitude IS NULL)"
    )
    op.create_check_constraint(
        op.f("ck_cities_coords"),
        "cities",
        "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180",
    )
    op.create_table(
        "nearest_airports",
        sa.Column("city_slug", sa.String(length=64), nullable=False),
        sa.Column("airport_iata", sa.String(length=3), nullable=False),
        sa.Column("road_km", sa.Integer(), nullable=False),
        sa.Column("road_minutes", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_nearest_airports_rank_positive")),
        sa.CheckConstraint("road_km > 0", name=op.f("ck_nearest_airports_road_km_positive")),
        sa.CheckConstraint(
            "road_minutes > 0", name=op.f("ck_nearest_airports_road_minutes_positive")
        ),
        sa.ForeignKeyConstraint(
            ["airport_iata"],
            ["airports.iata"],
            name=op.f("fk_nearest_airports_airport_iata_airports"),
        ),
        sa.ForeignKeyConstraint(
            ["city_slug"],
            ["cities.slug"],
            name=op.f("fk_nearest_airports_city_slug_cities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("city_slug", "airport_iata", name=op.f("pk_nearest_airports")),
        sa.UniqueConstraint("city_slug", "rank", name="uq_nearest_airports_city_rank"),
    )


def downgrade() -> None:
    op.drop_table("nearest_airports")
    op.drop_constraint(op.f("ck_cities_coords"), "cities", type_="check")
    op.drop_constraint(op.f("ck_cities_coords_together"), "cities", type_="check")
    op.drop_column("cities", "longitude")
    op.drop_column("cities", "latitude")
    op.drop_column("cities", "province")
