"""Flight search results as the answer lists them: the route, the flights, and why none match.

At most five flights are listed, with the total for a party, the day counter for an arrival
after midnight and a warning when few seats are left; an empty result says why (no route, a day
beyond the schedule, sold out, filters) and offers the nearest days with seats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from booking.domain.wording import count, format_duration, format_vnd
from booking.offline_model.answer_places import airline_name, day_of, place_with_codes, via_note
from booking.offline_model.text import Language

#: How many flights an answer lists.
_SHOWN = 5
#: Seat counts at or below this are worth a warning.
_FEW_SEATS = 5


def _seats_left(seats: int, language: Language) -> str:
    return f"còn {seats} chỗ" if language == "vi" else f"{count(seats, 'seat', language)} left"


def _flight_line(flight: Mapping[str, Any], passengers: int, language: Language) -> str:
    departs = datetime.fromisoformat(str(flight["departs_at"]))
    arrives = datetime.fromisoformat(str(flight["arrives_at"]))
    # Both times are local to their airport, so the day counter compares local calendar days.
    days = (arrives.date() - departs.date()).days
    arrival = f"{arrives:%H:%M}" + (f" (+{days})" if days > 0 else "")
    price = format_vnd(int(flight["price_vnd"]), language)
    airline = flight.get("airline_name") or airline_name(flight.get("airline_code", ""))
    parts = [
        f"**{flight['flight_number']}** {airline}",
        f"{departs:%H:%M}–{arrival}",
        format_duration(int(flight.get("duration_minutes") or 0), language),
    ]
    if passengers > 1:
        total = format_vnd(
            int(flight.get("total_vnd") or flight["price_vnd"] * passengers), language
        )
        if language == "vi":
            parts.append(f"{price}/khách (tổng {total})")
        else:
            parts.append(f"{price} per person (total {total})")
    else:
        parts.append(price)
    seats = int(flight.get("seats_left") or 0)
    if 0 < seats <= _FEW_SEATS:
        parts.append(_seats_left(seats, language))
    return "- " + " · ".join(parts)


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


_SORT_WORDS = {
    "vi": {"price": "rẻ nhất", "departure": "sớm nhất", "duration": "bay nhanh nhất"},
    "en": {"price": "cheapest", "departure": "earliest", "duration": "shortest"},
}


def _summary(total: int, shown: int, sort: str, language: Language) -> str:
    order = _SORT_WORDS[language].get(sort, _SORT_WORDS[language]["price"])
    if language == "vi":
        head = f"Có {total} chuyến phù hợp"
        return head + (f"; trên đây là {shown} chuyến {order}." if total > shown else ".")
    head = f"{total} flights match" if total != 1 else "1 flight matches"
    if total <= shown:
        return head + "."
    return head + (f"; here are the {shown} {order}." if shown > 1 else f"; here is the {order}.")


#: The closing question of an answer that lists flights.
OFFER = {
    "vi": "Bạn muốn lọc thêm theo giờ bay, hãng, hạng ghế hay chọn chuyến nào không?",
    "en": "Want me to narrow it down by time, airline or cabin, or pick one of these?",
}

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
    shown = flights[:_SHOWN]
    lines += [_flight_line(flight, passengers, language) for flight in shown]
    total = int(content.get("total_matches") or len(flights))
    lines.append(_summary(total, len(shown), str(query.get("sort") or "price"), language))
    return "\n".join(lines)
