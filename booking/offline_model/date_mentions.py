"""Date phrases in Vietnamese and English, resolved against ``today`` (the date in Vietnam).

Weeks start on Monday. "Tuần sau" / "next week" is the calendar week after this one, so
"thứ Sáu tuần sau" and "next Friday" are the Friday of that week, never this week's. A bare
weekday ("thứ Sáu", "on Friday", "Friday") is its next occurrence after today (today excluded);
"this Friday" / "thứ Sáu tuần này" is this week's Friday, or the next one once it has passed.
"Cuối tuần (này)" / "this weekend" is this week's Saturday, or today on a Saturday or Sunday;
"cuối tuần sau" / "next weekend" the Saturday of next week; "tuần sau" alone its Monday.
Day and month without a year ("15/6", "June 15") mean the next such day on or after today.

"Ngày hôm sau" / "the next day" are not dates by themselves: they shift the date the
conversation was already about, which :mod:`understand` knows and this module does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from booking.offline_model.lexicon import EN_MONTHS, EN_WEEKDAYS, NUMBER_WORDS, VI_WEEKDAYS
from booking.offline_model.text import Utterance

ReturnMark = Literal["strong", "weak"]


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date phrase: an absolute day, or a shift of the conversation's previous day."""

    start: int
    end: int
    day: date | None
    shift: int | None = None
    return_mark: ReturnMark | None = None
    """Set when "về"/"return" comes right before; "weak" when it may be "vé" typed without accents."""


_MONTHS = "|".join(sorted(EN_MONTHS, key=len, reverse=True))
_EN_DAYS = "|".join(EN_WEEKDAYS)
_NUMBER = "|".join([r"\d{1,2}", *sorted(NUMBER_WORDS, key=len, reverse=True)])
_RETURN_BEFORE = re.compile(
    r"\b(ve|quay\s+ve|chieu\s+ve|ngay\s+ve|tro\s+ve|returning|return|back)"
    r"\s*(?:(?:vao|lai|on|the|ngay|hom|luc|by|la)\s+){0,2}$"
)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _next_weekday(today: date, weekday: int) -> date:
    """The next such weekday after today (today excluded)."""
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _this_week(today: date, weekday: int) -> date:
    day = _monday(today) + timedelta(days=weekday)
    return day if day >= today else _next_weekday(today, weekday)


def _next_week(today: date, weekday: int) -> date:
    return _monday(today) + timedelta(days=7 + weekday)


def _on_or_after(today: date, month: int, day: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year + 2000 if year < 100 else year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _day_of_month(today: date, day: int) -> date | None:
    """The next date on or after today that falls on ``day`` of a month."""
    for months_ahead in range(3):
        month_index = today.month - 1 + months_ahead
        try:
            candidate = date(today.year + month_index // 12, month_index % 12 + 1, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text]


# Each rule turns a match (and the message, for accent checks) into a day, or into a shift in
# days of the conversation's previous date; None means the words were not a date after all.
_Result = date | int | None
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], Utterance, date], _Result]]


def _dmy(m: re.Match[str], _: Utterance, today: date) -> _Result:
    year = int(m[4]) if m[4] else None
    return _on_or_after(today, int(m[3]), int(m[1]), year)


def _vi_day_month(m: re.Match[str], _: Utterance, today: date) -> _Result:
    return _on_or_after(today, int(m[2]), int(m[1]), int(m[3]) if m[3] else None)


def _en_month_day(m: re.Match[str], utterance: Utterance, today: date) -> _Result:
    if m[1] == "may" and utterance.lower[m.start(1) : m.end(1)] == "máy":
        return None
    return _on_or_after(today, EN_MONTHS[m[1]], int(m[2]), int(m[3]) if m[3] else None)


def _en_day_month(m: re.Match[str], utterance: Utterance, today: date) -> _Result:
    if m[2] == "may" and (
        utterance.lower[m.start(2) : m.end(2)] == "máy"
        or utterance.plain[m.end(2) :].startswith(" bay")
    ):
        return None
    return _on_or_after(today, EN_MONTHS[m[2]], int(m[1]), int(m[3]) if m[3] else None)


def _after_tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> _Result:
    # "một" (one) folds to "mot" like "mốt" (the day after tomorrow): alone, only the accented
    # spelling counts; after "ngày" either does, unless it is spelled "một".
    spelled = utterance.lower[m.start() : m.end()]
    if (m[0] == "mot" and spelled != "mốt") or "một" in spelled:
        return None
    return today + timedelta(days=2)


def _tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> _Result:
    if m[0] == "mai" and utterance.lower[m.start() : m.end()] != "mai":
        return None
    return today + timedelta(days=1)


def _in_days(m: re.Match[str], _: Utterance, today: date) -> _Result:
    count = _number(m[1])
    weeks = m[2].startswith(("tuan", "week"))
    return today + timedelta(days=count * (7 if weeks else 1))


def _weekend(m: re.Match[str], _: Utterance, today: date) -> _Result:
    if m[1] in ("sau", "toi") or m[2] == "next":
        return _next_week(today, 5)
    return today if today.weekday() >= 5 else _monday(today) + timedelta(days=5)


def _vi_weekday(m: re.Match[str], _: Utterance, today: date) -> _Result:
    weekday = 6 if m[3] else VI_WEEKDAYS[m[1] or m[2]]
    modifier = m[4] or ""
    if modifier.startswith("tuan") and not modifier.endswith("nay"):
        return _next_week(today, weekday)
    if modifier.endswith("nay"):
        return _this_week(today, weekday)
    return _next_weekday(today, weekday)


def _en_weekday(m: re.Match[str], _: Utterance, today: date) -> _Result:
    weekday = EN_WEEKDAYS[m[2]]
    if m[1] == "next" or (m[3] or "").endswith("next week"):
        return _next_week(today, weekday)
    if m[1] == "this" or m[3] == "this week":
        return _this_week(today, weekday)
    return _next_weekday(today, weekday)


_RULES: list[_Rule] = [
    (
        re.compile(
            r"(?<![\w.,:/-])(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\w/:]|[.,-]\d)"
        ),
        _dmy,
    ),
    (
        re.compile(
            r"(?:\b(?:ngay|mung|hom)\s+)?\b(\d{1,2})\s+thang\s+(\d{1,2})\b"
            r"(?:\s*(?:nam|,|/)\s*(\d{4})\b)?"
        ),
        _vi_day_month,
    ),
    (
        re.compile(rf"\b({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"),
        _en_month_day,
    ),
    (
        re.compile(
            rf"\b(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTHS})\b(?:,?\s+(\d{{4}})\b)?"
        ),
        _en_day_month,
    ),
    (
        re.compile(
            r"\b(?:ngay\s+kia|ngay\s+mot|hom\s+mot|mot|(?:the\s+)?day\s+after\s+tomorrow)\b"
        ),
        _after_tomorrow,
    ),
    (re.compile(r"\b(?:ngay\s+mai|mai|tomorrow|tmr|tmrw)\b"), _tomorrow),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+nay|today|tonight|(?:toi|sang|chieu|trua|dem)\s+nay)\b"
        ),
        lambda m, u, today: today,
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+sau|ngay\s+sau(?:\s+do)?(?!\s+\d)|ngay\s+tiep\s+theo"
            r"|(?:the\s+)?next\s+day|(?:the\s+)?day\s+after|(?:the\s+)?following\s+day)\b"
        ),
        lambda m, u, today: 1,
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+truoc|ngay\s+truoc(?:\s+do)?(?!\s+\d)"
            r"|(?:the\s+)?day\s+before|(?:the\s+)?previous\s+day)\b"
        ),
        lambda m, u, today: -1,
    ),
    (
        re.compile(
            rf"\b(?:in|sau|trong)\s+({_NUMBER})\s+(ngay|days?|tuan|weeks?)\b(?:\s+(?:nua|toi))?"
        ),
        _in_days,
    ),
    (
        re.compile(rf"\b({_NUMBER})\s+(ngay|days?|tuan|weeks?)\s+(?:nua|from\s+now|later)\b"),
        _in_days,
    ),
    (
        re.compile(r"\b(?:cuoi\s+tuan(?:\s+(nay|sau|toi))?|(?:(this|next|the)\s+)?weekend)\b"),
        _weekend,
    ),
    (
        re.compile(
            r"\b(?:thu\s+(hai|ba|tu|nam|sau|bay|[2-7])|t([2-7])|(chu\s+nhat|cn))\b"
            r"(?:\s+(tuan\s+(?:sau|toi|nay)|nay)\b)?"
        ),
        _vi_weekday,
    ),
    (
        re.compile(
            rf"\b(?:(next|this|coming|on|upcoming)\s+)?({_EN_DAYS})s?\b"
            r"(?:\s+(next\s+week|this\s+week|of\s+next\s+week))?"
        ),
        _en_weekday,
    ),
    (
        re.compile(r"\b(?:tuan\s+(?:sau|toi)|next\s+week)\b"),
        lambda m, u, today: _next_week(today, 0),
    ),
    (
        re.compile(r"\b(?:ngay|mung|hom)\s+(\d{1,2})\b(?!\s*(?:[/.-]\d|thang|h\b|gio|:))"),
        lambda m, u, today: _day_of_month(today, int(m[1])),
    ),
    (
        re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b"),
        lambda m, u, today: _day_of_month(today, int(m[1])),
    ),
]


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


def find_dates(
    utterance: Utterance, today: date, taken: list[tuple[int, int]]
) -> list[DateMention]:
    """Every date phrase outside ``taken`` spans, in message order; adds their spans to ``taken``."""
    found: list[DateMention] = []
    for pattern, rule in _RULES:
        for match in pattern.finditer(utterance.plain):
            start, end = match.span()
            if overlaps(start, end, taken):
                continue
            result = rule(match, utterance, today)
            if result is None:
                continue
            taken.append((start, end))
            mark = _return_mark(utterance, start)
            if isinstance(result, date):
                found.append(DateMention(start, end, result, None, mark))
            else:
                found.append(DateMention(start, end, None, result, mark))
    return sorted(found, key=lambda d: d.start)
