"""Checks before a tool call: what a good agent asks instead of searching blindly.

Each check looks at the arguments gathered for ``search_flights`` or ``get_weather`` and, when
something cannot be right (an unknown place, the same city twice, a date already gone or past
the schedule, an impossible party, a window that ends before it starts), returns the question
to ask and which argument to drop so the next message can fill it in. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from rapidfuzz import fuzz, process

from booking.domain.places import fold
from booking.domain.types import MAX_PASSENGERS
from booking.domain.wording import format_day
from booking.offline_model.reference_index import City, place_index
from booking.offline_model.text import Language
from booking.reference import load_network

#: How far ahead flights are scheduled (``BOOKING_MAX_DAYS_AHEAD``'s default).
HORIZON_DAYS = 365
#: Below this score (0-100) a known city is no useful suggestion for an unknown name.
_SUGGESTION_SCORE = 75.0


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a call is not made, and what the traveller is asked."""

    code: str
    """"unknown_place", "same_place", "passed_date", "beyond_horizon", "passengers", "window"."""
    question: str
    drop: tuple[str, ...] = ()
    """Arguments to forget, so the answer to the question takes their place."""
    missing: tuple[str, ...] = ()


def city_of(value: Any) -> City | None:
    """The city an argument names: a code, a name or an alias."""
    index = place_index()
    text = str(value)
    if text in index.by_tool_name:
        return index.by_tool_name[text]
    if text.upper() in index.airports:
        return index.airports[text.upper()]
    return index.aliases.get(fold(text))


#: Two places one airport serves first are "the same place" for a flight when the road between
#: them is this short (Hội An and Đà Nẵng); farther (Hà Nội and Sa Pa, 315 km) the search runs and
#: the tool explains there is no flight.
_LOCAL_ROAD_KM = 100


@cache
def _first_airports() -> dict[str, tuple[str, int]]:
    """Place slug -> (the airport that serves it first, road km to it: 0 for its own)."""
    network = load_network()
    served = {row["slug"]: (row["airports"][0], 0) for row in network.cities if row.get("airports")}
    for row in getattr(network, "destinations", ()):
        nearest = list(row.get("nearest") or ())
        if nearest:
            served[row["slug"]] = (str(nearest[0]["airport"]), int(nearest[0].get("road_km", 0)))
    return served


def _same_place(origin: City, destination: City) -> bool:
    """The same city, or two places close together that one airport serves first."""
    if origin.slug == destination.slug:
        return True
    served = _first_airports()
    first, second = served.get(origin.slug), served.get(destination.slug)
    if first is None or second is None or first[0] != second[0]:
        return False
    return max(first[1], second[1]) <= _LOCAL_ROAD_KM


def _same_place_text(origin: City, destination: City, language: Language) -> str:
    vi = language == "vi"
    first, second = (c.name_vi if vi else c.name_en for c in (origin, destination))
    if origin.slug == destination.slug:
        return (
            f"Điểm đi và điểm đến đều là {first}. Bạn muốn bay từ {first} đến đâu?"
            if vi
            else f"The departure and the destination are both {first}. Where would you like to "
            f"fly to from {first}?"
        )
    airport = _first_airports().get(origin.slug, ("", 0))[0]
    return (
        f"{first} và {second} dùng chung sân bay {airport}, nên không có chuyến bay giữa hai nơi: "
        "đi đường bộ là nhanh nhất. Bạn muốn bay đến nơi nào khác không?"
        if vi
        else f"{first} and {second} are served by the same airport ({airport}), so no flight "
        "goes between them: the road is quickest. Is there somewhere else you'd like to fly to?"
    )


def _suggestions(name: str, language: Language) -> list[str]:
    index = place_index()
    key = fold(name).replace(" ", "")
    found: list[str] = []
    for alias, score, _ in process.extract(key, list(index.fuzzy_keys), scorer=fuzz.ratio, limit=5):
        city = index.fuzzy_keys[alias]
        label = city.name_vi if language == "vi" else city.name_en
        if score >= _SUGGESTION_SCORE and label not in found:
            found.append(label)
    return found[:3]


def unknown_place(name: str, role: str, language: Language) -> Problem:
    """A place no gazetteer entry matches: say so, offer close names only."""
    close = _suggestions(name, language)
    if language == "vi":
        text = f"Mình chưa biết nơi nào tên “{name}”."
        text += (
            f" Có phải bạn muốn nói {' hoặc '.join(close)}?"
            if close
            else " Bạn cho mình tên thành phố hoặc mã sân bay khác nhé."
        )
    else:
        text = f"I don't know a place called “{name}”."
        text += (
            f" Did you mean {' or '.join(close)}?"
            if close
            else " Could you give me another city or airport code?"
        )
    return Problem("unknown_place", text, (role,), (_ROLE_MISSING.get(role, role),))


_ROLE_MISSING = {"from_city": "origin", "to_city": "destination", "city": "weather_place"}


def check_search(arguments: Mapping[str, Any], today: date, language: Language) -> Problem | None:
    """The first thing that makes a complete search impossible, if any."""
    origin, destination = city_of(arguments["from_city"]), city_of(arguments["to_city"])
    if origin is not None and destination is not None and _same_place(origin, destination):
        return Problem(
            "same_place",
            _same_place_text(origin, destination, language),
            ("to_city",),
            ("destination",),
        )
    day = date.fromisoformat(str(arguments["date"]))
    if (problem := check_day(day, today, language)) is not None:
        return problem
    passengers = arguments.get("passengers")
    if passengers is not None and not 1 <= int(passengers) <= MAX_PASSENGERS:
        text = (
            f"Mỗi lần đặt được từ 1 đến {MAX_PASSENGERS} hành khách. Bạn đi bao nhiêu người?"
            if language == "vi"
            else f"One booking holds 1 to {MAX_PASSENGERS} passengers. How many of you are "
            "travelling?"
        )
        if int(passengers) > MAX_PASSENGERS:
            text += (
                " Nhóm đông hơn có thể tách thành nhiều lần đặt."
                if language == "vi"
                else " A larger group can book in several parts."
            )
        return Problem("passengers", text, ("passengers",), ("passengers",))
    if arguments.get("_infant_alone"):
        text = (
            "Em bé dưới 2 tuổi không thể bay một mình: cần một người lớn đi cùng (bé ngồi lòng "
            "người lớn). Ai sẽ đi cùng bé để mình tìm vé?"
            if language == "vi"
            else "An infant under two cannot fly alone: an adult has to travel with them (the "
            "baby sits on their lap). Who will fly with the baby?"
        )
        return Problem("passengers", text, ("_infant_alone",), ("passengers",))
    if arguments.get("_impossible_time"):
        said = arguments["_impossible_time"]
        text = (
            f"“{said}” không phải là một giờ trong ngày. Bạn muốn bay lúc mấy giờ?"
            if language == "vi"
            else f"“{said}” is not a time of day. What time would you like to fly?"
        )
        return Problem("window", text, ("_impossible_time",), ())
    after, before = arguments.get("depart_after"), arguments.get("depart_before")
    if after and before and str(after) > str(before):
        text = (
            f"Giờ bay sau {after} và trước {before} không cùng một ngày được. "
            "Bạn muốn bay vào khoảng giờ nào?"
            if language == "vi"
            else f"Departing after {after} and before {before} cannot both hold on one day. "
            "Which time of day would you like?"
        )
        return Problem("window", text, ("depart_after", "depart_before"), ())
    return None


def check_day(day: date, today: date, language: Language) -> Problem | None:
    """A day already gone or past the schedule."""
    if day < today:
        return passed(day, None, language)
    if (day - today).days > HORIZON_DAYS:
        text = (
            f"Lịch bay chỉ mở bán đến {format_day(date.fromordinal(today.toordinal() + HORIZON_DAYS), language)}."
            " Bạn chọn một ngày sớm hơn nhé?"
            if language == "vi"
            else "Flights are only on sale until "
            f"{format_day(date.fromordinal(today.toordinal() + HORIZON_DAYS), language)}. "
            "Could you pick an earlier date?"
        )
        return Problem("beyond_horizon", text, ("date",), ("date",))
    return None


def passed(day: date, next_year: date | None, language: Language) -> Problem:
    """A date that has gone: say so, and offer next year's as a question."""
    said = format_day(day, language)
    if language == "vi":
        text = f"Ngày {said} đã qua rồi."
        text += (
            f" Có phải bạn muốn bay ngày {format_day(next_year, language)}?"
            if next_year
            else " Bạn muốn bay ngày nào?"
        )
    else:
        text = f"{said} has already passed."
        text += (
            f" Did you mean {format_day(next_year, language)}?"
            if next_year
            else " Which day would you like to fly?"
        )
    return Problem("passed_date", text, ("date",), ("date",))


def week_without_day(monday: date, language: Language) -> Problem:
    """Only a week was said ("tuần sau"): ask which day of it."""
    text = (
        f"Bạn muốn bay ngày nào trong tuần từ {format_day(monday, language)}?"
        if language == "vi"
        else f"Which day of the week starting {format_day(monday, language)} would you like to fly?"
    )
    return Problem("date", text, ("date",), ("date",))


def month_without_day(month: int, language: Language) -> Problem:
    """Only a month was said: ask which day."""
    text = (
        f"Bạn muốn bay ngày nào trong tháng {month}?"
        if language == "vi"
        else "Which day of that month would you like to fly?"
    )
    return Problem("date", text, ("date",), ("date",))
