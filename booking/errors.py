"""Errors that cross layers, each with a stable machine ``code`` and an HTTP status.

The tree::

    BookingError                      500 internal_error
    ├── ValidationFailed              422 validation_failed
    │   ├── InvalidDate               422 invalid_date
    │   │   ├── DateInPast            422 date_in_past
    │   │   └── DateBeyondHorizon     422 date_beyond_horizon
    │   ├── SameOriginDestination     422 same_origin_destination
    │   ├── InvalidPassengers         422 invalid_passengers
    │   ├── UnknownCabin              422 unknown_cabin
    │   ├── UnknownAirline            422 unknown_airline
    │   └── InvalidSort               422 invalid_sort
    ├── PlaceError                    422 place_error
    │   ├── UnknownPlace              422 unknown_place
    │   └── AmbiguousPlace            422 ambiguous_place
    ├── NotFound                      404 not_found
    └── ServiceUnavailable            503 service_unavailable
        └── DatabaseUnavailable       503 database_unavailable

Messages are written for the traveller and the model alike: they say what was wrong and what to do.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BookingError(Exception):
    """Base of every error the service raises on purpose."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data: what a tool result or problem document carries."""
        return {"code": self.code, "message": self.message, **self.details}


class ValidationFailed(BookingError):
    code = "validation_failed"
    status = 422


class InvalidDate(ValidationFailed):
    code = "invalid_date"


class DateInPast(InvalidDate):
    code = "date_in_past"


class DateBeyondHorizon(InvalidDate):
    code = "date_beyond_horizon"


class SameOriginDestination(ValidationFailed):
    code = "same_origin_destination"


class InvalidPassengers(ValidationFailed):
    code = "invalid_passengers"


class UnknownCabin(ValidationFailed):
    code = "unknown_cabin"


class UnknownAirline(ValidationFailed):
    code = "unknown_airline"


class InvalidSort(ValidationFailed):
    code = "invalid_sort"


class PlaceError(BookingError):
    code = "place_error"
    status = 422


class UnknownPlace(PlaceError):
    code = "unknown_place"


class AmbiguousPlace(PlaceError):
    code = "ambiguous_place"


class NotFound(BookingError):
    code = "not_found"
    status = 404


class ServiceUnavailable(BookingError):
    code = "service_unavailable"
    status = 503


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
