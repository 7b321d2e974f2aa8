"""Daily weather and climate normals per city."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from booking.db.base import Base


class WeatherCondition(Base):
    __tablename__ = "weather_conditions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)


class _WeatherFigures:
    """Columns shared by a daily forecast and a monthly climate normal."""

    condition_code: Mapped[str] = mapped_column(ForeignKey("weather_conditions.code"))
    temp_min_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    temp_max_c: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    humidity_pct: Mapped[int] = mapped_column(SmallInteger)
    precip_prob_pct: Mapped[int] = mapped_column(SmallInteger)
    wind_kph: Mapped[Decimal] = mapped_column(Numeric(4, 1))


def _weather_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("temp_min_c <= temp_max_c", name="temp_order"),
        CheckConstraint("humidity_pct BETWEEN 0 AND 100", name="humidity_pct"),
        CheckConstraint("precip_prob_pct BETWEEN 0 AND 100", name="precip_prob_pct"),
        CheckConstraint("wind_kph >= 0", name="wind_kph"),
    )


class WeatherDaily(_WeatherFigures, Base):
    __tablename__ = "weather_daily"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = _weather_checks()


class ClimateNormal(_WeatherFigures, Base):
    __tablename__ = "climate_normals"

    city_slug: Mapped[str] = mapped_column(
        ForeignKey("cities.slug", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True)

    __table_args__ = (CheckConstraint("month BETWEEN 1 AND 12", name="month"), *_weather_checks())
