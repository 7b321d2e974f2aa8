"""The sentences for tool errors whose details matter: places, dates, airlines, parameters.

Each explainer takes the error, the arguments of the call that failed and the tool's name, and
returns the Vietnamese and the English sentence; :data:`error_codes.EXPLAINERS` says which code
each explains. Places are named in the answer's language ("Da Lat (DLI)" in English).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from functools import cache
from typing import Any

from booking.domain.places import fold
from booking.domain.wording import count, format_day, format_vnd
from booking.offline_model.phrases import place_label
from booking.offline_model.reference_index import place_index
from booking.offline_model.text import Language
from booking.reference import load_network

#: "Đà Lạt (DLI)" or "Thành phố Hồ Chí Minh (SGN, VCS)": a place name with its airport codes.
_NAMED_PLACE = re.compile(r"^(?P<name>.*?)\s*\((?P<codes>[A-Z]{3}(?:,\s*[A-Z]{3})*)\)$")
#: "Sa Pa (near HAN)": a place without an airport, with the airports that serve it.
_NEAR_PLACE = re.compile(r"^(?P<name>.*?)\s*\(near (?P<codes>[A-Z]{3}(?:,\s*[A-Z]{3})*)\)$")


def _day(value: Any, language: Language) -> str:
    try:
        return format_day(date.fromisoformat(str(value)), language)
    except ValueError:
        return str(value)


def _names(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def _name(name: str, language: Language) -> str:
    """A place name in the answer's language: "Da Lat" for "Đà Lạt" in English."""
    if language == "vi":
        return name
    city = place_index().aliases.get(fold(name))
    # Only the place's own name: an alias may be another place served by the same airport.
    if city is not None and fold(city.name_vi) == fold(name):
        return city.name_en
    # A place the lexicon does not know is written the way English writes Vietnamese names.
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c))


def _places(values: Any, language: Language) -> list[str]:
    """Suggested places in the answer's language: "Da Lat (DLI)" for "Đà Lạt (DLI)"."""
    out: list[str] = []
    for value in _names(values):
        near = _NEAR_PLACE.match(value)
        if near is not None:
            # A place without an airport, offered with the airports near it.
            word = "gần" if language == "vi" else "near"
            out.append(f"{_name(near['name'], language)} ({word} {near['codes']})")
            continue
        match = _NAMED_PLACE.match(value)
        if match is None:
            out.append(_name(value, language))
            continue
        name = _name(match["name"], language)
        if name == match["name"] and language == "en":
            # Not a name the lexicon knows: its airport's city is.
            code = match["codes"].split(",")[0].strip()
            label = place_label(code, language)
            name = label if label != code else name
        out.append(f"{name} ({match['codes']})")
    return out


@cache
def _airlines() -> tuple[str, bool]:
    """The Vietnamese airlines by name, and whether foreign ones fly here too."""
    airlines = load_network().airlines
    names = ", ".join(str(row["name"]) for row in airlines if row.get("country") == "VN")
    return names, any(row.get("country") != "VN" for row in airlines)


#: Tool parameters as the traveller knows them.
_PARAMETERS = {
    "from_city": ("điểm đi", "where you fly from"),
    "to_city": ("điểm đến", "where you fly to"),
    "date": ("ngày bay", "the date"),
    "passengers": ("hành khách", "the passengers"),
    "cabin": ("hạng ghế", "the cabin"),
    "max_price": ("mức giá", "the price limit"),
    "depart_after": ("giờ bay", "the departure time"),
    "depart_before": ("giờ bay", "the departure time"),
    "airline": ("hãng bay", "the airline"),
    "sort": ("cách sắp xếp", "the sort order"),
    "limit": ("số chuyến cần xem", "how many flights to show"),
    "city": ("địa điểm", "the place"),
    "reference": ("mã đặt chỗ", "the booking reference"),
    "flight_id": ("chuyến bay", "the flight"),
    "contact": ("thông tin liên hệ", "the contact details"),
}


def _parameters(error: Mapping[str, Any], language: Language) -> str | None:
    """The parameters an ``invalid_arguments`` error is about, in words ("ngày bay")."""
    named: list[str] = []
    for item in error.get("errors") or []:
        loc = item.get("loc") if isinstance(item, Mapping) else None
        key = str(loc[0]) if isinstance(loc, list) and loc else ""
        if key in _PARAMETERS:
            word = _PARAMETERS[key][0 if language == "vi" else 1]
            if word not in named:
                named.append(word)
    if not named:
        return None
    joiner = " và " if language == "vi" else " and "
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + joiner + named[-1]


# Each explainer returns the Vietnamese and the English sentence.
Explainer = Callable[[Mapping[str, Any], Mapping[str, Any], str], tuple[str, str]]


def _query(error: Mapping[str, Any], arguments: Mapping[str, Any]) -> str:
    value = error.get("query")
    if value is None:
        value = arguments.get("from_city") or arguments.get("city") or ""
    return str(value).strip()


def unknown_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    if not query:
        return (
            "Bạn cho mình biết tên thành phố hoặc mã sân bay nhé.",
            "Please tell me a city or an airport code.",
        )
    vi = f"Mình không tìm thấy địa điểm nào tên “{query}”."
    en = f"I couldn't find a place called “{query}”."
    suggestions_vi = _places(error.get("suggestions"), "vi")
    if suggestions_vi:
        suggestions_en = _places(error.get("suggestions"), "en")
        return (
            f"{vi} Có phải bạn muốn nói: {'; '.join(suggestions_vi)}?",
            f"{en} Did you mean: {'; '.join(suggestions_en)}?",
        )
    return (
        f"{vi} Bạn kiểm tra lại tên thành phố hoặc mã sân bay giúp mình nhé.",
        f"{en} Please check the city name or the airport code.",
    )


def ambiguous_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    options = error.get("candidates") or error.get("suggestions")
    return (
        f"“{query}” có thể là nhiều nơi: {'; '.join(_places(options, 'vi'))}. "
        "Bạn muốn nói nơi nào?",
        f"“{query}” could be several places: {'; '.join(_places(options, 'en'))}. "
        "Which one do you mean?",
    )


def place_error(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    query = _query(error, arguments)
    return (
        f"Mình chưa xác định được địa điểm “{query}”. "
        "Bạn ghi rõ tên thành phố hoặc mã sân bay giúp mình nhé.",
        f"I couldn't work out the place “{query}”. Please give a city name or an airport code.",
    )


def date_in_past(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    asked = error.get("date") or arguments.get("date") or ""
    day_vi, day_en = _day(asked, "vi"), _day(asked, "en")
    today = error.get("today")
    if tool == "get_weather" and today:
        return (
            f"Mình chỉ xem được thời tiết từ hôm nay ({_day(today, 'vi')}) trở đi, "
            f"không xem được cho {day_vi}.",
            f"I only have the weather from today ({_day(today, 'en')}) on, not for {day_en}.",
        )
    return (
        f"{day_vi} đã qua rồi"
        + (f" (hôm nay là {_day(today, 'vi')})" if today else "")
        + ". Bạn chọn một ngày từ hôm nay trở đi nhé.",
        f"{day_en} has already passed"
        + (f" (today is {_day(today, 'en')})" if today else "")
        + ". Please pick today or a later date.",
    )


def date_beyond_horizon(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    asked = error.get("date") or arguments.get("date") or ""
    ahead = error.get("max_days_ahead")
    return (
        f"{_day(asked, 'vi')} còn xa quá: vé mới chỉ mở bán "
        + (f"trong vòng {ahead} ngày tới." if ahead else "cho những ngày gần đây."),
        f"{_day(asked, 'en')} is too far ahead: tickets are only on sale "
        + (f"up to {count(int(ahead), 'day', 'en')} ahead." if ahead else "for nearer dates."),
    )


def invalid_date(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    value = error.get("value")
    if value is not None and value in (
        arguments.get("depart_after"),
        arguments.get("depart_before"),
    ):
        return (
            f"Mình không đọc được giờ “{value}”. Bạn ghi giờ theo dạng 18:00 hoặc 18h nhé.",
            f"I couldn't read the time “{value}”. Please write it like 18:00.",
        )
    shown = f" “{value}”" if value else ""
    return (
        f"Mình không đọc được ngày{shown}. Bạn ghi ngày theo dạng 15/6 hoặc 2026-06-15 nhé.",
        f"I couldn't read the date{shown}. Please write it like 15 June or 2026-06-15.",
    )


def validation_failed(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    after, before = error.get("depart_after"), error.get("depart_before")
    if after and before:
        return (
            f"Khung giờ chưa hợp lệ: {after} muộn hơn {before}. Bạn chọn lại khung giờ nhé.",
            f"That time window doesn't work: {after} is later than {before}. Please widen it.",
        )
    if "max_price" in error:
        return (
            "Mức giá tối đa phải lớn hơn 0. Bạn cho mình mức giá khác nhé.",
            "The price limit has to be above zero. Please give me another one.",
        )
    return (
        "Một vài thông tin trong yêu cầu chưa hợp lệ. Bạn kiểm tra lại giúp mình nhé.",
        "Some details of the request weren't valid. Please check them.",
    )


def same_place(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    origin, destination = str(error.get("origin") or ""), str(error.get("destination") or "")
    airports = [str(code) for code in error.get("airports") or []]
    served_vi = ", ".join(f"{place_label(code, 'vi')} ({code})" for code in airports)
    served_en = ", ".join(f"{place_label(code, 'en')} ({code})" for code in airports)
    if not (origin and destination and airports):
        return (
            "Hai nơi này dùng chung một sân bay nên không có chuyến bay nào giữa chúng.",
            "Those two places share an airport, so no flight connects them.",
        )
    return (
        f"{origin} và {destination} dùng chung sân bay {served_vi} nên không có chuyến bay "
        "nào giữa hai nơi này; bạn đi đường bộ sẽ tiện hơn.",
        f"{_name(origin, 'en')} and {_name(destination, 'en')} share the same airport, "
        f"{served_en}, so no flight connects them; going by road is easier.",
    )


def unknown_airline(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    airline = error.get("airline") or arguments.get("airline") or ""
    names, foreign = _airlines()
    return (
        f"Mình không nhận ra hãng bay “{airline}”. Mình tìm được các hãng {names}"
        + (" và nhiều hãng quốc tế." if foreign else "."),
        f"I don't know the airline “{airline}”. I can search {names}"
        + (" and many international airlines." if foreign else "."),
    )


def not_found(error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str) -> tuple[str, str]:
    if tool == "get_weather":
        city = str(arguments.get("city") or "")
        return (
            f"Mình chưa có số liệu thời tiết cho {place_label(city, 'vi')}.",
            f"I don't have weather data for {place_label(city, 'en')} yet.",
        )
    return ("Mình không tìm thấy thông tin này.", "I couldn't find that.")


def invalid_arguments(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    vi, en = _parameters(error, "vi"), _parameters(error, "en")
    if vi and en:
        return (
            f"Mình chưa hiểu đúng {vi} trong yêu cầu nên chưa tra cứu được. "
            "Bạn nói lại rõ hơn giúp mình nhé.",
            f"I couldn't read {en} in your request, so I didn't look it up. "
            "Could you say it again?",
        )
    return (
        "Mình chưa hiểu đúng yêu cầu nên chưa tra cứu được. Bạn nói lại rõ hơn giúp mình nhé.",
        "I didn't get that request right, so I didn't look it up. Could you say it again?",
    )


def fare_changed(
    error: Mapping[str, Any], arguments: Mapping[str, Any], tool: str
) -> tuple[str, str]:
    price = error.get("price_vnd")
    if price is None:
        return (
            "Giá vé chuyến này vừa thay đổi. Bạn tìm lại để xem giá mới rồi đặt nhé.",
            "The fare of this flight just changed. Search again to see the new price.",
        )
    return (
        f"Giá vé chuyến này vừa đổi thành {format_vnd(int(price), 'vi')}. "
        "Bạn tìm lại để xem giá mới rồi đặt nhé.",
        f"The fare of this flight just changed to {format_vnd(int(price), 'en')}. "
        "Search again to see the new price.",
    )


def fixed(vi: str, en: str) -> Explainer:
    """An explainer with the same two sentences whatever the details."""
    return lambda error, arguments, tool: (vi, en)
