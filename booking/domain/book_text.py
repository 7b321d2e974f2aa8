"""The words of a one-decision booking a traveller approves, in vi and en. Pure.

``book_flight`` takes the seats and confirms them in one step, so what the traveller approves
names everything that becomes final: flight number, route, date, departure and arrival times,
cabin, the passengers' names and the total. Money and dates go through the same formatters as
every other approval (:mod:`booking.domain.wording`, one per language from
:mod:`booking.i18n.format`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.domain.approval_text import cabin_label, flight_times, party_label, people_count
from booking.domain.wording import Language, format_day, format_vnd, parse_moment


def _when(flight: Mapping[str, Any], language: Language) -> str:
    """ "06:40–08:50 Thứ Hai, 15/6/2026" / "06:40–08:50 on Mon 15 Jun 2026"."""
    departs = parse_moment(flight.get("departs_at"))
    if departs is None:
        return ""
    day = format_day(departs.date(), language)
    times = flight_times(flight)
    return f"{times} {day}" if language == "vi" else f"{times} on {day}"


def book_summary(summary: Mapping[str, Any], language: Language) -> str:
    """What the traveller approves before ``book_flight`` runs, in one paragraph.

    Args:
        summary: :meth:`booking.domain.bookings.BookPreview.to_dict` (``action: "book"``).
        language: the language to write in.
    """
    flight = summary.get("flight") if isinstance(summary.get("flight"), Mapping) else {}
    flight = flight or {}
    people = people_count(summary)
    names = ", ".join(
        str(p.get("full_name") or "?")
        for p in summary.get("passengers") or []
        if isinstance(p, Mapping)
    )
    airline = flight.get("airline_name") or flight.get("airline_code") or ""
    trip = ", ".join(
        part
        for part in (
            f"{flight.get('flight_number', '?')} {airline}".strip(),
            f"{flight.get('origin', '?')} → {flight.get('destination', '?')}",
            _when(flight, language),
            cabin_label(summary.get("cabin"), language),
        )
        if part
    )
    total = format_vnd(int(summary.get("total_vnd") or 0), language)
    each = summary.get("price_per_passenger_vnd")
    if language == "vi":
        text = f"Đặt vé {trip}, cho {party_label(people, language)} ({names}): tổng {total}"
        if each is not None and people > 1:
            text += f" ({format_vnd(int(each), language)}/khách)"
        return text + ". Vé được xác nhận ngay khi bạn đồng ý."
    text = f"Book {trip}, for {party_label(people, language)} ({names}): {total}"
    if each is not None and people > 1:
        text += f" in total ({format_vnd(int(each), language)} per passenger)"
    tickets = "tickets are" if people > 1 else "ticket is"
    return text + f". The {tickets} confirmed as soon as you approve."
