"""``booking search`` and ``booking weather``: the agent's read-only tools, from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from booking.cli.common import console, guard, run_domain
from booking.domain.types import MAX_LIMIT, MAX_PASSENGERS, MAX_PRICE_VND
from booking.settings import Settings


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " ₫"


def search(
    from_city: str,
    to_city: str,
    date: str,
    passengers: Annotated[int, typer.Option("--passengers", "-p", min=1, max=MAX_PASSENGERS)] = 1,
    cabin: str = "economy",
    max_price: Annotated[
        int | None, typer.Option(min=1, max=MAX_PRICE_VND, help="VND per passenger.")
    ] = None,
    depart_after: str | None = None,
    depart_before: str | None = None,
    airline: str | None = None,
    sort: str = "price",
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT)] = 10,
) -> None:
    """Search flights, e.g. `booking search SGN "Hà Nội" +7d` (or "Sa Pa": no airport).

    DATE: 2026-06-15, 15/6 (the next one), or +7d (days from today)."""
    from booking.domain.flights import cabin_named, search_flights, sort_named
    from booking.domain.search_request import SearchRequest

    settings = Settings()
    # A person may name the cabin in Vietnamese ("thương gia"); the request holds its key.
    request = guard(
        lambda: SearchRequest(
            from_city=from_city, to_city=to_city, date=date, passengers=passengers,
            cabin=cabin_named(cabin), max_price=max_price, depart_after=depart_after,
            depart_before=depart_before, airline=airline, sort=sort_named(sort), limit=limit,
        )
    )  # fmt: skip
    result = run_domain(
        settings,
        lambda session, places, today: search_flights(
            session, places, today, request, max_days_ahead=settings.max_days_ahead
        ),
    )
    q = result.query
    for place in (q.origin, q.destination):
        if place.via is not None:
            # One line per end reached by road: "Sa Pa has no airport; searching Hà Nội (HAN), ...".
            console.print(
                f"{place.via.place_vi} has no airport; searching {place.via.airport_city_vi} "
                f"({place.via.airport.iata}), about {place.via.road_hours:g} h "
                f"({place.via.road_km} km) by road"
            )
    title = (
        f"{q.origin.city.name_vi} ({'/'.join(a.iata for a in q.origin.airports)}) → "
        f"{q.destination.city.name_vi} ({'/'.join(a.iata for a in q.destination.airports)}), "
        f"{q.day.isoformat()}, {q.passengers} pax, {q.cabin}"
    )
    if not result.offers:
        console.print(f"{title}\n{result.message}")
        if result.nearest_dates:
            console.print(
                "Dates with seats: " + ", ".join(d.isoformat() for d in result.nearest_dates)
            )
        return
    table = Table(title=title, caption=f"{len(result.offers)} of {result.total_matches} flights")
    for column in (
        "Flight",
        "Airline",
        "Departs",
        "Arrives",
        "Duration",
        "Price/pax",
        "Total",
        "Seats",
    ):
        table.add_column(
            column, justify="right" if column in ("Price/pax", "Total", "Seats") else "left"
        )
    for o in result.offers:
        table.add_row(
            o.flight_number,
            o.airline_name,
            f"{o.departs_at:%H:%M} {o.origin}",
            f"{o.arrives_at:%H:%M} {o.destination}" + (" +1" if o.arrives_at.date() > o.departs_at.date() else ""),
            f"{o.duration_minutes // 60}h{o.duration_minutes % 60:02d}",
            _vnd(o.price_vnd),
            _vnd(o.total_vnd),
            str(o.seats_left),
        )  # fmt: skip
    console.print(table)


def weather(
    city: str,
    date: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, 15/6 or +3d (days from today); default today.")
    ] = None,
) -> None:
    """Weather for a place, e.g. `booking weather "Sa Pa" --date +3d`."""
    from booking.domain.weather import get_weather

    settings = Settings()
    f = run_domain(
        settings,
        lambda session, places, today: get_weather(session, places, today, city=city, date=date),
    )
    kind = "climate normal" if f.is_climate_normal else "forecast"
    console.print(
        f"{f.place.city.name_vi}, {f.day.isoformat()} ({kind}): {f.condition_vi} / {f.condition_en}, "
        f"{f.temp_min_c:.0f}–{f.temp_max_c:.0f}°C, humidity {f.humidity_pct}%, "
        f"rain {f.precip_prob_pct}%, wind {f.wind_kph:.0f} km/h"
    )
    if f.note:
        console.print(f.note)
