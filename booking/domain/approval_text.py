"""The words of what a traveller approves before a hold, confirm or cancel runs, in vi and en.

The booking service previews an action as data (flight, cabin, passengers, totals); this module
writes it as one paragraph in the conversation's language, and the approval request carries
both, so the chat page and any client show the traveller their own language. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.wording import (
    Language,
    clock,
    count,
    format_day,
    format_number,
    format_vnd,
    parse_moment,
)


def cabin_label(cabin: Any, language: Language) -> str:
    if language == "vi":
        return "hạng thương gia" if cabin == "business" else "hạng phổ thông"
    return "business class" if cabin == "business" else "economy"


def people_count(booking: Mapping[str, Any]) -> int:
    """How many people the booking is for."""
    return len([p for p in booking.get("passengers") or [] if isinstance(p, Mapping)])


def departure_label(flight: Mapping[str, Any], language: Language) -> str:
    """ "06:40 Thứ Hai, 15/06/2026" / "06:40 on Monday 15 June 2026", at the airport's clock."""
    departs = parse_moment(flight.get("departs_at"))
    if departs is None:
        return ""
    day = format_day(departs.date(), language)
    return f"{departs:%H:%M} {day}" if language == "vi" else f"{departs:%H:%M} on {day}"


def flight_times(flight: Mapping[str, Any]) -> str:
    """ "06:40–08:50" at the airports' clocks, "+1" when it lands a day later; "" without a
    departure."""
    departs = parse_moment(flight.get("departs_at"))
    if departs is None:
        return ""
    times = clock(flight.get("departs_at"))
    arrives = parse_moment(flight.get("arrives_at"))
    if arrives is not None:
        days = (arrives.date() - departs.date()).days
        times += f"–{arrives:%H:%M}" + (f" (+{days})" if days > 0 else "")
    return times


def trip_label(flight: Mapping[str, Any], language: Language) -> str:
    """ "VJ123 VietJet Air, SGN → HAN, 06:40 Thứ Hai, 15/06/2026"."""
    airline = flight.get("airline_name") or flight.get("airline_code") or ""
    parts = [
        f"{flight.get('flight_number', '?')} {airline}".strip(),
        f"{flight.get('origin', '?')} → {flight.get('destination', '?')}",
        departure_label(flight, language),
    ]
    return ", ".join(part for part in parts if part)


def party_label(people: int, language: Language) -> str:
    return f"{people} hành khách" if language == "vi" else count(people, "passenger", language)


def approval_summary(summary: Mapping[str, Any], language: Language) -> str:
    """What the traveller approves, in one paragraph of their language.

    Args:
        summary: the preview of a hold (``{"action": "hold", "flight", "cabin", "passengers",
            "total_vnd", ...}``) or of a confirm / cancel (``{"action", "booking"}``).
        language: the language to write in.
    """
    vi = language == "vi"
    action = str(summary.get("action") or "")
    if action in ("confirm", "cancel"):
        booking = summary.get("booking") if isinstance(summary.get("booking"), Mapping) else {}
        booking = booking or {}
        flight = booking.get("flight") if isinstance(booking.get("flight"), Mapping) else {}
        reference = booking.get("reference", "?")
        total = format_vnd(int(booking.get("total_vnd") or 0), language)
        details = f"{trip_label(flight or {}, language)}, {party_label(people_count(booking), language)}, {total}"
        if vi:
            verb = "Xác nhận" if action == "confirm" else "Hủy"
            return f"{verb} đặt chỗ {reference}: {details}."
        verb = "Confirm" if action == "confirm" else "Cancel"
        return f"{verb} booking {reference}: {details}."
    flight = summary.get("flight") if isinstance(summary.get("flight"), Mapping) else {}
    people = people_count(summary)
    names = ", ".join(
        str(p.get("full_name") or "?")
        for p in summary.get("passengers") or []
        if isinstance(p, Mapping)
    )
    total = format_vnd(int(summary.get("total_vnd") or 0), language)
    each = summary.get("price_per_passenger_vnd")
    minutes = summary.get("hold_minutes")
    trip = f"{trip_label(flight or {}, language)}, {cabin_label(summary.get('cabin'), language)}"
    if vi:
        text = f"Giữ chỗ chuyến {trip}, cho {party_label(people, language)} ({names}): tổng {total}"
        if each is not None and people > 1:
            text += f" ({format_vnd(int(each), language)}/khách)"
        text += "."
        if minutes:
            text += f" Chỗ được giữ {format_number(float(minutes), language)} phút để bạn xác nhận."
        return text
    text = f"Hold {trip}, for {party_label(people, language)} ({names}): {total}"
    if each is not None and people > 1:
        text += f" in total ({format_vnd(int(each), language)} per passenger)"
    text += "."
    if minutes:
        held = "The seats are" if people > 1 else "The seat is"
        text += (
            f" {held} held for {count(round(float(minutes)), 'minute', language)} "
            "while you confirm."
        )
    return text
