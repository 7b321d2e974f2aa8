"""Places: cities, airports, the ways people write them, and the airports nearest a place without one."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Double,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base


class City(Base):
    """A place travellers name: served by its own airports, or reached by road from the
    :class:`NearestAirport` rows of a place without one (Sa Pa, Hội An)."""

    __tablename__ = "cities"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(Text)
    """The Vietnamese province (as named since the 2025 merger) of a place without an airport."""
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL)", name="coords_together"),
        CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coords"
        ),
    )


class Airport(Base):
    __tablename__ = "airports"

    iata: Mapped[str] = mapped_column(String(3), primary_key=True)
    icao: Mapped[str | None] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(Text)
    city_slug: Mapped[str] = mapped_column(ForeignKey("cities.slug"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float] = mapped_column(Double)
    longitude: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint("iata ~ '^[A-Z]{3}$'", name="iata_format"),
        CheckConstraint(
            "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180", name="coords"
        ),
    )


class PlaceAlias(Base):
    """One way people write a city ("Sài Gòn", "sai gon", "HCM"); ``key`` is its normalized form."""

    __tablename__ = "place_aliases"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(Text)

    __table_args__ = (CheckConstraint("key <> ''", name="key_not_empty"),)


class NearestAirport(Base):
    """An airport that serves a place without one of its own, and the road between them."""

    __tablename__ = "nearest_airports"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    airport_iata: Mapped[str] = mapped_column(ForeignKey("airports.iata"), primary_key=True)
    road_km: Mapped[int] = mapped_column(Integer)
    road_minutes: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(SmallInteger)
    """1 is the airport travellers use first; searches try the others in this order."""

    __table_args__ = (
        CheckConstraint("road_km > 0", name="road_km_positive"),
        CheckConstraint("road_minutes > 0", name="road_minutes_positive"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        UniqueConstraint("city_slug", "rank", name="uq_nearest_airports_city_rank"),
    )
