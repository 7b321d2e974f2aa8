"""Holidays and lunar dates named in Vietnamese and English, resolved against ``today``.

Recognises Tết and giao thừa, "mùng 2 Tết" / "the second day of Tet" (lunar N/1), "28 Tết" (a
day of the lunar month before Tết), Giỗ Tổ, Trung thu, Rằm tháng Giêng, Đoan Ngọ, Vu Lan, ông
Táo, "rằm tháng 7", a lunar day and month ("15/8 âm lịch", "mùng 10 tháng Giêng"), Tết dương
lịch, 30/4, 1/5, Quốc khánh, Noel, Valentine and New Year's Eve, each with the checks that keep
look-alike words out ("bánh tét", "chúc mừng năm mới").

Public holidays come from `holidays` (its Vietnamese table, UTC+7 lunar dates included): Tết,
giao thừa, Giỗ Tổ, Tết dương lịch, 30/4 and 1/5. Still kept here: Quốc khánh 2/9 (since 2021
`holidays` lists two days, 2/9 and a bridge day, and a traveller means 2/9), and what is not a
public holiday in Vietnam: Noel 24-25/12, Valentine 14/2, New Year's Eve 31/12. Festivals of
the lunar calendar (mùng N / N Tết, Trung thu, Rằm tháng Giêng, Đoan Ngọ, Vu Lan, ông Táo)
are lunar dates computed with lunar_vn (:func:`calendar_days.lunar`).

A holiday is its next occurrence on or after today. "Trung thu năm nay" is this year's, rolled
over like a day and month ("Tết năm nay" said in December is the coming one); "năm sau" /
"next year" is next year's; "Tết 2028" that year's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from lunar_vn import solar_to_lunar

from booking.offline_model.calendar_days import (
    Reading,
    lunar,
    on,
    public_holidays,
    rollover,
    valid_date,
)
from booking.offline_model.date_words import (
    VI_NUMBER,
    Rule,
    first_group,
    means,
    month_number,
    not_misspelled,
    vi_number,
)
from booking.offline_model.text import Utterance

# Names of public holidays in `holidays` (English).
_TET = "Lunar New Year"
_TET_EVE = "Lunar New Year's Eve"
_HUNG_KINGS = "Hung Kings' Commemoration Day"
_NEW_YEAR = "New Year's Day"
_REUNIFICATION = "Liberation Day/Reunification Day"
_LABOUR = "International Labor Day"

_LUNAR_MONTH_NAMES = {"gieng": 1, "chap": 12}

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


def _holiday_in(m: re.Match[str], today: date, on_year: _OnYear) -> Reading | None:
    which = " ".join((m["which"] or "").split())
    if m["y"]:
        said = on_year(int(m["y"]))
    elif which in _NEXT_YEAR:
        said = on_year(today.year + 1)
    elif which:
        return rollover(today, on_year(today.year), on_year(today.year + 1))
    else:
        day = _next_of(today, on_year)
        return None if day is None else on(day)
    if said is None:
        return None
    return on(said) if said >= today else Reading(passed=said, next_year=_next_of(today, on_year))


_Guard = Callable[[re.Match[str], Utterance], bool]


def _holiday(on_year: _OnYear, guard: _Guard | None = None) -> Rule:
    def rule(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
        if guard is not None and not guard(m, utterance):
            return None
        return _holiday_in(m, today, on_year)

    return rule


def _public_on(name: str) -> _OnYear:
    return lambda year: public_holidays(year).get(name)


def _solar_on(month: int, day: int) -> _OnYear:
    return lambda year: valid_date(year, month, day)


def _lunar_on(day: int, month: int) -> _OnYear:
    return lambda year: lunar(day, month, year)


def _before_tet(day: int) -> _OnYear:
    """Lunar ``day`` of the month before Tết of a year ("28 Tết"); 30 is its last day ("30 Tết")."""

    def on_year(year: int) -> date | None:
        tet = public_holidays(year).get(_TET)
        if tet is None:
            return None
        eve = tet - timedelta(days=1)
        return eve if day >= 30 else eve - timedelta(days=solar_to_lunar(eve).day - day)

    return on_year


_OTHER_TET = ["trung thu", "duong", "tay", "nguyen tieu", "doan ngo", "han thuc", "thieu nhi"]
_OTHER_TET += ["ong", "thanh minh", "vu lan", "holiday"]


def _is_tet(m: re.Match[str], utterance: Utterance) -> bool:
    start, end = m.span("tet")
    if not not_misspelled(utterance, start, end, "tết"):
        return False  # "bánh tét"
    rest = " " + utterance.plain[end:].strip() + " "
    return not any(rest.startswith(f" {words} ") for words in _OTHER_TET)


def _is_gio_to(m: re.Match[str], utterance: Utterance) -> bool:
    return not m["gio"] or not_misspelled(utterance, m.start("gio"), m.end("gio"), "giỗ")


def _is_not_a_greeting(m: re.Match[str], utterance: Utterance) -> bool:
    return not re.search(r"\b(?:chuc|mung|happy)\s*$", utterance.plain[: m.start()])


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


def _tet_day(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    """ "mùng 2 Tết", "ngày 2 Tết", "the second day of Tet": lunar N/1; "28 Tết": before Tết."""
    tet = first_group(m, "tet", "tet2")
    if not not_misspelled(utterance, m.start(tet), m.end(tet), "tết"):
        return None
    if m["n2"]:
        text, prefix = m["n2"], "mung"
        number: int | None = _ORDINALS.get(text) or int(text[0])
    else:
        text, prefix = m["n"], m["pre"]
        number = vi_number(utterance, m.start("n"), m.end("n"), text)
    if number is None:
        return None
    if prefix in ("mung", "mong") or (prefix == "ngay" and number <= 10):
        return _holiday_in(m, today, _lunar_on(number, 1)) if 1 <= number <= 10 else None
    if text.isdigit() and 20 <= number <= 30:
        return _holiday_in(m, today, _before_tet(number))
    return None


def _lunar_date(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["am"] == "am" and not means(utterance, m.start("am"), m.end("am"), "âm"):
        return None
    day_group, month_group = first_group(m, "d", "d2"), first_group(m, "m", "m2")
    day = vi_number(utterance, m.start(day_group), m.end(day_group), m[day_group])
    month = _LUNAR_MONTH_NAMES.get(m[month_group]) or month_number(utterance, m, month_group)
    if day is None or month is None or not 1 <= day <= 30:
        return None
    solar = _next_of(today, _lunar_on(day, month))
    return None if solar is None else on(solar)


def _full_moon(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if not not_misspelled(utterance, m.start(), m.start() + 3, "rằm"):
        return None
    month = _LUNAR_MONTH_NAMES.get(m["m"]) or month_number(utterance, m, "m")
    return None if month is None else _holiday_in(m, today, _lunar_on(15, month))


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

#: The holiday rules, in the order :func:`date_mentions.find_dates` tries them.
HOLIDAY_RULES: list[tuple[re.Pattern[str], Rule]] = [
    *(
        (re.compile(f"(?:{said}){_YEAR_SAID}"), _holiday(on_year, guard))
        for said, on_year, guard in _HOLIDAYS
    ),
    (
        re.compile(
            rf"(?:\b(?:(?P<pre>mung|mong|ngay)\s+)?(?P<n>\d{{1,2}}|{VI_NUMBER})\s+(?P<tet>tet)\b"
            r"|\b(?:the\s+)?(?P<n2>first|second|third|fourth|fifth|sixth|[1-6](?:st|nd|rd|th))"
            rf"\s+day\s+of\s+(?:the\s+)?(?P<tet2>tet|lunar\s+new\s+year)\b){_YEAR_SAID}"
        ),
        _tet_day,
    ),
    (
        re.compile(
            rf"\bram\s+thang\s+(?P<m>\d{{1,2}}|gieng|chap|{VI_NUMBER})\b(?:{_AM})?{_YEAR_SAID}"
        ),
        _full_moon,
    ),
    (
        re.compile(
            rf"\b(?:(?:ngay|mung|mong)\s+)?(?P<d>\d{{1,2}}|{VI_NUMBER})"
            rf"\s*(?:/|-|\s+thang\s+)\s*(?P<m>\d{{1,2}}|gieng|chap|{VI_NUMBER}){_AM}"
            rf"|\b(?:(?:ngay|mung|mong)\s+)?(?P<d2>\d{{1,2}}|{VI_NUMBER})\s+thang\s+(?P<m2>gieng|chap)\b"
        ),
        _lunar_date,
    ),
]
