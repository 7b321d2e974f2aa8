"""Today in Asia/Ho_Chi_Minh from an injected clock, travel-date parsing and horizon checks. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from booking.errors import DateBeyondHorizon, DateInPast, InvalidDate
from booking.settings import SERVICE_TZ, Settings


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(SERVICE_TZ)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A clock stopped at one instant (``BOOKING_NOW``), for demos and tests."""

    at: datetime

    def now(self) -> datetime:
        return self.at.astimezone(SERVICE_TZ)


def clock_from(settings: Settings) -> Clock:
    return FixedClock(settings.now) if settings.now else SystemClock()


def today(clock: Clock) -> date:
    """Today's date in Vietnam, whatever the server's own zone."""
    return clock.now().astimezone(SERVICE_TZ).date()


_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?\s*$")
_DAYS_AHEAD = re.compile(r"^\s*\+(\d{1,3})d?\s*$")


def parse_travel_date(value: str | date, today: date) -> date:
    """Read ``2026-06-15``, ``15/6``, ``15/06/2026`` or ``15-6-26`` (day first, as in Vietnam),
    or ``+7d`` (days from ``today``: examples that work whatever day they are run).

    Without a year, the next such day on or after ``today`` is meant.
    """
    if isinstance(value, date):
        return value
    text = value.strip()
    ahead = _DAYS_AHEAD.match(text)
    if ahead:
        return today + timedelta(days=int(ahead[1]))
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    match = _DMY.match(text)
    if not match:
        raise InvalidDate(
            f"'{value}' is not a date I can read; use YYYY-MM-DD, e.g. {today.isoformat()}.",
            value=value,
        )
    day, month, year = int(match[1]), int(match[2]), match[3]
    try:
        if year:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            return date(full_year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        raise InvalidDate(f"'{value}' is not a valid calendar date.", value=value) from None


def check_travel_date(day: date, today: date, max_days_ahead: int) -> date:
    """Refuse days before today and beyond the booking horizon."""
    if day < today:
        raise DateInPast(
            f"{day.isoformat()} is in the past (today is {today.isoformat()}). Pick today or later.",
            date=day.isoformat(),
            today=today.isoformat(),
        )
    if (day - today).days > max_days_ahead:
        raise DateBeyondHorizon(
            f"{day.isoformat()} is more than {max_days_ahead} days ahead; flights are not on sale yet.",
            date=day.isoformat(),
            max_days_ahead=max_days_ahead,
        )
    return day


_HHMM = re.compile(r"^\s*(\d{1,2})(?:[:hH.](\d{2})?)?\s*$")


def parse_time_of_day(value: str | time) -> time:
    """Read ``18:00``, ``18h``, ``18h30`` or ``7``."""
    if isinstance(value, time):
        return value
    match = _HHMM.match(value)
    if not match or int(match[1]) > 24 or int(match[2] or 0) > 59:
        raise InvalidDate(f"'{value}' is not a time of day; use HH:MM, e.g. 18:00.", value=value)
    hour = int(match[1])
    return time(23, 59) if hour == 24 else time(hour, int(match[2] or 0))
