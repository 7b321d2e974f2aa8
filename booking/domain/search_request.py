"""A flight search as asked: the agent tool's parameters, the HTTP query and the CLI's options.

One model, so the fields, their bounds, defaults and descriptions are written once: the tool's JSON
schema is this model's (the descriptions are what the model reads), the route's query parameters
are its fields, and the domain's search takes it. It holds the words as typed ("Sài Gòn", "15/6",
"20h"); :func:`booking.domain.flights.build_query` resolves them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from booking.domain.types import (
    DEFAULT_LIMIT,
    DEFAULT_PASSENGERS,
    MAX_LIMIT,
    MAX_PASSENGERS,
    MAX_PRICE_VND,
    Cabin,
    PassengerCount,
    PriceVnd,
    ResultLimit,
    SortKey,
)


class SearchRequest(BaseModel):
    """One route and day with the traveller's filters; the descriptions are for the model."""

    model_config = ConfigDict(frozen=True)

    from_city: str = Field(
        description='Origin city, place or airport as the traveller wrote it, e.g. "Sài Gòn", '
        '"HCM", "SGN", "Sa Pa".'
    )
    to_city: str = Field(
        description='Destination city, place or airport, e.g. "Hà Nội", "Da Nang", "PQC", "Hội An".'
    )
    date: str = Field(
        description='Departure date, YYYY-MM-DD (local date in Vietnam for "today"/"tomorrow").'
    )
    passengers: PassengerCount = Field(
        default=DEFAULT_PASSENGERS, description=f"Number of passengers, 1 to {MAX_PASSENGERS}."
    )
    cabin: Cabin = Field(default="economy", description="Cabin class.")
    max_price: PriceVnd | None = Field(
        default=None,
        description=(f"Highest acceptable price per passenger, in VND (1 to {MAX_PRICE_VND:,})."),
    )
    depart_after: str | None = Field(
        default=None, description="Earliest local departure time, HH:MM."
    )
    depart_before: str | None = Field(
        default=None, description="Latest local departure time, HH:MM."
    )
    airline: str | None = Field(
        default=None, description='Airline code or name, e.g. "VN", "VietJet".'
    )
    sort: SortKey = Field(default="price", description="Order of results.")
    limit: ResultLimit = Field(
        default=DEFAULT_LIMIT, description=f"How many flights to return, 1 to {MAX_LIMIT}."
    )
