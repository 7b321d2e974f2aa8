"""Booking results to the answer the user reads, in Vietnamese or English. Pure.

Every booking tool returns the booking as it now stands; the first line says what happened
(held, confirmed, cancelled) or, for ``get_booking``, what state it is in. A held booking ends
with how to confirm it, and when the hold runs out (in Vietnam time).

What a traveller approves before a hold, confirm or cancel is worded by
:mod:`booking.domain.approval_text`, whose labels these answers share.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from booking.domain.approval_text import (
    cabin_label,
    flight_times,
    people_count,
)
from booking.domain.wording import (
    format_day,
    format_moment,
    format_vnd,
    parse_moment,
)
from booking.i18n import format as i18n
from booking.offline_model.text import Language

_STATUS = {
    "vi": {
        "held": "đang giữ chỗ, chưa xuất vé",
        "confirmed": "đã xác nhận",
        "cancelled": "đã hủy",
        "expired": "đã hết hạn giữ chỗ",
    },
    "en": {
        "held": "held, not yet confirmed",
        "confirmed": "confirmed",
        "cancelled": "cancelled",
        "expired": "expired",
    },
}

CONFIRM_HINT = {
    "vi": "Trả lời 'xác nhận' để xuất vé, hoặc 'hủy' nếu bạn đổi ý.",
    "en": "Reply 'confirm' to confirm, or 'cancel' if you change your mind.",
}


def status_label(status: Any, language: Language) -> str:
    """A booking status in words ("đã xác nhận", "confirmed")."""
    return _STATUS[language].get(str(status), str(status))


def _flight_line(booking: Mapping[str, Any], language: Language) -> str:
    flight = booking.get("flight") if isinstance(booking.get("flight"), Mapping) else {}
    flight = flight or {}
    number = f"**{flight.get('flight_number', '?')}**"
    airline = flight.get("airline_name") or flight.get("airline_code") or ""
    route = f"{flight.get('origin', '?')} → {flight.get('destination', '?')}"
    departs = parse_moment(flight.get("departs_at"))
    parts = [f"{number} {airline}".strip(), route]
    if departs is not None:
        parts += [format_day(departs.date(), language), flight_times(flight)]
    parts.append(cabin_label(booking.get("cabin") or "economy", language))
    return "✈ " + " · ".join(parts)


def _born(value: Any, language: Language) -> str:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return i18n.calendar_date(day, language)


def _passengers(booking: Mapping[str, Any], language: Language) -> str | None:
    names: list[str] = []
    for passenger in booking.get("passengers") or []:
        if not isinstance(passenger, Mapping):
            continue
        name = str(passenger.get("full_name") or "?")
        born = passenger.get("date_of_birth")
        names.append(f"{name} ({_born(born, language)})" if born else name)
    if not names:
        return None
    if language == "vi":
        return "Hành khách: " + "; ".join(names)
    return ("Passengers: " if len(names) > 1 else "Passenger: ") + "; ".join(names)


def _contact(booking: Mapping[str, Any], language: Language) -> str | None:
    contact = booking.get("contact")
    if not isinstance(contact, Mapping):
        return None
    parts = [str(contact[k]) for k in ("phone", "email") if contact.get(k)]
    if not parts:
        return None
    return ("Liên hệ: " if language == "vi" else "Contact: ") + " · ".join(parts)


def _price(booking: Mapping[str, Any], language: Language) -> str | None:
    total = booking.get("total_vnd")
    if total is None:
        return None
    text = ("Tổng tiền: " if language == "vi" else "Total: ") + format_vnd(int(total), language)
    each = booking.get("price_per_passenger_vnd")
    if each is not None and people_count(booking) > 1:
        per = "/khách" if language == "vi" else " per passenger"
        text += f" ({format_vnd(int(each), language)}{per})"
    return text


def _details(booking: Mapping[str, Any], language: Language) -> list[str]:
    lines = [_flight_line(booking, language)]
    lines += [
        line
        for line in (
            _passengers(booking, language),
            _contact(booking, language),
            _price(booking, language),
        )
        if line
    ]
    return lines


def _headline(tool: str, booking: Mapping[str, Any], language: Language) -> str:
    reference = f"**{booking.get('reference', '?')}**"
    status = str(booking.get("status") or "")
    vi = language == "vi"
    several = people_count(booking) > 1
    if status == "held" and tool == "hold_booking":
        return (
            f"Đã giữ chỗ! Mã đặt chỗ: {reference} (chưa xuất vé)."
            if vi
            else f"{'Seats' if several else 'Seat'} held! "
            f"Booking reference: {reference} (not yet confirmed)."
        )
    if status == "confirmed" and tool == "book_flight":
        return (
            f"Đã đặt vé! Mã đặt chỗ: {reference} (đã xác nhận)."
            if vi
            else f"Booked! Booking reference: {reference} (confirmed)."
        )
    if status == "confirmed" and tool == "confirm_booking":
        return (
            f"Đã xác nhận đặt chỗ {reference}: vé của bạn đã được xuất."
            if vi
            else f"Booking {reference} is confirmed: your tickets are issued."
        )
    if status == "cancelled" and tool == "cancel_booking":
        return (
            f"Đã hủy đặt chỗ {reference}; các chỗ đã giữ được trả lại."
            if vi
            else f"Booking {reference} is cancelled and its "
            + ("seats have been released." if several else "seat has been released.")
        )
    label = status_label(status, language)
    return f"Đặt chỗ {reference}: {label}." if vi else f"Booking {reference}: {label}."


def booking_answer(
    tool: str, booking: Mapping[str, Any], language: Language, *, card: bool = True
) -> str:
    """The answer to a booking tool's result: what happened, what to do next, and the booking's
    details only when no card shows them (``card``: every booking result also travels as a
    ``data-booking`` part, which clients draw as the booking's card; the text does not repeat
    its flight, passengers and total)."""
    vi = language == "vi"
    status = str(booking.get("status") or "")
    seats = "The seats are" if people_count(booking) > 1 else "The seat is"
    lines = [_headline(tool, booking, language)]
    if card:
        contact = _contact(booking, language)
        if contact and status in ("held", "confirmed"):
            lines.append(contact)
    else:
        lines += _details(booking, language)
    if status == "held":
        expires = booking.get("hold_expires_at")
        if expires:
            when = format_moment(expires, language)
            lines.append(
                f"Chỗ được giữ đến {when}." if vi else f"{seats} held until {when} (Vietnam time)."
            )
        lines.append(CONFIRM_HINT[language])
    elif status == "expired":
        lines.append(
            "Chỗ đã được trả lại. Bạn muốn đặt lại thì chọn chuyến và mình giữ chỗ mới nhé."
            if vi
            else f"{seats.replace(' is', ' was').replace(' are', ' were')} released. "
            "Pick a flight again if you'd like a new hold."
        )
    elif status == "cancelled" and tool != "cancel_booking":
        lines.append(
            "Các chỗ của đặt chỗ này đã được trả lại."
            if vi
            else (
                "Its seats were released."
                if people_count(booking) > 1
                else "Its seat was released."
            )
        )
    return "\n".join(lines)
