"""Calendar dates, months, parts of a month and days of the month, in Vietnamese and English.

The rules are docs/offline-model.md, section "Dates". A day and month without a year is this
year's while ahead, next year's within six months, else *passed*; a month alone ("tháng 6",
"next month") leaves the day to ask; "đầu/giữa/cuối tháng" is the 1st, 15th or last day; a day
of the month alone ("ngày 15", "the 15th") is its next occurrence. :func:`date_mentions.find_dates`
runs these rules with those of :mod:`holiday_mentions` and :mod:`day_mentions`.
"""

from __future__ import annotations

import re
from datetime import date

from booking.offline_model.calendar_days import (
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
from booking.offline_model.lexicon import EN_MONTHS
from booking.offline_model.text import Utterance

__all__ = ["CALENDAR_RULES", "DAY_OF_MONTH_RULES"]


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


#: Calendar dates, months and month parts: tried after the holidays, before weeks and weekdays.
CALENDAR_RULES: list[tuple[re.Pattern[str], Rule]] = [
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
]

#: A day of the month without the month: its next occurrence ("ngày 15", "the 15th"). Tried
#: last, so a weekday or a calendar date over the same words wins.
DAY_OF_MONTH_RULES: list[tuple[re.Pattern[str], Rule]] = [
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
