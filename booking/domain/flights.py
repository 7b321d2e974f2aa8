"""Flight search: validate and resolve a query (pure), then read matching offers from the database."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Fare, Flight
from booking.db.repositories import FlightRepository
from booking.domain.dates import check_travel_date, parse_time_of_day, parse_travel_date
from booking.domain.places import Gazetteer
from booking.domain.types import Cabin, FlightOffer, SearchQuery, SearchResult, SortKey
from booking.errors import (
    InvalidPassengers,
    InvalidSort,
    SameOriginDestination,
    UnknownCabin,
    ValidationFailed,
)

CABINS: dict[str, Cabin] = {
    "economy": "economy",
    "eco": "economy",
    "pho thong": "economy",
    "phổ thông": "economy",
    "business": "business",
    "thuong gia": "business",
    "thương gia": "business",
}
SORTS: dict[str, SortKey] = {"price": "price", "departure": "departure", "duration": "duration"}
MAX_PASSENGERS = 9
MAX_LIMIT = 50
#: How far around the asked day to look for alternatives when nothing matches.
NEAREST_WINDOW_DAYS = 14


def build_query(
    places: Gazetteer,
    today: date,
    *,
    from_city: str,
    to_city: str,
    date: str | date,
    passengers: int = 1,
    cabin: str = "economy",
    max_price: int | None = None,
    depart_after: str | time | None = None,
    depart_before: str | time | None = None,
    airline: str | None = None,
    sort: str = "price",
    limit: int = 10,
    max_days_ahead: int = 365,
) -> SearchQuery:
    """Validate and resolve every argument, raising a typed error for the first bad one."""
    origin = places.resolve(from_city)
    destination = places.resolve(to_city)
    if origin.city.slug == destination.city.slug:
        raise SameOriginDestination(
            f"Origin and destination are both {origin.city.name_vi}; pick two different places.",
            place=origin.city.name_vi,
        )
    day = check_travel_date(parse_travel_date(date, today), today, max_days_ahead)
    if not 1 <= passengers <= MAX_PASSENGERS:
        raise InvalidPassengers(
            f"A booking is for 1 to {MAX_PASSENGERS} passengers, not {passengers}.",
            passengers=passengers,
        )
    cabin_key = cabin.strip().lower()
    if cabin_key not in CABINS:
        raise UnknownCabin(
            f"Unknown cabin '{cabin}'; choose economy or business.",
            cabin=cabin,
            allowed=["economy", "business"],
        )
    if sort not in SORTS:
        raise InvalidSort(f"Unknown sort '{sort}'; choose one of {', '.join(SORTS)}.", sort=sort)
    if max_price is not None and max_price <= 0:
        raise ValidationFailed("max_price must be a positive amount in VND.", max_price=max_price)
    zone = ZoneInfo(origin.city.timezone)
    after = _local(day, parse_time_of_day(depart_after), zone) if depart_after else None
    before = _local(day, parse_time_of_day(depart_before), zone) if depart_before else None
    if after and before and after > before:
        raise ValidationFailed(
            "depart_after is later than depart_before; widen the time window.",
            depart_after=str(depart_after),
            depart_before=str(depart_before),
        )
    return SearchQuery(
        origin=origin,
        destination=destination,
        day=day,
        passengers=passengers,
        cabin=CABINS[cabin_key],
        max_price_vnd=max_price,
        depart_after=after,
        depart_before=before,
        airline=places.resolve_airline(airline).code if airline else None,
        sort=SORTS[sort],
        limit=max(1, min(limit, MAX_LIMIT)),
    )


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


async def run_search(
    session: AsyncSession, places: Gazetteer, query: SearchQuery, today: date
) -> SearchResult:
    """Offers for a validated query; when there are none, say why and which days near it have seats."""
    repo = FlightRepository(session)
    origins = [a.iata for a in query.origin.airports]
    destinations = [a.iata for a in query.destination.airports]
    rows = await repo.search(
        origins=origins,
        destinations=destinations,
        day=query.day,
        cabin=query.cabin,
        passengers=query.passengers,
        max_price_vnd=query.max_price_vnd,
        depart_after=query.depart_after,
        depart_before=query.depart_before,
        airline=query.airline,
        order_by=query.sort,
        limit=query.limit,
    )
    if rows:
        offers = tuple(_offer(places, flight, fare, query.passengers) for flight, fare, _ in rows)
        return SearchResult(query=query, offers=offers, total_matches=int(rows[0][2]))

    nearest = await repo.dates_with_seats(
        origins=origins,
        destinations=destinations,
        around=query.day,
        not_before=today,
        days=NEAREST_WINDOW_DAYS,
        cabin=query.cabin,
        passengers=query.passengers,
        airline=query.airline,
    )
    route = f"{query.origin.city.name_vi} → {query.destination.city.name_vi}"
    on_day, with_seats = await repo.count_on_day(origins, destinations, query.day)
    if on_day == 0 and not nearest and not await repo.route_exists(origins, destinations):
        reason, message = "no_route", f"No airline in our schedule flies {route}."
    elif on_day == 0:
        reason, message = "no_flights_on_date", f"No flights {route} on {query.day.isoformat()}."
    elif with_seats == 0:
        reason, message = (
            "sold_out",
            f"All {on_day} flights {route} on {query.day.isoformat()} are full.",
        )
    else:
        reason, message = (
            "no_match_filters",
            f"{on_day} flights {route} on {query.day.isoformat()}, but none match the cabin, "
            "passengers, price, time or airline asked for.",
        )
    return SearchResult(
        query=query,
        offers=(),
        total_matches=0,
        reason=reason,  # type: ignore[arg-type]
        message=message,
        nearest_dates=tuple(nearest[:3]),
    )


def _offer(places: Gazetteer, flight: Flight, fare: Fare, passengers: int) -> FlightOffer:
    origin_tz = ZoneInfo(places.airports[flight.origin].timezone)
    dest_tz = ZoneInfo(places.airports[flight.destination].timezone)
    airline = places.airlines.get(flight.airline_code)
    return FlightOffer(
        flight_id=flight.id,
        flight_number=flight.flight_number,
        airline_code=flight.airline_code,
        airline_name=airline.name if airline else flight.airline_code,
        origin=flight.origin,
        destination=flight.destination,
        departs_at=flight.departs_at.astimezone(origin_tz),
        arrives_at=flight.arrives_at.astimezone(dest_tz),
        duration_minutes=int((flight.arrives_at - flight.departs_at).total_seconds() // 60),
        aircraft=flight.aircraft,
        cabin=fare.cabin,  # type: ignore[arg-type]
        price_vnd=fare.price_vnd,
        total_vnd=fare.price_vnd * passengers,
        seats_left=fare.seats_available,
    )


async def search_flights(
    session: AsyncSession,
    places: Gazetteer,
    today: date,
    *,
    from_city: str,
    to_city: str,
    date: str | date,
    passengers: int = 1,
    cabin: str = "economy",
    max_price: int | None = None,
    depart_after: str | time | None = None,
    depart_before: str | time | None = None,
    airline: str | None = None,
    sort: str = "price",
    limit: int = 10,
    max_days_ahead: int = 365,
) -> SearchResult:
    """Search flights from what a traveller (or the model) typed; see :func:`build_query`."""
    query = build_query(
        places,
        today,
        from_city=from_city,
        to_city=to_city,
        date=date,
        passengers=passengers,
        cabin=cabin,
        max_price=max_price,
        depart_after=depart_after,
        depart_before=depart_before,
        airline=airline,
        sort=SORTS[sort],
        limit=limit,
        max_days_ahead=max_days_ahead,
    )
    return await run_search(session, places, query, today)
