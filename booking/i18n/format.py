"""Money, numbers, days, times and counts the way each language writes them: one formatter each.

Everything goes through Babel's CLDR data, the same data the browser's ``Intl`` uses, so the
server's sentences and the page's cards write the same amount the same way:

=========  ====================  ====================
           ``vi``                ``en``
=========  ====================  ====================
money      ``1.008.000 ₫``       ``₫1,008,000``
number     ``12,5``              ``12.5``
day        ``Thứ Hai, 15/6``     ``Mon 15 Jun``
time       ``07:30``             ``07:30``
=========  ====================  ====================

The space before ``₫`` is a no-break space (U+00A0), as CLDR and ``Intl`` write it: the sign
never wraps onto a line of its own on a phone. Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

Language = Literal["vi", "en"]
"""The two languages every traveller-facing sentence is written in."""

LANGUAGES: tuple[Language, ...] = ("vi", "en")

#: The CLDR locale of each language (the page passes the same tags to ``Intl``).
LOCALES: dict[Language, str] = {"vi": "vi", "en": "en"}

#: Day patterns (CLDR skeleton-like patterns, as ``Intl.DateTimeFormat`` writes them).
_DAY = {"vi": "EEEE, d/M", "en": "EEE d MMM"}
_DAY_WITH_YEAR = {"vi": "EEEE, d/M/y", "en": "EEE d MMM y"}
#: A date that needs no weekday (a date of birth): "12/3/1990" / "12 Mar 1990".
_DATE = {"vi": "d/M/y", "en": "d MMM y"}


def whole(value: float | Decimal | int) -> int:
    """Round half up to a whole number, as ``Math.round`` does for the numbers we show.

    Python's :func:`round` rounds half to even (24.5 → 24) where the page would show 25; every
    figure a traveller reads on a card and in the text goes through this one rounding.
    """
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def number(value: float | Decimal | int, language: Language, *, decimals: int | None = None) -> str:
    """A number with the language's separators: "1.300.000" / "1,300,000", "12,5" / "12.5".

    Args:
        decimals: exactly this many decimals (money in cents: 2); by default as many as needed,
            at most three.
    """
    if decimals is None:
        return format_decimal(value, locale=LOCALES[language])
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALES[language])


def money(amount: float | Decimal | int, language: Language, currency: str = "VND") -> str:
    """An amount in its currency: "1.008.000 ₫" / "₫1,008,000", "50,00 US$" / "$50.00"."""
    return format_currency(amount, currency.upper(), locale=LOCALES[language])


def day(value: date, language: Language, *, year: bool = False) -> str:
    """A day with its weekday: "Thứ Hai, 15/6" / "Mon 15 Jun"; ``year`` adds it ("15/6/2026")."""
    patterns = _DAY_WITH_YEAR if year else _DAY
    return format_date(value, patterns[language], locale=LOCALES[language])


def calendar_date(value: date, language: Language) -> str:
    """A date without its weekday, as a date of birth is written: "12/3/1990" / "12 Mar 1990"."""
    return format_date(value, _DATE[language], locale=LOCALES[language])


def clock(value: time | datetime, language: Language) -> str:
    """A time of day on the 24-hour clock in both languages: "07:30"."""
    return format_time(value, "HH:mm", locale=LOCALES[language])


def count(amount: int, one: str, language: Language, other: str | None = None) -> str:
    """A number with its noun: "1 seat", "2 seats", "1.200 chỗ"; Vietnamese nouns never change.

    Args:
        one: the noun for one ("seat", "chỗ").
        other: the plural when it is not ``one + "s"`` (English only).
    """
    said = number(amount, language)
    if language == "vi" or amount == 1:
        return f"{said} {one}"
    return f"{said} {other or one + 's'}"


def language_of(value: object, default: Language = "vi") -> Language:
    """A language tag as we support it: "vi-VN" → "vi", "en-GB" → "en", anything else → default."""
    tag = str(value or "").strip().lower().replace("_", "-").split("-")[0]
    return tag if tag in LANGUAGES else default
