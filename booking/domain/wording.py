"""Days, times, amounts and counts written the way each language writes them. Pure.

Shared by the approval summaries (:mod:`booking.domain.approval_text`) and the offline model's
answers, so that every amount of money reads the same everywhere: ``1.008.000 ₫`` in
Vietnamese, ``VND 1,008,000`` in English.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

Language = Literal["vi", "en"]
"""The two languages every traveller-facing sentence is written in."""

VI_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
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
#: Vietnamese groups thousands with a dot and marks decimals with a comma.
_VI_SEPARATORS = str.maketrans(",.", ".,")
#: Vietnam keeps one offset all year.
VIETNAM = timezone(timedelta(hours=7))


def format_day(day: date, language: Language) -> str:
    """Write a day with its weekday: "Thứ Hai, 15/06/2026" or "Monday 15 June 2026"."""
    if language == "vi":
        return f"{VI_WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"
    return f"{day:%A} {day.day} {EN_MONTHS[day.month - 1]} {day.year}"


def format_number(value: float, language: Language, *, cents: bool = False) -> str:
    """A number with the language's separators: "1.300.000" / "1,300,000", "12,5" / "12.5".

    Args:
        cents: write a fraction with two decimals, as money is ("12,50" / "12.50").
    """
    if float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:,.2f}" if cents else f"{value:,.2f}".rstrip("0").rstrip(".")
    if language == "vi":
        # Swap the separators: a dot groups thousands, a comma marks decimals.
        return text.translate(_VI_SEPARATORS)
    return text


def format_vnd(amount: int, language: Language) -> str:
    """Write an amount in đồng as "1.008.000 ₫" or "VND 1,008,000": the one money format."""
    if language == "vi":
        return f"{format_number(amount, language)} ₫"
    return f"VND {format_number(amount, language)}"


def format_money(amount: float, currency: str, language: Language) -> str:
    """Any currency the way :func:`format_vnd` writes đồng: "50 USD" or "USD 50"."""
    code = currency.upper()
    if code == "VND":
        return format_vnd(round(amount), language)
    number = format_number(amount, language, cents=True)
    return f"{number} {code}" if language == "vi" else f"{code} {number}"


def format_conversion(amount: float, currency: str, vnd: int, language: Language) -> str:
    """A converted amount with its rate: "50 USD ≈ 1.300.000 ₫ (tỷ giá 26.000 ₫/USD)"."""
    code = currency.upper()
    said = format_money(amount, code, language)
    rate = round(vnd / amount) if amount else 0
    if language == "vi":
        return f"{said} ≈ {format_vnd(vnd, language)} (tỷ giá {format_vnd(rate, language)}/{code})"
    return f"{said} ≈ {format_vnd(vnd, language)} at {format_number(rate, language)} VND per {code}"


def count(number: int, noun: str, language: Language, plural: str | None = None) -> str:
    """A number with its noun: "1 seat", "2 seats"; Vietnamese nouns do not change ("2 chỗ")."""
    if language == "vi" or number == 1:
        return f"{number} {noun}"
    return f"{number} {plural or noun + 's'}"


def format_hours(hours: float, language: Language) -> str:
    """A road or flight time: "5 giờ", "4,5 giờ", "45 phút" / "5 h", "4.5 h", "45 min"."""
    if hours < 1:
        minutes = max(5, round(hours * 60 / 5) * 5)
        return f"{minutes} phút" if language == "vi" else f"{minutes} min"
    rounded = round(hours * 2) / 2
    number = format_number(rounded, language)
    return f"{number} giờ" if language == "vi" else f"{number} h"


def format_duration(minutes: int, language: Language) -> str:
    """A flight time: "2h10" in Vietnamese, "2h 10m" in English."""
    hours, rest = divmod(max(minutes, 0), 60)
    if language == "vi":
        return f"{hours}h{rest:02d}"
    return f"{hours}h {rest}m" if rest else f"{hours}h"


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
