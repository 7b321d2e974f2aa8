"""Bookings for the frontend's own screens: hold, read, confirm, cancel. Tenant-scoped."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, ConfigDict, Field

from booking.agent.factory import booking_policy
from booking.api.deps import CurrentClient, StateDep
from booking.domain import bookings
from booking.errors import IdempotencyKeyRequired

router = APIRouter(prefix="/v1/bookings", tags=["bookings"])
Reference = Annotated[str, Path(min_length=1, max_length=16)]
IdempotencyKey = Annotated[str | None, Header(max_length=255)]


class PassengerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(min_length=1, max_length=120)
    date_of_birth: str | None = Field(default=None, max_length=10)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flight_id: int = Field(ge=1, le=2**62)
    cabin: Literal["economy", "business"] = "economy"
    # The 1-9 rule is the domain's (`invalid_passengers`); this only bounds the body.
    passengers: list[PassengerIn] = Field(max_length=50)
    contact: ContactIn


ERRORS: dict[int | str, dict[str, Any]] = {404: {}, 409: {}, 422: {}}


@router.post("", status_code=201, responses={**ERRORS, 428: {}})
async def hold_booking(
    body: BookingCreate,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Hold seats (requires `Idempotency-Key`; the same key returns the same booking)."""
    if not idempotency_key:
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header (any unique string) so a retried request never "
            "books twice."
        )
    async with state.sessionmaker() as session, session.begin():
        return await bookings.hold(
            session,
            tenant=client.tenant,
            flight_id=body.flight_id,
            cabin=body.cabin,
            passengers=[p.model_dump() for p in body.passengers],
            contact=body.contact.model_dump(),
            idempotency_key=f"api:{idempotency_key}",
            now=state.clock.now(),
            policy=booking_policy(state.settings),
            actor=f"api:{client.key_id or 'local'}",
        )


@router.get("/{reference}", responses={404: {}, 422: {}})
async def get_booking(
    reference: Reference, client: CurrentClient, state: StateDep
) -> dict[str, Any]:
    """A booking by its reference."""
    async with state.sessionmaker() as session:
        return await bookings.get(session, tenant=client.tenant, reference=reference)


@router.post("/{reference}/confirm", responses=ERRORS)
async def confirm_booking(
    reference: Reference,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Confirm a held booking (confirming twice returns the confirmed booking)."""
    async with state.sessionmaker() as session, session.begin():
        return await bookings.confirm(
            session,
            tenant=client.tenant,
            reference=reference,
            now=state.clock.now(),
            actor=f"api:{client.key_id or 'local'}",
            idempotency_key=f"api:{idempotency_key}" if idempotency_key else None,
        )


@router.post("/{reference}/cancel", responses=ERRORS)
async def cancel_booking(
    reference: Reference,
    client: CurrentClient,
    state: StateDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Cancel a held or confirmed booking and release its seats (cancelling twice is a no-op)."""
    async with state.sessionmaker() as session, session.begin():
        return await bookings.cancel(
            session,
            tenant=client.tenant,
            reference=reference,
            now=state.clock.now(),
            actor=f"api:{client.key_id or 'local'}",
            idempotency_key=f"api:{idempotency_key}" if idempotency_key else None,
        )
