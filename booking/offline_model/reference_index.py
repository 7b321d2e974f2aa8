"""The reference data indexed for the offline model: places and airlines, by what people type.

Places come from the project's data file (``booking/reference/data/cities.json``) through
:func:`booking.reference.load_network`; airlines from ``booking/reference/data/airlines.json``.
Each index is built once, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from booking.domain.places import fold
from booking.offline_model.lexicon import AIRLINE_WORDS, GUARDED_ALIASES
from booking.reference import load_network


@dataclass(frozen=True, slots=True)
class City:
    """A city from the data file, reduced to what the offline model needs."""

    slug: str
    name_vi: str
    name_en: str
    airports: tuple[str, ...]

    @property
    def tool_name(self) -> str:
        """What to pass to the tools: the only airport's code, else the English city name."""
        return self.airports[0] if len(self.airports) == 1 else self.name_en


@dataclass(frozen=True, slots=True)
class PlaceIndex:
    """Folded aliases and airport codes, indexed for whole-word matching."""

    aliases: dict[str, City]
    """Folded alias, name or spelling -> city."""
    airports: dict[str, City]
    """Upper-case IATA code -> city."""
    by_tool_name: dict[str, City]
    """What :attr:`City.tool_name` gives (and every airport code) -> city, to name places again."""
    longest: int
    """Most words in one alias."""
    fuzzy_keys: dict[str, City]
    """Aliases of five letters or more with their spaces removed, for matching typos."""


@cache
def place_index() -> PlaceIndex:
    """Build the index once from the data file; later calls return the same object."""
    aliases: dict[str, City] = {}
    airports: dict[str, City] = {}
    by_tool_name: dict[str, City] = {}
    for row in load_network().cities:
        city = City(row["slug"], row["name_vi"], row["name_en"], tuple(row["airports"]))
        for text in [row["name_vi"], row["name_en"], *row["aliases"]]:
            key = fold(text)
            # Codes are matched by their own, stricter rule, so they never enter as aliases.
            if key and key.upper() not in row["airports"]:
                aliases.setdefault(key, city)
        for code in city.airports:
            airports[code] = city
            by_tool_name[code] = city
        by_tool_name[city.tool_name] = city
    # Places without an airport (Sa Pa, Hội An, province capitals) are places in their own right:
    # their names win over an airport city that once listed them as its aliases.
    for row in getattr(load_network(), "destinations", ()):
        place = City(row["slug"], row["name_vi"], row["name_en"], ())
        for text in [row["name_vi"], row["name_en"], *row.get("aliases", ())]:
            if key := fold(text):
                aliases[key] = place
        by_tool_name[place.tool_name] = place
    longest = max(len(key.split()) for key in aliases)
    fuzzy = {
        key.replace(" ", ""): city
        for key, city in aliases.items()
        if len(key.replace(" ", "")) >= 5 and key not in GUARDED_ALIASES
    }
    return PlaceIndex(aliases, airports, by_tool_name, longest, fuzzy)


@cache
def airline_phrases() -> dict[str, str]:
    """:data:`AIRLINE_WORDS` plus every airline's full name from the data file, folded."""
    phrases = {fold(row["name"]): row["code"] for row in load_network().airlines}
    return {**phrases, **AIRLINE_WORDS}


@cache
def airline_codes() -> frozenset[str]:
    """Every airline code in the data file."""
    return frozenset(row["code"] for row in load_network().airlines)
