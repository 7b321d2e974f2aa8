"""Date phrases in Vietnamese and English, resolved against ``today`` (the date in Vietnam).

The rules are docs/offline-model.md, section "Dates". Weeks start on Monday. A bare weekday
("thứ 6", "T6", "Friday", "thứ 6 tới") is its next occurrence after today; "thứ 6 này" / "this
Friday" this week's, or the next once passed; "thứ 6 tuần sau", "next Friday" next calendar
week's. A weekend is both its days (only Sunday on a Sunday). A day and month without a year is
this year's while ahead, next year's within six months, else *passed*; a month alone ("tháng 6",
"next month") leaves the day to ask; "đầu/giữa/cuối tháng" is the 1st, 15th or last day. Holidays
are their next occurrence on or after today. "Hôm sau" / "the next day" shift the date the
conversation was about, which :mod:`understand` knows and this module does not.

This module holds :func:`find_dates`, which runs the rules for calendar dates, months and days
of the month (:mod:`month_mentions`) with the holiday rules of :mod:`holiday_mentions` and the
week, weekday, weekend and relative-day rules of :mod:`day_mentions`; the arithmetic is in
:mod:`calendar_days` (lunar dates included), the reading of number and month words in
:mod:`date_words`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from booking.offline_model.calendar_days import ROLLOVER_DAYS, Reading
from booking.offline_model.date_words import Rule
from booking.offline_model.day_mentions import DAY_RULES
from booking.offline_model.holiday_mentions import HOLIDAY_RULES
from booking.offline_model.month_mentions import CALENDAR_RULES, DAY_OF_MONTH_RULES
from booking.offline_model.text import Utterance

__all__ = ["ROLLOVER_DAYS", "DateMention", "ReturnMark", "find_dates", "overlaps"]

ReturnMark = Literal["strong", "weak"]


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date phrase: the days it means, a shift of the conversation's date, a month, or a passed date."""

    start: int
    end: int
    day: date | None
    """``days[0]``; None for a shift, a month alone or a passed date."""
    shift: int | None = None
    """Days to add to the date the conversation was about ("hôm sau" +1, "hôm trước" -1)."""
    return_mark: ReturnMark | None = None
    """Set when "về"/"return" comes right before; "weak" when it may be "vé" typed without accents."""
    days: tuple[date, ...] = ()
    """Every day meant: Saturday and Sunday for a weekend, one day otherwise; () for the rest."""
    passed: date | None = None
    """The date as said when it has passed (a past year, or a day and month beyond the rollover)."""
    next_year: date | None = None
    """For a passed date: the same day and month at its next occurrence, to offer as a question."""
    month: int | None = None
    """A month named without a day ("tháng 6", "next month"): the planner asks which day."""
    week: date | None = None
    """The Monday of a week named without a day ("tuần sau", "next week"): the planner asks."""


_RULES: list[tuple[re.Pattern[str], Rule]] = [
    *HOLIDAY_RULES,
    *CALENDAR_RULES,
    *DAY_RULES,
    *DAY_OF_MONTH_RULES,
]


_RETURN_BEFORE = re.compile(
    r"\b(ve|quay\s+ve|chieu\s+ve|ngay\s+ve|tro\s+ve|returning|return|back)"
    r"\s*(?:(?:vao|lai|on|the|ngay|hom|luc|by|la)\s+){0,2}$"
)
_WEEKDAY_DATE_GAP = re.compile(r"[\s,(]*(?:ngay\s+|the\s+|on\s+)?")


def _return_mark(utterance: Utterance, start: int) -> ReturnMark | None:
    match = _RETURN_BEFORE.search(utterance.plain[:start])
    if match is None:
        return None
    if match[1] != "ve":
        return "strong"
    spelled = utterance.lower[match.start(1) : match.end(1)]
    if spelled == "về":
        return "strong"
    return "weak" if spelled == "ve" else None


def overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    """Whether ``start:end`` overlaps any span in ``taken``."""
    return any(start < t_end and t_start < end for t_start, t_end in taken)


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    reading: Reading


def _candidates(utterance: Utterance, today: date, taken: list[tuple[int, int]]) -> list[_Found]:
    """Every rule's readings outside ``taken``; the longest phrase wins where they overlap."""
    found: list[tuple[int, int, _Found]] = []
    for order, (pattern, rule) in enumerate(_RULES):
        for match in pattern.finditer(utterance.plain):
            start, end = match.span()
            if overlaps(start, end, taken):
                continue
            reading = rule(match, utterance, today)
            if reading is not None:
                end = reading.end if reading.end is not None else end
                found.append((start - end, order, _Found(start, end, reading)))
    chosen: list[_Found] = []
    for _, _, item in sorted(found, key=lambda f: (f[0], f[1], f[2].start)):
        if not overlaps(item.start, item.end, [(c.start, c.end) for c in chosen]):
            chosen.append(item)
    return sorted(chosen, key=lambda c: c.start)


def _merge_weekday_and_date(found: list[_Found], utterance: Utterance) -> list[_Found]:
    """ "thứ 6 ngày 12/6", "Friday, June 12", "15/6 (thứ 2)": one phrase, the date's."""
    merged: list[_Found] = []
    for item in found:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and {previous.reading.kind, item.reading.kind} == {"weekday", "date"}
            and _WEEKDAY_DATE_GAP.fullmatch(utterance.plain, previous.end, item.start)
        ):
            reading = item.reading if item.reading.kind == "date" else previous.reading
            merged[-1] = _Found(previous.start, item.end, reading)
            continue
        merged.append(item)
    return merged


def find_dates(
    utterance: Utterance, today: date, taken: list[tuple[int, int]]
) -> list[DateMention]:
    """Every date phrase outside ``taken`` spans, in message order; adds their spans to ``taken``."""
    mentions: list[DateMention] = []
    for item in _merge_weekday_and_date(_candidates(utterance, today, taken), utterance):
        taken.append((item.start, item.end))
        reading = item.reading
        mentions.append(
            DateMention(
                item.start,
                item.end,
                reading.days[0] if reading.days else None,
                shift=reading.shift,
                return_mark=_return_mark(utterance, item.start),
                days=reading.days,
                passed=reading.passed,
                next_year=reading.next_year,
                month=reading.month,
                week=reading.week,
            )
        )
    return mentions
