"""Who travels and how to reach the booker: passenger names with dates of birth, phone, e-mail.

A name is a run of two or more capitalised words ("Nguyễn Văn An", "Tran Thi Binh",
"NGUYEN VAN AN") with nothing but spaces between them, so commas, semicolons, new lines, "và",
"and" and every other lower-case word end it. A run is not a name when places cover it
("Hà Nội", "SGN HAN"), when it is an airline ("Vietnam Airlines"), or when it holds a word that
is never part of a name ("Book", "Cho", "Email", "Mr"). A date of birth may follow a name:
"Nguyễn Văn An 12/03/1990", "Tran Thi Binh (1990-03-12)", "Lê Hoa, sinh ngày 2/9/1985".

Phones are Vietnamese mobile numbers (0, +84 or (+84), then nine digits starting 3, 5, 7, 8 or
9; spaces, dots and dashes allowed) and come back without separators. Nothing is guessed: what
the message does not say stays empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from booking.offline_model.date_mentions import overlaps
from booking.offline_model.lexicon import EN_MONTHS, EN_WEEKDAYS
from booking.offline_model.place_mentions import find_places
from booking.offline_model.reference_index import airline_phrases
from booking.offline_model.text import Token, Utterance

#: Longest run of capitalised words still read as one person's name.
_MAX_NAME_WORDS = 6

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])(\(\+84\)|\+84|0)[\s.\-]?([35789](?:[\s.\-]?\d){8})(?![\d])")
_BIRTH = re.compile(
    r"\s*[,(:\-–]?\s*(?:(?:ngay\s+)?sinh(?:\s+ngay)?|ns|born(?:\s+on)?|dob|d\.o\.b\.?"
    r"|date\s+of\s+birth)?\s*[:,]?\s*"
    r"(?:(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2}))(?!\d)\s*\)?"
)

#: Words that are never part of a personal name, as typed in lower case (accents kept: "Tú" is
#: a name, "từ" is "from"). Folded forms are listed only where no name syllable shares them.
_NOT_NAME_RAW: frozenset[str] = frozenset(
    {"đặt", "vé", "chuyến", "cho", "tôi", "mình", "bạn", "từ", "đến", "đi", "ngày", "tháng"}
    | {"thứ", "hạng", "hãng", "sđt", "số", "điện", "thoại", "tên", "họ", "và", "hủy", "huỷ"}
    | {"xác", "giữ", "chỗ", "ông", "bà", "chị", "chú", "cháu", "bé", "giúp", "xin", "chào"}
    | {"cảm", "ơn", "gửi", "liên", "hệ", "hành", "khách", "của", "với", "về", "vào", "lúc"}
    | {"sân", "thành", "phố", "máy", "bay", "ve", "chuyen", "sdt", "dt", "tp", "toi", "cho"}
    | {"book", "booking", "flight", "flights", "ticket", "tickets", "the", "for", "please"}
    | {"cancel", "confirm", "email", "mail", "phone", "tel", "mobile", "passenger", "name"}
    | {"passengers", "names", "mr", "mrs", "ms", "miss", "mx", "dr", "hi", "hello", "hey"}
    | {"ok", "okay", "yes", "no", "i", "my", "me", "we", "our", "cheapest", "earliest", "dear"}
    | {"contact", "reference", "status", "thanks", "thank", "from", "to", "on", "at", "in"}
    | {"business", "economy", "class", "airport", "city", "and", "or", "with", "by", "am", "pm"}
    | set(EN_MONTHS)
    | set(EN_WEEKDAYS)
)


@dataclass(frozen=True, slots=True)
class Traveller:
    """One passenger as the booking tool takes them."""

    full_name: str
    date_of_birth: str | None = None
    """YYYY-MM-DD, when the message gave one."""


@dataclass(frozen=True, slots=True)
class People:
    """Everything a message says about who travels and how to reach them."""

    travellers: tuple[Traveller, ...] = ()
    email: str | None = None
    phone: str | None = None
    spans: tuple[tuple[int, int], ...] = ()
    """Characters used by names, dates of birth, e-mails and phones: not dates, places or codes."""
    name_tokens: frozenset[int] = frozenset()
    """Indexes of the tokens inside names."""

    @property
    def said_anything(self) -> bool:
        """Whether the message gave a name, a phone or an e-mail."""
        return bool(self.travellers or self.email or self.phone)


def _capitalised(token: Token) -> bool:
    return (
        token.typed[:1].isupper()
        and token.word.isalpha()
        and token.raw not in _NOT_NAME_RAW
        and token.word not in _NOT_NAME_RAW
    )


def _joined(utterance: Utterance, left: Token, right: Token) -> bool:
    """Whether only spaces (no line break) stand between two words."""
    gap = utterance.typed[left.end : right.start]
    return (bool(gap) and gap.strip(" \t") == "") or gap in ("-", "'", "’")


def _runs(utterance: Utterance, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last) token indexes of every run of capitalised words outside ``taken``."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    tokens = utterance.tokens
    for index, token in enumerate(tokens):
        usable = _capitalised(token) and not overlaps(token.start, token.end, taken)
        if usable and start is not None and _joined(utterance, tokens[index - 1], token):
            continue
        if start is not None:
            runs.append((start, index - 1))
        start = index if usable else None
    if start is not None:
        runs.append((start, len(tokens) - 1))
    return runs


def _word(token: Token) -> str:
    """The word as it goes on a ticket: "NGUYỄN" becomes "Nguyễn"."""
    return token.typed.capitalize() if token.typed.isupper() else token.typed


def _birth(utterance: Utterance, position: int, today: date | None) -> tuple[str | None, int]:
    """The date of birth right after ``position`` (ISO or None) and where its phrase ends."""
    match = _BIRTH.match(utterance.plain, position)
    if match is None:
        return None, position
    if match[3]:
        day, month, year = int(match[1]), int(match[2]), int(match[3])
    else:
        year, month, day = int(match[4]), int(match[5]), int(match[6])
    try:
        born = date(year, month, day)
    except ValueError:
        return None, match.end()
    return (born.isoformat() if today is None or born < today else None), match.end()


def find_people(utterance: Utterance, today: date | None) -> People:
    """Names (with dates of birth), the first e-mail and the first mobile number of a message.

    Args:
        utterance: the message.
        today: the date in Vietnam; a date of birth must be before it. None takes any date
            (when only the spans matter).
    """
    taken: list[tuple[int, int]] = []
    email: str | None = None
    for match in _EMAIL.finditer(utterance.typed):
        email = email or match.group()
        taken.append(match.span())
    phone: str | None = None
    for match in _PHONE.finditer(utterance.typed):
        if overlaps(*match.span(), taken):
            continue
        prefix = "+84" if match[1] != "0" else "0"
        phone = phone or prefix + re.sub(r"\D", "", match[2])
        taken.append(match.span())
    # Only known places rule a run out: an unknown capitalised run ("for Tran Thi Binh") is what
    # the place finder offers as a city it does not know, and here it is a name.
    places = {i for m in find_places(utterance) if m.city.slug for i in range(m.first, m.last + 1)}
    airlines = airline_phrases()
    travellers: list[Traveller] = []
    name_tokens: set[int] = set()
    for first, last in _runs(utterance, taken):
        words = utterance.tokens[first : last + 1]
        folded = " ".join(t.word for t in words)
        if len(words) < 2 or len(words) > _MAX_NAME_WORDS or folded in airlines:
            continue
        if all(i in places for i in range(first, last + 1)):
            continue
        name = _word(words[0])
        for left, right in zip(words, words[1:], strict=False):
            gap = utterance.typed[left.end : right.start]
            name += (gap if gap in ("-", "'", "’") else " ") + _word(right)
        born, end = _birth(utterance, words[-1].end, today)
        taken.append((words[0].start, max(end, words[-1].end)))
        name_tokens.update(range(first, last + 1))
        travellers.append(Traveller(name, born))
    return People(tuple(travellers), email, phone, tuple(taken), frozenset(name_tokens))
