"""Queries for places, flights and weather (one repository each; the other aggregates have their own modules: conversations, turns, the event log, API keys, bookings). Repositories hold their session and return rows; the domain builds its types."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Required, TypedDict

from sqlalchemy import Row, Select, Time, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import Unpack

from booking.db.models import (
    Airline,
    Airport,
    City,
    ClimateNormal,
    Fare,
    Flight,
    NearestAirport,
    PlaceAlias,
    WeatherCondition,
    WeatherDaily,
)


class PlaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cities(self) -> Sequence[City]:
        return (await self.session.scalars(select(City).order_by(City.slug))).all()

    async def airports(self) -> Sequence[Airport]:
        return (await self.session.scalars(select(Airport).order_by(Airport.iata))).all()

    async def aliases(self) -> Sequence[Row[str, str]]:
        """(alias text, city slug) pairs."""
        stmt = select(PlaceAlias.alias, PlaceAlias.city_slug)
        return (await self.session.execute(stmt)).all()

    async def airlines(self) -> Sequence[Airline]:
        return (await self.session.scalars(select(Airline).order_by(Airline.code))).all()

    async def nearest_airports(self) -> Sequence[NearestAirport]:
        """The airports serving places without one of their own, by place and rank."""
        stmt = select(NearestAirport).order_by(NearestAirport.city_slug, NearestAirport.rank)
        return (await self.session.scalars(stmt)).all()


class SearchCriteria(TypedDict, total=False):
    origins: Required[Sequence[str]]
    destinations: Required[Sequence[str]]
    day: Required[date]
    cabin: Required[str]
    passengers: Required[int]
    max_price_vnd: int | None
    depart_after: datetime | None
    depart_before: datetime | None
    airline: str | None
    order_by: str
    limit: int


def search_statement(**criteria: Unpack[SearchCriteria]) -> Select[Flight, Fare, int]:
    """Flights on one route and local day with enough seats in the cabin, best first.

    Each row also carries the number of all matches (a window count), so one round trip
    tells "showing 10 of 57". Served by ``ix_flights_route_date`` and the fares primary key.
    """
    conditions = [
        Flight.origin.in_(criteria["origins"]),
        Flight.destination.in_(criteria["destinations"]),
        Flight.service_date == criteria["day"],
        Fare.seats_available >= criteria["passengers"],
    ]
    max_price_vnd = criteria.get("max_price_vnd")
    depart_after = criteria.get("depart_after")
    depart_before = criteria.get("depart_before")
    airline = criteria.get("airline")
    if max_price_vnd is not None:
        conditions.append(Fare.price_vnd <= max_price_vnd)
    if depart_after is not None:
        conditions.append(Flight.departs_at >= depart_after)
    if depart_before is not None:
        conditions.append(Flight.departs_at <= depart_before)
    if airline is not None:
        conditions.append(Flight.airline_code == airline)
    ordering = {
        "price": (Fare.price_vnd, Flight.departs_at),
        "departure": (Flight.departs_at, Fare.price_vnd),
        "duration": (Flight.arrives_at - Flight.departs_at, Fare.price_vnd),
    }[criteria.get("order_by", "price")]
    return (
        select(Flight, Fare, func.count().over().label("total"))
        .join(Fare, and_(Fare.flight_id == Flight.id, Fare.cabin == criteria["cabin"]))
        .where(*conditions)
        .order_by(*ordering, Flight.id)
        .limit(criteria.get("limit", 10))
    )


class FlightRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(self, **criteria: Unpack[SearchCriteria]) -> Sequence[Row[Flight, Fare, int]]:
        """Run :func:`search_statement`; each row is (flight, fare, number of all matches)."""
        return (await self.session.execute(search_statement(**criteria))).all()

    async def count_on_day(
        self, origins: Sequence[str], destinations: Sequence[str], day: date
    ) -> tuple[int, int]:
        """(flights on the route that day, of those with any seat left in any cabin)."""
        has_seats = (
            select(Fare.flight_id)
            .where(Fare.flight_id == Flight.id, Fare.seats_available > 0)
            .exists()
        )
        stmt = select(func.count(), func.count().filter(has_seats)).where(
            Flight.origin.in_(origins),
            Flight.destination.in_(destinations),
            Flight.service_date == day,
        )
        total, with_seats = (await self.session.execute(stmt)).one()
        return int(total), int(with_seats)

    async def last_service_date(self) -> date | None:
        """The schedule's last day (``None``: no flights at all)."""
        return await self.session.scalar(select(func.max(Flight.service_date)))

    async def route_exists(self, origins: Sequence[str], destinations: Sequence[str]) -> bool:
        stmt = select(
            select(Flight.id)
            .where(Flight.origin.in_(origins), Flight.destination.in_(destinations))
            .exists()
        )
        return bool(await self.session.scalar(stmt))

    async def dates_with_seats(
        self,
        *,
        origins: Sequence[str],
        destinations: Sequence[str],
        around: date,
        not_before: date,
        days: int,
        cabin: str,
        passengers: int,
        airline: str | None,
        max_price_vnd: int | None = None,
        depart_after: time | None = None,
        depart_before: time | None = None,
    ) -> list[date]:
        """Days within ``days`` of ``around`` (not before ``not_before``) with seats, nearest first.

        The same filters as the search hold on those days (price, local departure window,
        airline), so every day offered has a flight the traveller would take.
        """
        lo = max(around - timedelta(days=days), not_before)
        conditions = [
            Flight.origin.in_(origins),
            Flight.destination.in_(destinations),
            Flight.service_date.between(lo, around + timedelta(days=days)),
            Flight.service_date != around,
            Fare.seats_available >= passengers,
        ]
        if airline is not None:
            conditions.append(Flight.airline_code == airline)
        if max_price_vnd is not None:
            conditions.append(Fare.price_vnd <= max_price_vnd)
        local = cast(func.timezone(Airport.timezone, Flight.departs_at), Time)
        if depart_after is not None:
            conditions.append(local >= depart_after)
        if depart_before is not None:
            conditions.append(local <= depart_before)
        stmt = (
            select(Flight.service_date)
            .join(Fare, and_(Fare.flight_id == Flight.id, Fare.cabin == cabin))
            .join(Airport, Airport.iata == Flight.origin)
            .where(*conditions)
            .group_by(Flight.service_date)
        )
        found = (await self.session.scalars(stmt)).all()
        return sorted(found, key=lambda d: (abs((d - around).days), d))


class WeatherRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def daily(self, city_slug: str, day: date) -> Row[WeatherDaily, WeatherCondition] | None:
        stmt = (
            select(WeatherDaily, WeatherCondition)
            .join(WeatherCondition, WeatherCondition.code == WeatherDaily.condition_code)
            .where(WeatherDaily.city_slug == city_slug, WeatherDaily.day == day)
        )
        return (await self.session.execute(stmt)).one_or_none()

    async def normal(
        self, city_slug: str, month: int
    ) -> Row[ClimateNormal, WeatherCondition] | None:
        stmt = (
            select(ClimateNormal, WeatherCondition)
            .join(WeatherCondition, WeatherCondition.code == ClimateNormal.condition_code)
            .where(ClimateNormal.city_slug == city_slug, ClimateNormal.month == month)
        )
        return (await self.session.execute(stmt)).one_or_none()

    async def last_day(self, city_slug: str) -> date | None:
        stmt = select(func.max(WeatherDaily.day)).where(WeatherDaily.city_slug == city_slug)
        return await self.session.scalar(stmt)
