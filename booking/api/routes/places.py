"""Place autocomplete for the frontend's own widgets: cities, places without an airport (Sa Pa,
Hội An, with the airports that serve them) and airports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from rapidfuzz import fuzz, process

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.domain.places import alias_key

router = APIRouter(prefix="/v1", tags=["travel"], responses=problem_responses(401, 422, 429))


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
