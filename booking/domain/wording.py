"""Days, times, amounts and counts written the way each language writes them. Pure.

Shared by the approval summaries (:mod:`booking.domain.approval_text`) and the offline model's
answers, so that every amount of money reads the same everywhere: ``1.008.000 ₫`` in
Vietnamese, ``₫1,008,000`` in English. Amounts, numbers, days and counts go through
:mod:`booking.i18n.format` (CLDR, the same data as the page's ``Intl``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from booking.i18n import format as i18n
from booking.i18n.format import Language as Language

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
#: Vietnam keeps one offset all year.
VIETNAM = timezone(timedelta(hours=7))


def format_day(day: date, language: Language) -> str:
    """Write a day with its weekday: "Thứ Hai, 15/6/2026" or "Mon 15 Jun 2026"."""
    return i18n.day(day, language, year=True)


def format_number(value: float, language: Language, *, cents: bool = False) -> str:
    """A number with the language's separators: "1.300.000" / "1,300,000", "12,5" / "12.5".

    Args:
        cents: write a fraction with two decimals, as money is ("12,50" / "12.50").
    """
    if float(value).is_integer():
        return i18n.number(int(value), language)
    return i18n.number(value, language, decimals=2 if cents else None)


def format_vnd(amount: int, language: Language) -> str:
    """Write an amount in đồng as "1.008.000 ₫" or "₫1,008,000": the one money format."""
    return i18n.money(amount, language)


def format_money(amount: float, currency: str, language: Language) -> str:
    """Any currency the way :func:`format_vnd` writes đồng: "50,00 US$" or "$50.00"."""
    code = currency.upper()
    if code == "VND":
        return format_vnd(round(amount), language)
    return i18n.money(amount, language, code)


def format_conversion(amount: float, currency: str, vnd: int, language: Language) -> str:
    """A converted amount with its rate: "50 USD ≈ 1.300.000 ₫ (tỷ giá 26.000 ₫/USD)"."""
    code = currency.upper()
    said = format_money(amount, code, language)
    rate = round(vnd / amount) if amount else 0
    if language == "vi":
        return f"{said} ≈ {format_vnd(vnd, language)} (tỷ giá {format_vnd(rate, language)}/{code})"
    return f"{said} ≈ {format_vnd(vnd, language)} at {format_vnd(rate, language)} per {code}"


def count(number: int, noun: str, language: Language, plural: str | None = None) -> str:
    """A number with its noun: "1 seat", "2 seats"; Vietnamese nouns do not change ("2 chỗ")."""
    return i18n.count(number, noun, language, plural)


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
