"""A forecast as the answer gives it: the place as the traveller named it, the day, the weather.

A climate normal (a day beyond the forecast horizon) is said to be the usual weather of the
month, not a forecast. The figures are the tool's, rounded the way the card rounds them
(:func:`booking.i18n.format.whole`; the weather domain already gives whole numbers), so the card
and the sentence say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from booking.domain.wording import EN_MONTHS
from booking.i18n.format import whole
from booking.offline_model import phrases
from booking.offline_model.answer_places import day_of, place_name
from booking.offline_model.text import Language


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
        return place_name(place, language)
    if place:
        return phrases.place_label(str(place), language)
    return phrases.place_label(str(arguments.get("city") or "?"), language)


def weather_answer(
    content: Mapping[str, Any], arguments: Mapping[str, Any], language: Language
) -> str:
    """The forecast's section of the answer: the place and day, then the weather in words."""
    vi = language == "vi"
    name = _weather_place(content, arguments, language)
    title = f"**Thời tiết {name}**" if vi else f"**Weather in {name}**"
    day_text = day_of(content.get("day"), language)
    if vi:
        condition = content.get("condition_vi")
    else:
        code = str(content.get("condition_code") or "").replace("_", " ")
        condition = content.get("condition_en") or code.capitalize()
    low = whole(content.get("temp_min_c") or 0)
    high = whole(content.get("temp_max_c") or 0)
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
        details.append(f"gió {whole(wind)} km/h" if vi else f"wind {whole(wind)} km/h")
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
