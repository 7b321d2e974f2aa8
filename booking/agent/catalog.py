"""The tools the model can call: thin typed wrappers over the domain layer.

Docstrings are written for the model: they are the tool descriptions it reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from booking.domain import bookings, conversations, flights, weather
from booking.domain.approval_text import approval_summary
from booking.domain.book_text import book_summary
from booking.domain.search_request import SearchRequest
from booking.domain.types import BookingView, Cabin
from booking.errors import BookingError


async def search_flights(ctx: ToolContext, request: SearchRequest) -> dict[str, Any]:
    """Search scheduled flights with seats on one route and day; cheapest first by default.

    Places without an airport are accepted (Sa Pa, Hội An, Hạ Long, Mũi Né, any province
    capital): the search uses the airport that serves the place, and that end of the result
    carries ``via`` (the airport, its city and the road distance and hours to the place); tell
    the traveller about the road leg. Two places served by the same airport (Hội An and Đà Nẵng)
    are refused with ``same_place``: there is no flight between them.

    Returns the resolved airports and date, the matching flights (flight id and number, airline,
    local departure and arrival times, duration, price per passenger and total in VND, seats
    left) and, when nothing matches, the reason and the nearest dates that have seats.
    """
    async with ctx.sessionmaker() as session:
        result = await flights.search_flights(
            session, ctx.places, ctx.today(), request, max_days_ahead=ctx.max_days_ahead
        )
    return result.to_dict()


async def get_weather(ctx: ToolContext, city: str, date: str | None = None) -> dict[str, Any]:
    """Weather for a place on a day: condition (Vietnamese and English), temperatures in °C,
    humidity, chance of rain and wind. Places without an airport are accepted (Sa Pa, Tam Đảo,
    Hội An) and answered for the place itself, not for the nearest airport's city. Beyond the
    forecast horizon it returns the month's usual weather, marked ``is_climate_normal``.

    Args:
        city: City, place or airport, e.g. "Đà Nẵng", "Da Nang", "DAD", "Sa Pa".
        date: Day, YYYY-MM-DD; today when omitted.
    """
    async with ctx.sessionmaker() as session:
        forecast = await weather.get_weather(session, ctx.places, ctx.today(), city=city, date=date)
    return forecast.to_dict()


class PassengerArg(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(description="Full name exactly as on the passenger's ID or passport.")
    date_of_birth: str | None = Field(
        default=None, description="YYYY-MM-DD, if the traveller gave it."
    )


class ContactArg(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, description="The booker's e-mail address.")
    phone: str | None = Field(default=None, description="The booker's phone number.")


async def book_flight(
    ctx: ToolContext,
    flight_id: int,
    passengers: list[PassengerArg],
    contact: ContactArg,
    cabin: Cabin = "economy",
) -> dict[str, Any]:
    """Book a flight for the named passengers in one step; the traveller is asked to approve
    first (flight, times, passengers and total), and the booking is confirmed at once.

    This is the tool for "book", "đặt vé", "lấy chuyến này": the result's status is
    ``confirmed``. Use ``hold_booking`` instead only when the traveller asks to hold seats
    without paying yet ("giữ chỗ", "hold", "chưa trả tiền"). Use a ``flight_id`` from
    ``search_flights``. Never invent names or contact details: ask for any that are missing.

    Args:
        flight_id: The flight's id from search_flights results.
        passengers: 1 to 9 passengers, each with the full name as on their ID.
        contact: The booker's phone number or e-mail (at least one).
        cabin: Cabin class.
    """
    return await _take_seats(ctx, bookings.book, flight_id, passengers, contact, cabin)


async def _take_seats(
    ctx: ToolContext,
    take: Callable[..., Awaitable[BookingView]],
    flight_id: int,
    passengers: list[PassengerArg],
    contact: ContactArg,
    cabin: Cabin,
) -> dict[str, Any]:
    """Hold or book (``take``) in one transaction, on behalf of the conversation's agent."""
    tenant = _tenant(ctx)
    async with ctx.sessionmaker() as session, session.begin():
        conversation = await _public_conversation_id(ctx, session)
        booking = await take(
            session,
            tenant=tenant,
            flight_id=flight_id,
            cabin=cabin,
            passengers=[p.model_dump() for p in passengers],
            contact=contact.model_dump(),
            idempotency_key=_key(ctx),
            now=ctx.clock.now(),
            policy=ctx.booking_policy,
            actor=f"agent:{conversation}",
            conversation_id=conversation,
        )
    return {"booking": booking.to_dict()}


async def hold_booking(
    ctx: ToolContext,
    flight_id: int,
    passengers: list[PassengerArg],
    contact: ContactArg,
    cabin: Cabin = "economy",
) -> dict[str, Any]:
    """Hold seats on a flight for the named passengers, without booking them yet; the traveller
    is asked to approve first.

    Only when the traveller asks to hold ("giữ chỗ", "hold", "chưa trả tiền"); to book, use
    ``book_flight``. The seats are held for a limited time (see ``hold_expires_at``) at the
    price shown; the booking is only final after ``confirm_booking``. Use a ``flight_id`` from
    ``search_flights``.
    Never invent names or contact details: ask the traveller for any that are missing.

    Args:
        flight_id: The flight's id from search_flights results.
        passengers: 1 to 9 passengers, each with the full name as on their ID.
        contact: The booker's phone number or e-mail (at least one).
        cabin: Cabin class.
    """
    return await _take_seats(ctx, bookings.hold, flight_id, passengers, contact, cabin)


async def confirm_booking(ctx: ToolContext, reference: str) -> dict[str, Any]:
    """Confirm a held booking so it is final; the traveller is asked to approve first.

    Args:
        reference: The 6-character booking reference, e.g. "K7QX3M".
    """
    return await _change(ctx, bookings.confirm, reference)


async def cancel_booking(ctx: ToolContext, reference: str) -> dict[str, Any]:
    """Cancel a held or confirmed booking and release its seats; the traveller is asked to
    approve first.

    Args:
        reference: The 6-character booking reference.
    """
    return await _change(ctx, bookings.cancel, reference)


async def _change(
    ctx: ToolContext, operation: Callable[..., Awaitable[BookingView]], reference: str
) -> dict[str, Any]:
    """Run ``bookings.confirm`` or ``bookings.cancel`` in a transaction of its own."""
    tenant = _tenant(ctx)
    async with ctx.sessionmaker() as session, session.begin():
        conversation = await _public_conversation_id(ctx, session)
        booking = await operation(
            session,
            tenant=tenant,
            reference=reference,
            now=ctx.clock.now(),
            actor=f"agent:{conversation}",
            idempotency_key=_key(ctx),
        )
    return {"booking": booking.to_dict()}


async def get_booking(ctx: ToolContext, reference: str) -> dict[str, Any]:
    """Look up a booking: status, flight, passengers, price and, while held, when the hold ends.

    Args:
        reference: The 6-character booking reference.
    """
    tenant = _tenant(ctx)
    async with ctx.sessionmaker() as session:
        booking = await bookings.get(session, tenant=tenant, reference=reference)
    return {"booking": booking.to_dict()}


def _worded(preview: dict[str, Any]) -> dict[str, Any]:
    """The preview with its words in both languages: ``text`` (English) and ``text_vi``.

    The approval card shows the one in the conversation's language; ``text`` also becomes the
    approval request's reason.
    """
    return {
        **preview,
        "text": approval_summary(preview, "en"),
        "text_vi": approval_summary(preview, "vi"),
    }


async def describe_hold(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    async with ctx.sessionmaker() as session:
        preview = await bookings.preview_hold(
            session,
            flight_id=arguments["flight_id"],
            cabin=arguments.get("cabin") or "economy",
            passengers=arguments["passengers"],
            contact=arguments["contact"],
            now=ctx.clock.now(),
            policy=ctx.booking_policy,
        )
    return _worded(preview.to_dict())


async def describe_book(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    async with ctx.sessionmaker() as session:
        preview = await bookings.preview_book(
            session,
            flight_id=arguments["flight_id"],
            cabin=arguments.get("cabin") or "economy",
            passengers=arguments["passengers"],
            contact=arguments["contact"],
            now=ctx.clock.now(),
            policy=ctx.booking_policy,
        )
    summary = preview.to_dict()
    return {
        **summary,
        "text": book_summary(summary, "en"),
        "text_vi": book_summary(summary, "vi"),
    }


async def describe_confirm(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    async with ctx.sessionmaker() as session:
        preview = await bookings.preview_change(
            session, tenant=_tenant(ctx), reference=arguments["reference"], action="confirm"
        )
    return _worded(preview.to_dict())


async def describe_cancel(ctx: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    async with ctx.sessionmaker() as session:
        preview = await bookings.preview_change(
            session, tenant=_tenant(ctx), reference=arguments["reference"], action="cancel"
        )
    return _worded(preview.to_dict())


def _tenant(ctx: ToolContext) -> str:
    if ctx.tenant is None:
        raise BookingError("Bookings are not available in this context (no account).")
    return ctx.tenant


async def _public_conversation_id(ctx: ToolContext, session: AsyncSession) -> str | None:
    """The id the tenant knows the conversation by: what a booking and its history name (the
    internal id means nothing once the conversation is deleted, and bookings outlive it). A
    conversation with no row (the CLI's) is named by the id it has."""
    if ctx.conversation_id is None:
        return None
    public_id = await conversations.public_id_of(session, ctx.conversation_id)
    return public_id or ctx.conversation_id


def _key(ctx: ToolContext) -> str:
    """The tool call id, scoped to the conversation: a retried call never books twice. Scoped by
    the internal id, which no later conversation reuses: a conversation deleted and created
    again under the same public id never gets the old one's bookings back for a model that
    numbers its calls the same way."""
    if ctx.call_id is None:
        raise BookingError("A side-effecting tool needs its call id as idempotency key.")
    return f"agent:{ctx.conversation_id}:{ctx.call_id}"


def default_registry(timeout_s: float = 10.0) -> ToolRegistry:
    """The registry of every tool the service offers; ``timeout_s`` bounds each call."""
    registry = ToolRegistry()
    registry.tool(read_only=True, timeout_s=timeout_s)(search_flights)
    registry.tool(read_only=True, timeout_s=timeout_s)(get_weather)
    for fn, describe in (
        (book_flight, describe_book),
        (hold_booking, describe_hold),
        (confirm_booking, describe_confirm),
        (cancel_booking, describe_cancel),
    ):
        registry.tool(
            read_only=False, requires_approval=True, timeout_s=timeout_s, describe=describe
        )(fn)
    registry.tool(read_only=True, timeout_s=timeout_s)(get_booking)
    return registry
