"""The one-language checks every offline answer test uses: a Vietnamese answer holds no English
tell-tale word (nor an error code), an English answer no Vietnamese one."""

from __future__ import annotations

import re
from pathlib import Path

import booking
from booking import errors

_SOURCE = Path(booking.__file__).parent


def _subclasses(cls: type[errors.BookingError]) -> list[type[errors.BookingError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out


#: Every code of :mod:`booking.errors`.
ERROR_CODES = frozenset(cls.code for cls in _subclasses(errors.BookingError))
#: Every other code written in the source: ``code = "..."``, ``code="..."``, ``"code": "..."``.
SOURCE_CODES = frozenset(
    code
    for path in _SOURCE.rglob("*.py")
    for code in re.findall(
        r'(?:\bcode\s*=\s*|"code":\s*)"([a-z_]+)"', path.read_text(encoding="utf-8")
    )
)
ALL_CODES = ERROR_CODES | SOURCE_CODES

#: Words that give English away in a Vietnamese answer.
ENGLISH_TELLTALES = frozenset(
    {"the", "and", "of", "to", "for", "is", "are", "please", "sorry"}
    | {"passenger", "passengers", "seat", "seats", "flight", "flights", "economy", "business"}
    | {"departure", "price", "error", "total", "booking", "reference", "weather", "filters"}
    | {"vnd", "per", "nearest", "cabin", "airline", "left", "sold", "match", "matches"}
)
#: Words that give Vietnamese away in an English answer.
VIETNAMESE_TELLTALES = frozenset(
    {"và", "của", "chuyến", "khách", "chỗ", "ngày", "bạn", "mình", "hạng", "giá", "không"}
    | {"được", "nhé", "tổng", "đặt", "thời", "tiết", "lỗi", "thứ", "tháng", "giờ", "gần"}
    | {"phổ", "thông", "thương", "gia", "hãng", "sân", "bay", "đường", "bộ", "khoảng", "đã"}
)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def assert_vietnamese(text: str) -> None:
    """Fail when a Vietnamese answer has an English word, an error code or "VND" in it."""
    english = sorted(_words(text) & ENGLISH_TELLTALES)
    codes = sorted(code for code in ALL_CODES if code in text)
    assert not english, f"English in a Vietnamese answer: {english}\n{text}"
    assert not codes, f"Error codes in a Vietnamese answer: {codes}\n{text}"


def assert_english(text: str) -> None:
    """Fail when an English answer has a Vietnamese word or a Vietnamese amount in it."""
    vietnamese = sorted(_words(text) & VIETNAMESE_TELLTALES)
    amounts = re.findall(r"\d\s?(?:₫|đ\b)", text)
    assert not vietnamese, f"Vietnamese in an English answer: {vietnamese}\n{text}"
    assert not amounts, f"Vietnamese amounts in an English answer: {amounts}\n{text}"
