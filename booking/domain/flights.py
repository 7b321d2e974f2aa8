"""Flight search: validate and resolve a query (pure), then read matching offers from the database.

A place without an airport of its own (Sa Pa, Hội An) is searched through the airports that serve
it, in rank order: the first pair of airports with matching flights wins, and the result's
``from``/``to`` carries ``via`` (that airport and the road to the place). When no pair has any,
the explanation is for the first pair that has a route at all (else the rank-1 pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Fare, Flight
from booking.db.repositories import FlightRepository
from booking.domain.dates import check_travel_date, parse_time_of_day, parse_travel_date
from booking.domain.places import Gazetteer
from booking.domain.search_request import SearchRequest
from booking.domain.types import (
    MAX_LIMIT,
    MAX_PASSENGERS,
    MAX_PRICE_VND,
    Cabin,
    FlightOffer,
    ResolvedPlace,
    SearchQuery,
    SearchResult,
    SortKey,
)
from booking.errors import (
    InvalidPassengers,
    InvalidSort,
    SameOriginDestination,
    SamePlace,
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
#: How far around the asked day to look for alternatives when nothing matches.
NEAREST_WINDOW_DAYS = 14


def cabin_named(name: str) -> Cabin:
    """The cabin a traveller means: "economy", "eco", "phổ thông", "Thương gia"..."""
    cabin = CABINS.get(name.strip().lower())
    if cabin is None:
        raise UnknownCabin(
            f"Unknown cabin '{name}'; choose economy or business.",
            cabin=name,
            allowed=["economy", "business"],
        )
    return cabin


def sort_named(name: str) -> SortKey:
    """The order a sort's name asks for: "price", "departure" or "duration"."""
    if name not in SORTS:
        raise InvalidSort(f"Unknown sort '{name}'; choose one of {', '.join(SORTS)}.", sort=name)
    return SORTS[name]


def build_query(
    places: Gazetteer, today: date, request: SearchRequest, *, max_days_ahead: int = 365
) -> SearchQuery:
    """Validate and resolve every field, raising a typed error for the first bad one.

    A validated :class:`SearchRequest` already keeps passengers, cabin, sort and price within
    bounds; they are checked again so that the rules hold, with their typed errors, however the
    request was built.
    """
    origin = places.resolve(request.from_city)
    destination = places.resolve(request.to_city)
    if origin.city.slug == destination.city.slug:
        raise SameOriginDestination(
            f"Origin and destination are both {origin.city.name_vi}; pick two different places.",
            place=origin.city.name_vi,
        )
    _refuse_shared_airport(places, origin, destination)
    day = check_travel_date(parse_travel_date(request.date, today), today, max_days_ahead)
    passengers = request.passengers
    if not 1 <= passengers <= MAX_PASSENGERS:
        raise InvalidPassengers(
            f"A booking is for 1 to {MAX_PASSENGERS} passengers, not {passengers}.",
            passengers=passengers,
        )
    cabin = cabin_named(request.cabin)
    sort = sort_named(request.sort)
    max_price = request.max_price
    if max_price is not None and not 1 <= max_price <= MAX_PRICE_VND:
        raise ValidationFailed(
            f"max_price must be between 1 and {MAX_PRICE_VND:,} VND per passenger.",
            max_price=max_price,
        )
    zone = ZoneInfo(origin.city.timezone)
    depart_after, depart_before = request.depart_after, request.depart_before
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
        cabin=cabin,
        max_price_vnd=max_price,
        depart_after=after,
        depart_before=before,
        airline=places.resolve_airline(request.airline).code if request.airline else None,
        sort=sort,
        limit=max(1, min(request.limit, MAX_LIMIT)),
    )


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def _codes(place: ResolvedPlace) -> set[str]:
    return {a.iata for a in place.airports}


def _refuse_shared_airport(
    places: Gazetteer, origin: ResolvedPlace, destination: ResolvedPlace
) -> None:
    """Two places whose first airports are the same (Hội An and Đà Nẵng: DAD) have no flight."""
    first_origin = places.airport_options(origin)[:1]
    first_destination = places.airport_options(destination)[:1]
    if not first_origin or not first_destination:
        # A place served by no airport we know of: the search finds no route and says so.
        return
    shared = sorted(_codes(first_origin[0]) & _codes(first_destination[0]))
    if not shared:
        return
    airports = ", ".join(
        f"{places.cities[places.airports[code].city_slug].name_vi} ({code})" for code in shared
    )
    roads = " ".join(
        f"{p.city.name_vi} is about {p.via.road_hours:g} h ({p.via.road_km} km) by road from "
        f"{p.via.airport.iata}."
        for p in (first_origin[0], first_destination[0])
        if p.via is not None
    )
    raise SamePlace(
        f"{origin.city.name_vi} and {destination.city.name_vi} are served by the same airport, "
        f"{airports}: no flight connects them. {roads}".strip(),
        origin=origin.city.name_vi,
        destination=destination.city.name_vi,
        airports=shared,
    )


def _airport_pairs(
    places: Gazetteer, query: SearchQuery
) -> list[tuple[ResolvedPlace, ResolvedPlace]]:
    """(origin, destination) options to search, best ranks first; never one airport to itself."""
    origins = places.airport_options(query.origin)
    destinations = places.airport_options(query.destination)
    ranked = [
        ((i + j, i), o, d)
        for i, o in enumerate(origins)
        for j, d in enumerate(destinations)
        if not _codes(o) & _codes(d)
    ]
    ranked.sort(key=lambda item: item[0])
    return [(o, d) for _, o, d in ranked]


def _road_hints(places: Gazetteer, query: SearchQuery) -> str:
    """A drive for every place whose airport is the other end's own, where no flight goes:
    "Trà Vinh is about 3 h (135 km) by road from Thành phố Hồ Chí Minh (SGN)."."""
    hints: dict[str, None] = {}
    for o in places.airport_options(query.origin):
        for d in places.airport_options(query.destination):
            shared = _codes(o) & _codes(d)
            by_road = o.via or d.via
            if shared and by_road is not None and (o.via is None or d.via is None):
                hints[
                    f"{by_road.place_vi} is about {by_road.road_hours:g} h ({by_road.road_km} km) "
                    f"by road from {by_road.airport_city_vi} ({by_road.airport.iata})."
                ] = None
    return " ".join(hints)


def _label(places: Sequence[ResolvedPlace]) -> str:
    """The place's name, with every airport tried for it: "Hạ Long (via VDO/HPH)"."""
    codes = list(dict.fromkeys(p.via.airport.iata for p in places if p.via))
    name = places[0].city.name_vi
    return f"{name} (via {'/'.join(codes)})" if codes else name


async def run_search(
    session: AsyncSession, places: Gazetteer, query: SearchQuery, today: date
) -> SearchResult:
    """Offers for a validated query; when there are none, say why and which days near it have seats."""
    repo = FlightRepository(session)
    pairs = _airport_pairs(places, query)
    if not pairs:
        # Every option shares an airport; build_query refuses the common cases first.
        _refuse_shared_airport(places, query.origin, query.destination)
        pairs = [(query.origin, query.destination)]
    for origin, destination in pairs:
        candidate = replace(query, origin=origin, destination=destination)
        rows = await repo.search(
            origins=sorted(_codes(origin)),
            destinations=sorted(_codes(destination)),
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
            offers = tuple(
                _offer(places, flight, fare, query.passengers) for flight, fare, _ in rows
            )
            return SearchResult(query=candidate, offers=offers, total_matches=int(rows[0][2]))

    origin, destination = pairs[0]
    if len(pairs) > 1:
        # Explain the first pair any airline flies at all: "sold out" says more than "no route".
        for o, d in pairs:
            if await repo.route_exists(sorted(_codes(o)), sorted(_codes(d))):
                origin, destination = o, d
                break
    tried = f"{_label([o for o, _ in pairs])} → {_label([d for _, d in pairs])}"
    return await _nothing_matched(
        repo,
        replace(query, origin=origin, destination=destination),
        today,
        tried=tried,
        hint=_road_hints(places, query),
    )


async def _nothing_matched(
    repo: FlightRepository, query: SearchQuery, today: date, *, tried: str, hint: str
) -> SearchResult:
    """Why a query found nothing, with up to three nearby dates that have seats.

    ``tried`` names every airport searched and ``hint`` the drives that replace a flight, for the
    "no route" message.
    """
    origins = sorted(_codes(query.origin))
    destinations = sorted(_codes(query.destination))
    nearest = await repo.dates_with_seats(
        origins=origins,
        destinations=destinations,
        around=query.day,
        not_before=today,
        days=NEAREST_WINDOW_DAYS,
        cabin=query.cabin,
        passengers=query.passengers,
        airline=query.airline,
        max_price_vnd=query.max_price_vnd,
        depart_after=query.depart_after.time() if query.depart_after else None,
        depart_before=query.depart_before.time() if query.depart_before else None,
    )
    route = f"{_label([query.origin])} → {_label([query.destination])}"
    on_day, with_seats = await repo.count_on_day(origins, destinations, query.day)
    last = await repo.last_service_date() if on_day == 0 else None
    if last is not None and query.day > last:
        # Say why, and name the schedule's last day: "no flights" alone reads as a closed route.
        reason, message = (
            "beyond_schedule",
            f"No flights {route} on {query.day.isoformat()}: the schedule on sale ends on "
            f"{last.isoformat()}.",
        )
    elif on_day == 0 and not nearest and not await repo.route_exists(origins, destinations):
        reason, message = "no_route", f"No airline in our schedule flies {tried}. {hint}".strip()
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
        schedule_ends=last if reason == "beyond_schedule" else None,
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
    request: SearchRequest,
    *,
    max_days_ahead: int = 365,
) -> SearchResult:
    """Search flights from what a traveller (or the model) typed; see :func:`build_query`."""
    query = build_query(places, today, request, max_days_ahead=max_days_ahead)
    return await run_search(session, places, query, today)
