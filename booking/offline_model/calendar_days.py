"""Calendar arithmetic for date phrases, and the holidays and lunar dates of Vietnam's calendar.

Weeks start on Monday: this week's or next week's weekday, a weekend (both its days, only Sunday
on a Sunday), a day and month rolled over into next year within :data:`ROLLOVER_DAYS`, the 1st,
15th or last day of a month. :func:`public_holidays` reads Vietnam's public holidays from
`holidays` (its table has the UTC+7 lunar dates); :func:`lunar` converts a lunar date to a solar
one. Every result is a :class:`Reading`, what a date rule made of its words.

Lunar calendar: ``lunar_vn`` (PyPI lunar-vn 1.4) rather than ``vnlunar`` (1.0.5). Both port Hồ Ngọc
Đức's algorithm at UTC+7 and agree on every day from 1968 to 2053: Tết 2026-02-17, 2027-02-06,
2028-01-26, 2030-02-02 (China's is 02-03: the new moon falls between 23:00 and midnight in Hanoi),
1985-01-21 (a month before China's; lunar_vn documents both years). vnlunar looks days up in Hồ
Ngọc Đức's published tables, so it is also right for the UTC+8 calendar used before 1968, and it
differs from the algorithm for a month in 2054, 2072 and 2077; but it ships no ``py.typed``,
returns dicts and tuples, bundles astrology we do not need, and its README and ``__init__`` say
"free for personal and non-commercial use" against its MIT licence file. lunar_vn is typed (PEP
561, a frozen ``LunarDate``), has no dependencies, CI, a 1900-2100 round-trip test, and is
maintained. It rolls a 30th day of a 29-day month over into the next month instead of refusing
it, so :func:`lunar` converts back to check.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Literal

import holidays
from lunar_vn import LunarDate, lunar_to_solar, solar_to_lunar

#: How far ahead a day and month without a year may roll into next year ("5/1" said in December).
ROLLOVER_DAYS = 183


@dataclass(frozen=True, slots=True)
class Reading:
    """What a rule made of its match."""

    days: tuple[date, ...] = ()
    shift: int | None = None
    passed: date | None = None
    next_year: date | None = None
    month: int | None = None
    week: date | None = None
    """The Monday of a week named without a day ("tuần sau", "next week"): ask which day."""
    end: int | None = None
    """Where the phrase ends when it is shorter than the match ("thứ 6 tối": not "tối")."""
    kind: Literal["weekday", "date", ""] = ""
    """A weekday next to a calendar date ("thứ 6, 12/6") is one phrase: the date wins."""


def on(*days: date, kind: Literal["weekday", "date", ""] = "") -> Reading:
    return Reading(days=days, kind=kind)


# --- Calendar arithmetic -------------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after today (today excluded)."""
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def this_week(today: date, weekday: int) -> date:
    day = _monday(today) + timedelta(days=weekday)
    return day if day >= today else next_weekday(today, weekday)


def next_week(today: date, weekday: int) -> date:
    return _monday(today) + timedelta(days=7 + weekday)


def weekend(today: date, *, of_next_week: bool) -> Reading:
    if of_next_week:
        saturday = next_week(today, 5)
    elif today.weekday() == 6:
        return on(today)
    else:
        saturday = _monday(today) + timedelta(days=5)
    return on(saturday, saturday + timedelta(days=1))


def valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def next_yearly(today: date, month: int, day: int) -> date | None:
    """The next date on or after today that falls on this day and month (29/2 waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        candidate = valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def rollover(today: date, this_year: date | None, next_year: date | None) -> Reading | None:
    """This year's day while ahead; next year's within the rollover; otherwise passed."""
    if this_year is not None and this_year >= today:
        return on(this_year, kind="date")
    if next_year is None:
        return None if this_year is None else Reading(passed=this_year)
    if this_year is None or (next_year - today).days <= ROLLOVER_DAYS:
        return on(next_year, kind="date")
    return Reading(passed=this_year, next_year=next_year)


def day_month(today: date, month: int, day: int, year: int | None = None) -> Reading | None:
    if year is not None:
        said = valid_date(year + 2000 if year < 100 else year, month, day)
        if said is None:
            return None
        if said >= today:
            return on(said, kind="date")
        return Reading(passed=said, next_year=next_yearly(today, month, day))
    this_year = valid_date(today.year, month, day)
    return rollover(today, this_year, valid_date(today.year + 1, month, day))


def day_of_month(today: date, day: int) -> date | None:
    """The next date on or after today that falls on ``day`` of a month."""
    for months_ahead in range(3):
        index = today.month - 1 + months_ahead
        candidate = valid_date(today.year + index // 12, index % 12 + 1, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def month_after(today: date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def _part_of(year: int, month: int, part: str) -> date:
    if part == "start":
        return date(year, month, 1)
    if part == "middle":
        return date(year, month, 15)
    return date(year, month, calendar.monthrange(year, month)[1])


def month_part(today: date, part: str, month: int | None, which: str | None) -> Reading:
    """The 1st, 15th or last day of this month (next once passed), of next month or of a named one."""
    if month is not None:
        return rollover(
            today, _part_of(today.year, month, part), _part_of(today.year + 1, month, part)
        ) or Reading(month=month)
    if which == "next":
        return on(_part_of(*month_after(today), part))
    day = _part_of(today.year, today.month, part)
    return on(day if day >= today else _part_of(*month_after(today), part))


# --- Public holidays and lunar dates -----------------------------------------------------------


@cache
def public_holidays(year: int) -> dict[str, date]:
    """The first day of each public holiday of the year, by its English name in `holidays`."""
    table = holidays.country_holidays("VN", years=year, language="en_US", observed=False)
    named: dict[str, date] = {}
    for day, name in sorted(table.items()):
        # Dates `holidays` only estimates carry a suffix: "Lunar New Year (estimated)".
        named.setdefault(name.split(" (")[0], day)
    return named


def lunar(day: int, month: int, year: int) -> date | None:
    """The solar date of a day of a (non-leap) lunar month, None when that month is shorter."""
    try:
        solar = lunar_to_solar(LunarDate(day, month, year))
    except ValueError:
        return None
    back = solar_to_lunar(solar)
    return solar if (back.day, back.month, back.leap) == (day, month, False) else None
