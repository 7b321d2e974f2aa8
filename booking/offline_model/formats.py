"""Days, times and amounts written the way each language writes them. Pure.

Shared by the answers (:mod:`reply`, :mod:`receipts`) and the booking questions
(:mod:`booking_plans`), which cannot import each other.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from booking.offline_model.text import Language

VI_WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: Vietnam keeps one offset all year.
VIETNAM = timezone(timedelta(hours=7))


def format_day(day: date, language: Language) -> str:
    """Write a day as "thứ Hai, 15/06/2026" or "Monday 15 June 2026"."""
    if language == "vi":
        return f"{VI_WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"
    return f"{day:%A} {day.day} {EN_MONTHS[day.month - 1]} {day.year}"


def format_vnd(amount: int, language: Language) -> str:
    """Write an amount as "1.024.000đ" or "1,024,000 VND"."""
    if language == "vi":
        return f"{amount:,}".replace(",", ".") + "đ"
    return f"{amount:,} VND"


def parse_moment(value: Any) -> datetime | None:
    """An ISO date-time, or None when there is none to read."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def clock(value: Any) -> str:
    """ "08:15" from an ISO date-time, in the time zone it was written in (the airport's)."""
    moment = parse_moment(value)
    return f"{moment:%H:%M}" if moment else "?"


def in_vietnam(moment: datetime) -> datetime:
    """The same instant on Vietnamese clocks (naive values are taken as already local)."""
    return moment.astimezone(VIETNAM) if moment.tzinfo else moment


def format_moment(value: Any, language: Language) -> str:
    """A Vietnamese-time instant as "10:15, Chủ nhật, 22/11/2026" or "10:15 on Sunday 22 ..."."""
    moment = parse_moment(value)
    if moment is None:
        return str(value or "?")
    local = in_vietnam(moment)
    day = format_day(local.date(), language)
    return f"{local:%H:%M}, {day}" if language == "vi" else f"{local:%H:%M} on {day}"
