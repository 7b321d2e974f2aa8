"""Date phrases in Vietnamese and English, resolved against ``today`` (the date in Vietnam).

The rules are docs/offline-model.md, section "Dates". Weeks start on Monday. A bare weekday
("thứ 6", "T6", "Friday", "thứ 6 tới") is its next occurrence after today; "thứ 6 này" / "this
Friday" this week's, or the next once passed; "thứ 6 tuần sau", "next Friday" next calendar
week's. A weekend is both its days (only Sunday on a Sunday). A day and month without a year is
this year's while ahead, next year's within six months, else *passed*; a month alone ("tháng 6",
"next month") leaves the day to ask; "đầu/giữa/cuối tháng" is the 1st, 15th or last day. Holidays
are their next occurrence on or after today. "Hôm sau" / "the next day" shift the date the
conversation was about, which :mod:`understand` knows and this module does not.

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
it, so :func:`_lunar` converts back to check.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Literal

import holidays
from lunar_vn import LunarDate, lunar_to_solar, solar_to_lunar

from booking.offline_model.lexicon import EN_MONTHS, EN_WEEKDAYS, NUMBER_WORDS
from booking.offline_model.text import Token, Utterance

ReturnMark = Literal["strong", "weak"]

#: How far ahead a day and month without a year may roll into next year ("5/1" said in December).
ROLLOVER_DAYS = 183


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


@dataclass(frozen=True, slots=True)
class _Reading:
    """What a rule made of its match."""

    days: tuple[date, ...] = ()
    shift: int | None = None
    passed: date | None = None
    next_year: date | None = None
    month: int | None = None
    end: int | None = None
    """Where the phrase ends when it is shorter than the match ("thứ 6 tối": not "tối")."""
    kind: Literal["weekday", "date", ""] = ""
    """A weekday next to a calendar date ("thứ 6, 12/6") is one phrase: the date wins."""


def _on(*days: date, kind: Literal["weekday", "date", ""] = "") -> _Reading:
    return _Reading(days=days, kind=kind)


# --- Calendar arithmetic -------------------------------------------------------------------------


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


def _weekend(today: date, *, next_week: bool) -> _Reading:
    if next_week:
        saturday = _next_week(today, 5)
    elif today.weekday() == 6:
        return _on(today)
    else:
        saturday = _monday(today) + timedelta(days=5)
    return _on(saturday, saturday + timedelta(days=1))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_yearly(today: date, month: int, day: int) -> date | None:
    """The next date on or after today that falls on this day and month (29/2 waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        candidate = _date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _rollover(today: date, this_year: date | None, next_year: date | None) -> _Reading | None:
    """This year's day while ahead; next year's within the rollover; otherwise passed."""
    if this_year is not None and this_year >= today:
        return _on(this_year, kind="date")
    if next_year is None:
        return None if this_year is None else _Reading(passed=this_year)
    if this_year is None or (next_year - today).days <= ROLLOVER_DAYS:
        return _on(next_year, kind="date")
    return _Reading(passed=this_year, next_year=next_year)


def _day_month(today: date, month: int, day: int, year: int | None = None) -> _Reading | None:
    if year is not None:
        said = _date(year + 2000 if year < 100 else year, month, day)
        if said is None:
            return None
        if said >= today:
            return _on(said, kind="date")
        return _Reading(passed=said, next_year=_next_yearly(today, month, day))
    this_year = _date(today.year, month, day)
    return _rollover(today, this_year, _date(today.year + 1, month, day))


def _day_of_month(today: date, day: int) -> date | None:
    """The next date on or after today that falls on ``day`` of a month."""
    for months_ahead in range(3):
        index = today.month - 1 + months_ahead
        candidate = _date(today.year + index // 12, index % 12 + 1, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _month_after(today: date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def _part_of(year: int, month: int, part: str) -> date:
    if part == "start":
        return date(year, month, 1)
    if part == "middle":
        return date(year, month, 15)
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_part(today: date, part: str, month: int | None, which: str | None) -> _Reading:
    """The 1st, 15th or last day of this month (next once passed), of next month or of a named one."""
    if month is not None:
        return _rollover(
            today, _part_of(today.year, month, part), _part_of(today.year + 1, month, part)
        ) or _Reading(month=month)
    if which == "next":
        return _on(_part_of(*_month_after(today), part))
    day = _part_of(today.year, today.month, part)
    return _on(day if day >= today else _part_of(*_month_after(today), part))


# --- Holidays ------------------------------------------------------------------------------------
# Public holidays come from `holidays` (its Vietnamese table, UTC+7 lunar dates included): Tết,
# giao thừa, Giỗ Tổ, Tết dương lịch, 30/4 and 1/5. Still kept here: Quốc khánh 2/9 (since 2021
# `holidays` lists two days, 2/9 and a bridge day, and a traveller means 2/9), and what is not a
# public holiday in Vietnam: Noel 24-25/12, Valentine 14/2, New Year's Eve 31/12. Festivals of
# the lunar calendar (mùng N / N Tết, Trung thu, Rằm tháng Giêng, Đoan Ngọ, Vu Lan, ông Táo)
# are lunar dates computed with lunar_vn.

_TET = "Lunar New Year"
_TET_EVE = "Lunar New Year's Eve"
_HUNG_KINGS = "Hung Kings' Commemoration Day"
_NEW_YEAR = "New Year's Day"
_REUNIFICATION = "Liberation Day/Reunification Day"
_LABOUR = "International Labor Day"


@cache
def _public_holidays(year: int) -> dict[str, date]:
    """The first day of each public holiday of the year, by its English name in `holidays`."""
    table = holidays.country_holidays("VN", years=year, language="en_US", observed=False)
    named: dict[str, date] = {}
    for day, name in sorted(table.items()):
        # Dates `holidays` only estimates carry a suffix: "Lunar New Year (estimated)".
        named.setdefault(name.split(" (")[0], day)
    return named


def _lunar(day: int, month: int, year: int) -> date | None:
    """The solar date of a day of a (non-leap) lunar month, None when that month is shorter."""
    try:
        solar = lunar_to_solar(LunarDate(day, month, year))
    except ValueError:
        return None
    back = solar_to_lunar(solar)
    return solar if (back.day, back.month, back.leap) == (day, month, False) else None


# --- Reading words -------------------------------------------------------------------------------

_MONTHS = "|".join(sorted(EN_MONTHS, key=len, reverse=True))
_EN_WEEKDAY_NAMES: dict[str, int] = {
    **EN_WEEKDAYS,
    "tues": 1,
    "tue": 1,
    "wed": 2,
    "thurs": 3,
    "thur": 3,
    "fri": 4,
    "sat": 5,
}
_EN_DAYS = "|".join(sorted(_EN_WEEKDAY_NAMES, key=len, reverse=True))

#: Vietnamese number words, folded, with the accented spelling that keeps the number: "sau" is
#: "after" and "sáu" six, "bay" to fly and "bảy" seven, "nam" south and "năm" five (or year).
_VI_NUMBERS: dict[str, tuple[int, str]] = {
    "muoi mot": (11, "mười một"),
    "muoi hai": (12, "mười hai"),
    "mot": (1, "một"),
    "hai": (2, "hai"),
    "ba": (3, "ba"),
    "bon": (4, "bốn"),
    "tu": (4, "tư"),
    "nam": (5, "năm"),
    "sau": (6, "sáu"),
    "bay": (7, "bảy"),
    "tam": (8, "tám"),
    "chin": (9, "chín"),
    "muoi": (10, "mười"),
}
_VI_NUMBER = "|".join(w.replace(" ", r"\s+") for w in _VI_NUMBERS)
_LUNAR_MONTH_NAMES = {"gieng": 1, "chap": 12}
_COUNT = "|".join([r"\d{1,2}", *sorted(NUMBER_WORDS, key=len, reverse=True)])

_PEOPLE_AFTER = (
    r"nguoi|khach|hanh\s+khach|dua|tre|adults?|people|persons?|pax|passengers?|tickets?|seats?"
    r"|ghe|(?P<ve>ve)\b"
)
_AMOUNT_AFTER = r"trieu|tr\b|k\b|nghin|ngan|cu\b|ty\b|d\b|đ|dong\b|vnd|usd|\$|m\b|million|mil\b|%"
_DURATION_AFTER = r"dem|nights?|tuoi|kg|km|lan\b|h\b|gio\b|tieng|phut|hours?|hrs?|mins?|minutes?"
_PEOPLE_UNIT = re.compile(rf"\s*(?:{_PEOPLE_AFTER})")
_ANY_UNIT = re.compile(rf"\s*(?:{_PEOPLE_AFTER}|{_AMOUNT_AFTER}|{_DURATION_AFTER})")
_TIME_AFTER = re.compile(r"\s*(?:sang|chieu|trua|toi|dem|am\b|pm\b|a\.m|p\.m)")
_AMOUNT_BEFORE = re.compile(
    r"\b(?:duoi|tren|toi\s+da|khong\s+qua|tam|khoang|co|hon|gia|luc|under|below|max|about"
    r"|around|budget|at)\s*$"
)
_HOLIDAY_BEFORE = re.compile(r"\b(le|dip|nghi)\s+(?:\d{1,2}\s*/\s*\d{1,2}\s*(?:-|–|va|,|and)\s*)?$")


def _accented(utterance: Utterance) -> bool:
    """Whether the message carries diacritics: then an unaccented word is that word, not a lazy typing."""
    return utterance.lower != utterance.plain


def _means(utterance: Utterance, start: int, end: int, *spellings: str) -> bool:
    """Whether the word is one of ``spellings``, or typed without any accent in a message without them."""
    typed = utterance.lower[start:end]
    return typed in spellings or (not _accented(utterance) and typed == utterance.plain[start:end])


def _not_misspelled(utterance: Utterance, start: int, end: int, *spellings: str) -> bool:
    """Whether the word is one of ``spellings`` or typed without accents ("thang" yes, "thẳng" no)."""
    typed = utterance.lower[start:end]
    return typed in spellings or typed == utterance.plain[start:end]


def _token_before(utterance: Utterance, start: int) -> Token | None:
    before = [t for t in utterance.tokens if t.end <= start]
    return before[-1] if before else None


def _token_after(utterance: Utterance, end: int) -> Token | None:
    return next((t for t in utterance.tokens if t.start >= end), None)


def _word_before(utterance: Utterance, start: int) -> str:
    token = _token_before(utterance, start)
    return token.word if token else ""


def _unit_follows(utterance: Utterance, end: int, units: re.Pattern[str] = _ANY_UNIT) -> bool:
    """Whether a count, an amount or a duration unit follows: "2-3 người", "1.5 triệu", "2 vé"."""
    match = units.match(utterance.plain, end)
    if match is None:
        return False
    # "vé" is a ticket, "về" a return ("đi 15-6 về 20-6").
    return match["ve"] is None or utterance.lower[match.start("ve") : match.end("ve")] == "vé"


def _vi_number(utterance: Utterance, start: int, end: int, text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if " ".join(text.split()) not in _VI_NUMBERS:
        return None  # "tháng tối"
    value, spelled = _VI_NUMBERS[" ".join(text.split())]
    typed = " ".join(utterance.lower[start:end].split())
    if typed == spelled or (not _accented(utterance) and typed == " ".join(text.split())):
        return value
    return None


def _count(utterance: Utterance, start: int, end: int, text: str) -> int | None:
    folded = " ".join(text.split())
    if folded in _VI_NUMBERS:
        return _vi_number(utterance, start, end, text)
    return int(text) if text.isdigit() else NUMBER_WORDS.get(folded)


def _month_number(utterance: Utterance, m: re.Match[str], group: str) -> int | None:
    start, end = m.span(group)
    if m[group] in ("bay", "sau", "nam", "tu") and utterance.lower[start:end] == m[group]:
        # Unaccented, "tháng bay Hà Nội" is more likely "(end of the) month, fly to Hà Nội"
        # than July: the word is a month only where the phrase ends.
        if not re.match(r"\s*(?:[,.;!?)]|$|nam\b|nay\b|\d)", utterance.plain[end:]):
            return None
    value = _vi_number(utterance, start, end, m[group])
    return value if value is not None and 1 <= value <= 12 else None


def _first_group(m: re.Match[str], *names: str) -> str:
    """The name of the first of ``names`` that took part in the match (alternatives cannot share one)."""
    return next((name for name in names if m[name] is not None), names[0])


# --- Rules ---------------------------------------------------------------------------------------
# Each rule turns a match (and the message, for accent checks) into a reading; None means the
# words were not a date after all.

_Rule = Callable[[re.Match[str], Utterance, date], _Reading | None]


def _numeric(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    day, separator, month = int(m["d"]), m["sep"], int(m["m"])
    before = utterance.plain[: m.start()]
    if separator in ".-" and _unit_follows(utterance, m.end()):
        return None
    if separator == "." and (
        _TIME_AFTER.match(utterance.plain, m.end()) or _AMOUNT_BEFORE.search(before)
    ):
        return None
    if re.search(r"\d\s*-$", before) and not re.search(r"\d{1,2}\s*/\s*\d{1,2}\s*-$", before):
        return None  # "15-20/6" is a range, read by no one rather than as the 20th
    occasion = _HOLIDAY_BEFORE.search(before)
    if (
        m["y"] is None
        and occasion
        and _not_misspelled(utterance, *occasion.span(1), "lễ", "dịp", "nghỉ")
    ):
        # "lễ 30/4", "nghỉ lễ 30/4 - 1/5": a yearly occasion is its next occurrence.
        holiday = _next_yearly(today, month, day) if _date(2000, month, day) else None
        return _on(holiday, kind="date") if holiday else None
    return _day_month(today, month, day, int(m["y"]) if m["y"] else None)


def _iso(m: re.Match[str], _: Utterance, today: date) -> _Reading | None:
    return _day_month(today, int(m["m"]), int(m["d"]), int(m["y"]))


def _vi_day_month(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if not _not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng", "thg"):
        return None
    if m["pre"] and not _not_misspelled(
        utterance, m.start("pre"), m.end("pre"), "ngày", "mùng", "mồng", "hôm"
    ):
        return None
    if m["y"] is None and _unit_follows(utterance, m.end()):
        return None
    relative = _relative_month(utterance, m, today)
    if relative is not None:
        # "ngày 4 tháng sau": a day of next month (or of this one).
        said = _date(*relative, int(m["d"]))
        if said is None:
            return None
        return _on(said, kind="date") if said >= today else _Reading(passed=said)
    month = _month_number(utterance, m, "m")
    if month is None:
        return None
    return _day_month(today, month, int(m["d"]), int(m["y"]) if m["y"] else None)


def _relative_month(utterance: Utterance, m: re.Match[str], today: date) -> tuple[int, int] | None:
    """(year, month) for "tháng sau" / "tháng tới" (next month) and "tháng này" (this month)."""
    word, spelled = m["m"], utterance.lower[m.start("m") : m.end("m")]
    if (word == "sau" and spelled != "sáu") or (word == "toi" and spelled != "tối"):
        return _month_after(today)
    return (today.year, today.month) if word == "nay" else None


def _en_month_day(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["name"] == "may" and (
        utterance.lower[m.start("name") : m.end("name")] == "máy"
        or utterance.plain[m.end("name") :].startswith(" bay")
    ):
        return None
    if _unit_follows(utterance, m.end("d"), _PEOPLE_UNIT) and not m["y"]:
        # "June 2 adults": the month, then the party.
        named_first = m.start("name") < m.start("d")
        return _Reading(month=EN_MONTHS[m["name"]], end=m.end("name")) if named_first else None
    return _day_month(today, EN_MONTHS[m["name"]], int(m["d"]), int(m["y"]) if m["y"] else None)


def _vi_month(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if not _not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng", "thg"):
        return None
    if re.search(r"\d\s*$", utterance.plain[: m.start()]) or _unit_follows(utterance, m.end("m")):
        return None
    if re.match(r"\s*\(?\s*(?:am\b|al\b)", utterance.plain[m.end() :]):
        return None  # "tháng 7 âm lịch" is a lunar month, not a solar one.
    relative = _relative_month(utterance, m, today)
    if relative is not None:
        return _Reading(month=relative[1])
    month = _month_number(utterance, m, "m")
    return None if month is None else _Reading(month=month)


def _en_month(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    name, prefix = m["name"], m["pre"]
    if (name == "may" or len(name) <= 4 and name not in ("june", "july")) and prefix is None:
        return None
    if name == "may" and utterance.lower[m.start("name") : m.end("name")] != "may":
        return None
    return _Reading(month=EN_MONTHS[name])


def _en_relative_month(m: re.Match[str], _: Utterance, today: date) -> _Reading | None:
    return _Reading(month=today.month if m["which"] == "this" else _month_after(today)[1])


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


def _vi_month_part(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    spellings = {"dau": ("đầu",), "giua": ("giữa",), "cuoi": ("cuối",)}[m["part"]]
    if not _not_misspelled(utterance, m.start("part"), m.end("part"), *spellings):
        return None
    if not _not_misspelled(utterance, m.start("thang"), m.end("thang"), "tháng"):
        return None
    if m["m"] is None or m["m"] == "nay":
        return _month_part(today, _PARTS[m["part"]], None, None)
    if _relative_month(utterance, m, today) is not None:
        return _month_part(today, _PARTS[m["part"]], None, "next")
    month = _month_number(utterance, m, "m")
    if month is None:
        # "cuối tháng bay Hà Nội": the end of this month; "bay" is the verb.
        reading = _month_part(today, _PARTS[m["part"]], None, None)
        return _Reading(days=reading.days, end=m.end("thang"))
    return _month_part(today, _PARTS[m["part"]], month, None)


def _en_month_part(m: re.Match[str], _: Utterance, today: date) -> _Reading | None:
    name = m["name"]
    month = EN_MONTHS[name] if name else None
    return _month_part(today, _PARTS[m["part"]], month, m["which"])


#: Words after which "thứ 2" is an ordinal or another word, not Monday: "chuyến thứ 2" (the
#: second flight), "vé thứ 2", "nhà ga T2" (a terminal), "theo thứ tự" (in order), "Trung thu".
_NOT_A_WEEKDAY_AFTER = frozenset(
    ["chuyen", "lan", "nguoi", "cai", "hang", "so", "con", "dua", "option", "muc", "dong"]
    + ["ga", "terminal", "theo", "trung"]
)


def _vi_weekday(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["thu"] and not _not_misspelled(utterance, m.start("thu"), m.end("thu"), "thứ"):
        return None  # "thử" (try), "thư" (letter)
    before = _token_before(utterance, m.start())
    ordinal = before is not None and (before.word in _NOT_A_WEEKDAY_AFTER or before.raw == "vé")
    if ordinal and not (m["cn"] or m["mod"]):
        return None  # "chuyến thứ 2 tuần sau" is a Monday all the same
    if m["word"]:
        weekday, spelled = {
            "hai": (0, "hai"),
            "ba": (1, "ba"),
            "tu": (2, "tư"),
            "nam": (3, "năm"),
            "sau": (4, "sáu"),
            "bay": (5, "bảy"),
        }[m["word"]]
        if not _means(utterance, m.start("word"), m.end("word"), spelled):
            return None
    elif m["digit"] or m["t"]:
        weekday = int(m["digit"] or m["t"]) - 2
    else:
        if m["cn"] != "cn" and not _not_misspelled(
            utterance, m.start("cn"), m.start("cn") + 3, "chủ"
        ):
            return None  # "chữ nhật" (rectangle)
        weekday = 6
    modifier = m["mod"] or ""
    spelled_mod = utterance.lower[m.start("mod") : m.end("mod")] if m["mod"] else ""
    if modifier == "toi" and spelled_mod != "tới":
        # "thứ 6 tối" is Friday evening: the evening is left to the time-window reader.
        return _Reading(days=(_next_weekday(today, weekday),), end=m.end("wd"), kind="weekday")
    if modifier.startswith("tuan") and modifier.endswith("nua"):
        day = _next_week(today, weekday) + timedelta(days=7)  # "tuần sau nữa": the week after
    elif modifier.startswith("tuan") and not modifier.endswith("nay"):
        day = _next_week(today, weekday)
    elif modifier.endswith("nay"):
        day = _this_week(today, weekday)
    else:
        day = _next_weekday(today, weekday)
    return _on(day, kind="weekday")


def _en_weekday(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    name = m["wd"]
    if name not in EN_WEEKDAYS and utterance.lower[m.start("wd") : m.end("wd")] != name:
        return None  # "sát", "thứ" are Vietnamese
    weekday = _EN_WEEKDAY_NAMES[name]
    modifier, after = m["mod"] or "", m["after"] or ""
    if modifier == "next" or after.endswith("next week"):
        return _on(_next_week(today, weekday), kind="weekday")
    if (modifier.startswith("this") and "coming" not in modifier) or after.endswith("this week"):
        return _on(_this_week(today, weekday), kind="weekday")
    return _on(_next_weekday(today, weekday), kind="weekday")


def _vi_weekend(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if not _not_misspelled(utterance, m.start(), m.start() + 4, "cuối"):
        return None
    modifier = m["mod"] or ""
    if modifier == "toi" and utterance.lower[m.start("mod") : m.end("mod")] == "tối":
        return _Reading(days=_weekend(today, next_week=False).days, end=m.end("base"))
    reading = _weekend(today, next_week=modifier.startswith(("sau", "toi")))
    if modifier.endswith("nua"):
        # "cuối tuần sau nữa": the weekend after next.
        return _on(*(day + timedelta(days=7) for day in reading.days))
    return reading


def _en_weekend(m: re.Match[str], _: Utterance, today: date) -> _Reading | None:
    return _weekend(today, next_week=m["mod"] == "next")


def _today(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["part"] == "toi" and utterance.lower[m.start("part") : m.end("part")] == "tới":
        return None  # "cho tới nay" is "until now"
    return _on(today)


_NAME_BEFORE = frozenset(
    ["chi", "anh", "em", "co", "chu", "bac", "ong", "ba", "ban", "be", "cho", "voi", "va", "thi"]
    + ["van", "for", "with", "and", "miss", "ms", "mrs", "mr", "hoa", "canh", "cay"]
)


def _tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["mai"]:
        start, end = m.span("mai")
        if utterance.lower[start:end] != "mai":
            return None  # "mãi" (forever), "mái" (roof), "mại"
        after = _token_after(utterance, end)
        if after is not None and after.word in ("chau", "mot"):
            return None  # "Mai Châu" is a place; "mai mốt" is some day
        before = _token_before(utterance, start)
        at_start = before is None or utterance.plain[before.end : start].strip() in (".", "!", "?")
        capital = utterance.typed[start].isupper()
        if before is not None and before.word in ("hoa", "canh", "cay"):
            return None  # "hoa mai", the apricot blossom
        if capital and not at_start:
            named = before is not None and before.word in _NAME_BEFORE
            titled = after is not None and after.typed.istitle() and len(after.typed) > 1
            if named or titled:
                return None  # "chị Mai", "cho Mai", "Mai Anh": a name
    return _on(today + timedelta(days=1))


def _after_tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    # "một" (one) folds to "mot" like "mốt" (the day after tomorrow): alone, only the accented
    # spelling counts; after "ngày" either does, unless it is spelled "một".
    if m["mot"]:
        spelled = utterance.lower[m.start("mot") : m.end("mot")]
        if m["pre"] is None and spelled != "mốt":
            return None
        if spelled == "một" or _word_before(utterance, m.start()) in ("mai", "thang"):
            return None  # "mai mốt" is some day; "tháng mốt" is November
    return _on(today + timedelta(days=2))


def _in_days(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    count = _count(utterance, m.start("n"), m.end("n"), m["n"])
    if count is None or count == 0:
        return None
    days = count * (7 if m["unit"].startswith(("tuan", "week")) else 1)
    if m.groupdict().get("later"):
        return _Reading(shift=days)
    return _on(today + timedelta(days=days))


def _day_of_month_rule(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["pre"] and not _not_misspelled(
        utterance, m.start("pre"), m.end("pre"), "ngày", "mùng", "mồng", "hôm"
    ):
        return None
    if _unit_follows(utterance, m.end()):
        return None  # "đi ngay 2 người"
    day = _day_of_month(today, int(m["d"]))
    return None if day is None else _on(day)


def _en_day_of_month(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if re.match(
        r"\s*(?:one|flight|option|choice|cheapest|result|in\s+the\s+list)\b",
        utterance.plain[m.end() :],
    ):
        return None  # "book the 2nd one" picks a flight
    day = _day_of_month(today, int(m["d"]))
    return None if day is None else _on(day)


# --- Holiday rules -------------------------------------------------------------------------------
# A holiday is its next occurrence on or after today. "Trung thu năm nay" is this year's, rolled
# over like a day and month ("Tết năm nay" said in December is the coming one); "năm sau" /
# "next year" is next year's; "Tết 2028" that year's.

_YEAR_SAID = (
    r"(?:\s+(?:(?P<which>nam\s+nay|this\s+year|nam\s+sau|sang\s+nam|nam\s+toi|next\s+year)"
    r"|(?:nam\s+)?(?P<y>20\d\d))\b)?"
)
_NEXT_YEAR = ("nam sau", "sang nam", "nam toi", "next year")
_OnYear = Callable[[int], date | None]


def _next_of(today: date, on_year: _OnYear) -> date | None:
    for year in range(today.year - 1, today.year + 3):
        day = on_year(year)
        if day is not None and day >= today:
            return day
    return None


def _holiday_in(m: re.Match[str], today: date, on_year: _OnYear) -> _Reading | None:
    which = " ".join((m["which"] or "").split())
    if m["y"]:
        said = on_year(int(m["y"]))
    elif which in _NEXT_YEAR:
        said = on_year(today.year + 1)
    elif which:
        return _rollover(today, on_year(today.year), on_year(today.year + 1))
    else:
        day = _next_of(today, on_year)
        return None if day is None else _on(day)
    if said is None:
        return None
    return _on(said) if said >= today else _Reading(passed=said, next_year=_next_of(today, on_year))


_Guard = Callable[[re.Match[str], Utterance], bool]


def _holiday(on_year: _OnYear, guard: _Guard | None = None) -> _Rule:
    def rule(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
        if guard is not None and not guard(m, utterance):
            return None
        return _holiday_in(m, today, on_year)

    return rule


def _public_on(name: str) -> _OnYear:
    return lambda year: _public_holidays(year).get(name)


def _solar_on(month: int, day: int) -> _OnYear:
    return lambda year: _date(year, month, day)


def _lunar_on(day: int, month: int) -> _OnYear:
    return lambda year: _lunar(day, month, year)


def _before_tet(day: int) -> _OnYear:
    """Lunar ``day`` of the month before Tết of a year ("28 Tết"); 30 is its last day ("30 Tết")."""

    def on_year(year: int) -> date | None:
        tet = _public_holidays(year).get(_TET)
        if tet is None:
            return None
        eve = tet - timedelta(days=1)
        return eve if day >= 30 else eve - timedelta(days=solar_to_lunar(eve).day - day)

    return on_year


_OTHER_TET = ["trung thu", "duong", "tay", "nguyen tieu", "doan ngo", "han thuc", "thieu nhi"]
_OTHER_TET += ["ong", "thanh minh", "vu lan", "holiday"]


def _is_tet(m: re.Match[str], utterance: Utterance) -> bool:
    start, end = m.span("tet")
    if not _not_misspelled(utterance, start, end, "tết"):
        return False  # "bánh tét"
    rest = " " + utterance.plain[end:].strip() + " "
    return not any(rest.startswith(f" {words} ") for words in _OTHER_TET)


def _is_gio_to(m: re.Match[str], utterance: Utterance) -> bool:
    return not m["gio"] or _not_misspelled(utterance, m.start("gio"), m.end("gio"), "giỗ")


def _is_not_a_greeting(m: re.Match[str], utterance: Utterance) -> bool:
    return not re.search(r"\b(?:chuc|mung|happy)\s*$", utterance.plain[: m.start()])


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


def _tet_day(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    """ "mùng 2 Tết", "ngày 2 Tết", "the second day of Tet": lunar N/1; "28 Tết": before Tết."""
    tet = _first_group(m, "tet", "tet2")
    if not _not_misspelled(utterance, m.start(tet), m.end(tet), "tết"):
        return None
    if m["n2"]:
        text, prefix = m["n2"], "mung"
        number: int | None = _ORDINALS.get(text) or int(text[0])
    else:
        text, prefix = m["n"], m["pre"]
        number = _vi_number(utterance, m.start("n"), m.end("n"), text)
    if number is None:
        return None
    if prefix in ("mung", "mong") or (prefix == "ngay" and number <= 10):
        return _holiday_in(m, today, _lunar_on(number, 1)) if 1 <= number <= 10 else None
    if text.isdigit() and 20 <= number <= 30:
        return _holiday_in(m, today, _before_tet(number))
    return None


def _lunar_date(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if m["am"] == "am" and not _means(utterance, m.start("am"), m.end("am"), "âm"):
        return None
    day_group, month_group = _first_group(m, "d", "d2"), _first_group(m, "m", "m2")
    day = _vi_number(utterance, m.start(day_group), m.end(day_group), m[day_group])
    month = _LUNAR_MONTH_NAMES.get(m[month_group]) or _month_number(utterance, m, month_group)
    if day is None or month is None or not 1 <= day <= 30:
        return None
    solar = _next_of(today, _lunar_on(day, month))
    return None if solar is None else _on(solar)


def _full_moon(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
    if not _not_misspelled(utterance, m.start(), m.start() + 3, "rằm"):
        return None
    month = _LUNAR_MONTH_NAMES.get(m["m"]) or _month_number(utterance, m, "m")
    return None if month is None else _holiday_in(m, today, _lunar_on(15, month))


def _constant(value: _Reading) -> _Rule:
    def rule(m: re.Match[str], utterance: Utterance, today: date) -> _Reading | None:
        return value

    return rule


# A holiday named next to its date ("Quốc khánh 2/9") is one phrase.
_DATE_TAIL = r"(?:\s*[(,]?\s*(?:ngay\s+)?\d{1,2}\s*/\s*\d{1,2}(?:\s*\))?)?"
_AM = r"\s*\(?\s*(?P<am>am\s+lich|am|al)\b\)?"

#: (what is said, which day of a year it is, a check on the words); the year said may follow.
_HOLIDAYS: list[tuple[str, _OnYear, _Guard | None]] = [
    (
        r"\b(?:(?:dip|ky\s+nghi|nghi|le|an)\s+)?(?P<tet>tet)"
        r"(?:\s+(?:nguyen\s+dan|am\s+lich|ta|co\s+truyen))?\b",
        _public_on(_TET),
        _is_tet,
    ),
    (
        r"\b(?:lunar|chinese|vietnamese)\s+new\s+year(?:['’]?s)?(?:\s+day)?\b(?!['’]?s?\s+eve)"
        r"|\btet\s+holidays?\b",
        _public_on(_TET),
        None,
    ),
    (
        r"\b(?:(?:dem|dip|ngay|chieu)\s+)?giao\s+thua\b"
        r"|\b(?:lunar|chinese|vietnamese)\s+new\s+year['’]?s?\s+eve\b",
        _public_on(_TET_EVE),
        None,
    ),
    (
        r"\b(?:(?:ngay|le|dip)\s+)?(?P<gio>gio)\s+to(?:\s+hung\s+vuong)?\b"
        r"|\bhung\s+kings?(?:['’]s?)?(?:\s+(?:commemoration\s+)?(?:day|festival))?",
        _public_on(_HUNG_KINGS),
        _is_gio_to,
    ),
    (
        r"\b(?:(?:tet|dip|le|dem)\s+)?trung\s+thu\b|\bmid[\s-]?autumn(?:\s+festival)?\b"
        r"|\bmoon\s+festival\b",
        _lunar_on(15, 8),
        None,
    ),
    (r"\b(?:tet\s+)?nguyen\s+tieu\b|\blantern\s+festival\b", _lunar_on(15, 1), None),
    (r"\b(?:tet\s+)?doan\s+ngo\b", _lunar_on(5, 5), None),
    (r"\b(?:(?:le|dip)\s+)?vu\s+lan\b", _lunar_on(15, 7), None),
    (r"\b(?:(?:tet|ngay|le|cung)\s+)?ong\s+(?:cong\s+ong\s+)?tao\b", _lunar_on(23, 12), None),
    (
        r"\bdem\s+(?:noel|giang\s+sinh)\b|\b(?:christmas|xmas|x-mas)\s+eve\b",
        _solar_on(12, 24),
        None,
    ),
    (
        r"\b(?:(?:le|dip|ngay|mua)\s+)?(?:noel|giang\s+sinh)\b"
        r"|\b(?:christmas|xmas|x-mas)(?:\s+day)?\b",
        _solar_on(12, 25),
        None,
    ),
    (r"\bnew\s+year(?:['’]?s)?\s+eve\b", _solar_on(12, 31), None),
    (
        r"\b(?:(?:dip|ngay|le)\s+)?tet\s+(?:duong(?:\s+lich)?|tay)\b"
        r"|\bnew\s+year(?:['’]?s)?(?:\s+day)?\b(?!['’]?s?\s+eve)"
        r"|\b(?:(?:dip|ngay|le|don)\s+)?nam\s+moi\b",
        _public_on(_NEW_YEAR),
        _is_not_a_greeting,
    ),
    (
        r"\b(?:(?:ngay|le|dip)\s+)?giai\s+phong\s+mien\s+nam\b"
        rf"|\b(?:ngay|le|dip)\s+(?:giai\s+phong|thong\s+nhat(?:\s+dat\s+nuoc)?){_DATE_TAIL}"
        r"|\b(?:reunification|liberation)\s+day\b",
        _public_on(_REUNIFICATION),
        None,
    ),
    (
        rf"\b(?:(?:ngay|le|dip)\s+)?quoc\s+te\s+lao\s+dong{_DATE_TAIL}"
        r"|\b(?:international\s+)?(?:labou?r|workers['’]?)\s+day\b|\bmay\s+day\b",
        _public_on(_LABOUR),
        None,
    ),
    (
        rf"\b(?:(?:ngay|le|dip)\s+)?quoc\s+khanh{_DATE_TAIL}|\bnational\s+day\b",
        _solar_on(9, 2),
        None,
    ),
    (
        r"\b(?:(?:ngay|le|dip)\s+)?valentines?(?:['’]s?)?(?:\s+day)?\b"
        r"|\b(?:ngay\s+)?le\s+tinh\s+nhan\b",
        _solar_on(2, 14),
        None,
    ),
]

_RULES: list[tuple[re.Pattern[str], _Rule]] = [
    *(
        (re.compile(f"(?:{said}){_YEAR_SAID}"), _holiday(on, guard))
        for said, on, guard in _HOLIDAYS
    ),
    (
        re.compile(
            rf"(?:\b(?:(?P<pre>mung|mong|ngay)\s+)?(?P<n>\d{{1,2}}|{_VI_NUMBER})\s+(?P<tet>tet)\b"
            r"|\b(?:the\s+)?(?P<n2>first|second|third|fourth|fifth|sixth|[1-6](?:st|nd|rd|th))"
            rf"\s+day\s+of\s+(?:the\s+)?(?P<tet2>tet|lunar\s+new\s+year)\b){_YEAR_SAID}"
        ),
        _tet_day,
    ),
    (
        re.compile(
            rf"\bram\s+thang\s+(?P<m>\d{{1,2}}|gieng|chap|{_VI_NUMBER})\b(?:{_AM})?{_YEAR_SAID}"
        ),
        _full_moon,
    ),
    (
        re.compile(
            rf"\b(?:(?:ngay|mung|mong)\s+)?(?P<d>\d{{1,2}}|{_VI_NUMBER})"
            rf"\s*(?:/|-|\s+thang\s+)\s*(?P<m>\d{{1,2}}|gieng|chap|{_VI_NUMBER}){_AM}"
            rf"|\b(?:(?:ngay|mung|mong)\s+)?(?P<d2>\d{{1,2}}|{_VI_NUMBER})\s+thang\s+(?P<m2>gieng|chap)\b"
        ),
        _lunar_date,
    ),
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
            rf"(?P<m>\d{{1,2}}|toi|nay|{_VI_NUMBER})\b(?:\s*(?:,|nam|/)?\s*(?P<y>\d{{4}})\b)?"
        ),
        _vi_day_month,
    ),
    (
        re.compile(
            rf"\b(?P<name>{_MONTHS})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
            r"(?:,?\s+(?P<y>\d{4})\b)?"
        ),
        _en_month_day,
    ),
    (
        re.compile(
            rf"\b(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<name>{_MONTHS})\b"
            r"(?:,?\s+(?P<y>\d{4})\b)?"
        ),
        _en_month_day,
    ),
    (
        re.compile(
            rf"\b(?P<part>dau|giua|cuoi)\s+(?P<thang>thang)"
            rf"(?:\s+(?P<m>\d{{1,2}}|sau|toi|nay|{_VI_NUMBER})\b)?(?!\s*/)"
        ),
        _vi_month_part,
    ),
    (
        re.compile(
            r"\b(?:(?:at\s+)?the\s+)?(?P<part>beginning|start|middle|end)\s+of\s+(?:the\s+)?"
            rf"(?:(?:(?P<which>this|next)\s+)?month|(?P<name>{_MONTHS}))\b"
        ),
        _en_month_part,
    ),
    (
        re.compile(
            rf"\b(?P<part>early|mid|late)[\s-]+(?:(?P<which>this|next)\s+month|(?P<name>{_MONTHS}))\b"
        ),
        _en_month_part,
    ),
    (
        re.compile(
            rf"\b(?P<thang>thang|thg)\s+(?P<m>\d{{1,2}}|sau|toi|nay|{_VI_NUMBER})\b"
            r"(?:\s*(?:nam|/)\s*\d{4}\b)?(?!\s*(?:/|lan\b))"
        ),
        _vi_month,
    ),
    (
        re.compile(
            rf"\b(?:(?P<pre>in|during|for|this|next|until|by|around|of)\s+)?(?P<name>{_MONTHS})\b"
            r"(?!\s*\d{1,2}(?!\d))(?:\s+\d{4}\b)?"
        ),
        _en_month,
    ),
    (
        re.compile(r"\b(?P<which>this|next|the\s+following|following)\s+month\b"),
        _en_relative_month,
    ),
    # Weeks and weekdays.
    (
        re.compile(r"\b(?P<base>cuoi\s+tuan)(?:\s+(?P<mod>nay|(?:sau|toi)(?:\s+nua)?)\b)?"),
        _vi_weekend,
    ),
    (
        re.compile(
            r"\b(?:(?:on|over)\s+)?(?:(?P<mod>this(?:\s+coming)?|next|coming|the)\s+)?"
            r"(?:weekend|wknd|wkend|week-end)\b"
        ),
        _en_weekend,
    ),
    (
        re.compile(
            r"\b(?P<wd>(?P<thu>thu)(?:\s*(?P<digit>[2-7])|\s+(?P<word>hai|ba|tu|nam|sau|bay))"
            r"|t(?P<t>[2-7])|(?P<cn>chu\s+nhat|cn))\b"
            r"(?:\s*,?\s*(?P<mod>tuan\s+(?:(?:sau|toi)(?:\s+nua)?|nay)|nay|toi)\b)?"
        ),
        _vi_weekday,
    ),
    (
        re.compile(
            rf"\b(?:(?P<mod>next|this\s+coming|this|coming|upcoming|on)\s+)?(?P<wd>{_EN_DAYS})\b\.?"
            r"(?:\s+(?P<after>next\s+week|this\s+week|of\s+next\s+week|of\s+this\s+week))?"
        ),
        _en_weekday,
    ),
    (
        re.compile(
            r"\b(?:(?:dau\s+)?tuan\s+(?:sau|toi)(?P<after>\s+nua)?|(?:early\s+)?next\s+week"
            r"|(?:the\s+)?(?:beginning|start)\s+of\s+next\s+week|(?P<after2>the\s+week\s+after\s+next))\b"
        ),
        lambda m, u, today: _on(_next_week(today, 7 if m["after"] or m["after2"] else 0)),
    ),
    # Days counted from today.
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+nay|bua\s+nay|today|tonight|tdy"
            r"|(?P<part>toi|sang|chieu|trua|dem|khuya)\s+nay"
            r"|this\s+(?:morning|afternoon|evening))\b"
        ),
        _today,
    ),
    (
        re.compile(
            r"\b(?:ngay\s+mai|bua\s+mai|(?P<mai>mai)|tomorrow|tomorow|tommorow|tommorrow|tmrw?|tmw"
            r"|2moro|2morrow|2mrw|2mr|tomoz)\b"
        ),
        _tomorrow,
    ),
    (
        re.compile(
            r"\b(?:ngay\s+kia|(?:(?P<pre>ngay|hom|bua)\s+)?(?P<mot>mot)"
            r"|(?:the\s+)?day\s+after\s+tomorrow|overmorrow)\b"
        ),
        _after_tomorrow,
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+sau|ngay\s+sau(?:\s+do)?(?!\s+\d)|ngay\s+tiep\s+theo"
            r"|(?:the\s+)?next\s+day|(?:the\s+)?day\s+after|(?:the\s+)?following\s+day)\b"
        ),
        _constant(_Reading(shift=1)),
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+truoc|ngay\s+truoc(?:\s+do)?(?!\s+\d)"
            r"|(?:the\s+)?day\s+before|(?:the\s+)?previous\s+day)\b"
        ),
        _constant(_Reading(shift=-1)),
    ),
    (
        re.compile(
            rf"\b(?:in|sau)\s+(?P<n>{_COUNT})\s+(?P<unit>ngay|hom|days?|tuan|weeks?)\b"
            r"(?:\s+(?:nua|toi))?"
        ),
        _in_days,
    ),
    (
        re.compile(
            rf"\b(?P<n>{_COUNT})\s+(?P<unit>ngay|hom|days?|tuan|weeks?)\s+"
            r"(?:nua|from\s+(?:now|today)|(?P<later>later|sau))\b"
        ),
        _in_days,
    ),
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
    reading: _Reading


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
            )
        )
    return mentions
