"""Flight search, weather and place autocomplete for the frontend's own widgets.

Places without an airport (Sa Pa, Hội An) work everywhere: a search goes through the airport that
serves the place and says so in ``via``; weather is the place's own.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from rapidfuzz import fuzz, process

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.domain import flights, weather
from booking.domain.dates import today
from booking.domain.places import alias_key
from booking.domain.types import MAX_LIMIT, MAX_PASSENGERS, MAX_PRICE_VND

router = APIRouter(prefix="/v1", tags=["travel"], responses=problem_responses(401, 422, 429))


def _place(example: str) -> Any:
    return Query(
        min_length=1,
        max_length=100,
        examples=[example],
        description=(
            "A city, place or airport: its name, IATA code or an alias (`Sài Gòn`, `HCM`, `SGN`);"
            " places without an airport too (`Sa Pa`, `Hội An`)."
        ),
    )


#: Dates as travellers write them: ``2026-06-15``, ``15/6``, ``thứ Sáu tuần sau``.
DATE_EXAMPLE = "15/6"


@router.get("/flights/search")
async def search_flights(
    client: CurrentClient,
    state: StateDep,
    from_city: Annotated[str, _place("SGN")],
    to_city: Annotated[str, _place("Hà Nội")],
    date: Annotated[str, Query(min_length=1, max_length=20, examples=[DATE_EXAMPLE])],
    passengers: Annotated[int, Query(ge=1, le=MAX_PASSENGERS)] = 1,
    cabin: Literal["economy", "business"] = "economy",
    max_price: Annotated[int | None, Query(ge=1, le=MAX_PRICE_VND)] = None,
    depart_after: Annotated[str | None, Query(max_length=8)] = None,
    depart_before: Annotated[str | None, Query(max_length=8)] = None,
    airline: Annotated[str | None, Query(max_length=50)] = None,
    sort: Literal["price", "departure", "duration"] = "price",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> dict[str, Any]:
    """Search flights with the same validation and errors as the agent's tool."""
    async with state.sessionmaker() as session:
        result = await flights.search_flights(
            session, state.places, today(state.clock), from_city=from_city, to_city=to_city, date=date,
            passengers=passengers, cabin=cabin, max_price=max_price, depart_after=depart_after,
            depart_before=depart_before, airline=airline, sort=sort, limit=limit,
            max_days_ahead=state.settings.max_days_ahead,
        )  # fmt: skip
    return result.to_dict()


@router.get("/weather")
async def get_weather(
    client: CurrentClient,
    state: StateDep,
    city: Annotated[str, _place("Huế")],
    date: Annotated[str | None, Query(max_length=20, examples=[DATE_EXAMPLE])] = None,
) -> dict[str, Any]:
    """Weather for a place and day (the month's climate normal beyond the forecast horizon)."""
    async with state.sessionmaker() as session:
        forecast = await weather.get_weather(
            session, state.places, today(state.clock), city=city, date=date
        )
    return forecast.to_dict()


@router.get("/places")
async def places(
    client: CurrentClient,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["hue"])],
    limit: Annotated[int, Query(ge=1, le=20)] = 8,
) -> dict[str, Any]:
    """Autocomplete: cities, places and airports matching what the traveller has typed so far."""
    key = alias_key(q)
    gazetteer = state.places
    scores: dict[str, float] = {}
    if key:
        for alias in gazetteer.aliases:
            if alias.startswith(key):
                for slug in gazetteer.aliases[alias]:
                    scores[slug] = max(scores.get(slug, 0), 100.0 - (len(alias) - len(key)))
        for alias, score, _ in process.extract(
            key, list(gazetteer.aliases), scorer=fuzz.ratio, limit=20
        ):
            if score >= 70:
                for slug in gazetteer.aliases[alias]:
                    scores[slug] = max(scores.get(slug, 0), score - 10)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
    items = []
    for slug, _ in ranked:
        city = gazetteer.cities[slug]
        items.append(
            {
                "city": city.name_vi,
                "city_en": city.name_en,
                "country": city.country,
                "airports": [
                    {"iata": code, "name": gazetteer.airports[code].name}
                    for code in city.airports
                    if code in gazetteer.airports
                ],
                # A place without an airport: the airports that serve it, by rank.
                "nearest_airports": [
                    {
                        "iata": near.iata,
                        "name": gazetteer.airports[near.iata].name,
                        "road_km": near.road_km,
                        "road_hours": round(near.road_minutes / 60, 1),
                    }
                    for near in city.nearest
                    if near.iata in gazetteer.airports
                ],
            }
        )
    return {"query": q, "items": items}
