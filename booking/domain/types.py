"""Values that cross layers. Frozen dataclasses: cheap to build, safe to share, easy to serialize."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

Cabin = Literal["economy", "business"]
SortKey = Literal["price", "departure", "duration"]

#: Bounds of a flight search, the same for the domain, the agent's tool schema and the HTTP API.
MAX_PASSENGERS = 9
MAX_LIMIT = 50
#: A cap far above any fare, so an absurd ``max_price`` is refused before it reaches BIGINT.
MAX_PRICE_VND = 1_000_000_000


class _BoundedInt(int):
    """An ``int`` whose Pydantic schema carries its bounds (``minimum``/``maximum``).

    The tool registry reads a tool's annotations with ``typing.get_type_hints``, which drops
    ``Annotated`` metadata, so ``Annotated[int, Field(le=...)]`` would lose its bounds there; a
    type of its own keeps them. Values validate to plain ``int``.
    """

    minimum: ClassVar[int]
    maximum: ClassVar[int]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.int_schema(ge=cls.minimum, le=cls.maximum)


class PassengerCount(_BoundedInt):
    """1 to :data:`MAX_PASSENGERS` passengers."""

    minimum, maximum = 1, MAX_PASSENGERS


class PriceVnd(_BoundedInt):
    """A price per passenger in VND, 1 to :data:`MAX_PRICE_VND`."""

    minimum, maximum = 1, MAX_PRICE_VND


class ResultLimit(_BoundedInt):
    """How many results, 1 to :data:`MAX_LIMIT`."""

    minimum, maximum = 1, MAX_LIMIT


#: Defaults of a search, typed as their bounded kinds (for tool signatures).
DEFAULT_PASSENGERS = PassengerCount(1)
DEFAULT_LIMIT = ResultLimit(10)


@dataclass(frozen=True, slots=True)
class AirportRef:
    iata: str
    name: str
    city_slug: str
    timezone: str


@dataclass(frozen=True, slots=True)
class NearestAirportRef:
    """An airport serving a place without one of its own, and the road between them."""

    iata: str
    road_km: int
    road_minutes: int
    rank: int
    """1 is tried first."""


@dataclass(frozen=True, slots=True)
class CityRef:
    slug: str
    name_vi: str
    name_en: str
    country: str
    timezone: str
    airports: tuple[str, ...]
    """Its own airports; empty for a place reached by road (Sa Pa, Hội An)."""
    nearest: tuple[NearestAirportRef, ...] = ()
    """For a place without an airport: the airports that serve it, by rank."""
    province: str | None = None

    @property
    def has_airport(self) -> bool:
        return bool(self.airports)


@dataclass(frozen=True, slots=True)
class Via:
    """The airport a search used for a place without one, and the road from it to the place."""

    place_vi: str
    place_en: str
    airport: AirportRef
    airport_city_vi: str
    airport_city_en: str
    road_km: int
    road_minutes: int

    @property
    def road_hours(self) -> float:
        return round(self.road_minutes / 60, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "place_vi": self.place_vi,
            "place_en": self.place_en,
            "airport": self.airport.iata,
            "airport_city": self.airport_city_vi,
            "airport_city_en": self.airport_city_en,
            "road_km": self.road_km,
            "road_hours": self.road_hours,
        }


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    """What a typed place name resolved to: a city and the airports meant by it.

    For a place without an airport, ``airports`` is empty when it is resolved; a flight search
    fills in the airport it used and ``via``, the road from that airport to the place.
    """

    query: str
    city: CityRef
    airports: tuple[AirportRef, ...]
    matched_by: Literal["iata", "alias", "fuzzy"]
    confidence: float
    via: Via | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "city": self.city.name_vi,
            "city_en": self.city.name_en,
            "country": self.city.country,
            "airports": [{"iata": a.iata, "name": a.name} for a in self.airports],
            "matched_by": self.matched_by,
            "via": self.via.to_dict() if self.via else None,
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


NoResultReason = Literal[
    "no_route", "no_flights_on_date", "beyond_schedule", "sold_out", "no_match_filters"
]


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
    schedule_ends: date | None = None
    """The last day of the seeded schedule, when the day asked for lies after it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query.to_dict(),
            "flights": [o.to_dict() for o in self.offers],
            "total_matches": self.total_matches,
            "currency": "VND",
            "reason": self.reason,
            "message": self.message,
            "nearest_dates": [d.isoformat() for d in self.nearest_dates],
            "schedule_ends": self.schedule_ends.isoformat() if self.schedule_ends else None,
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


# Bookings --------------------------------------------------------------------------------

BookingStatus = Literal["held", "confirmed", "cancelled", "expired"]


@dataclass(frozen=True, slots=True)
class Passenger:
    """A traveller, named as on their ID (validated by :mod:`booking.domain.passengers`)."""

    full_name: str
    date_of_birth: date | None = None

    def to_dict(self) -> dict[str, Any]:
        born = self.date_of_birth
        return {"full_name": self.full_name, "date_of_birth": born.isoformat() if born else None}


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach the booker: a phone number, an e-mail address or both."""

    email: str | None = None
    phone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email, "phone": self.phone}


@dataclass(frozen=True, slots=True)
class BookedFlight:
    """The flight as a booking shows it."""

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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["departs_at"] = self.departs_at.isoformat()
        data["arrives_at"] = self.arrives_at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class BookingView:
    """A booking as its owner reads it (built by :func:`booking.domain.booking_views.booking_view`).

    Its moments are Vietnam time (Asia/Ho_Chi_Minh); amounts are VND.
    """

    reference: str
    status: BookingStatus
    flight: BookedFlight
    cabin: Cabin
    passengers: tuple[Passenger, ...]
    contact: Contact
    price_per_passenger_vnd: int
    total_vnd: int
    hold_expires_at: datetime | None
    """When the hold lapses, while the booking is held; None in every other status."""
    created_at: datetime
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    expired_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The booking as JSON: what the HTTP API returns and the model reads."""
        return {
            "reference": self.reference,
            "status": self.status,
            "flight": self.flight.to_dict(),
            "cabin": self.cabin,
            "passengers": [p.to_dict() for p in self.passengers],
            "contact": self.contact.to_dict(),
            "price_per_passenger_vnd": self.price_per_passenger_vnd,
            "total_vnd": self.total_vnd,
            "currency": "VND",
            "hold_expires_at": _isoformat(self.hold_expires_at),
            "created_at": self.created_at.isoformat(),
            "confirmed_at": _isoformat(self.confirmed_at),
            "cancelled_at": _isoformat(self.cancelled_at),
            "expired_at": _isoformat(self.expired_at),
        }


def _isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
