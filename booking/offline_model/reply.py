"""Tool results to the answer the user reads, in Vietnamese or English. Pure.

Only the results of the latest assistant turn are read: each ``tool`` message is matched to the
call it answers by ``tool_call_id``, so the answer knows which tool spoke and with which
arguments. Two flight searches with swapped places are an outbound and a return leg. When the
user also asked for flights that still lack a detail (weather was looked up alone), the answer
ends with the question for it. Booking results are written by :mod:`receipts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from booking.domain.wording import (
    EN_MONTHS,
    count,
    format_conversion,
    format_day,
    format_duration,
    format_hours,
    format_number,
    format_vnd,
)
from booking.offline_model import phrases
from booking.offline_model.booking_history import BOOKING_TOOLS, read_result
from booking.offline_model.error_replies import explain_error
from booking.offline_model.receipts import booking_answer
from booking.offline_model.text import Language, tool_calls
from booking.offline_model.understand import analyse
from booking.reference import load_network

#: How many flights an answer lists.
_SHOWN = 5
#: Seat counts at or below this are worth a warning.
_FEW_SEATS = 5


@dataclass(frozen=True, slots=True)
class _Result:
    name: str
    arguments: dict[str, Any]
    content: dict[str, Any]


def _day_of(value: Any, language: Language) -> str:
    try:
        return format_day(date.fromisoformat(str(value)), language)
    except ValueError:
        return str(value)


@cache
def _airline_names() -> dict[str, str]:
    return {str(row["code"]): str(row["name"]) for row in load_network().airlines}


def _airline(code: Any) -> str:
    return _airline_names().get(str(code), str(code))


def _codes(place: Mapping[str, Any]) -> list[str]:
    return [str(a.get("iata")) for a in place.get("airports") or [] if isinstance(a, Mapping)]


def _place_name(place: Any, language: Language) -> str:
    """The place in the answer's language: "Hà Nội" / "Hanoi"."""
    if not isinstance(place, Mapping):
        return phrases.place_label(str(place or "?"), language)
    name = place.get("city") if language == "vi" else place.get("city_en")
    if not name and place.get("airports"):
        # An English answer never borrows the Vietnamese name: the airport code knows both.
        code = _codes(place)[0]
        label = phrases.place_label(code, language)
        name = label if label != code else None
    return str(name or place.get("city") or place.get("query") or "?")


def _place(place: Any, language: Language) -> str:
    """The place with its airport codes: "Hà Nội (HAN)"; a place reached by road shows the
    airport the search used, and :func:`_via_note` names the place."""
    if isinstance(place, Mapping) and isinstance(place.get("via"), Mapping):
        airport = _via_airport(place["via"], {}, language)
        if airport:
            return airport
    name = _place_name(place, language)
    codes = _codes(place) if isinstance(place, Mapping) else []
    return f"{name} ({', '.join(codes)})" if codes else name


def _via_airport(
    via: Mapping[str, Any], place: Mapping[str, Any], language: Language
) -> str | None:
    """The airport a place without one is reached by: "Hà Nội (HAN)", "Hanoi (HAN)"."""
    airport = via.get("airport")
    vi = language == "vi"
    if isinstance(airport, Mapping):
        code = str(airport.get("iata") or airport.get("code") or "")
        named = airport.get("name_vi") if vi else airport.get("name_en")
    else:
        code = str(airport or "")
        named = None
    named = named or via.get("airport_name_vi" if vi else "airport_name_en")
    named = named or via.get("airport_city" if vi else "airport_city_en")
    if not named and code:
        label = phrases.place_label(code, language)
        named = label if label != code else None
    if named and code:
        return f"{named} ({code})"
    if named or code:
        return str(named or code)
    return _place(place, language) if place.get("airports") else None


def _road(via: Mapping[str, Any], language: Language) -> str | None:
    """ "khoảng 5 giờ đi đường bộ" / "about 5 h by road", or the distance when the time is unknown."""
    hours, km = via.get("road_hours"), via.get("road_km")
    distance = f"{format_number(round(float(km)), language)} km" if km else None
    if hours:
        time = format_hours(float(hours), language)
        if language == "vi":
            return f"khoảng {time} đi đường bộ" + (f" ({distance})" if distance else "")
        return f"about {time} by road" + (f" ({distance})" if distance else "")
    if distance:
        return f"khoảng {distance} đường bộ" if language == "vi" else f"about {distance} by road"
    return None


def _via_note(place: Any, language: Language) -> str | None:
    """ "Sa Pa không có sân bay; sân bay gần nhất là Nội Bài (HAN), khoảng 5 giờ đi đường bộ."."""
    if not isinstance(place, Mapping) or not isinstance(place.get("via"), Mapping):
        return None
    via: Mapping[str, Any] = place["via"]
    vi = language == "vi"
    named = via.get("place_vi") if vi else via.get("place_en")
    named = named or via.get("place_en" if vi else "place_vi") or place.get("query")
    if not named:
        return None
    airport = _via_airport(via, place, language)
    road = _road(via, language)
    if vi:
        text = f"{named} không có sân bay"
        text += f"; sân bay gần nhất là {airport}" if airport else ""
    else:
        text = f"{named} has no airport"
        text += f"; the nearest is {airport}" if airport else ""
    return text + (f", {road}" if road else "") + "."


def _seats_left(seats: int, language: Language) -> str:
    return f"còn {seats} chỗ" if language == "vi" else f"{count(seats, 'seat', language)} left"


def _flight_line(flight: Mapping[str, Any], passengers: int, language: Language) -> str:
    departs = datetime.fromisoformat(str(flight["departs_at"]))
    arrives = datetime.fromisoformat(str(flight["arrives_at"]))
    # Both times are local to their airport, so the day counter compares local calendar days.
    days = (arrives.date() - departs.date()).days
    arrival = f"{arrives:%H:%M}" + (f" (+{days})" if days > 0 else "")
    price = format_vnd(int(flight["price_vnd"]), language)
    airline = flight.get("airline_name") or _airline(flight.get("airline_code", ""))
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
    route = f"**{_place(query.get('from'), language)} → {_place(query.get('to'), language)}**"
    who = _passengers(int(query.get("passengers") or 1), language)
    seat = _cabin(query.get("cabin") or "economy", language)
    return f"{route} · {_day_of(query.get('date'), language)} · {who} · {seat}"


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
        name = _airline(query["airline"])
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


_OFFER = {
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
        name = _airline(query["airline"])
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
    listed = "; ".join(_day_of(d, language) for d in days)
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
    route = f"{_place(query.get('from'), language)} → {_place(query.get('to'), language)}"
    day = _day_of(query.get("date"), language)
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


def _flights(
    content: Mapping[str, Any], language: Language, label: str | None, noted: set[str]
) -> str:
    query = content.get("query") or {}
    headline = _headline(query, language)
    lines = [f"**{label}** {headline.replace('**', '')}" if label else headline]
    for side in ("from", "to"):
        note = _via_note(query.get(side), language)
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


def _weather_place(
    content: Mapping[str, Any], arguments: Mapping[str, Any], language: Language
) -> str:
    """The place as the traveller named it, also when it has no weather station of its own."""
    place = content.get("place")
    vi = language == "vi"
    if isinstance(place, Mapping):
        via = place.get("via")
        if isinstance(via, Mapping):
            named = via.get("place_vi") if vi else via.get("place_en")
            if named or via.get("place_vi") or via.get("place_en"):
                return str(named or via.get("place_vi") or via.get("place_en"))
        return _place_name(place, language)
    if place:
        return phrases.place_label(str(place), language)
    return phrases.place_label(str(arguments.get("city") or "?"), language)


def _weather(content: Mapping[str, Any], arguments: Mapping[str, Any], language: Language) -> str:
    vi = language == "vi"
    name = _weather_place(content, arguments, language)
    title = f"**Thời tiết {name}**" if vi else f"**Weather in {name}**"
    day_text = _day_of(content.get("day"), language)
    if vi:
        condition = content.get("condition_vi")
    else:
        code = str(content.get("condition_code") or "").replace("_", " ")
        condition = content.get("condition_en") or code.capitalize()
    low = math.floor(float(content.get("temp_min_c") or 0))
    high = math.ceil(float(content.get("temp_max_c") or 0))
    rain = content.get("precip_prob_pct")
    humidity = content.get("humidity_pct")
    wind = content.get("wind_kph")
    facts = [f"{condition}, {low}–{high}°C." if condition else f"{low}–{high}°C."]
    details: list[str] = []
    if rain is not None:
        details.append(f"khả năng mưa {rain}%" if vi else f"{rain}% chance of rain")
    if humidity is not None:
        details.append(f"độ ẩm {humidity}%" if vi else f"humidity {humidity}%")
    if wind is not None:
        details.append(
            f"gió {round(float(wind))} km/h" if vi else f"wind {round(float(wind))} km/h"
        )
    if details:
        text = ", ".join(details)
        facts.append(text[0].upper() + text[1:] + ".")
    lines = [f"{title} · {day_text}", " ".join(facts)]
    if content.get("is_climate_normal"):
        month = _month_of(content.get("day"))
        if vi:
            lines.append(
                f"Lưu ý: đây là thời tiết thường gặp của tháng {month} (số liệu khí hậu), "
                "không phải dự báo."
            )
        else:
            month_name = EN_MONTHS[month - 1] if 1 <= month <= 12 else str(month)
            lines.append(
                f"Note: this is the usual weather for {month_name} (climate normal), not a forecast."
            )
    elif isinstance(rain, int | float) and rain >= 50:
        lines.append("Nhớ mang theo ô nhé." if vi else "Worth packing an umbrella.")
    return "\n".join(lines)


def _month_of(value: Any) -> int:
    try:
        return date.fromisoformat(str(value)).month
    except ValueError:
        return 0


def _results(messages: Sequence[Mapping[str, Any]]) -> tuple[int, list[_Result]]:
    """Index of the latest assistant message with tool calls, and the results answering it."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "assistant" and message.get("tool_calls"):
            calls = tool_calls(message)
            by_id = {call_id: (name, args) for call_id, name, args in calls}
            results: list[_Result] = []
            for offset, reply in enumerate(
                m for m in messages[index + 1 :] if m.get("role") == "tool"
            ):
                fallback = calls[offset][1:] if offset < len(calls) else ("", {})
                name, args = by_id.get(str(reply.get("tool_call_id")), fallback)
                results.append(_Result(name, args, _load(reply.get("content"))))
            return index, results
    return len(messages), []


def _load(content: Any) -> dict[str, Any]:
    loaded = read_result(content)
    if loaded is None:
        return {"error": {"code": "tool_failed", "message": str(content)}}
    return loaded


def _kind(result: _Result) -> Literal["flights", "weather", "booking", "other"]:
    if result.name == "search_flights" or "flights" in result.content:
        return "flights"
    if result.name == "get_weather" or "condition_code" in result.content:
        return "weather"
    if result.name in BOOKING_TOOLS or isinstance(result.content.get("booking"), Mapping):
        return "booking"
    return "other"


def _reference_day(results: list[_Result]) -> date:
    """A day to read relative dates against when re-reading the question.

    Only which details the question lacked matters here, not the dates themselves, so any day
    will do; the results' own day keeps it close to the conversation.
    """
    for result in results:
        for value in (result.content.get("day"), (result.content.get("query") or {}).get("date")):
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                continue
    return date(2000, 1, 1)


def _notes(infants: int, converted: Any, language: Language) -> list[str]:
    """What the planner understood but did not search: lap infants, a converted budget."""
    notes: list[str] = []
    vi = language == "vi"
    if infants > 0:
        if vi:
            notes.append(
                f"Mình đã ghi nhận {infants} em bé đi cùng "
                "(ngồi lòng người lớn, không cần ghế riêng)."
            )
        else:
            who = "the infant" if infants == 1 else f"the {infants} infants"
            notes.append(
                f"I've noted {who}: infants under two fly on an adult's lap, "
                "so no seat was searched for them."
            )
    if isinstance(converted, tuple) and len(converted) == 3:
        amount, currency, vnd = converted
        said = format_conversion(float(amount), str(currency), int(vnd), language)
        notes.append(
            f"Mình đã quy đổi mức giá bạn đưa ra: {said}."
            if vi
            else f"I converted your budget: {said}."
        )
    return notes


def compose_answer(messages: Sequence[Mapping[str, Any]], language: Language) -> str:
    """The final answer from the tool results of the latest assistant turn."""
    index, results = _results(messages)
    searches = [r for r in results if _kind(r) == "flights"]
    is_round_trip = len(searches) == 2 and (
        searches[0].arguments.get("from_city") == searches[1].arguments.get("to_city")
    )
    sections: list[str] = []
    found_flights = False
    # A place without an airport is explained once, not once per leg.
    noted: set[str] = set()
    for result in results:
        label: str | None = None
        if is_round_trip and result in searches:
            first = result is searches[0]
            label = ("Chiều đi:" if first else "Chiều về:") if language == "vi" else None
            label = label or ("Outbound:" if first else "Return:")
        if "error" in result.content:
            text = explain_error(
                result.content["error"], result.arguments, language, tool=result.name
            )
            sections.append(f"**{label}** {text}" if label else text)
        elif _kind(result) == "flights":
            sections.append(_flights(result.content, language, label, noted))
            found_flights = found_flights or bool(result.content.get("flights"))
        elif _kind(result) == "weather":
            sections.append(_weather(result.content, result.arguments, language))
        elif _kind(result) == "booking" and isinstance(result.content.get("booking"), Mapping):
            sections.append(booking_answer(result.name, result.content["booking"], language))
    if not sections:
        sections.append(
            "Mình chưa nhận được kết quả tra cứu. Bạn thử lại nhé."
            if language == "vi"
            else "I didn't get any results back. Please try again."
        )
    # Re-reading the question tells what it lacked and what the planner noted along the way.
    outcome = analyse(messages[:index], _reference_day(results))
    notes = _notes(outcome.infants, outcome.converted, language) if searches else []
    if notes:
        sections.append(" ".join(notes))
    if found_flights:
        sections.append(_OFFER[language])
    # When weather was looked up alone because the flight part lacked a detail, ask for it now.
    if outcome.pending is not None and outcome.missing and not searches:
        summary = phrases.request_summary(outcome.pending, language)
        sections.append(
            " ".join(s for s in (summary, phrases.ask_missing(outcome.missing, language)) if s)
        )
    return "\n\n".join(sections)
