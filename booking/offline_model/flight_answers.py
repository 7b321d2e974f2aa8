"""Flight search results as the answer sums them up: the route, how many, and why none match.

The flights themselves are the tool's card (the page's table, the terminal's table): the answer
does not list them again. It says how many match (the tool's ``total_matches``, the number the
card shows), the cheapest and the earliest with their time and price (the total for a party, a
warning when few seats are left) and what to do next; an empty result says why (no route, a day
beyond the schedule, sold out, filters) and offers the nearest days with seats. Every phrase of
the summary comes from the message catalogue (:mod:`booking.i18n`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from booking.domain.wording import count, format_vnd
from booking.i18n import format as i18n, message
from booking.offline_model.answer_places import airline_name, day_of, place_with_codes, via_note
from booking.offline_model.text import Language

#: Seat counts at or below this are worth a warning.
_FEW_SEATS = 5


def _flight_said(flight: Mapping[str, Any], passengers: int, language: Language) -> str:
    """ "**VJ127** VietJet Air, cất cánh 06:40, 1.008.000 ₫ (còn 3 chỗ)": one flight in a sentence."""
    departs = datetime.fromisoformat(str(flight["departs_at"]))
    price = format_vnd(int(flight["price_vnd"]), language)
    if passengers > 1:
        total = format_vnd(
            int(flight.get("total_vnd") or flight["price_vnd"] * passengers), language
        )
        price = message("answer.flights.pricePer", language, price=price, total=total)
    said = message(
        "answer.flights.flight",
        language,
        number=f"**{flight['flight_number']}**",
        airline=flight.get("airline_name") or airline_name(flight.get("airline_code", "")),
        departs=i18n.clock(departs, language),
        price=price,
    )
    seats = int(flight.get("seats_left") or 0)
    if 0 < seats <= _FEW_SEATS:
        key = "answer.flights.seatsLeftOne" if seats == 1 else "answer.flights.seatsLeft"
        said += f" ({message(key, language, seats=seats)})"
    return said


def _cabin(cabin: Any, language: Language) -> str:
    if language == "vi":
        return "hạng thương gia" if cabin == "business" else "hạng phổ thông"
    return "business class" if cabin == "business" else "economy"


def _passengers(passengers: int, language: Language) -> str:
    if language == "vi":
        return f"{passengers} khách"
    return count(passengers, "passenger", language)


def _headline(query: Mapping[str, Any], language: Language) -> str:
    route = f"**{place_with_codes(query.get('from'), language)} → {place_with_codes(query.get('to'), language)}**"
    who = _passengers(int(query.get("passengers") or 1), language)
    seat = _cabin(query.get("cabin") or "economy", language)
    return f"{route} · {day_of(query.get('date'), language)} · {who} · {seat}"


def _window(query: Mapping[str, Any], language: Language) -> str | None:
    after, before = query.get("depart_after"), query.get("depart_before")
    vi = language == "vi"
    if after and before:
        return f"khởi hành {after}–{before}" if vi else f"departing {after}–{before}"
    if after:
        return f"khởi hành sau {after}" if vi else f"departing after {after}"
    if before:
        return f"khởi hành trước {before}" if vi else f"departing before {before}"
    return None


def _filters(query: Mapping[str, Any], language: Language) -> str | None:
    vi = language == "vi"
    parts: list[str] = []
    if query.get("max_price_vnd"):
        amount = format_vnd(int(query["max_price_vnd"]), language)
        parts.append(f"giá dưới {amount}" if vi else f"under {amount}")
    window = _window(query, language)
    if window:
        parts.append(window)
    if query.get("airline"):
        name = airline_name(query["airline"])
        parts.append(f"hãng {name}" if vi else f"{name} only")
    if not parts:
        return None
    return ("Bộ lọc: " if vi else "Filters: ") + ", ".join(parts) + "."


def _summary(
    flights: list[Mapping[str, Any]], total: int, sort: str, passengers: int, language: Language
) -> str:
    """How many match (the card's total), then the cheapest and the earliest: no list.

    The tool returns the first flights in the search's order; when it returned them all, or
    they are sorted by price (departure), the first one is the cheapest (earliest) of all;
    otherwise the sentence says "in the table".
    """
    shown = len(flights)
    if sort not in ("price", "departure", "duration"):
        sort = "price"
    if total <= 1:
        head = message("answer.flights.countOne", language)
        return f"{head} {message('answer.flights.only', language, flight=_flight_said(flights[0], passengers, language))}"
    if total > shown:
        order = message(f"answer.flights.order.{sort}", language)
        head = message("answer.flights.countShown", language, total=total, shown=shown, order=order)
    else:
        head = message("answer.flights.count", language, total=total)
    cheapest = min(flights, key=lambda f: (int(f.get("price_vnd") or 0), str(f["departs_at"])))
    earliest = min(flights, key=lambda f: (str(f["departs_at"]), int(f.get("price_vnd") or 0)))
    everything = total <= shown
    if cheapest is earliest:
        # Of a part of the results, one flight is at most the cheapest and the earliest shown.
        key = "answer.flights.both" if everything else "answer.flights.bothShown"
        said = message(key, language, flight=_flight_said(cheapest, passengers, language))
        return f"{head} {said}"
    cheap_key = "cheapest" if everything or sort == "price" else "cheapestShown"
    early_key = "earliest" if everything or sort == "departure" else "earliestShown"
    cheap = message(
        f"answer.flights.{cheap_key}", language, flight=_flight_said(cheapest, passengers, language)
    )
    early = message(
        f"answer.flights.{early_key}", language, flight=_flight_said(earliest, passengers, language)
    )
    return f"{head} {cheap} {early}"


#: The closing sentence of an answer that found flights: what to do next.
OFFER = {language: message("answer.flights.next", language) for language in i18n.LANGUAGES}

#: What each search filter is called when the answer asks to loosen it.
_FILTER_NAMES = {
    "vi": {
        "price": "mức giá",
        "time": "giờ bay",
        "airline": "hãng bay",
        "cabin": "hạng ghế",
        "passengers": "số khách",
    },
    "en": {
        "price": "the price limit",
        "time": "the departure time",
        "airline": "the airline",
        "cabin": "the cabin",
        "passengers": "the number of passengers",
    },
}


def _active_filters(content: Mapping[str, Any], query: Mapping[str, Any]) -> list[str]:
    """The filters that can have left nothing: those the tool names, else every one set."""
    named = content.get("filtered_by")
    if isinstance(named, list) and named:
        return [str(name) for name in named if str(name) in _FILTER_NAMES["en"]]
    active = []
    if query.get("max_price_vnd"):
        active.append("price")
    if query.get("depart_after") or query.get("depart_before"):
        active.append("time")
    if query.get("airline"):
        active.append("airline")
    if query.get("cabin") == "business":
        active.append("cabin")
    if int(query.get("passengers") or 1) > 1:
        active.append("passengers")
    return active


def _condition(kind: str, query: Mapping[str, Any], language: Language) -> str:
    """What no flight of the day met, as it ends "none ..." / "không chuyến nào ..."."""
    vi = language == "vi"
    if kind == "price" and query.get("max_price_vnd"):
        amount = format_vnd(int(query["max_price_vnd"]), language)
        return f"có giá dưới {amount}" if vi else f"under {amount}"
    if kind == "time":
        window = _window(query, language)
        if window:
            return window if vi else window.replace("departing", "leaving")
    if kind == "airline" and query.get("airline"):
        name = airline_name(query["airline"])
        return f"của hãng {name}" if vi else f"with {name}"
    if kind == "cabin":
        return "còn chỗ hạng thương gia" if vi else "with business class seats left"
    if kind == "passengers":
        wanted = int(query.get("passengers") or 1)
        return f"còn đủ {wanted} chỗ" if vi else f"with {count(wanted, 'seat', language)} left"
    return _FILTER_NAMES[language].get(kind, kind)


def _join(parts: list[str], language: Language, *, either: bool = False) -> str:
    """ "a, b và c" / "a, b and c"; with ``either``, "a, b hoặc c" / "a, b or c"."""
    if either:
        word = " hoặc " if language == "vi" else " or "
    else:
        word = " và " if language == "vi" else " and "
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + word + parts[-1]


def _filtered_out(
    content: Mapping[str, Any], query: Mapping[str, Any], route: str, day: str, language: Language
) -> str:
    kinds = _active_filters(content, query)
    vi = language == "vi"
    if not kinds:
        return (
            f"Có chuyến bay {route} vào {day} nhưng không chuyến nào khớp yêu cầu của bạn."
            if vi
            else f"There are flights {route} on {day}, but none match what you asked for."
        )
    said = [
        _condition(k, query, language) for k in kinds if k != "passengers" or "cabin" not in kinds
    ]
    if "cabin" in kinds and "passengers" in kinds:
        # "còn đủ 3 chỗ hạng thương gia" says both at once.
        wanted = int(query.get("passengers") or 1)
        seats = count(wanted, "business class seat", language)
        said[kinds.index("cabin")] = (
            f"còn đủ {wanted} chỗ hạng thương gia" if vi else f"with {seats} left"
        )
    conditions = _join(said, language)
    names = _join([_FILTER_NAMES[language][k] for k in kinds], language, either=True)
    if vi:
        return (
            f"Có chuyến bay {route} vào {day} nhưng không chuyến nào {conditions}. "
            f"Bạn thử điều chỉnh {names} nhé."
        )
    return f"There are flights {route} on {day}, but none {conditions}. Try changing {names}."


def _nearest(content: Mapping[str, Any], asked: Any, language: Language) -> str | None:
    days = [d for d in content.get("nearest_dates") or [] if str(d) != str(asked)]
    if not days:
        if "nearest_dates" not in content or content.get("reason") == "no_route":
            return None
        return (
            "Những ngày lân cận cũng không còn chỗ."
            if language == "vi"
            else "The days around it have no seats either."
        )
    listed = "; ".join(day_of(d, language) for d in days)
    if language == "vi":
        if len(days) == 1:
            return f"Ngày gần nhất còn chỗ: {listed}. Bạn có muốn xem ngày này không?"
        return f"Những ngày gần nhất còn chỗ: {listed}. Bạn muốn xem ngày nào?"
    if len(days) == 1:
        return f"The nearest date with seats is {listed}. Shall I look at it?"
    return f"The nearest dates with seats: {listed}. Shall I look at one of them?"


#: Reasons a search may give for a date past the published schedule.
_BEYOND_SCHEDULE = frozenset({"beyond_schedule", "beyond_horizon", "schedule_not_open"})


def _no_flights(content: Mapping[str, Any], language: Language) -> list[str]:
    """Why nothing matched, in the traveller's words, and the nearest days that have seats."""
    query = content.get("query") or {}
    route = f"{place_with_codes(query.get('from'), language)} → {place_with_codes(query.get('to'), language)}"
    day = day_of(query.get("date"), language)
    reason = str(content.get("reason") or "")
    vi = language == "vi"
    if reason == "no_route":
        line = (
            f"Hiện chưa có hãng nào khai thác chặng {route} trong lịch bay của chúng tôi."
            if vi
            else f"No airline in our schedule flies {route}."
        )
    elif reason in _BEYOND_SCHEDULE:
        line = (
            f"Lịch bay chặng {route} cho {day} chưa được mở bán."
            if vi
            else f"Flights {route} on {day} are not on sale yet: that is beyond our schedule."
        )
    elif reason == "no_flights_on_date":
        line = (
            f"Không có chuyến bay {route} nào vào {day}."
            if vi
            else f"There are no flights {route} on {day}."
        )
    elif reason == "sold_out":
        line = (
            f"Các chuyến {route} vào {day} đều đã hết chỗ."
            if vi
            else f"All flights {route} on {day} are full."
        )
    elif reason == "no_match_filters":
        line = _filtered_out(content, query, route, day, language)
    else:
        line = (
            f"Không tìm thấy chuyến bay {route} vào {day}."
            if vi
            else f"I found no flights {route} on {day}."
        )
    nearest = _nearest(content, query.get("date"), language)
    return [line, nearest] if nearest else [line]


def flights_answer(
    content: Mapping[str, Any], language: Language, label: str | None, noted: set[str]
) -> str:
    """One search's section of the answer; ``label`` marks a leg ("Chiều đi:"), ``noted`` holds
    the notes on places without an airport already given (each is given once)."""
    query = content.get("query") or {}
    headline = _headline(query, language)
    lines = [f"**{label}** {headline.replace('**', '')}" if label else headline]
    for side in ("from", "to"):
        note = via_note(query.get(side), language)
        if note and note not in noted:
            noted.add(note)
            lines.append(note)
    filters = _filters(query, language)
    if filters:
        lines.append(filters)
    flights = [f for f in content.get("flights") or [] if isinstance(f, Mapping)]
    if not flights:
        return "\n".join(lines + _no_flights(content, language))
    passengers = int(query.get("passengers") or 1)
    total = max(int(content.get("total_matches") or 0), len(flights))
    lines.append(_summary(flights, total, str(query.get("sort") or "price"), passengers, language))
    return "\n".join(lines)
