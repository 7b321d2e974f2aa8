"""Places, airlines and days as an answer names them, in the traveller's language.

A place comes as the tools return it (``{"city", "city_en", "airports", "via"}``) or as a bare
name or code; a place without an airport of its own (``via``) is shown as the airport the search
used, and :func:`via_note` says how far the place is from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from booking.domain.wording import format_day, format_hours, format_number
from booking.offline_model import phrases
from booking.offline_model.text import Language
from booking.reference import load_network


def day_of(value: Any, language: Language) -> str:
    """An ISO date as the answer writes it ("Thứ Hai, 15/06/2026"); anything else as it is."""
    try:
        return format_day(date.fromisoformat(str(value)), language)
    except ValueError:
        return str(value)


@cache
def _airline_names() -> dict[str, str]:
    return {str(row["code"]): str(row["name"]) for row in load_network().airlines}


def airline_name(code: Any) -> str:
    """The airline's name for its code, or the code when the data file does not know it."""
    return _airline_names().get(str(code), str(code))


def _codes(place: Mapping[str, Any]) -> list[str]:
    return [str(a.get("iata")) for a in place.get("airports") or [] if isinstance(a, Mapping)]


def place_name(place: Any, language: Language) -> str:
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


def place_with_codes(place: Any, language: Language) -> str:
    """The place with its airport codes: "Hà Nội (HAN)"; a place reached by road shows the
    airport the search used, and :func:`via_note` names the place."""
    if isinstance(place, Mapping) and isinstance(place.get("via"), Mapping):
        airport = _via_airport(place["via"], {}, language)
        if airport:
            return airport
    name = place_name(place, language)
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
    return place_with_codes(place, language) if place.get("airports") else None


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


def via_note(place: Any, language: Language) -> str | None:
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
