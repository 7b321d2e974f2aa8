"""Tables. Money is BIGINT VND, times are timestamptz, every invariant that must always hold is a
CHECK. One module per aggregate; importing this package registers every table on
``Base.metadata`` (Alembic's ``env.py`` relies on it)."""

from booking.db.models.bookings import (
    APPROVAL_STATUSES,
    BOOKING_STATUSES,
    Approval,
    Booking,
    BookingEvent,
    BookingPassenger,
    IdempotencyRecord,
    ToolApproval,
)
from booking.db.models.conversations import (
    TURN_STATUSES,
    ApiKey,
    Conversation,
    Message,
    TurnEventRow,
    TurnRow,
)
from booking.db.models.flights import CABINS, Airline, Fare, Flight
from booking.db.models.places import Airport, City, NearestAirport, PlaceAlias
from booking.db.models.retention import TenantSettings, TurnArchive
from booking.db.models.weather import ClimateNormal, WeatherCondition, WeatherDaily

__all__ = [
    "APPROVAL_STATUSES",
    "BOOKING_STATUSES",
    "ToolApproval",
    "CABINS",
    "TURN_STATUSES",
    "Airline",
    "Airport",
    "ApiKey",
    "Approval",
    "Booking",
    "BookingEvent",
    "BookingPassenger",
    "City",
    "ClimateNormal",
    "Conversation",
    "Fare",
    "Flight",
    "IdempotencyRecord",
    "Message",
    "NearestAirport",
    "PlaceAlias",
    "TenantSettings",
    "TurnArchive",
    "TurnEventRow",
    "TurnRow",
    "WeatherCondition",
    "WeatherDaily",
]
