"""Bookings for the frontend's own screens: hold, read, confirm, cancel. Tenant-scoped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Path

from booking.api.auth import Client
from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem_responses
from booking.api.schemas import BookingCreate, BookingRead
from booking.api.state import AppState
from booking.domain import bookings
from booking.domain.booking_rules import REFERENCE_ALPHABET, booking_policy
from booking.domain.types import BookingView
from booking.errors import IdempotencyKeyRequired

router = APIRouter(prefix="/v1/bookings", tags=["bookings"], responses=problem_responses(401, 429))
# The domain checks references and passenger counts with codes of their own (422
# `invalid_reference`, `invalid_passengers`), so these rules are stated in the schema only.
REFERENCE = f"^[{REFERENCE_ALPHABET}{REFERENCE_ALPHABET.lower()}]{{6}}$"
Reference = Annotated[
    str,
    Path(
        min_length=1, max_length=16, examples=["K7QX3M"], json_schema_extra={"pattern": REFERENCE}
    ),
]
#: Keys are stored scoped, as "api:<key>", in `idempotency_keys.key`, a varchar(255): a longer key
#: is refused here (422) rather than by the database (a 500).
_SCOPE = "api:"
_KEY_CHARS = 255 - len(_SCOPE)
IdempotencyKey = Annotated[str | None, Header(max_length=_KEY_CHARS)]
#: A hold without the header is refused with 428 `idempotency_key_required`, not a 422: the
#: parameter is read as optional and documented as required.
_REQUIRED_IDEMPOTENCY_KEY = {
    "name": "idempotency-key",
    "in": "header",
    "required": True,
    "description": "Any unique string: a retried request with the same key books only once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": _KEY_CHARS},
}


ERRORS = problem_responses(404, 409, 422)


@router.post(
    "",
    status_code=201,
    responses={**ERRORS, **problem_responses(413, 428)},
    openapi_extra={"parameters": [_REQUIRED_IDEMPOTENCY_KEY]},
)
async def hold_booking(
    body: BookingCreate,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=_KEY_CHARS, include_in_schema=False)
    ] = None,
) -> BookingRead:
    """Hold seats (requires `Idempotency-Key`; the same key returns the same booking)."""
    if not idempotency_key:
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (any unique string) so a retried request never "
            "books twice."
        )
    async with state.sessionmaker() as session, session.begin():
        booking = await bookings.hold(
            session,
            tenant=client.tenant,
            flight_id=body.flight_id,
            cabin=body.cabin,
            passengers=[p.model_dump() for p in body.passengers],
            contact=body.contact.model_dump(),
            idempotency_key=f"{_SCOPE}{idempotency_key}",
            now=state.clock.now(),
            policy=booking_policy(state.settings),
            actor=f"api:{client.key_id or 'local'}",
        )
    return BookingRead.from_view(booking)


@router.get("/{reference}", responses=problem_responses(404, 422))
async def get_booking(reference: Reference, client: CurrentClient, state: StateDep) -> BookingRead:
    """A booking by its reference."""
    async with state.sessionmaker() as session:
        booking = await bookings.get(session, tenant=client.tenant, reference=reference)
    return BookingRead.from_view(booking)


@router.post("/{reference}/confirm", responses=ERRORS)
async def confirm_booking(
    reference: Reference,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> BookingRead:
    """Confirm a held booking (confirming twice returns the confirmed booking)."""
    return await _change(bookings.confirm, reference, client, state, idempotency_key)


@router.post("/{reference}/cancel", responses=ERRORS)
async def cancel_booking(
    reference: Reference,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> BookingRead:
    """Cancel a held or confirmed booking and release its seats (cancelling twice is a no-op)."""
    return await _change(bookings.cancel, reference, client, state, idempotency_key)


async def _change(
    operation: Callable[..., Awaitable[BookingView]],
    reference: str,
    client: Client,
    state: AppState,
    key: str | None,
) -> BookingRead:
    """Run ``bookings.confirm`` or ``bookings.cancel`` in the request's transaction."""
    async with state.sessionmaker() as session, session.begin():
        booking = await operation(
            session,
            tenant=client.tenant,
            reference=reference,
            now=state.clock.now(),
            actor=f"api:{client.key_id or 'local'}",
            idempotency_key=f"{_SCOPE}{key}" if key else None,
        )
    return BookingRead.from_view(booking)
