"""Flight search for the frontend's own widgets, with the same validation and errors as the tool.

Places without an airport (Sa Pa, Hội An) work too: the search goes through the airport that
serves the place and says so in ``via``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from pydantic_core import PydanticUndefined

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.domain import flights
from booking.domain.dates import today
from booking.domain.search_request import SearchRequest

router = APIRouter(prefix="/v1", tags=["travel"], responses=problem_responses(401, 422, 429))


def _capped(name: str, max_length: int, *, example: str | None = None) -> Any:
    """:class:`SearchRequest`'s field ``name`` (its default and description) with a length cap;
    a required one may not be empty either."""
    field = SearchRequest.model_fields[name]
    return Field(
        default=field.default,
        description=field.description,
        min_length=1 if field.default is PydanticUndefined else None,
        max_length=max_length,
        examples=[example] if example else None,
    )


class SearchParams(SearchRequest):
    """The search's query parameters: :class:`SearchRequest` with a cap on each text, as every
    text an HTTP request carries has one (the tool's arguments come from the model, uncapped)."""

    from_city: str = _capped("from_city", 100, example="SGN")
    to_city: str = _capped("to_city", 100, example="Hà Nội")
    # Dates as travellers write them: ``2026-06-15``, ``15/6``, ``thứ Sáu tuần sau``.
    date: str = _capped("date", 20, example="15/6")
    depart_after: str | None = _capped("depart_after", 8)
    depart_before: str | None = _capped("depart_before", 8)
    airline: str | None = _capped("airline", 50)


@router.get("/flights/search")
async def search_flights(
    client: CurrentClient, state: StateDep, params: Annotated[SearchParams, Query()]
) -> dict[str, Any]:
    """Search flights with the same validation and errors as the agent's tool."""
    async with state.sessionmaker() as session:
        result = await flights.search_flights(
            session,
            state.places,
            today(state.clock),
            params,
            max_days_ahead=state.settings.max_days_ahead,
        )
    return result.to_dict()
