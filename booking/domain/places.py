"""Resolve what people type ("Sài Gòn", "HCM", "hanoi", "DAD", "Sa Pa") to a place and its airports.

Pure: a :class:`Gazetteer` is built once from the database rows and then answers in microseconds.
Order of resolution: an upper-case IATA code, an exact alias (case, diacritics, spacing and
punctuation folded), the alias after dropping words like "thành phố" or "airport", then fuzzy
matching with a confidence threshold. Ambiguous or unknown input raises with candidates; an
unknown place is offered only close suggestions.

A place without an airport of its own (Sa Pa, Hội An) resolves to itself with no airports;
:meth:`Gazetteer.airport_options` gives the airports that serve it, by rank, with the road.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz, process

from booking.domain.types import AirportRef, CityRef, ResolvedPlace, Via
from booking.errors import AmbiguousPlace, UnknownAirline, UnknownPlace

#: Fuzzy matches scoring below this (0-100) are not trusted.
FUZZY_THRESHOLD = 86.0
#: Below the threshold, a match this good is offered as a suggestion...
SUGGESTION_THRESHOLD = 75.0
#: ...and so is one this good that starts with the same letter as what was typed. Weaker
#: matches are other places that merely share letters ("Sa Pa" is not "Osaka").
SAME_INITIAL_THRESHOLD = 60.0
#: Two different cities within this many points of each other make a fuzzy match ambiguous.
AMBIGUITY_MARGIN = 3.0

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_FILLER_WORDS = re.compile(
    r"^(thanh pho|tp|tinh|san bay|sb|city of|city|airport|quoc te|international)\s+|"
    r"\s+(city|airport|international airport|intl|quoc te)$"
)


def fold(text: str) -> str:
    """Lower-case ASCII words: diacritics dropped (đ -> d), punctuation to single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", ascii_text.lower()).strip()


def alias_key(text: str) -> str:
    """The key aliases are stored and looked up under: folded, spaces removed ("Hà Nội" -> "hanoi")."""
    return fold(text).replace(" ", "")


@dataclass(frozen=True, slots=True)
class AirlineRef:
    code: str
    name: str


@dataclass
class Gazetteer:
    """Cities, airports, aliases and airlines, indexed for resolution."""

    cities: Mapping[str, CityRef]
    airports: Mapping[str, AirportRef]
    aliases: Mapping[str, frozenset[str]]
    """alias key -> city slugs."""
    airlines: Mapping[str, AirlineRef] = field(default_factory=dict)
    _alias_keys: list[str] = field(init=False, repr=False)
    _airline_keys: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._alias_keys = sorted(self.aliases)
        self._airline_keys = {}
        first_words: dict[str, set[str]] = {}
        for airline in self.airlines.values():
            self._airline_keys[alias_key(airline.code)] = airline.code
            self._airline_keys[alias_key(airline.name)] = airline.code
            first_words.setdefault(alias_key(airline.name.split()[0]), set()).add(airline.code)
        # "vietjet" means VietJet Air; "thai" or "air" mean no single airline, so they are left out.
        for word, codes in first_words.items():
            if len(codes) == 1 and len(word) > 3 and word not in self._airline_keys:
                self._airline_keys[word] = next(iter(codes))

    @classmethod
    def build(
        cls,
        cities: Iterable[CityRef],
        airports: Iterable[AirportRef],
        aliases: Iterable[tuple[str, str]],
        airlines: Iterable[AirlineRef] = (),
    ) -> Gazetteer:
        """Index rows; ``aliases`` are (alias text, city slug) pairs. City names and codes are aliases too."""
        city_map = {c.slug: c for c in cities}
        airport_map = {a.iata: a for a in airports}
        index: dict[str, set[str]] = {}
        pairs = list(aliases)
        pairs += [(c.name_vi, c.slug) for c in city_map.values()]
        pairs += [(c.name_en, c.slug) for c in city_map.values()]
        pairs += [(a.iata, a.city_slug) for a in airport_map.values()]
        for text, slug in pairs:
            key = alias_key(text)
            if key:
                index.setdefault(key, set()).add(slug)
        return cls(
            cities=city_map,
            airports=airport_map,
            aliases={k: frozenset(v) for k, v in index.items()},
            airlines={a.code: a for a in airlines},
        )

    def resolve(self, text: str) -> ResolvedPlace:
        """Resolve a place name; raise :class:`UnknownPlace` or :class:`AmbiguousPlace`."""
        query = text.strip()
        if not query:
            raise UnknownPlace("Please name a city or airport.", query=text, suggestions=[])
        if re.fullmatch(r"[A-Z]{3}", query) and query in self.airports:
            airport = self.airports[query]
            return ResolvedPlace(query, self.cities[airport.city_slug], (airport,), "iata", 1.0)
        key = alias_key(query)
        for candidate in (key, alias_key(_FILLER_WORDS.sub("", fold(query)))):
            slugs = self.aliases.get(candidate)
            if slugs:
                return self._from_slugs(query, slugs, "alias", 1.0)
        if len(key) == 3 and key.upper() in self.airports:
            airport = self.airports[key.upper()]
            return ResolvedPlace(query, self.cities[airport.city_slug], (airport,), "iata", 1.0)
        return self._fuzzy(query, key)

    def resolve_airline(self, text: str) -> AirlineRef:
        key = alias_key(text)
        code = self._airline_keys.get(key)
        if code is None:
            known = ", ".join(
                f"{a.code} ({a.name})" for a in sorted(self.airlines.values(), key=lambda a: a.code)
            )
            raise UnknownAirline(
                f"Unknown airline '{text}'. Known airlines: {known}.", airline=text
            )
        return self.airlines[code]

    def city_names(self, slugs: Iterable[str]) -> list[str]:
        """Names with their airports, "Đà Nẵng (DAD)"; without one, "Sa Pa (near HAN)"."""
        names = []
        for slug in slugs:
            city = self.cities[slug]
            if city.airports or not city.nearest:
                codes = ", ".join(city.airports)
            else:
                codes = "near " + ", ".join(n.iata for n in city.nearest)
            names.append(f"{city.name_vi} ({codes})")
        return names

    def airport_options(self, place: ResolvedPlace) -> list[ResolvedPlace]:
        """The ways to fly to or from ``place``, best first.

        A place with airports is its own only option. A place without one gives one option per
        airport that serves it, in rank order, each with that airport and ``via`` (the road).
        """
        if place.airports:
            return [place]
        options = []
        for near in sorted(place.city.nearest, key=lambda n: n.rank):
            airport = self.airports.get(near.iata)
            if airport is None:
                continue
            served = self.cities[airport.city_slug]
            via = Via(
                place_vi=place.city.name_vi,
                place_en=place.city.name_en,
                airport=airport,
                airport_city_vi=served.name_vi,
                airport_city_en=served.name_en,
                road_km=near.road_km,
                road_minutes=near.road_minutes,
            )
            options.append(replace(place, airports=(airport,), via=via))
        return options

    def _from_slugs(
        self, query: str, slugs: frozenset[str], how: str, confidence: float
    ) -> ResolvedPlace:
        if len(slugs) > 1:
            names = self.city_names(sorted(slugs))
            raise AmbiguousPlace(
                f"'{query}' could mean several places: {'; '.join(names)}. Which one?",
                query=query,
                candidates=names,
            )
        city = self.cities[next(iter(slugs))]
        airports = tuple(self.airports[code] for code in city.airports if code in self.airports)
        return ResolvedPlace(query, city, airports, how, confidence)  # type: ignore[arg-type]

    def _fuzzy(self, query: str, key: str) -> ResolvedPlace:
        matches = process.extract(key, self._alias_keys, scorer=fuzz.ratio, limit=8)
        best_by_city: dict[str, float] = {}
        suggestable: dict[str, float] = {}
        for alias, score, _ in matches:
            is_close = score >= SUGGESTION_THRESHOLD or (
                score >= SAME_INITIAL_THRESHOLD and alias[:1] == key[:1]
            )
            for slug in self.aliases[alias]:
                best_by_city[slug] = max(best_by_city.get(slug, 0.0), score)
                if is_close:
                    suggestable[slug] = max(suggestable.get(slug, 0.0), score)
        ranked = sorted(best_by_city.items(), key=lambda item: -item[1])
        if ranked and ranked[0][1] >= FUZZY_THRESHOLD:
            close = [s for s, score in ranked if score >= ranked[0][1] - AMBIGUITY_MARGIN]
            return self._from_slugs(query, frozenset(close), "fuzzy", ranked[0][1] / 100)
        suggestions = self.city_names(
            slug
            for slug, _ in sorted(suggestable.items(), key=lambda item: (-item[1], item[0]))[:3]
        )
        hint = f" Did you mean: {'; '.join(suggestions)}?" if suggestions else ""
        raise UnknownPlace(
            f"I don't know a place called '{query}'.{hint}", query=query, suggestions=suggestions
        )
