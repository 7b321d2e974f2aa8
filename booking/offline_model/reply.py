"""Tool results to the answer the user reads, in Vietnamese or English. Pure.

Only the results of the latest assistant turn are read: each ``tool`` message is matched to the
call it answers by ``tool_call_id``, so the answer knows which tool spoke and with which
arguments. Two flight searches with swapped places are an outbound and a return leg. When the
user also asked for flights that still lack a detail (weather was looked up alone), the answer
ends with the question for it. Booking results are written by :mod:`receipts`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from booking.offline_model import phrases
from booking.offline_model.booking_history import BOOKING_TOOLS
from booking.offline_model.error_replies import explain_error
from booking.offline_model.formats import EN_MONTHS, format_day, format_vnd
from booking.offline_model.receipts import booking_answer
from booking.offline_model.text import Language, tool_calls
from booking.offline_model.understand import analyse

#: How many flights an answer lists.
_SHOWN = 5
#: Seat counts at or below this are worth a warning.
_FEW_SEATS = 5


@dataclass(frozen=True, slots=True)
class _Result:
    name: str
    arguments: dict[str, Any]
    content: dict[str, Any]


def _duration(minutes: int) -> str:
    return f"{minutes // 60}h{minutes % 60:02d}"


def _day_of(value: Any, language: Language) -> str:
    try:
        return format_day(date.fromisoformat(str(value)), language)
    except ValueError:
        return str(value)


def _place(place: Any, language: Language) -> str:
    if not isinstance(place, Mapping):
        return str(place or "?")
    name = place.get("city") if language == "vi" else place.get("city_en")
    name = name or place.get("city") or place.get("query") or "?"
    codes = [a.get("iata") for a in place.get("airports") or [] if isinstance(a, Mapping)]
    return f"{name} ({', '.join(str(c) for c in codes)})" if codes else str(name)


def _flight_line(flight: Mapping[str, Any], passengers: int, language: Language) -> str:
    departs = datetime.fromisoformat(str(flight["departs_at"]))
    arrives = datetime.fromisoformat(str(flight["arrives_at"]))
    # Both times are local to their airport, so the day counter compares local calendar days.
    days = (arrives.date() - departs.date()).days
    arrival = f"{arrives:%H:%M}" + (f" (+{days})" if days > 0 else "")
    price = format_vnd(int(flight["price_vnd"]), language)
    parts = [
        f"**{flight['flight_number']}** {flight.get('airline_name') or flight.get('airline_code', '')}",
        f"{departs:%H:%M}–{arrival}",
        _duration(int(flight.get("duration_minutes") or 0)),
    ]
    if passengers > 1:
        total = format_vnd(
            int(flight.get("total_vnd") or flight["price_vnd"] * passengers), language
        )
        per = "/khách" if language == "vi" else " per person"
        parts.append(f"{price}{per} (" + ("tổng " if language == "vi" else "total ") + f"{total})")
    else:
        parts.append(price)
    seats = int(flight.get("seats_left") or 0)
    if 0 < seats <= _FEW_SEATS:
        parts.append(f"còn {seats} chỗ" if language == "vi" else f"{seats} seats left")
    return "- " + " · ".join(parts)


def _headline(query: Mapping[str, Any], language: Language) -> str:
    route = f"**{_place(query.get('from'), language)} → {_place(query.get('to'), language)}**"
    passengers = int(query.get("passengers") or 1)
    cabin = str(query.get("cabin") or "economy")
    if language == "vi":
        who = f"{passengers} khách"
        seat = "hạng thương gia" if cabin == "business" else "hạng phổ thông"
    else:
        who = f"{passengers} passenger" + ("s" if passengers > 1 else "")
        seat = "business class" if cabin == "business" else "economy"
    return f"{route} · {_day_of(query.get('date'), language)} · {who} · {seat}"


def _filters(query: Mapping[str, Any], language: Language) -> str | None:
    vi = language == "vi"
    parts: list[str] = []
    if query.get("max_price_vnd"):
        amount = format_vnd(int(query["max_price_vnd"]), language)
        parts.append(f"giá dưới {amount}" if vi else f"under {amount}")
    after, before = query.get("depart_after"), query.get("depart_before")
    if after and before:
        parts.append(f"khởi hành {after}–{before}" if vi else f"departing {after}–{before}")
    elif after:
        parts.append(f"khởi hành sau {after}" if vi else f"departing after {after}")
    elif before:
        parts.append(f"khởi hành trước {before}" if vi else f"departing before {before}")
    if query.get("airline"):
        parts.append(f"hãng {query['airline']}" if vi else f"airline {query['airline']}")
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
    return head + (f"; here are the {shown} {order}." if total > shown else ".")


_OFFER = {
    "vi": "Bạn muốn lọc thêm theo giờ bay, hãng, hạng ghế hay chọn chuyến nào không?",
    "en": "Want me to narrow it down by time, airline or cabin, or pick one of these?",
}


def _no_flights(content: Mapping[str, Any], language: Language) -> list[str]:
    query = content.get("query") or {}
    route = f"{_place(query.get('from'), language)} → {_place(query.get('to'), language)}"
    day = _day_of(query.get("date"), language)
    reason = content.get("reason")
    vi = language == "vi"
    sentences = {
        "no_route": (
            f"Hiện chưa có hãng nào khai thác chặng {route} trong lịch bay của chúng tôi.",
            f"No airline in our schedule flies {route}.",
        ),
        "no_flights_on_date": (
            f"Không có chuyến bay {route} vào {day}.",
            f"There are no flights {route} on {day}.",
        ),
        "sold_out": (
            f"Các chuyến {route} vào {day} đều đã hết chỗ.",
            f"All flights {route} on {day} are full.",
        ),
        "no_match_filters": (
            f"Có chuyến bay {route} vào {day} nhưng không chuyến nào khớp yêu cầu "
            "(hạng ghế, số khách, giá, giờ bay hoặc hãng). Bạn thử nới bớt điều kiện nhé.",
            f"There are flights {route} on {day}, but none match the cabin, passengers, price, "
            "time or airline asked for. Try loosening a filter.",
        ),
    }
    if isinstance(reason, str) and reason in sentences:
        lines = [sentences[reason][0 if vi else 1]]
    elif vi:
        lines = [f"Không tìm thấy chuyến bay {route} vào {day}."]
    else:
        lines = [str(content.get("message") or f"No flights found {route} on {day}.")]
    nearest = [_day_of(d, language) for d in content.get("nearest_dates") or []]
    if nearest:
        if vi:
            lines.append(f"Ngày gần nhất còn chỗ: {'; '.join(nearest)}. Bạn muốn xem ngày nào?")
        else:
            lines.append(f"Nearest dates with seats: {'; '.join(nearest)}. Shall I look at one?")
    return lines


def _flights(content: Mapping[str, Any], language: Language, label: str | None) -> str:
    query = content.get("query") or {}
    headline = _headline(query, language)
    lines = [f"**{label}** {headline.replace('**', '')}" if label else headline]
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


def _weather(content: Mapping[str, Any], language: Language) -> str:
    vi = language == "vi"
    place = content.get("place") or {}
    if isinstance(place, Mapping):
        name = place.get("city") if vi else place.get("city_en") or place.get("city")
    else:
        name = str(place)
    title = f"**Thời tiết {name}**" if vi else f"**Weather in {name}**"
    day_text = _day_of(content.get("day"), language)
    condition = content.get("condition_vi" if vi else "condition_en") or content.get(
        "condition_code"
    )
    low = math.floor(float(content.get("temp_min_c") or 0))
    high = math.ceil(float(content.get("temp_max_c") or 0))
    rain = content.get("precip_prob_pct")
    humidity = content.get("humidity_pct")
    wind = content.get("wind_kph")
    facts = [f"{condition}, {low}–{high}°C."]
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
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    try:
        loaded = json.loads(content) if isinstance(content, str) else content
    except json.JSONDecodeError:
        return {"error": {"code": "tool_failed", "message": str(content)}}
    if not isinstance(loaded, dict):
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


def compose_answer(messages: Sequence[Mapping[str, Any]], language: Language) -> str:
    """The final answer from the tool results of the latest assistant turn."""
    index, results = _results(messages)
    searches = [r for r in results if _kind(r) == "flights"]
    is_round_trip = len(searches) == 2 and (
        searches[0].arguments.get("from_city") == searches[1].arguments.get("to_city")
    )
    sections: list[str] = []
    found_flights = False
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
            sections.append(_flights(result.content, language, label))
            found_flights = found_flights or bool(result.content.get("flights"))
        elif _kind(result) == "weather":
            sections.append(_weather(result.content, language))
        elif _kind(result) == "booking" and isinstance(result.content.get("booking"), Mapping):
            sections.append(booking_answer(result.name, result.content["booking"], language))
    if not sections:
        sections.append(
            "Mình chưa nhận được kết quả tra cứu. Bạn thử lại nhé."
            if language == "vi"
            else "I didn't get any results back. Please try again."
        )
    if found_flights:
        sections.append(_OFFER[language])
    # When weather was looked up alone because the flight part lacked a detail, ask for it now.
    outcome = analyse(messages[:index], _reference_day(results))
    if outcome.pending is not None and outcome.missing and not searches:
        summary = phrases.request_summary(outcome.pending, language)
        sections.append(
            " ".join(s for s in (summary, phrases.ask_missing(outcome.missing, language)) if s)
        )
    return "\n\n".join(sections)
