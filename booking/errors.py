"""Errors that cross layers, each with a stable machine ``code`` and an HTTP status.

The tree::

    BookingError                      500 internal_error
    ├── ValidationFailed              422 validation_failed
    │   ├── InvalidDate               422 invalid_date
    │   │   ├── DateInPast            422 date_in_past
    │   │   └── DateBeyondHorizon     422 date_beyond_horizon
    │   ├── SameOriginDestination     422 same_origin_destination
    │   │   └── SamePlace             422 same_place
    │   ├── InvalidPassengers         422 invalid_passengers
    │   ├── InvalidContact            422 invalid_contact
    │   ├── InvalidReference          422 invalid_reference
    │   ├── IdempotencyKeyReused      422 idempotency_key_reused
    │   ├── UnknownCabin              422 unknown_cabin
    │   ├── UnknownAirline            422 unknown_airline
    │   ├── InvalidSort               422 invalid_sort
    │   └── MessageTooLong            422 message_too_long
    ├── PlaceError                    422 place_error
    │   ├── UnknownPlace              422 unknown_place
    │   └── AmbiguousPlace            422 ambiguous_place
    ├── NotFound                      404 not_found
    │   ├── FlightNotFound            404 flight_not_found
    │   ├── BookingNotFound           404 booking_not_found
    │   └── ApprovalNotFound          404 approval_not_found
    ├── Conflict                      409 conflict
    │   ├── SoldOut                   409 sold_out
    │   ├── FareChanged               409 fare_changed
    │   ├── BookingClosed             409 booking_closed
    │   ├── HoldExpired               409 hold_expired
    │   ├── BookingNotConfirmable     409 booking_not_confirmable
    │   ├── BookingNotCancellable     409 booking_not_cancellable
    │   ├── ApprovalExpired           409 approval_expired
    │   ├── ApprovalDecided           409 approval_decided
    │   ├── ApprovalMismatch          409 approval_mismatch
    │   ├── ConversationExists        409 conversation_exists
    │   └── TurnRunning               409 turn_running
    ├── Unauthorized                  401 unauthorized
    ├── OriginNotAllowed              403 origin_not_allowed
    ├── RateLimited                   429 rate_limited
    ├── IdempotencyKeyRequired        428 idempotency_key_required
    └── ServiceUnavailable            503 service_unavailable
        ├── DatabaseUnavailable       503 database_unavailable
        ├── ServerBusy                503 server_busy
        └── ShuttingDown              503 shutting_down

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


class SamePlace(SameOriginDestination):
    """Two different places served by the same airport (Hội An and Đà Nẵng both fly from DAD):
    no flight connects them."""

    code = "same_place"


class InvalidPassengers(ValidationFailed):
    code = "invalid_passengers"


class InvalidContact(ValidationFailed):
    code = "invalid_contact"


class InvalidReference(ValidationFailed):
    code = "invalid_reference"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"


class MessageTooLong(ValidationFailed):
    code = "message_too_long"


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


class FlightNotFound(NotFound):
    code = "flight_not_found"


class BookingNotFound(NotFound):
    code = "booking_not_found"


class ApprovalNotFound(NotFound):
    code = "approval_not_found"


class Conflict(BookingError):
    code = "conflict"
    status = 409


class SoldOut(Conflict):
    code = "sold_out"


class FareChanged(Conflict):
    code = "fare_changed"


class BookingClosed(Conflict):
    code = "booking_closed"


class HoldExpired(Conflict):
    code = "hold_expired"


class BookingNotConfirmable(Conflict):
    code = "booking_not_confirmable"


class BookingNotCancellable(Conflict):
    code = "booking_not_cancellable"


class ApprovalExpired(Conflict):
    code = "approval_expired"


class ApprovalDecided(Conflict):
    code = "approval_decided"


class ApprovalMismatch(Conflict):
    code = "approval_mismatch"


class ConversationExists(Conflict):
    code = "conversation_exists"


class TurnRunning(Conflict):
    """A reply is still being written (or stored) in the conversation."""

    code = "turn_running"


class Unauthorized(BookingError):
    code = "unauthorized"
    status = 401


class OriginNotAllowed(BookingError):
    """A browser page of an origin the service does not allow (``BOOKING_CORS_ORIGINS``), or a
    request naming a host that is not this machine while auth is off: what a DNS-rebinding page
    sends. MCP requires servers to refuse it."""

    code = "origin_not_allowed"
    status = 403


class RateLimited(BookingError):
    code = "rate_limited"
    status = 429


class IdempotencyKeyRequired(BookingError):
    code = "idempotency_key_required"
    status = 428


class ServiceUnavailable(BookingError):
    code = "service_unavailable"
    status = 503


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"


class ServerBusy(ServiceUnavailable):
    """Every turn slot of this process is taken."""

    code = "server_busy"


class ShuttingDown(ServiceUnavailable):
    code = "shutting_down"
