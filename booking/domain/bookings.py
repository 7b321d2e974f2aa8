"""Hold, confirm, cancel and expire bookings; no seat is ever sold twice.

Status machine::

    held ──confirm──▶ confirmed ──cancel──▶ cancelled
      │ └──cancel──────────────────────────▶ cancelled
      └──(hold_expires_at passes)──────────▶ expired

A hold takes its seats at once (one conditional UPDATE of the fare row); ``expired`` and
``cancelled`` give them back. Every change is one transaction owned by the caller, with an audit
row. Side-effecting calls take an idempotency key: the same key and request return the first
result; the same key with another request is refused.

The rules are checked here, not in a prompt: 1-9 passengers with plausible full names, no
passenger twice, a phone or an e-mail for the booker, the flight not departed and not within the
cut-off before departure, enough seats in the cabin.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.booking_repository import BookingRepository
from booking.db.models import Booking
from booking.errors import (
    BookingClosed,
    BookingNotCancellable,
    BookingNotConfirmable,
    BookingNotFound,
    FareChanged,
    FlightNotFound,
    HoldExpired,
    IdempotencyKeyReused,
    InvalidContact,
    InvalidPassengers,
    InvalidReference,
    SoldOut,
    UnknownCabin,
)

#: No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read over the phone is never misheard.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
MAX_PASSENGERS = 9
#: The flight as a booking shows it.
FLIGHT_FIELDS = (
    *("flight_id", "flight_number", "airline_code", "airline_name", "origin", "destination"),
    *("departs_at", "arrives_at", "duration_minutes"),
)
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


@dataclass(frozen=True, slots=True)
class Policy:
    hold_ttl: timedelta = timedelta(minutes=15)
    cutoff: timedelta = timedelta(hours=2)
    """No booking closer than this to departure."""


@dataclass(frozen=True, slots=True)
class Passenger:
    full_name: str
    date_of_birth: date | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    email: str | None = None
    phone: str | None = None


# Validation (pure) -----------------------------------------------------------------------


def normalize_reference(value: str) -> str:
    reference = value.strip().upper()
    if len(reference) != 6 or any(c not in REFERENCE_ALPHABET for c in reference):
        raise InvalidReference(
            f"'{value}' is not a booking reference: references are 6 characters "
            f"from {REFERENCE_ALPHABET}.",
            reference=value,
        )
    return reference


def validate_passengers(
    raw: Sequence[Mapping[str, Any] | Passenger], today: date
) -> list[Passenger]:
    """Names as on the ID (two words at least, letters only), optional date of birth, no one twice."""
    if not 1 <= len(raw) <= MAX_PASSENGERS:
        raise InvalidPassengers(
            f"A booking has 1 to {MAX_PASSENGERS} passengers, not {len(raw)}.", count=len(raw)
        )
    out: list[Passenger] = []
    seen: set[tuple[str, date | None]] = set()
    for index, item in enumerate(raw, start=1):
        name_value = item.full_name if isinstance(item, Passenger) else item.get("full_name")
        dob_value = item.date_of_birth if isinstance(item, Passenger) else item.get("date_of_birth")
        # NFC: some keyboards type "ễ" as "e" + two combining marks, which are not letters.
        name = unicodedata.normalize("NFC", " ".join(str(name_value or "").split()))
        if not name:
            raise InvalidPassengers(f"Passenger {index} has no name.", passenger=index)
        if len(name) > 80 or len(name.split()) < 2 or not _NAME.match(name):
            raise InvalidPassengers(
                f"Passenger {index}: '{name}' does not look like a full name as written on an ID "
                "(family and given names, letters only).",
                passenger=index,
            )
        dob = _date_of_birth(dob_value, index, today)
        key = (_fold(name), dob)
        if key in seen:
            raise InvalidPassengers(
                f"Passenger {index}: {name} is already on this booking.", passenger=index
            )
        seen.add(key)
        out.append(Passenger(name, dob))
    return out


def validate_contact(raw: Mapping[str, Any] | Contact | None) -> Contact:
    if raw is None:
        raw = {}
    email_value = raw.email if isinstance(raw, Contact) else raw.get("email")
    phone_value = raw.phone if isinstance(raw, Contact) else raw.get("phone")
    email = str(email_value).strip() if email_value else None
    phone = re.sub(r"[\s.\-()]", "", str(phone_value)) if phone_value else None
    if email and not _EMAIL.match(email):
        raise InvalidContact(f"'{email}' is not an e-mail address.", field="email")
    if phone and not _PHONE.match(phone):
        raise InvalidContact(f"'{phone_value}' is not a phone number.", field="phone")
    if not email and not phone:
        raise InvalidContact("A phone number or an e-mail address of the booker is needed.")
    return Contact(email.lower() if email else None, phone)


def request_hash(operation: str, request: Mapping[str, Any]) -> str:
    canonical = json.dumps({"op": operation, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _date_of_birth(value: Any, index: int, today: date) -> date | None:
    if value in (None, ""):
        return None
    try:
        dob = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidPassengers(
            f"Passenger {index}: date of birth '{value}' is not a date (YYYY-MM-DD).",
            passenger=index,
        ) from None
    if dob > today or dob.year < today.year - 120:
        raise InvalidPassengers(
            f"Passenger {index}: date of birth {dob} is not plausible.", passenger=index
        )
    return dob


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# Operations (one transaction each, owned by the caller) ----------------------------------


async def hold(
    session: AsyncSession,
    *,
    tenant: str,
    flight_id: int,
    cabin: str,
    passengers: Sequence[Mapping[str, Any] | Passenger],
    contact: Mapping[str, Any] | Contact | None,
    idempotency_key: str,
    now: datetime,
    policy: Policy,
    actor: str,
    conversation_id: str | None = None,
) -> dict[str, Any]:
    """Hold seats for the passengers; the booking as plain data."""
    if cabin not in ("economy", "business"):
        raise UnknownCabin(f"Unknown cabin '{cabin}': economy or business.", cabin=cabin)
    people = validate_passengers(passengers, now.date())
    booker = validate_contact(contact)
    repo = BookingRepository(session)
    request = {
        "flight_id": flight_id,
        "cabin": cabin,
        "passengers": [(p.full_name, p.date_of_birth) for p in people],
        "contact": [booker.email, booker.phone],
    }
    earlier = await _claim(repo, tenant, idempotency_key, "hold", request)
    if earlier is not None:
        return earlier
    flight = await _bookable_flight(repo, flight_id, cabin, len(people), now, policy)
    price = int(flight["price_vnd"])
    booking = {
        "tenant": tenant,
        "flight_id": flight_id,
        "cabin": cabin,
        "passenger_count": len(people),
        "price_per_passenger_vnd": price,
        "total_vnd": price * len(people),
        "contact_email": booker.email,
        "contact_phone": booker.phone,
        "conversation_id": conversation_id,
        "hold_expires_at": now + policy.hold_ttl,
        "created_at": now,
    }
    for _ in range(10):  # 25^6 = 244M references: a second draw is already rare.
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        view = {
            "reference": reference,
            "status": "held",
            "flight": {key: flight[key] for key in FLIGHT_FIELDS},
            "cabin": cabin,
            "passengers": [_passenger(p.full_name, p.date_of_birth) for p in people],
            "contact": {"email": booker.email, "phone": booker.phone},
            "price_per_passenger_vnd": price,
            "total_vnd": price * len(people),
            "currency": "VND",
            "hold_expires_at": _iso(now + policy.hold_ttl),
            "created_at": _iso(now),
            "confirmed_at": None,
            "cancelled_at": None,
            "expired_at": None,
        }
        written = await repo.write_hold(
            {"reference": reference, **booking},
            [(p.full_name, p.date_of_birth) for p in people],
            actor=actor,
            key=idempotency_key,
            response=view,
        )
        if written:
            break
    else:
        raise RuntimeError("no free booking reference after 10 draws")
    # The seats last: the fare row stays locked only from here to the commit, so concurrent
    # holds on a hot flight queue for one statement, not for the whole transaction. If they are
    # gone, raising rolls the booking back with everything above.
    taken_at = await repo.take_seats(flight_id, cabin, len(people))
    if taken_at is None:
        left = await repo.seats_left(flight_id, cabin)
        raise SoldOut(
            f"Only {left} {cabin} seat(s) left on this flight; {len(people)} needed."
            if left
            else f"The {cabin} cabin of this flight is sold out.",
            flight_id=flight_id,
            cabin=cabin,
            seats_left=left,
        )
    if taken_at != price:
        raise FareChanged(
            f"The {cabin} fare of this flight just changed to {taken_at:,} VND; search again.",
            flight_id=flight_id,
            price_vnd=taken_at,
        )
    return view


async def _bookable_flight(
    repo: BookingRepository,
    flight_id: int,
    cabin: str,
    count: int,
    now: datetime,
    policy: Policy,
) -> dict[str, Any]:
    """The flight with its fare, if ``count`` seats in ``cabin`` may be held now."""
    flight = await repo.flight_view(flight_id, cabin)
    if flight is None:
        if await repo.flight_exists(flight_id):
            raise UnknownCabin(
                f"Flight {flight_id} has no {cabin} cabin.", flight_id=flight_id, cabin=cabin
            )
        raise FlightNotFound(f"There is no flight {flight_id}.", flight_id=flight_id)
    if flight["departs_utc"] - policy.cutoff <= now:
        raise BookingClosed(
            "This flight departs too soon to book (bookings close "
            f"{policy.cutoff.total_seconds() / 3600:g} h before departure).",
            flight_id=flight_id,
        )
    if flight["seats_left"] < count:
        raise SoldOut(
            f"Only {flight['seats_left']} {cabin} seat(s) left on this flight; {count} needed."
            if flight["seats_left"]
            else f"The {cabin} cabin of this flight is sold out.",
            flight_id=flight_id,
            cabin=cabin,
            seats_left=flight["seats_left"],
        )
    return flight


def _passenger(name: str, dob: date | None) -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": dob.isoformat() if dob else None}


async def preview_hold(
    session: AsyncSession,
    *,
    flight_id: int,
    cabin: str,
    passengers: Sequence[Mapping[str, Any] | Passenger],
    contact: Mapping[str, Any] | Contact | None,
    now: datetime,
    policy: Policy,
) -> dict[str, Any]:
    """What a hold would be (flight, times, passengers, total in VND), checked by the same rules
    but writing nothing: the summary a traveller approves.

    It is data only: the agent words it in the traveller's language
    (:func:`booking.offline_model.receipts.approval_summary`), which writes every amount the
    one way each language writes money.
    """
    if cabin not in ("economy", "business"):
        raise UnknownCabin(f"Unknown cabin '{cabin}': economy or business.", cabin=cabin)
    people = validate_passengers(passengers, now.date())
    booker = validate_contact(contact)
    repo = BookingRepository(session)
    flight = await _bookable_flight(repo, flight_id, cabin, len(people), now, policy)
    price = int(flight["price_vnd"])
    flight = {**{key: flight[key] for key in FLIGHT_FIELDS}, "seats_left": flight["seats_left"]}
    total = price * len(people)
    return {
        "action": "hold",
        "flight": flight,
        "cabin": cabin,
        "passengers": [
            {
                "full_name": p.full_name,
                "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
            }
            for p in people
        ],
        "contact": {"email": booker.email, "phone": booker.phone},
        "price_per_passenger_vnd": price,
        "total_vnd": total,
        "currency": "VND",
        "hold_minutes": policy.hold_ttl.total_seconds() / 60,
    }


async def preview_change(
    session: AsyncSession, *, tenant: str, reference: str, action: str
) -> dict[str, Any]:
    """The booking a confirm or cancel would act on, refused early when it cannot; data only,
    worded for the traveller like :func:`preview_hold`."""
    booking = await get(session, tenant=tenant, reference=reference)
    status = booking["status"]
    if action == "confirm" and status not in ("held", "confirmed"):
        raise BookingNotConfirmable(
            f"Booking {booking['reference']} is {status}; it cannot be confirmed.",
            reference=booking["reference"],
            booking_status=status,
        )
    if action == "cancel" and status not in ("held", "confirmed", "cancelled"):
        raise BookingNotCancellable(
            f"Booking {booking['reference']} is {status}; there is nothing to cancel.",
            reference=booking["reference"],
            booking_status=status,
        )
    return {"action": action, "booking": booking}


async def confirm(
    session: AsyncSession,
    *,
    tenant: str,
    reference: str,
    now: datetime,
    actor: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Confirm a held booking before its hold expires. Confirming a confirmed one is a no-op."""

    async def apply(repo: BookingRepository, booking: Booking) -> None:
        ref = booking.reference
        if booking.status == "held" and booking.hold_expires_at <= now:
            raise HoldExpired(
                f"The hold on {ref} expired at {booking.hold_expires_at:%H:%M %Z}; "
                "its seats were released. Hold the flight again.",
                reference=ref,
            )
        if booking.status == "held":
            await repo.set_status(ref, "confirmed", now)
            await repo.record(ref, "held", "confirmed", actor, now)
        elif booking.status != "confirmed":
            raise BookingNotConfirmable(
                f"Booking {ref} is {booking.status}; it cannot be confirmed.",
                reference=ref,
                booking_status=booking.status,
            )

    return await _change(session, "confirm", tenant, reference, idempotency_key, apply)


async def cancel(
    session: AsyncSession,
    *,
    tenant: str,
    reference: str,
    now: datetime,
    actor: str,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Cancel a held or confirmed booking and give its seats back. Cancelling twice is a no-op."""

    async def apply(repo: BookingRepository, booking: Booking) -> None:
        ref = booking.reference
        if booking.status in ("held", "confirmed"):
            previous = booking.status
            fare = await repo.fare(booking.flight_id, booking.cabin)
            if fare is not None and fare.departs_at <= now:
                raise BookingNotCancellable(
                    f"Flight of booking {ref} has already departed.", reference=ref
                )
            await repo.release_seats(booking.flight_id, booking.cabin, booking.passenger_count)
            await repo.set_status(ref, "cancelled", now)
            await repo.record(ref, previous, "cancelled", actor, now)
        elif booking.status != "cancelled":
            raise BookingNotCancellable(
                f"Booking {ref} is {booking.status}; there is nothing to cancel.",
                reference=ref,
                booking_status=booking.status,
            )

    return await _change(session, "cancel", tenant, reference, idempotency_key, apply)


async def _change(
    session: AsyncSession,
    operation: str,
    tenant: str,
    reference: str,
    idempotency_key: str | None,
    apply: Callable[[BookingRepository, Booking], Awaitable[None]],
) -> dict[str, Any]:
    """A status change of one booking: replay by key, lock the row, ``apply``, the new view."""
    reference = normalize_reference(reference)
    repo = BookingRepository(session)
    if idempotency_key is not None:
        earlier = await _claim(repo, tenant, idempotency_key, operation, {"reference": reference})
        if earlier is not None:
            return earlier
    booking = await repo.get(tenant, reference, lock=True)
    if booking is None:
        raise BookingNotFound(f"No booking {reference}.", reference=reference)
    await apply(repo, booking)
    view = await _view(repo, reference)
    if idempotency_key is not None:
        await repo.store_response(tenant, idempotency_key, view)
    return view


async def get(session: AsyncSession, *, tenant: str, reference: str) -> dict[str, Any]:
    reference = normalize_reference(reference)
    repo = BookingRepository(session)
    if await repo.get(tenant, reference) is None:
        raise BookingNotFound(f"No booking {reference}.", reference=reference)
    return await _view(repo, reference)


async def expire_holds(session: AsyncSession, now: datetime) -> int:
    """Expire every hold past its time (in batches); how many expired."""
    repo = BookingRepository(session)
    total = 0
    while True:
        expired = await repo.expire_due(now)
        total += expired
        if expired < 500:
            return total


async def inventory_drift(session: AsyncSession) -> list[dict[str, Any]]:
    """Fares whose booked-seat count differs from their live bookings; empty when all is well."""
    rows = await BookingRepository(session).inventory_drift()
    return [dict(row._mapping) for row in rows]


# Helpers ---------------------------------------------------------------------------------


async def _claim(
    repo: BookingRepository,
    tenant: str,
    key: str,
    operation: str,
    request: Mapping[str, Any],
) -> dict[str, Any] | None:
    digest = request_hash(operation, request)
    earlier = await repo.claim_key(tenant, key, operation, digest)
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency key '{key}' was already used for a different {earlier.operation} "
            "request; use a new key for a new request.",
            idempotency_key=key,
        )
    return dict(earlier.response)


async def _view(repo: BookingRepository, reference: str) -> dict[str, Any]:
    row, passengers = await repo.view_rows(reference)
    booking = row.Booking
    departs = row.departs_at.astimezone(ZoneInfo(row.origin_tz))
    arrives = row.arrives_at.astimezone(ZoneInfo(row.destination_tz))
    return {
        "reference": booking.reference,
        "status": booking.status,
        "flight": {
            "flight_id": booking.flight_id,
            "flight_number": row.flight_number,
            "airline_code": row.airline_code,
            "airline_name": row.airline_name,
            "origin": row.origin,
            "destination": row.destination,
            "departs_at": departs.isoformat(),
            "arrives_at": arrives.isoformat(),
            "duration_minutes": int((row.arrives_at - row.departs_at).total_seconds() // 60),
        },
        "cabin": booking.cabin,
        "passengers": [
            {
                "full_name": p.full_name,
                "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
            }
            for p in passengers
        ],
        "contact": {"email": booking.contact_email, "phone": booking.contact_phone},
        "price_per_passenger_vnd": booking.price_per_passenger_vnd,
        "total_vnd": booking.total_vnd,
        "currency": "VND",
        "hold_expires_at": _iso(booking.hold_expires_at) if booking.status == "held" else None,
        "created_at": _iso(booking.created_at),
        "confirmed_at": _iso(booking.confirmed_at),
        "cancelled_at": _iso(booking.cancelled_at),
        "expired_at": _iso(booking.expired_at),
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat()
