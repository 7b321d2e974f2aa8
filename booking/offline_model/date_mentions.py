"""Date phrases in Vietnamese and English, resolved against ``today`` (the date in Vietnam).

The rules are docs/offline-model.md, section "Dates". Weeks start on Monday. A bare weekday
("thứ 6", "T6", "Friday", "thứ 6 tới") is its next occurrence after today; "thứ 6 này" / "this
Friday" this week's, or the next once passed; "thứ 6 tuần sau", "next Friday" next calendar
week's. A weekend is both its days (only Sunday on a Sunday). A day and month without a year is
this year's while ahead, next year's within six months, else *passed*; a month alone ("tháng 6",
"next month") leaves the day to ask; "đầu/giữa/cuối tháng" is the 1st, 15th or last day. Holidays
are their next occurrence on or after today. "Hôm sau" / "the next day" shift the date the
conversation was about, which :mod:`understand` knows and this module does not.

This module holds the rules for calendar dates, months and days of the month, and
:func:`find_dates`, which runs them with the holiday rules of :mod:`holiday_mentions` and the
week, weekday, weekend and relative-day rules of :mod:`day_mentions`; the arithmetic is in
:mod:`calendar_days` (lunar dates included), the reading of number and month words in
:mod:`date_words`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from booking.offline_model.calendar_days import (
    ROLLOVER_DAYS,
    Reading,
    day_month,
    day_of_month,
    month_after,
    month_part,
    next_yearly,
    on,
    valid_date,
)
from booking.offline_model.date_words import (
    AMOUNT_BEFORE,
    HOLIDAY_BEFORE,
    MONTHS,
    PEOPLE_UNIT,
    TIME_AFTER,
    VI_NUMBER,
    Rule,
    month_number,
    not_misspelled,
    unit_follows,
)
from booking.offline_model.day_mentions import DAY_RULES
from booking.offline_model.holiday_mentions import HOLIDAY_RULES
from booking.offline_model.lexicon import EN_MONTHS
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


# --- Rules ---------------------------------------------------------------------------------------


def _numeric(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    day, separator, month = int(m["d"]), m["sep"], int(m["m"])
    before = utterance.plain[: m.start()]
    if separator in ".-" and unit_follows(utterance, m.end()):
        return None
    if separator == "." and (
        TIME_AFTER.match(utterance.plain, m.end()) or AMOUNT_BEFORE.search(before)
    ):
        return None
    if re.search(r"\d\s*-$", before) and not re.search(r"\d{1,2}\s*/\s*\d{1,2}\s*-$", before):
        return None  # "15-20/6" is a range, read by no one rather than as the 20th
    occasion = HOLIDAY_BEFORE.search(before)
    if (
        m["y"] is None
        and occasion
        and not_misspelled(utterance, *occasion.span(1), "lễ", "dịp", "nghỉ")
    ):
        # "lễ 30/4", "nghỉ lễ 30/4 - 1/5": a yearly occasion is its next occurrence.
        holiday = next_yearly(today, month, day) if valid_date(2000, month, day) else None
        return on(holiday, kind="date") if holiday else None
    return day_month(today, month, day, int(m["y"]) if m["y"] else None)


def _iso(m: re.Match[str], _: Utterance, today: date) -> Reading | None:
    return day_month(today, int(m["m"]), int(m["d"]), int(m["y"]))


def _vi_day_month(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if not not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng", "thg"):
        return None
    if m["pre"] and not not_misspelled(
        utterance, m.start("pre"), m.end("pre"), "ngày", "mùng", "mồng", "hôm"
    ):
        return None
    if m["y"] is None and unit_follows(utterance, m.end()):
        return None
    relative = _relative_month(utterance, m, today)
    if relative is not None:
        # "ngày 4 tháng sau": a day of next month (or of this one).
        said = valid_date(*relative, int(m["d"]))
        if said is None:
            return None
        return on(said, kind="date") if said >= today else Reading(passed=said)
    month = month_number(utterance, m, "m")
    if month is None:
        return None
    return day_month(today, month, int(m["d"]), int(m["y"]) if m["y"] else None)


def _relative_month(utterance: Utterance, m: re.Match[str], today: date) -> tuple[int, int] | None:
    """(year, month) for "tháng sau" / "tháng tới" (next month) and "tháng này" (this month)."""
    word, spelled = m["m"], utterance.lower[m.start("m") : m.end("m")]
    if (word == "sau" and spelled != "sáu") or (word == "toi" and spelled != "tối"):
        return month_after(today)
    return (today.year, today.month) if word == "nay" else None


def _en_month_day(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["name"] == "may" and (
        utterance.lower[m.start("name") : m.end("name")] == "máy"
        or utterance.plain[m.end("name") :].startswith(" bay")
    ):
        return None
    if unit_follows(utterance, m.end("d"), PEOPLE_UNIT) and not m["y"]:
        # "June 2 adults": the month, then the party.
        named_first = m.start("name") < m.start("d")
        return Reading(month=EN_MONTHS[m["name"]], end=m.end("name")) if named_first else None
    return day_month(today, EN_MONTHS[m["name"]], int(m["d"]), int(m["y"]) if m["y"] else None)


def _vi_month(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if not not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng", "thg"):
        return None
    if re.search(r"\d\s*$", utterance.plain[: m.start()]) or unit_follows(utterance, m.end("m")):
        return None
    if re.match(r"\s*\(?\s*(?:am\b|al\b)", utterance.plain[m.end() :]):
        return None  # "tháng 7 âm lịch" is a lunar month, not a solar one.
    relative = _relative_month(utterance, m, today)
    if relative is not None:
        return Reading(month=relative[1])
    month = month_number(utterance, m, "m")
    return None if month is None else Reading(month=month)


def _en_month(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    name, prefix = m["name"], m["pre"]
    if (name == "may" or len(name) <= 4 and name not in ("june", "july")) and prefix is None:
        return None
    if name == "may" and utterance.lower[m.start("name") : m.end("name")] != "may":
        return None
    return Reading(month=EN_MONTHS[name])


def _en_relative_month(m: re.Match[str], _: Utterance, today: date) -> Reading | None:
    return Reading(month=today.month if m["which"] == "this" else month_after(today)[1])


_PARTS = {
    "dau": "start",
    "beginning": "start",
    "start": "start",
    "early": "start",
    "giua": "middle",
    "middle": "middle",
    "mid": "middle",
    "cuoi": "end",
    "end": "end",
    "late": "end",
}


def _vi_month_part(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    spellings = {"dau": ("đầu",), "giua": ("giữa",), "cuoi": ("cuối",)}[m["part"]]
    if not not_misspelled(utterance, m.start("part"), m.end("part"), *spellings):
        return None
    if not not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng"):
        return None
    if m["m"] is None or m["m"] == "nay":
        return month_part(today, _PARTS[m["part"]], None, None)
    if _relative_month(utterance, m, today) is not None:
        return month_part(today, _PARTS[m["part"]], None, "next")
    month = month_number(utterance, m, "m")
    if month is None:
        # "cuối tháng bay Hà Nội": the end of this month; "bay" is the verb.
        reading = month_part(today, _PARTS[m["part"]], None, None)
        return Reading(days=reading.days, end=m.end("thang"))
    return month_part(today, _PARTS[m["part"]], month, None)


def _en_month_part(m: re.Match[str], _: Utterance, today: date) -> Reading | None:
    name = m["name"]
    month = EN_MONTHS[name] if name else None
    return month_part(today, _PARTS[m["part"]], month, m["which"])


def _day_of_month_rule(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["pre"] and not not_misspelled(
        utterance, m.start("pre"), m.end("pre"), "ngày", "mùng", "mồng", "hôm"
    ):
        return None
    if unit_follows(utterance, m.end()):
        return None  # "đi ngay 2 người"
    day = day_of_month(today, int(m["d"]))
    return None if day is None else on(day)


def _en_day_of_month(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if re.match(
        r"\s*(?:one|flight|option|choice|cheapest|result|in\s+the\s+list)\b",
        utterance.plain[m.end() :],
    ):
        return None  # "book the 2nd one" picks a flight
    day = day_of_month(today, int(m["d"]))
    return None if day is None else on(day)


_RULES: list[tuple[re.Pattern[str], Rule]] = [
    *HOLIDAY_RULES,
    # Calendar dates.
    (
        re.compile(
            r"(?<![\w.,:/])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
            r"(?![\w/:]|[.,-]\d)"
        ),
        _iso,
    ),
    (
        re.compile(
            r"(?<![\w.,:/])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?"
            r"(?![\w/:]|[.,]\d|%)"
        ),
        _numeric,
    ),
    (
        re.compile(
            rf"\b(?:(?P<pre>ngay|mung|mong|hom)\s+)?(?P<d>\d{{1,2}})\s+(?P<thang>thang|thg)\.?\s*"
            rf"(?P<m>\d{{1,2}}|toi|nay|{VI_NUMBER})\b(?:\s*(?:,|nam|/)?\s*(?P<y>\d{{4}})\b)?"
        ),
        _vi_day_month,
    ),
    (
        re.compile(
            rf"\b(?P<name>{MONTHS})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
            r"(?:,?\s+(?P<y>\d{4})\b)?"
        ),
        _en_month_day,
    ),
    (
        re.compile(
            rf"(?:\b(?:the\s+)?|(?<=[\s-]))(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|(?=[a-z]{{3}}\b))"
            rf"(?P<name>{MONTHS})\b"
            r"(?:,?\s+(?P<y>\d{4})\b)?"
        ),
        _en_month_day,
    ),
    (
        re.compile(
            rf"\b(?P<part>dau|giua|cuoi)\s+(?P<thang>thang)"
            rf"(?:\s+(?P<m>\d{{1,2}}|sau|toi|nay|{VI_NUMBER})\b)?(?!\s*/)"
        ),
        _vi_month_part,
    ),
    (
        re.compile(
            r"\b(?:(?:at\s+)?the\s+)?(?P<part>beginning|start|middle|end)\s+of\s+(?:the\s+)?"
            rf"(?:(?:(?P<which>this|next)\s+)?month|(?P<name>{MONTHS}))\b"
        ),
        _en_month_part,
    ),
    (
        re.compile(
            rf"\b(?P<part>early|mid|late)[\s-]+(?:(?P<which>this|next)\s+month|(?P<name>{MONTHS}))\b"
        ),
        _en_month_part,
    ),
    (
        re.compile(
            rf"\b(?P<thang>thang|thg)\s+(?P<m>\d{{1,2}}|sau|toi|nay|{VI_NUMBER})\b"
            r"(?:\s*(?:nam|/)\s*\d{4}\b)?(?!\s*(?:/|lan\b))"
        ),
        _vi_month,
    ),
    (
        re.compile(
            rf"\b(?:(?P<pre>in|during|for|this|next|until|by|around|of)\s+)?(?P<name>{MONTHS})\b"
            r"(?!\s*\d{1,2}(?!\d))(?:\s+\d{4}\b)?"
        ),
        _en_month,
    ),
    (
        re.compile(r"\b(?P<which>this|next|the\s+following|following)\s+month\b"),
        _en_relative_month,
    ),
    *DAY_RULES,
    # A day of the month without the month: its next occurrence ("ngày 15", "the 15th").
    (
        re.compile(
            r"\b(?P<pre>ngay|mung|mong|hom)\s+(?P<d>\d{1,2})\b"
            r"(?!\s*(?:[/.-]\s*\d|thang|thg|h\b|g\b|gio|:|tet\b))"
        ),
        _day_of_month_rule,
    ),
    (
        re.compile(r"\b(?:on\s+)?the\s+(?P<d>\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\b)"),
        _en_day_of_month,
    ),
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
