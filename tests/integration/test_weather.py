from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain.places import Gazetteer
from booking.domain.weather import get_weather
from booking.errors import DateInPast, UnknownPlace
from tests.conftest import TEST_SEED, TEST_TODAY


async def test_forecast_for_a_seeded_day(session: AsyncSession, gazetteer: Gazetteer) -> None:
    day = TEST_TODAY + timedelta(days=3)
    forecast = await get_weather(
        session, gazetteer, TEST_TODAY, city="Đà Nẵng", date=day.isoformat()
    )
    assert forecast.place.city.airports == ("DAD",)
    assert forecast.day == day
    assert not forecast.is_climate_normal
    assert forecast.condition_vi
    assert forecast.condition_en
    assert forecast.temp_min_c <= forecast.temp_max_c
    assert 0 <= forecast.precip_prob_pct <= 100


async def test_default_day_is_today(session: AsyncSession, gazetteer: Gazetteer) -> None:
    forecast = await get_weather(session, gazetteer, TEST_TODAY, city="hanoi")
    assert forecast.day == TEST_TODAY


async def test_beyond_horizon_gives_marked_climate_normal(
    session: AsyncSession, gazetteer: Gazetteer
) -> None:
    day = TEST_TODAY + timedelta(days=TEST_SEED.days + 30)
    forecast = await get_weather(
        session, gazetteer, TEST_TODAY, city="Phú Quốc", date=day.isoformat()
    )
    assert forecast.is_climate_normal
    assert forecast.note
    assert "beyond the forecast horizon" in forecast.note


async def test_past_day_is_refused(session: AsyncSession, gazetteer: Gazetteer) -> None:
    with pytest.raises(DateInPast):
        await get_weather(session, gazetteer, TEST_TODAY, city="Huế", date="2026-05-01")


async def test_unknown_city(session: AsyncSession, gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace):
        await get_weather(session, gazetteer, TEST_TODAY, city="Gotham")
