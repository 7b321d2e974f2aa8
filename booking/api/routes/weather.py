"""Weather for a place and day, for the frontend's own widgets.

A place without an airport (Sa Pa, Hội An) gets its own weather, not its airport's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.domain import weather
from booking.domain.dates import today

router = APIRouter(prefix="/v1", tags=["travel"], responses=problem_responses(401, 422, 429))

#: Dates as travellers write them: ``2026-06-15``, ``15/6``, ``thứ Sáu tuần sau``.
DATE_EXAMPLE = "15/6"
#: What a place parameter accepts.
PLACE = (
    "A city, place or airport: its name, IATA code or an alias (`Sài Gòn`, `HCM`, `SGN`);"
    " places without an airport too (`Sa Pa`, `Hội An`)."
)


@router.get("/weather")
async def get_weather(
    client: CurrentClient,
    state: StateDep,
    city: Annotated[str, Query(min_length=1, max_length=100, examples=["Huế"], description=PLACE)],
    date: Annotated[str | None, Query(max_length=20, examples=[DATE_EXAMPLE])] = None,
) -> dict[str, Any]:
    """Weather for a place and day (the month's climate normal beyond the forecast horizon)."""
    async with state.sessionmaker() as session:
        forecast = await weather.get_weather(
            session, state.places, today(state.clock), city=city, date=date
        )
    return forecast.to_dict()
