"""Hold, confirm, cancel and expire bookings; no seat is ever sold twice.

Status machine (``book`` writes a booking ``confirmed`` at once, in one transaction)::

    (book) ─────────▶ confirmed
    held ──confirm──▶ confirmed ──cancel──▶ cancelled
      │ └──cancel──────────────────────────▶ cancelled
      └──(hold_expires_at passes)──────────▶ expired

A hold takes its seats at once (one conditional UPDATE of the fare row); ``expired`` and
``cancelled`` give them back. Every change is one transaction owned by the caller, with an audit
row. Side-effecting calls take an idempotency key: the same key and request return the first
result; the same key with another request is refused.

The rules are checked here, not in a prompt: 1-9 passengers with plausible full names, no
passenger twice, a phone or an e-mail for the booker (:mod:`booking.domain.passengers`), the flight
not departed and not within the cut-off before departure, enough seats in the cabin
(:mod:`booking.domain.booking_rules`). Every operation returns typed values
(:class:`~booking.domain.types.BookingView`, built by :mod:`booking.domain.booking_views`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.booking_repository import BookingRepository, FareRow, NewHold

# Policy and REFERENCE_ALPHABET are re-exported: callers reach them through this module too.
from booking.domain.booking_rules import (
    REFERENCE_ALPHABET as REFERENCE_ALPHABET,
    Policy as Policy,
    check_bookable,
    check_cabin,
    normalize_reference,
    request_hash,
    sold_out,
)
from booking.domain.booking_views import (
    ChangeAction,
    ChangePreview,
    HoldPreview,
    booked_flight,
    booking_view,
    stored_view,
    view_from_json,
)
from booking.domain.passengers import (
    ContactInput,
    PassengerInput,
    validate_contact,
    validate_passengers,
)
from booking.domain.types import BookingStatus, BookingView
from booking.errors import (
    BookingNotCancellable,
    BookingNotConfirmable,
    BookingNotFound,
    FareChanged,
    FlightNotFound,
    HoldExpired,
    IdempotencyKeyReused,
    UnknownCabin,
)


async def hold(
    session: AsyncSession,
    *,
    tenant: str,
    flight_id: int,
    cabin: str,
    passengers: Sequence[PassengerInput],
    contact: ContactInput | None,
    idempotency_key: str,
    now: datetime,
    policy: Policy,
    actor: str,
    conversation_id: str | None = None,
) -> BookingView:
    """Hold seats for the passengers; the held booking."""
    return await _take_booking(
        session,
        "hold",
        tenant=tenant,
        flight_id=flight_id,
        cabin=cabin,
        passengers=passengers,
        contact=contact,
        idempotency_key=idempotency_key,
        now=now,
        policy=policy,
        actor=actor,
        conversation_id=conversation_id,
    )


async def book(
    session: AsyncSession,
    *,
    tenant: str,
    flight_id: int,
    cabin: str,
    passengers: Sequence[PassengerInput],
    contact: ContactInput | None,
    idempotency_key: str,
    now: datetime,
    policy: Policy,
    actor: str,
    conversation_id: str | None = None,
) -> BookingView:
    """Book in one decision: take the seats and confirm, in the caller's one transaction; the
    confirmed booking.

    The same rules and inventory guarantee as :func:`hold` (the seats are taken by the same
    conditional UPDATE, so concurrent bookings never oversell), the same idempotency (its key
    is bound to a ``book`` request: a replay returns the confirmed booking, a hold's key is
    refused). The booking is written ``confirmed`` at once, with one audit row ``NULL ->
    confirmed``: it is never seen held, so no sweeper can expire it in between.
    """
    return await _take_booking(
        session,
        "book",
        tenant=tenant,
        flight_id=flight_id,
        cabin=cabin,
        passengers=passengers,
        contact=contact,
        idempotency_key=idempotency_key,
        now=now,
        policy=policy,
        actor=actor,
        conversation_id=conversation_id,
    )


async def _take_booking(
    session: AsyncSession,
    operation: Literal["hold", "book"],
    *,
    tenant: str,
    flight_id: int,
    cabin: str,
    passengers: Sequence[PassengerInput],
    contact: ContactInput | None,
    idempotency_key: str,
    now: datetime,
    policy: Policy,
    actor: str,
    conversation_id: str | None,
) -> BookingView:
    """Take seats for the passengers: ``held`` (``hold``) or ``confirmed`` (``book``)."""
    status: BookingStatus = "held" if operation == "hold" else "confirmed"
    checked_cabin = check_cabin(cabin)
    people = validate_passengers(passengers, now.date())
    booker = validate_contact(contact)
    repo = BookingRepository(session)
    request = {
        "flight_id": flight_id,
        "cabin": checked_cabin,
        "passengers": [(p.full_name, p.date_of_birth) for p in people],
        "contact": [booker.email, booker.phone],
    }
    digest = request_hash(operation, request)
    claimed, fare = await repo.start_hold(
        tenant, idempotency_key, operation, digest, flight_id, checked_cabin
    )
    if not claimed:
        return await _replay(repo, tenant, idempotency_key, digest)
    fare = await _check_fare(repo, fare, flight_id, checked_cabin, len(people), now, policy)
    price = fare.price_vnd
    booking = NewHold(
        tenant=tenant,
        flight_id=flight_id,
        cabin=checked_cabin,
        passenger_count=len(people),
        price_per_passenger_vnd=price,
        total_vnd=price * len(people),
        contact_email=booker.email,
        contact_phone=booker.phone,
        conversation_id=conversation_id,
        hold_expires_at=now + policy.hold_ttl,
        created_at=now,
        status=status,
        confirmed_at=now if status == "confirmed" else None,
    )
    flight = booked_flight(fare.flight)
    names = [(p.full_name, p.date_of_birth) for p in people]
    for _ in range(10):  # 25^6 = 244M references: a second draw is already rare.
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        view = booking_view(
            reference=reference,
            status=status,
            flight=flight,
            cabin=checked_cabin,
            passengers=people,
            contact=booker,
            price_per_passenger_vnd=price,
            total_vnd=booking.total_vnd,
            hold_expires_at=booking.hold_expires_at,
            created_at=now,
            confirmed_at=booking.confirmed_at,
        )
        # The seats and the booking in one statement, last: the fare row stays locked only from
        # here to the commit, so concurrent holds on a hot flight queue for one statement, not
        # for the whole transaction. Raising rolls back everything this transaction wrote.
        taken_at, written = await repo.write_hold(
            reference,
            booking,
            names,
            actor=actor,
            key=idempotency_key,
            response=view.to_dict(),
        )
        if taken_at is None:
            left = await repo.seats_left(flight_id, checked_cabin)
            raise sold_out(
                flight_id=flight_id, cabin=checked_cabin, seats_left=left, needed=len(people)
            )
        if taken_at != price:
            raise FareChanged(
                f"The {checked_cabin} fare of this flight just changed to {taken_at:,} VND; "
                "search again.",
                flight_id=flight_id,
                price_vnd=taken_at,
            )
        if written:
            return view
        # The reference is taken: give the seats back (this transaction still holds the fare
        # row, so nobody else can take them in between) and draw another.
        await repo.release_seats(flight_id, checked_cabin, len(people))
    raise RuntimeError("no free booking reference after 10 draws")


async def _check_fare(
    repo: BookingRepository,
    fare: FareRow | None,
    flight_id: int,
    cabin: str,
    count: int,
    now: datetime,
    policy: Policy,
) -> FareRow:
    """``fare`` (the flight with the cabin's fare, None when missing), if ``count`` seats in
    ``cabin`` may be held now."""
    if fare is None:
        if await repo.flight_exists(flight_id):
            raise UnknownCabin(
                f"Flight {flight_id} has no {cabin} cabin.", flight_id=flight_id, cabin=cabin
            )
        raise FlightNotFound(f"There is no flight {flight_id}.", flight_id=flight_id)
    check_bookable(
        flight_id=flight_id,
        cabin=cabin,
        departs_at=fare.flight.departs_at,
        seats_left=fare.seats_left,
        needed=count,
        now=now,
        policy=policy,
    )
    return fare


async def _bookable_fare(
    repo: BookingRepository,
    flight_id: int,
    cabin: str,
    count: int,
    now: datetime,
    policy: Policy,
) -> FareRow:
    """The flight with its fare, if ``count`` seats in ``cabin`` may be held now."""
    fare = await repo.flight_view(flight_id, cabin)
    return await _check_fare(repo, fare, flight_id, cabin, count, now, policy)


async def preview_hold(
    session: AsyncSession,
    *,
    flight_id: int,
    cabin: str,
    passengers: Sequence[PassengerInput],
    contact: ContactInput | None,
    now: datetime,
    policy: Policy,
) -> HoldPreview:
    """What a hold would be (flight, times, passengers, total in VND), checked by the same rules
    but writing nothing: the summary a traveller approves.

    It is data only: the agent words it in the traveller's language
    (:func:`booking.domain.approval_text.approval_summary`), which writes every amount the
    one way each language writes money.
    """
    checked_cabin = check_cabin(cabin)
    people = validate_passengers(passengers, now.date())
    booker = validate_contact(contact)
    repo = BookingRepository(session)
    fare = await _bookable_fare(repo, flight_id, checked_cabin, len(people), now, policy)
    return HoldPreview(
        flight=booked_flight(fare.flight),
        seats_left=fare.seats_left,
        cabin=checked_cabin,
        passengers=tuple(people),
        contact=booker,
        price_per_passenger_vnd=fare.price_vnd,
        hold_ttl=policy.hold_ttl,
    )


@dataclass(frozen=True, slots=True)
class BookPreview:
    """What booking in one decision would be: a hold's preview, made final at once (no hold
    time: nothing is left to confirm)."""

    hold: HoldPreview

    @property
    def total_vnd(self) -> int:
        return self.hold.total_vnd

    def to_dict(self) -> dict[str, Any]:
        preview = {**self.hold.to_dict(), "action": "book"}
        preview.pop("hold_minutes", None)
        return preview


async def preview_book(
    session: AsyncSession,
    *,
    flight_id: int,
    cabin: str,
    passengers: Sequence[PassengerInput],
    contact: ContactInput | None,
    now: datetime,
    policy: Policy,
) -> BookPreview:
    """What :func:`book` would do, checked by the same rules as :func:`preview_hold`."""
    return BookPreview(
        await preview_hold(
            session,
            flight_id=flight_id,
            cabin=cabin,
            passengers=passengers,
            contact=contact,
            now=now,
            policy=policy,
        )
    )


async def preview_change(
    session: AsyncSession, *, tenant: str, reference: str, action: ChangeAction
) -> ChangePreview:
    """The booking a confirm or cancel would act on, refused early when it cannot; data only,
    worded for the traveller like :func:`preview_hold`."""
    booking = await get(session, tenant=tenant, reference=reference)
    status = booking.status
    if action == "confirm" and status not in ("held", "confirmed"):
        raise BookingNotConfirmable(
            f"Booking {booking.reference} is {status}; it cannot be confirmed.",
            reference=booking.reference,
            booking_status=status,
        )
    if action == "cancel" and status not in ("held", "confirmed", "cancelled"):
        raise BookingNotCancellable(
            f"Booking {booking.reference} is {status}; there is nothing to cancel.",
            reference=booking.reference,
            booking_status=status,
        )
    return ChangePreview(action, booking)


async def confirm(
    session: AsyncSession,
    *,
    tenant: str,
    reference: str,
    now: datetime,
    actor: str,
    idempotency_key: str | None = None,
) -> BookingView:
    """Confirm a held booking before its hold expires. Confirming a confirmed one is a no-op.

    One statement (:data:`booking.db.booking_statements.CONFIRM`): the booking locked, the
    change and its audit row, the key with the response; refused changes change nothing, and
    the error raised here rolls the key back."""
    reference = normalize_reference(reference)
    repo = BookingRepository(session)
    digest = _digest("confirm", reference, idempotency_key)
    change = await repo.confirm(tenant, reference, now, actor, idempotency_key, digest)
    if not change.claimed:
        return await _replay(repo, tenant, idempotency_key, digest)
    status = change.status
    if status is None:
        raise BookingNotFound(f"No booking {reference}.", reference=reference)
    if status == "held" and change.hold_expires_at is not None and change.hold_expires_at <= now:
        raise HoldExpired(
            f"The hold on {reference} expired at {change.hold_expires_at:%H:%M %Z}; "
            "its seats were released. Hold the flight again.",
            reference=reference,
        )
    if status not in ("held", "confirmed"):
        raise BookingNotConfirmable(
            f"Booking {reference} is {status}; it cannot be confirmed.",
            reference=reference,
            booking_status=status,
        )
    assert change.view is not None
    return view_from_json(change.view)


async def cancel(
    session: AsyncSession,
    *,
    tenant: str,
    reference: str,
    now: datetime,
    actor: str,
    idempotency_key: str | None = None,
) -> BookingView:
    """Cancel a held or confirmed booking and give its seats back. Cancelling twice is a no-op.

    One statement (:data:`booking.db.booking_statements.CANCEL`), as :func:`confirm`; the
    booking's row lock makes concurrent cancels (and the sweeper) give its seats back once."""
    reference = normalize_reference(reference)
    repo = BookingRepository(session)
    digest = _digest("cancel", reference, idempotency_key)
    change = await repo.cancel(tenant, reference, now, actor, idempotency_key, digest)
    if not change.claimed:
        return await _replay(repo, tenant, idempotency_key, digest)
    status = change.status
    if status is None:
        raise BookingNotFound(f"No booking {reference}.", reference=reference)
    if status in ("held", "confirmed") and change.departed:
        raise BookingNotCancellable(
            f"Flight of booking {reference} has already departed.", reference=reference
        )
    if status not in ("held", "confirmed", "cancelled"):
        raise BookingNotCancellable(
            f"Booking {reference} is {status}; there is nothing to cancel.",
            reference=reference,
            booking_status=status,
        )
    assert change.view is not None
    return view_from_json(change.view)


async def get(session: AsyncSession, *, tenant: str, reference: str) -> BookingView:
    reference = normalize_reference(reference)
    repo = BookingRepository(session)
    if await repo.get(tenant, reference) is None:
        raise BookingNotFound(f"No booking {reference}.", reference=reference)
    return stored_view(*await repo.view_rows(reference))


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


def _digest(operation: str, reference: str, key: str | None) -> str | None:
    """What a confirm's or cancel's key is bound to (None without a key)."""
    return None if key is None else request_hash(operation, {"reference": reference})


async def _replay(
    repo: BookingRepository, tenant: str, key: str | None, digest: str | None
) -> BookingView:
    """The booking ``key`` returned when another request claimed it; refused when that was
    another request."""
    assert key is not None
    earlier = await repo.earlier(tenant, key)
    if earlier.request_hash != digest:
        raise IdempotencyKeyReused(
            f"Idempotency key '{key}' was already used for a different {earlier.operation} "
            "request; use a new key for a new request.",
            idempotency_key=key,
        )
    return view_from_json(earlier.response)
