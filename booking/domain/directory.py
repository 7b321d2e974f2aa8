"""Load the :class:`~booking.domain.places.Gazetteer` from the database (once per process)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.repositories import PlaceRepository
from booking.domain.places import AirlineRef, Gazetteer
from booking.domain.types import AirportRef, CityRef, NearestAirportRef


async def load_gazetteer(session: AsyncSession) -> Gazetteer:
    repo = PlaceRepository(session)
    airports = [AirportRef(a.iata, a.name, a.city_slug, a.timezone) for a in await repo.airports()]
    by_city: dict[str, list[str]] = {}
    for airport in airports:
        by_city.setdefault(airport.city_slug, []).append(airport.iata)
    nearest: dict[str, list[NearestAirportRef]] = {}
    for row in await repo.nearest_airports():
        nearest.setdefault(row.city_slug, []).append(
            NearestAirportRef(row.airport_iata, row.road_km, row.road_minutes, row.rank)
        )
    cities = [
        CityRef(
            c.slug,
            c.name_vi,
            c.name_en,
            c.country,
            c.timezone,
            tuple(by_city.get(c.slug, ())),
            tuple(nearest.get(c.slug, ())),
            c.province,
        )
        for c in await repo.cities()
    ]
    aliases = [(alias, slug) for alias, slug in await repo.aliases()]
    airlines = [AirlineRef(a.code, a.name) for a in await repo.airlines()]
    return Gazetteer.build(cities, airports, aliases, airlines)
