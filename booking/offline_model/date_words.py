"""The words of date phrases: number words, month and weekday names, and the words around them.

Vietnamese typed without accents folds different words together ("sau" after, "sáu" six; "bay"
to fly, "bảy" seven; "tháng" month, "thẳng" straight), so these helpers check how a word was
typed, and whether a unit after a number ("2 người", "1.5 triệu", "3 đêm") makes it a count, an
amount or a duration rather than a date. A :data:`Rule` reads one date phrase with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from booking.offline_model.calendar_days import Reading
from booking.offline_model.lexicon import EN_MONTHS, EN_WEEKDAYS, NUMBER_WORDS
from booking.offline_model.text import Token, Utterance

#: Each rule turns a match (and the message, for accent checks) into a reading; None means the
#: words were not a date after all.
Rule = Callable[[re.Match[str], Utterance, date], Reading | None]

MONTHS = "|".join(sorted(EN_MONTHS, key=len, reverse=True))
EN_WEEKDAY_NAMES: dict[str, int] = {
    **EN_WEEKDAYS,
    "tues": 1,
    "tue": 1,
    "wed": 2,
    "thurs": 3,
    "thur": 3,
    "fri": 4,
    "sat": 5,
}
EN_DAYS = "|".join(sorted(EN_WEEKDAY_NAMES, key=len, reverse=True))

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
VI_NUMBER = "|".join(w.replace(" ", r"\s+") for w in _VI_NUMBERS)
COUNT = "|".join([r"\d{1,2}", *sorted(NUMBER_WORDS, key=len, reverse=True)])

_PEOPLE_AFTER = (
    r"nguoi|khach|hanh\s+khach|dua|tre|adults?|people|persons?|pax|passengers?|tickets?|seats?"
    r"|ghe|(?P<ve>ve)\b"
)
_AMOUNT_AFTER = r"trieu|tr\b|k\b|nghin|ngan|cu\b|ty\b|d\b|đ|dong\b|vnd|usd|\$|m\b|million|mil\b|%"
_DURATION_AFTER = r"dem|nights?|tuoi|kg|km|lan\b|h\b|gio\b|tieng|phut|hours?|hrs?|mins?|minutes?"
PEOPLE_UNIT = re.compile(rf"\s*(?:{_PEOPLE_AFTER})")
_ANY_UNIT = re.compile(rf"\s*(?:{_PEOPLE_AFTER}|{_AMOUNT_AFTER}|{_DURATION_AFTER})")
TIME_AFTER = re.compile(r"\s*(?:sang|chieu|trua|toi|dem|am\b|pm\b|a\.m|p\.m)")
AMOUNT_BEFORE = re.compile(
    r"\b(?:duoi|tren|toi\s+da|khong\s+qua|tam|khoang|co|hon|gia|luc|under|below|max|about"
    r"|around|budget|at)\s*$"
)
HOLIDAY_BEFORE = re.compile(r"\b(le|dip|nghi)\s+(?:\d{1,2}\s*/\s*\d{1,2}\s*(?:-|–|va|,|and)\s*)?$")


def _accented(utterance: Utterance) -> bool:
    """Whether the message carries diacritics: then an unaccented word is that word, not a lazy typing."""
    return utterance.lower != utterance.plain


def means(utterance: Utterance, start: int, end: int, *spellings: str) -> bool:
    """Whether the word is one of ``spellings``, or typed without any accent in a message without them."""
    typed = utterance.lower[start:end]
    return typed in spellings or (not _accented(utterance) and typed == utterance.plain[start:end])


def not_misspelled(utterance: Utterance, start: int, end: int, *spellings: str) -> bool:
    """Whether the word is one of ``spellings`` or typed without accents ("thang" yes, "thẳng" no)."""
    typed = utterance.lower[start:end]
    return typed in spellings or typed == utterance.plain[start:end]


def token_before(utterance: Utterance, start: int) -> Token | None:
    before = [t for t in utterance.tokens if t.end <= start]
    return before[-1] if before else None


def token_after(utterance: Utterance, end: int) -> Token | None:
    return next((t for t in utterance.tokens if t.start >= end), None)


def word_before(utterance: Utterance, start: int) -> str:
    token = token_before(utterance, start)
    return token.word if token else ""


def unit_follows(utterance: Utterance, end: int, units: re.Pattern[str] = _ANY_UNIT) -> bool:
    """Whether a count, an amount or a duration unit follows: "2-3 người", "1.5 triệu", "2 vé"."""
    match = units.match(utterance.plain, end)
    if match is None:
        return False
    # "vé" is a ticket, "về" a return ("đi 15-6 về 20-6").
    return match["ve"] is None or utterance.lower[match.start("ve") : match.end("ve")] == "vé"


def vi_number(utterance: Utterance, start: int, end: int, text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if " ".join(text.split()) not in _VI_NUMBERS:
        return None  # "tháng tối"
    value, spelled = _VI_NUMBERS[" ".join(text.split())]
    typed = " ".join(utterance.lower[start:end].split())
    if typed == spelled or (not _accented(utterance) and typed == " ".join(text.split())):
        return value
    return None


def count(utterance: Utterance, start: int, end: int, text: str) -> int | None:
    folded = " ".join(text.split())
    if folded in _VI_NUMBERS:
        return vi_number(utterance, start, end, text)
    return int(text) if text.isdigit() else NUMBER_WORDS.get(folded)


def month_number(utterance: Utterance, m: re.Match[str], group: str) -> int | None:
    start, end = m.span(group)
    if m[group] in ("bay", "sau", "nam", "tu") and utterance.lower[start:end] == m[group]:
        # Unaccented, "tháng bay Hà Nội" is more likely "(end of the) month, fly to Hà Nội"
        # than July: the word is a month only where the phrase ends.
        if not re.match(r"\s*(?:[,.;!?)]|$|nam\b|nay\b|\d)", utterance.plain[end:]):
            return None
    value = vi_number(utterance, start, end, m[group])
    return value if value is not None and 1 <= value <= 12 else None


def first_group(m: re.Match[str], *names: str) -> str:
    """The name of the first of ``names`` that took part in the match (alternatives cannot share one)."""
    return next((name for name in names if m[name] is not None), names[0])
