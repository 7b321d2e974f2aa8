"""Which flight of the last search a message points at, and finding it in the results. Pure.

A message may name a flight by number ("VJ123", "vj 123"), by a superlative ("rẻ nhất",
"cheapest", "sớm nhất", "earliest", "muộn nhất", "latest", "nhanh nhất", "fastest"), by its place
in the list as shown ("chuyến thứ 2", "chuyến thứ hai", "the second one", "chuyến đầu tiên",
"số 3", "option 2", "the last one") or by departure time ("the 8:15 one", "chuyến 8h15",
"chuyến 8 giờ", "the 6:40 pm flight"). Places in the list count from one, in the order the
answer showed them (at most :data:`SHOWN`).

"Thứ hai" is also Monday, so an ordinal needs "chuyến"/"cái"/"vé" before it and no week after
it ("chuyến thứ 2 tuần sau" is a Monday); "chuyến cuối" is the day's last flight (latest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from booking.domain.wording import parse_moment
from booking.offline_model.date_mentions import overlaps
from booking.offline_model.reference_index import airline_codes
from booking.offline_model.text import Utterance

#: How many flights an answer lists, so how far an ordinal can reach.
SHOWN = 5

Kind = Literal["number", "cheapest", "earliest", "latest", "fastest", "ordinal", "time"]
Problem = Literal["none", "not_found", "ambiguous", "out_of_range"]

_ORDINAL_WORDS: dict[str, int] = {
    "nhat": 1,
    "hai": 2,
    "ba": 3,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "6th": 6,
    "7th": 7,
    "8th": 8,
    "9th": 9,
    "10th": 10,
    "last": -1,
}
_VI_ORDINAL = "nhat|hai|ba|tu|nam|sau|bay|tam|chin|muoi|\\d{1,2}"
_EN_ORDINAL = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|[4-9]th|10th|last"
)

#: Each pattern's one group is the ordinal word, digit or phrase.
_ORDINALS: tuple[re.Pattern[str], ...] = (
    re.compile(
        rf"\b(?:chuyen|cai|ve|lua\s+chon|phuong\s+an)\s+(?:so\s+)?thu\s+({_VI_ORDINAL})\b"
        r"(?!\s*(?:tuan|nay\b|toi\b|sau\b|[/.\-]\d))"
    ),
    re.compile(r"\b(?:chuyen|cai|ve|lua\s+chon|phuong\s+an)\s+so\s+(\d{1,2})\b(?!\s*[h:])"),
    re.compile(r"\b(dau\s+tien|thu\s+nhat|cai\s+cuoi(?:\s+cung)?)\b"),
    re.compile(r"(?:\b(?:option|number|no\.|choice|so)\s*#?|#)\s*(\d{1,2})\b(?![h:/])"),
    re.compile(rf"\b(?:the\s+)?({_EN_ORDINAL})\s+(?:one|option|choice)\b"),
    re.compile(rf"\b(?:the\s+)?({_EN_ORDINAL.replace('|last', '')})\s+flight\b"),
    re.compile(
        rf"\bthe\s+({_EN_ORDINAL})\b(?!\s+(?:of|week|weekend|day|time|flight|one|option)\b)"
    ),
)

_SUPERLATIVES: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (
        re.compile(
            r"\b(?:(?:gia\s+)?re\s+nhat|gia\s+thap\s+nhat|cheapest|lowest\s+(?:price|fare)"
            r"|least\s+expensive)\b"
        ),
        "cheapest",
    ),
    (re.compile(r"\b(?:som\s+nhat|earliest)\b"), "earliest"),
    (
        re.compile(
            r"\b(?:muon\s+nhat|tre\s+nhat|latest|last\s+flight"
            r"|chuyen\s+cuoi(?:\s+cung)?(?:\s+trong\s+ngay)?)\b"
        ),
        "latest",
    ),
    (re.compile(r"\b(?:nhanh\s+nhat|ngan\s+nhat|fastest|shortest|quickest)\b"), "fastest"),
)

_TIME = re.compile(
    r"\b(\d{1,2})(?:(?::|h)(\d{2})|\s*(?:h|gio)(?:\s*(\d{1,2})(?:\s*phut)?)?)?"
    r"(?:\s*(am|pm|a\.m\.|p\.m\.|sang|chieu|toi|dem))?(?![\w/:])"
)
_FILTER_BEFORE = re.compile(r"\b(?:sau|truoc|after|before|from|tu|than|den|to|until)\s*$")
_FLIGHT_NUMBER = re.compile(r"\b([a-z0-9]{2})(\s?)(\d{1,4})\b")


@dataclass(frozen=True, slots=True)
class Choice:
    """How a message points at one flight."""

    kind: Kind
    said: str
    """The words as typed ("VJ123", "8:15", "thứ 2"), to quote back."""
    spans: tuple[tuple[int, int], ...]
    number: str | None = None
    """The flight number, upper case without spaces, for ``kind == "number"``."""
    position: int | None = None
    """1-based place in the list shown; -1 is the last one."""
    hour: int | None = None
    minute: int | None = None
    """None when only the hour was said ("chuyến 8h")."""
    half_day_said: bool = False
    """Whether "am"/"pm"/"sáng"/"tối" fixed the half of the day."""


@dataclass(frozen=True, slots=True)
class Picked:
    """The flight a choice found, or why none was found."""

    flight: Mapping[str, Any] | None
    problem: Problem = "none"
    candidates: tuple[Mapping[str, Any], ...] = ()
    """The flights that matched equally well when ``problem == "ambiguous"``."""


def normalize_number(text: str) -> str:
    """ "vj 123" -> "VJ123"."""
    return re.sub(r"[\s\-]", "", text).upper()


def _number(
    utterance: Utterance, known: frozenset[str], taken: list[tuple[int, int]]
) -> Choice | None:
    """A flight number from the results, or one an airline could have ("VJ999", upper case)."""
    codes = airline_codes()
    for match in _FLIGHT_NUMBER.finditer(utterance.plain):
        if overlaps(*match.span(), taken) or not re.search(r"[a-z]", match[1]):
            continue
        number = normalize_number(match[1] + match[3])
        typed_code = utterance.typed[match.start(1) : match.end(1)]
        looks_like_one = match[1].upper() in codes and typed_code.isupper() and not match[2]
        if number in known or looks_like_one:
            said = utterance.typed[match.start() : match.end()]
            return Choice("number", said, (match.span(),), number=number)
    return None


def _position(words: str) -> int:
    """1-based place in the list from an ordinal ("thu hai", "2nd", "dau tien"); 0 if none."""
    if words.startswith(("dau", "thu nhat")):
        return 1
    if words.startswith("cai cuoi"):
        return -1
    if words.isdigit():
        return int(words)
    return _ORDINAL_WORDS.get(words, 0)


def _ordinal(utterance: Utterance, taken: list[tuple[int, int]]) -> Choice | None:
    for pattern in _ORDINALS:
        for match in pattern.finditer(utterance.plain):
            if overlaps(*match.span(), taken):
                continue
            if match.group().startswith("so") and not utterance.lower[match.start() :].startswith(
                "số"
            ):
                continue  # "so 2 people" is English; only "số 2" is "number 2".
            position = _position(" ".join(match[1].split()))
            if position != 0:
                said = utterance.typed[match.start() : match.end()].strip()
                return Choice("ordinal", said, (match.span(),), position=position)
    return None


def _superlative(utterance: Utterance, taken: list[tuple[int, int]]) -> Choice | None:
    found: list[tuple[int, Choice]] = []
    for pattern, kind in _SUPERLATIVES:
        for match in pattern.finditer(utterance.plain):
            if not overlaps(*match.span(), taken):
                said = utterance.typed[match.start() : match.end()]
                found.append((match.start(), Choice(kind, said, (match.span(),))))
    return min(found, key=lambda item: item[0])[1] if found else None


def _time(utterance: Utterance, taken: list[tuple[int, int]]) -> Choice | None:
    for match in _TIME.finditer(utterance.plain):
        if overlaps(*match.span(), taken):
            continue
        # "8:15", "8h", "8 giờ" or "8pm"; "2 chiều" alone is a round trip, not 2 p.m.
        clock_part = utterance.plain[match.start() : match.start(4) if match[4] else match.end()]
        marked = any(mark in clock_part for mark in (":", "h", "gio"))
        marked = marked or match[4] in ("am", "pm", "a.m.", "p.m.")
        if not marked or _FILTER_BEFORE.search(utterance.plain[: match.start()]):
            continue
        hour = int(match[1])
        minute_text = match[2] or match[3]
        minute = int(minute_text) if minute_text else None
        half = match[4]
        if half in ("pm", "p.m.", "chieu", "toi", "dem") and hour < 12:
            hour += 12
        elif half in ("am", "a.m.", "sang") and hour == 12:
            hour = 0
        if hour > 23 or (minute is not None and minute > 59):
            continue
        said = utterance.typed[match.start() : match.end()].strip()
        return Choice(
            "time", said, (match.span(),), hour=hour, minute=minute, half_day_said=half is not None
        )
    return None


def find_choice(
    utterance: Utterance, known_numbers: frozenset[str], taken: list[tuple[int, int]]
) -> Choice | None:
    """How the message points at a flight, if it does.

    Args:
        utterance: the message.
        known_numbers: flight numbers of the last search's results, upper case.
        taken: character spans already read as something else (names, phones, references).
    """
    for finder in (_ordinal, _superlative, _time):
        choice = finder(utterance, taken)
        if choice is not None:
            return choice
    return _number(utterance, known_numbers, taken)


def _departure_minutes(flight: Mapping[str, Any]) -> int:
    moment = parse_moment(flight.get("departs_at"))
    return moment.hour * 60 + moment.minute if moment else -1


def _departs(flight: Mapping[str, Any]) -> str:
    return str(flight.get("departs_at") or "")


def pick(choice: Choice, flights: Sequence[Mapping[str, Any]]) -> Picked:
    """The one flight ``choice`` means among ``flights`` (a search result's list, in order)."""
    if not flights:
        return Picked(None, "not_found")
    if choice.kind == "number":
        matches = [
            f for f in flights if normalize_number(str(f.get("flight_number"))) == choice.number
        ]
    elif choice.kind == "cheapest":
        low = min(int(f.get("price_vnd") or 0) for f in flights)
        matches = [f for f in flights if int(f.get("price_vnd") or 0) == low][:1]
    elif choice.kind == "earliest":
        matches = [min(flights, key=_departs)]
    elif choice.kind == "latest":
        matches = [max(flights, key=_departs)]
    elif choice.kind == "fastest":
        matches = [min(flights, key=lambda f: int(f.get("duration_minutes") or 0))]
    elif choice.kind == "ordinal":
        shown = list(flights[:SHOWN])
        position = choice.position or 0
        if position == -1:
            return Picked(shown[-1])
        if not 1 <= position <= len(shown):
            return Picked(None, "out_of_range", tuple(shown))
        return Picked(shown[position - 1])
    else:
        matches = _at_time(choice, flights)
    if not matches:
        return Picked(None, "not_found")
    if len(matches) > 1:
        return Picked(None, "ambiguous", tuple(matches))
    return Picked(matches[0])


def _at_time(choice: Choice, flights: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    hours = [choice.hour or 0]
    if not choice.half_day_said and choice.minute is not None and hours[0] < 12:
        # "The 6:40 one" may be read on a 12-hour clock when no morning flight leaves then;
        # an hour alone ("chuyến 9h") is too vague for that.
        hours.append(hours[0] + 12)
    for hour in hours:
        matches = [
            f
            for f in flights
            if _departure_minutes(f) // 60 == hour
            and (choice.minute is None or _departure_minutes(f) % 60 == choice.minute)
        ]
        if matches:
            return matches
    return []
