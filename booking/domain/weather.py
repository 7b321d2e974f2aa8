"""Weather by place and day: the seeded forecast, or the month's climate normal beyond it.

A place without an airport (Sa Pa, Tam Đảo) has weather of its own: it is answered for the place,
never for the airport that serves it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import ClimateNormal, WeatherCondition, WeatherDaily
from booking.db.repositories import WeatherRepository
from booking.domain.dates import parse_travel_date
from booking.domain.places import Gazetteer
from booking.domain.types import Forecast, ResolvedPlace
from booking.errors import DateInPast, NotFound


async def get_weather(
    session: AsyncSession,
    places: Gazetteer,
    today: date,
    *,
    city: str,
    date: str | date | None = None,
) -> Forecast:
    """Weather for ``city`` (any place the gazetteer knows, with or without an airport) on
    ``date`` (default today)."""
    place = places.resolve(city)
    day = parse_travel_date(date, today) if date is not None else today
    if day < today:
        raise DateInPast(
            f"I only have weather from today ({today.isoformat()}) on, not for {day.isoformat()}.",
            date=day.isoformat(),
            today=today.isoformat(),
        )
    repo = WeatherRepository(session)
    row = await repo.daily(place.city.slug, day)
    if row is not None:
        return _forecast(place, day, row[0], row[1], is_normal=False, note=None)
    normal = await repo.normal(place.city.slug, day.month)
    if normal is None:
        raise NotFound(f"No weather data for {place.city.name_vi}.", city=place.city.slug)
    last = await repo.last_day(place.city.slug)
    horizon = f" (forecasts run to {last.isoformat()})" if last else ""
    note = (
        f"{day.isoformat()} is beyond the forecast horizon{horizon}; "
        f"these are the usual conditions for month {day.month}, not a forecast."
    )
    return _forecast(place, day, normal[0], normal[1], is_normal=True, note=note)


def _forecast(
    place: ResolvedPlace,
    day: date,
    figures: WeatherDaily | ClimateNormal,
    condition: WeatherCondition,
    *,
    is_normal: bool,
    note: str | None,
) -> Forecast:
    return Forecast(
        place=place,
        day=day,
        condition_code=condition.code,
        condition_vi=condition.text_vi,
        condition_en=condition.text_en,
        temp_min_c=float(figures.temp_min_c),
        temp_max_c=float(figures.temp_max_c),
        humidity_pct=figures.humidity_pct,
        precip_prob_pct=figures.precip_prob_pct,
        wind_kph=float(figures.wind_kph),
        is_climate_normal=is_normal,
        note=note,
    )
