"""Weather by place and day: the seeded forecast, or the month's climate normal beyond it.

A place without an airport (Sa Pa, Tam Đảo) has weather of its own: it is answered for the place,
never for the airport that serves it.

A forecast is described once, here (:func:`shown_condition` and the whole numbers of
:func:`_forecast`): the chat page's card, the terminal's card and the model's sentence all read
these same figures, so they cannot disagree (25–29 °C on the card, 25–30 °C in the text), and
the condition never contradicts the chance of rain.
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
from booking.i18n import message
from booking.i18n.format import whole

#: Conditions that promise no rain.
DRY = frozenset({"sunny", "partly_cloudy", "cloudy", "windy", "fog"})
#: From this chance of rain on, a dry condition is not what the traveller should read.
RAIN_LIKELY_PCT = 50
#: Below this chance of rain, a rainy condition is not either.
RAIN_UNLIKELY_PCT = 20


def shown_condition(code: str, precip_prob_pct: int) -> str:
    """The condition a traveller reads, agreeing with the chance of rain.

    The seeded (or any provider's) daily condition is the day's most frequent sky, drawn apart
    from the chance of rain; "Nắng" beside a 64 % chance of rain reads as a contradiction. A dry
    sky with rain likely (≥ 50 %) is shown as showers; rain with rain unlikely (< 20 %) as cloudy.
    """
    if code in DRY and precip_prob_pct >= RAIN_LIKELY_PCT:
        return "showers"
    if code not in DRY and precip_prob_pct < RAIN_UNLIKELY_PCT:
        return "cloudy"
    return code


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
    # Whole degrees and km/h, rounded half up once here: every reader shows these numbers as
    # they are (a card's Math.round and the text's rounding can no longer differ).
    code = shown_condition(condition.code, figures.precip_prob_pct)
    same = code == condition.code
    return Forecast(
        place=place,
        day=day,
        condition_code=code,
        condition_vi=condition.text_vi if same else message(f"weather.condition.{code}", "vi"),
        condition_en=condition.text_en if same else message(f"weather.condition.{code}", "en"),
        temp_min_c=float(whole(figures.temp_min_c)),
        temp_max_c=float(whole(figures.temp_max_c)),
        humidity_pct=figures.humidity_pct,
        precip_prob_pct=figures.precip_prob_pct,
        wind_kph=float(whole(figures.wind_kph)),
        is_climate_normal=is_normal,
        note=note,
    )
