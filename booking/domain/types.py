"""Values that cross layers. Frozen dataclasses: cheap to build, safe to share, easy to serialize."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Cabin = Literal["economy", "business"]
SortKey = Literal["price", "departure", "duration"]


@dataclass(frozen=True, slots=True)
class AirportRef:
    iata: str
    name: str
    city_slug: str
    timezone: str


@dataclass(frozen=True, slots=True)
class CityRef:
    slug: str
    name_vi: str
    name_en: str
    country: str
    timezone: str
    airports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    """What a typed place name resolved to: a city and the airports meant by it."""

    query: str
    city: CityRef
    airports: tuple[AirportRef, ...]
    matched_by: Literal["iata", "alias", "fuzzy"]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "city": self.city.name_vi,
            "city_en": self.city.name_en,
            "country": self.city.country,
            "airports": [{"iata": a.iata, "name": a.name} for a in self.airports],
            "matched_by": self.matched_by,
        }


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A validated, resolved flight search."""

    origin: ResolvedPlace
    destination: ResolvedPlace
    day: date
    passengers: int = 1
    cabin: Cabin = "economy"
    max_price_vnd: int | None = None
    depart_after: datetime | None = None
    depart_before: datetime | None = None
    airline: str | None = None
    sort: SortKey = "price"
    limit: int = 10

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.origin.to_dict(),
            "to": self.destination.to_dict(),
            "date": self.day.isoformat(),
            "passengers": self.passengers,
            "cabin": self.cabin,
            "max_price_vnd": self.max_price_vnd,
            "depart_after": self.depart_after.strftime("%H:%M") if self.depart_after else None,
            "depart_before": self.depart_before.strftime("%H:%M") if self.depart_before else None,
            "airline": self.airline,
            "sort": self.sort,
        }


@dataclass(frozen=True, slots=True)
class FlightOffer:
    flight_id: int
    flight_number: str
    airline_code: str
    airline_name: str
    origin: str
    destination: str
    departs_at: datetime
    """Local time at the origin, zone-aware."""
    arrives_at: datetime
    """Local time at the destination, zone-aware."""
    duration_minutes: int
    aircraft: str
    cabin: Cabin
    price_vnd: int
    """Price per passenger."""
    total_vnd: int
    """Price for all passengers of the query."""
    seats_left: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["departs_at"] = self.departs_at.isoformat()
        data["arrives_at"] = self.arrives_at.isoformat()
        return data


NoResultReason = Literal["no_route", "no_flights_on_date", "sold_out", "no_match_filters"]


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: SearchQuery
    offers: tuple[FlightOffer, ...]
    total_matches: int
    reason: NoResultReason | None = None
    """Why nothing matched, when nothing did."""
    message: str | None = None
    nearest_dates: tuple[date, ...] = field(default=())
    """Dates near the asked one that do have seats, when nothing matched."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.to_dict(),
            "flights": [o.to_dict() for o in self.offers],
            "total_matches": self.total_matches,
            "currency": "VND",
            "reason": self.reason,
            "message": self.message,
            "nearest_dates": [d.isoformat() for d in self.nearest_dates],
        }


@dataclass(frozen=True, slots=True)
class Forecast:
    place: ResolvedPlace
    day: date
    condition_code: str
    condition_vi: str
    condition_en: str
    temp_min_c: float
    temp_max_c: float
    humidity_pct: int
    precip_prob_pct: int
    wind_kph: float
    is_climate_normal: bool
    """True when the day is beyond the forecast horizon and these are the month's normals."""
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["place"] = self.place.to_dict()
        data["day"] = self.day.isoformat()
        return data
