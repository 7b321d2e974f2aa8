"""PRICE spans: a fare cap in VND, however a traveller writes the amount.

"dưới 2 triệu", "tầm 1tr5", "khoảng 800k", "cỡ 2 củ", "không quá 1.200.000đ", "2 triệu rưỡi",
"1tr8", "max 1.5M", "under 50 USD", "$80". An approximate amount ("tầm", "khoảng", "cỡ",
"around", "about") is a budget, so its cap is the amount itself. A foreign amount is converted
at the configured rate and the conversion is returned so the answer can say so.

Hand-written: no kept library reads Vietnamese money slang ("củ", "rưỡi", "1tr8").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from booking.offline_model.date_mentions import overlaps
from booking.offline_model.text import Utterance

#: VND per US dollar used for "under 50 USD" (``BOOKING_USD_VND_RATE`` overrides it).
DEFAULT_USD_VND_RATE = 26_000

_CAP_WORDS = (
    r"duoi|khong\s+qua|khong\s+vuot\s+qua|toi\s+da|re\s+hon|it\s+hon|nho\s+hon|thap\s+hon"
    r"|tam|khoang|co|chung|tren\s+duoi|quanh|tam\s+khoang|gia|gia\s+ve|muc"
    r"|under|below|max(?:imum)?|less\s+than|cheaper\s+than|up\s+to|at\s+most|no\s+more\s+than"
    r"|around|about|approx(?:imately)?|roughly|budget(?:\s+(?:of|is|around|about))?"
    r"|ngan\s+sach|within|for\s+less\s+than|not\s+over|not\s+more\s+than|<=?"
    r"|nothing\s+(?:over|above|more\s+than)|no\s+(?:higher|more)\s+than|below|cap(?:ped)?\s+at"
)
_UNITS = (
    r"trieu\s+dong|million\s+dong|million\s+vnd|million|mil|trieu|tr|cu|m"
    r"|thousand|nghin|ngan|k|vnd|vnđ|dong|d|usd|us\s+dollars?|dollars?|bucks|do\s+la|do|\$"
)
_AMOUNT = rf"(\d+(?:[.,]\d+)*)\s*({_UNITS})?(?![a-z])\s*(\d(?!\d*\s*(?:/|h\b|gio)))?(\s*ruoi\b)?"
_CAP = re.compile(rf"(?:\b|(?<=\s)|^)(?:{_CAP_WORDS})\s*:?\s*(\$)?\s*{_AMOUNT}")
#: An amount with a money unit but no cap word ("vé 1tr5 SGN HAN", "budget: 2 củ").
_BARE = re.compile(
    r"(?<![\w.,/])(\$)?\s*(\d+(?:[.,]\d+)*)\s*(trieu|tr|cu|k|usd|bucks|do\s+la|do)(?![a-z])\s*"
    r"(\d(?!\d*\s*(?:/|h\b|gio)))?(\s*ruoi\b)?"
)
_RANGE_END = re.compile(rf"\s*(?:-|–|den|toi|to)\s*(\d+(?:[.,]\d+)*)\s*({_UNITS})?(?![a-z])")
_DOLLAR = re.compile(r"()(?:\$|\busd|\bus\$)\s*(\d+(?:[.,]\d+)?)()()()")
#: Millions said in words with no digit: "tầm triệu rưỡi", "khoảng hai triệu".
_WORD_MILLIONS = re.compile(
    rf"(?:\b|(?<=\s)|^)(?:{_CAP_WORDS})\s+(?:(mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi)\s+)?"
    r"trieu(?:(\s+ruoi)|\s+(mot|hai|ba|bon|nam|sau|bay|tam|chin)(?!\s+(?:nguoi|ve|khach)))?\b"
)
_MILLION_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8}
_MILLION_WORDS |= {"chin": 9, "muoi": 10}
_MILLION_SPELLINGS = {"mot": "một", "hai": "hai", "ba": "ba", "bon": "bốn", "nam": "năm"}
_MILLION_SPELLINGS |= {"sau": "sáu", "bay": "bảy", "tam": "tám", "chin": "chín", "muoi": "mười"}
_MILLIONS = frozenset({"million", "mil", "trieu", "tr", "cu", "m", "trieu dong"})
_MILLIONS |= {"million dong", "million vnd"}
_THOUSANDS = frozenset({"thousand", "nghin", "ngan", "k"})
_DOLLARS = frozenset(
    {"usd", "$", "dollar", "dollars", "us dollar", "us dollars", "bucks", "do la", "do"}
)


@dataclass(frozen=True, slots=True)
class PriceMention:
    """A fare cap said in the message."""

    start: int
    end: int
    vnd: int
    """The cap per passenger in VND."""
    converted: tuple[float, str, int] | None = None
    """(amount, currency, VND) when said in another currency."""


def _scale(unit: str | None) -> tuple[Decimal, str | None]:
    unit = " ".join((unit or "").split())
    if unit in _MILLIONS:
        return Decimal(1_000_000), None
    if unit in _THOUSANDS:
        return Decimal(1_000), None
    if unit in _DOLLARS:
        return Decimal(1), "USD"
    return Decimal(1), None


def _value(number: str, unit: str | None, tenth: str | None, half: bool) -> Decimal | None:
    scale, _ = _scale(unit)
    if scale > 1 and re.fullmatch(r"\d+[.,]\d{1,2}", number):
        # "1.5M" and "1,5 triệu" carry a decimal part; "2.000.000" only groups thousands.
        text = number.replace(",", ".")
    elif scale == 1 and re.fullmatch(r"\d+[.,]\d{1,2}", number):
        text = number.replace(",", ".")  # "$49.99"
    else:
        text = number.replace(",", "").replace(".", "")
    try:
        value = Decimal(text) * scale
    except InvalidOperation:
        return None
    if tenth is not None and scale > 1:
        # "1tr8" is one million eight hundred thousand: the digit after the unit is a tenth.
        value += Decimal(tenth) * scale / 10
    if half and scale > 1:
        value += scale / 2  # "2 triệu rưỡi": and a half.
    return value


def find_prices(
    utterance: Utterance, taken: list[tuple[int, int]], usd_rate: int = DEFAULT_USD_VND_RATE
) -> list[PriceMention]:
    """Every fare cap outside ``taken``, in message order; claims their characters."""
    found: list[PriceMention] = []
    plain = utterance.plain.replace("₫", "d").replace("đ", "d")
    for pattern in (_CAP, _BARE, _DOLLAR):
        for match in pattern.finditer(plain):
            start, end = match.span()
            if overlaps(start, end, taken):
                continue
            dollar_sign, number, unit, tenth, half = match.groups()
            upper = _RANGE_END.match(plain, end)
            if upper is not None:
                # "tầm 1tr5 - 2tr", "from 1 to 2 million": the cap is the upper end.
                number, unit, tenth, half = upper.group(1), upper.group(2) or unit, None, None
                end = upper.end()
            value = _value(number, unit, tenth, bool(half))
            if value is None:
                continue
            _, currency = _scale(unit)
            if dollar_sign or pattern is _DOLLAR:
                currency = "USD"
            converted: tuple[float, str, int] | None = None
            if currency == "USD":
                vnd = int(value * usd_rate)
                converted = (float(value), "USD", vnd)
            else:
                vnd = int(value)
                if vnd < 10_000:
                    # A number that small with no money unit is no fare ("dưới 2 tuổi").
                    continue
            taken.append((start, end))
            found.append(PriceMention(start, end, vnd, converted))
    for match in _WORD_MILLIONS.finditer(plain):
        if not overlaps(*match.span(), taken):
            word = match[1] or "mot"
            spelled = utterance.lower[match.start(1) : match.end(1)] if match[1] else "một"
            # "tầm triệu rưỡi" is about one and a half million: "tầm" folds like "tám" (eight).
            count = _MILLION_WORDS[word] if spelled == _MILLION_SPELLINGS[word] else 1
            millions = count * 1_000_000
            if (
                match[3]
                and utterance.lower[match.start(3) : match.end(3)] == (_MILLION_SPELLINGS[match[3]])
            ):
                # "một triệu tám": and eight hundred thousand.
                millions += _MILLION_WORDS[match[3]] * 100_000
            taken.append(match.span())
            found.append(PriceMention(*match.span(), millions + (500_000 if match[2] else 0), None))
    return sorted(found, key=lambda p: p.start)
