"""The tools the model can call: thin typed wrappers over the domain layer.

Docstrings are written for the model: they are the tool descriptions it reads.
"""

from __future__ import annotations

from typing import Any, Literal

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from booking.domain import flights, weather


async def search_flights(
    ctx: ToolContext,
    from_city: str,
    to_city: str,
    date: str,
    passengers: int = 1,
    cabin: Literal["economy", "business"] = "economy",
    max_price: int | None = None,
    depart_after: str | None = None,
    depart_before: str | None = None,
    airline: str | None = None,
    sort: Literal["price", "departure", "duration"] = "price",
    limit: int = 10,
) -> dict[str, Any]:
    """Search scheduled flights with seats on one route and day; cheapest first by default.

    Returns the resolved airports and date, the matching flights (flight id and number, airline,
    local departure and arrival times, duration, price per passenger and total in VND, seats
    left) and, when nothing matches, the reason and the nearest dates that have seats.

    Args:
        from_city: Origin city or airport as the traveller wrote it, e.g. "Sài Gòn", "HCM", "SGN".
        to_city: Destination city or airport, e.g. "Hà Nội", "Da Nang", "PQC".
        date: Departure date, YYYY-MM-DD (local date in Vietnam for "today"/"tomorrow").
        passengers: Number of passengers, 1 to 9.
        cabin: Cabin class.
        max_price: Highest acceptable price per passenger, in VND.
        depart_after: Earliest local departure time, HH:MM.
        depart_before: Latest local departure time, HH:MM.
        airline: Airline code or name, e.g. "VN", "VietJet".
        sort: Order of results.
        limit: How many flights to return, at most 50.
    """
    async with ctx.sessionmaker() as session:
        result = await flights.search_flights(
            session, ctx.places, ctx.today(), from_city=from_city, to_city=to_city, date=date,
            passengers=passengers, cabin=cabin, max_price=max_price, depart_after=depart_after,
            depart_before=depart_before, airline=airline, sort=sort, limit=limit,
            max_days_ahead=ctx.max_days_ahead,
        )  # fmt: skip
    return result.to_dict()


async def get_weather(ctx: ToolContext, city: str, date: str | None = None) -> dict[str, Any]:
    """Weather for a city on a day: condition (Vietnamese and English), temperatures in °C,
    humidity, chance of rain and wind. Beyond the forecast horizon it returns the month's usual
    weather, marked ``is_climate_normal``.

    Args:
        city: City or airport, e.g. "Đà Nẵng", "Da Nang", "DAD".
        date: Day, YYYY-MM-DD; today when omitted.
    """
    async with ctx.sessionmaker() as session:
        forecast = await weather.get_weather(session, ctx.places, ctx.today(), city=city, date=date)
    return forecast.to_dict()


def default_registry(timeout_s: float = 10.0) -> ToolRegistry:
    """The registry of every tool the service offers; ``timeout_s`` bounds each call."""
    registry = ToolRegistry()
    registry.tool(read_only=True, timeout_s=timeout_s)(search_flights)
    registry.tool(read_only=True, timeout_s=timeout_s)(get_weather)
    return registry
