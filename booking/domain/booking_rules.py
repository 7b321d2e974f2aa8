"""The rules of a booking that need no database: its policy, references, cabins, the cut-off
before departure, enough seats, and how an idempotent request is recognised. Pure, no I/O.

The operations that apply them to stored bookings are in :mod:`booking.domain.bookings`; the
rules about the people on a booking are in :mod:`booking.domain.passengers`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from booking.domain.types import Cabin
from booking.errors import BookingClosed, InvalidReference, SoldOut, UnknownCabin
from booking.settings import Settings

#: No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read over the phone is never misheard.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CABINS: tuple[Cabin, ...] = get_args(Cabin)


@dataclass(frozen=True, slots=True)
class Policy:
    hold_ttl: timedelta = timedelta(minutes=15)
    cutoff: timedelta = timedelta(hours=2)
    """No booking closer than this to departure."""


def booking_policy(settings: Settings) -> Policy:
    """The policy the settings configure (``BOOKING_HOLD_TTL_S``, ``BOOKING_BOOKING_CUTOFF_S``)."""
    return Policy(
        hold_ttl=timedelta(seconds=settings.hold_ttl_s),
        cutoff=timedelta(seconds=settings.booking_cutoff_s),
    )


def normalize_reference(value: str) -> str:
    reference = value.strip().upper()
    if len(reference) != 6 or any(c not in REFERENCE_ALPHABET for c in reference):
        raise InvalidReference(
            f"'{value}' is not a booking reference: references are 6 characters "
            f"from {REFERENCE_ALPHABET}.",
            reference=value,
        )
    return reference


def check_cabin(cabin: str) -> Cabin:
    """``cabin`` as a :data:`Cabin`, or :class:`UnknownCabin`."""
    for known in CABINS:
        if cabin == known:
            return known
    raise UnknownCabin(f"Unknown cabin '{cabin}': economy or business.", cabin=cabin)


def check_bookable(
    *,
    flight_id: int,
    cabin: str,
    departs_at: datetime,
    seats_left: int,
    needed: int,
    now: datetime,
    policy: Policy,
) -> None:
    """Refuse a hold too close to departure (:class:`BookingClosed`) or without ``needed``
    seats left in the cabin (:class:`SoldOut`)."""
    if departs_at - policy.cutoff <= now:
        raise BookingClosed(
            "This flight departs too soon to book (bookings close "
            f"{policy.cutoff.total_seconds() / 3600:g} h before departure).",
            flight_id=flight_id,
        )
    if seats_left < needed:
        raise sold_out(flight_id=flight_id, cabin=cabin, seats_left=seats_left, needed=needed)


def sold_out(*, flight_id: int, cabin: str, seats_left: int, needed: int) -> SoldOut:
    """The refusal of a hold for ``needed`` seats when only ``seats_left`` are."""
    return SoldOut(
        f"Only {seats_left} {cabin} seat(s) left on this flight; {needed} needed."
        if seats_left
        else f"The {cabin} cabin of this flight is sold out.",
        flight_id=flight_id,
        cabin=cabin,
        seats_left=seats_left,
    )


def request_hash(operation: str, request: Mapping[str, Any]) -> str:
    """What an idempotency key is bound to: the operation and its validated request."""
    canonical = json.dumps({"op": operation, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
