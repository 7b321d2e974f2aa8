"""The flight-search details of one message: dates, passengers, cabin, price cap, times, airline, sort.

Phrases with digits are read from the folded text in a fixed order (prices, clock times, dates,
passengers), and each claims its characters so a later reading cannot reuse them: "1.5" in
"dưới 1.5 triệu" is a price, never the first of May.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from booking.offline_model.date_mentions import DateMention, find_dates, overlaps
from booking.offline_model.lexicon import CABINS, NUMBER_WORDS, SORTS, TIME_WINDOWS
from booking.offline_model.party import find_party
from booking.offline_model.prices import DEFAULT_USD_VND_RATE, find_prices
from booking.offline_model.reference_index import airline_codes, airline_phrases
from booking.offline_model.text import TEEN_CODE, Utterance


@dataclass(frozen=True, slots=True)
class Slots:
    """Everything a message says about a flight search, places aside."""

    dates: tuple[DateMention, ...] = ()
    passengers: int | None = None
    cabin: str | None = None
    max_price: int | None = None
    depart_after: str | None = None
    depart_before: str | None = None
    airline: str | None = None
    sort: str | None = None
    """"price" is kept when said, so a follow-up can clear an earlier "earliest first"."""
    round_trip: bool = False
    one_way: bool = False
    infants: int = 0
    """Infants under two: on a lap, no seat."""
    infant_alone: bool = False
    """An infant said to fly alone (no airline carries one)."""
    impossible_time: str | None = None
    """A clock time no day has ("lúc 25h", "at 26:00"), as typed: the planner asks."""
    passengers_change: int = 0
    """+1 or -1 when ``passengers`` are added to or taken from the party already searched."""
    converted: tuple[float, str, int] | None = None
    """A cap said in a foreign currency: (amount, currency, VND)."""

    @property
    def has_filters(self) -> bool:
        """Whether the message refines a search (anything but places and dates)."""
        return any(
            value is not None
            for value in (
                self.passengers,
                self.cabin,
                self.max_price,
                self.depart_after,
                self.depart_before,
                self.airline,
                self.sort,
            )
        )


_NUMBER = "|".join([r"\d{1,2}", *sorted(NUMBER_WORDS, key=len, reverse=True), "an"])


def _time(suffix: str) -> str:
    return (
        rf"(?P<h{suffix}>\d{{1,2}})(?:(?P<colon{suffix}>:)(?P<ma{suffix}>\d{{2}})"
        rf"|(?P<hh{suffix}>h)(?P<mb{suffix}>\d{{2}})?|\s*(?P<gio{suffix}>gio)(?:\s*(?P<mc{suffix}>\d{{1,2}}))?)?"
        rf"(?:\s*(?:in\s+the\s+)?(?P<ampm{suffix}>am|pm|a\.m\.|p\.m\.|sang|chieu|toi|dem|evening"
        rf"|afternoon|morning|night))?\b"
    )


_RANGE = re.compile(
    rf"\b(?:tu|from|between)\s+{_time('1')}\s*(?:den|toi|to|and|-|–)\s*{_time('2')}"
)
_AFTER = re.compile(rf"\b(?:sau|after|from|tu|later\s+than)\s+{_time('1')}")
_BEFORE = re.compile(rf"\b(?:truoc|before|earlier\s+than|no\s+later\s+than)\s+{_time('1')}")

_ROUND_TRIP: tuple[str, ...] = (
    *("khu hoi", "round trip", "roundtrip", "return ticket", "return flight", "hai chieu"),
    *("2 chieu", "di va ve", "ca di lan ve", "return trip", "and back", "rt"),
)
_ONE_WAY: tuple[str, ...] = ("mot chieu", "1 chieu", "one way", "oneway")


#: Words before "chiều" that make it a leg of the trip ("một chiều" one-way), not the afternoon.
_LEGS = ("mot", "hai", "1", "2", "luot")


def _clock(match: re.Match[str], suffix: str) -> str | None:
    """HH:MM from a clock-time match, or None when nothing marks the number as a time."""
    group = match.groupdict()
    marked = group[f"colon{suffix}"] or group[f"hh{suffix}"] or group[f"gio{suffix}"]
    ampm = group[f"ampm{suffix}"]
    if not marked and not ampm:
        return None
    hour = int(group[f"h{suffix}"])
    minute = int(group[f"ma{suffix}"] or group[f"mb{suffix}"] or group[f"mc{suffix}"] or 0)
    if ampm in ("pm", "p.m.", "chieu", "toi", "dem", "evening", "afternoon", "night") and hour < 12:
        hour += 12
    elif ampm in ("am", "a.m.", "sang", "morning") and hour == 12:
        hour = 0
    if hour > 24 or minute > 59:
        return None
    return "23:59" if hour == 24 else f"{hour:02d}:{minute:02d}"


def _phrases(
    utterance: Utterance, table: dict[str, str], taken: list[tuple[int, int]]
) -> list[tuple[int, int, str]]:
    """(position, -length, value) of each phrase from ``table`` found outside ``taken``."""
    found: list[tuple[int, int, str]] = []
    for phrase, value in table.items():
        for match in re.finditer(rf"\b{re.escape(phrase)}\b", utterance.plain):
            if not overlaps(*match.span(), taken):
                found.append((match.start(), -len(phrase), value))
    return found


def _first_phrase(
    utterance: Utterance, table: dict[str, str], taken: list[tuple[int, int]]
) -> str | None:
    """The value of the phrase that appears first (the longest one where two start together)."""
    found = _phrases(utterance, table, taken)
    return min(found)[2] if found else None


#: Words chat shorthand expands to ("ko" -> "không"): their accents say nothing about the writer.
_EXPANDED = frozenset(w for value in TEEN_CODE.values() for w in value.lower().split())


def _named_window(
    utterance: Utterance, taken: list[tuple[int, int]]
) -> tuple[str | None, str | None] | None:
    tokens = [t for t in utterance.tokens if not overlaps(t.start, t.end, taken)]
    for index, token in enumerate(tokens):
        before = tokens[index - 1].word if index > 0 else ""
        after = tokens[index + 1].word if index + 1 < len(tokens) else ""
        name: str | None = None
        if token.word == "sang" and after == "som" and token.raw != "sang":
            name = "early"
        elif token.word == "early" and after in ("morning", "flight", "flights", "am"):
            name = "early"
        elif token.raw == "sáng" or (token.word == "sang" and before in ("buoi", "chuyen")):
            name = "morning"
        elif token.word == "sang" and after in ("mai", "nay", "thu", "t2", "t3", "t4", "t5"):
            # Unaccented "sang" is also "sang" (over to): the morning when nothing is accented.
            plain_text = all(t.raw == t.word or t.raw in _EXPANDED for t in utterance.tokens)
            unaccented = token.raw == "sang" and after in ("mai", "nay") and plain_text
            morning = token.raw != "sang" or before in ("buoi", "chuyen") or unaccented
            name = "morning" if morning else None
        elif token.word == "morning" and before != "good":
            name = "morning"
        elif token.word in ("trua", "noon", "midday", "lunchtime"):
            name = "noon"
        elif token.word == "chieu" and after not in ("ve", "di") and before not in _LEGS:
            name = "afternoon"
        elif token.word == "afternoon" and before != "good":
            name = "afternoon"
        elif token.raw == "tối" and after not in ("da", "thieu", "uu"):
            name = "evening"
        elif (
            token.word == "toi"
            and token.raw not in ("tới", "tôi")
            and (before in ("buoi", "chuyen", "ve", "bay") or after in ("nay", "mai"))
        ):
            name = "evening"
        elif token.word in ("evening", "tonight") and before != "good":
            name = "evening"
        elif token.raw == "đêm" or token.word in ("khuya", "night", "overnight", "redeye"):
            name = "night" if token.word != "night" or before not in ("one", "1", "a") else None
        elif token.word == "dem" and before in ("ban", "buoi", "chuyen", "nua", "ve", "bay"):
            name = "night"
        elif token.word == "red" and after == "eye":
            name = "night"
        elif token.word == "late" and after in ("night", "evening"):
            name = "night"
        if name is not None:
            return TIME_WINDOWS[name]
    return None


def _times(utterance: Utterance, taken: list[tuple[int, int]]) -> tuple[str | None, str | None]:
    after: str | None = None
    before: str | None = None
    for match in _RANGE.finditer(utterance.plain):
        low, high = _clock(match, "1"), _clock(match, "2")
        if high and not low and 0 < int(match["h1"]) <= int(match["h2"]) <= 12:
            # "between 8 and 11am", "từ 2 đến 5h chiều": the first number shares the second's half.
            shift = int(high[:2]) - int(match["h2"])
            low = f"{int(match['h1']) + shift:02d}:00"
        if low and high:
            after, before = low, high
            taken.append(match.span())
    for match in _AFTER.finditer(utterance.plain):
        if not overlaps(*match.span(), taken) and (clock := _clock(match, "1")):
            after = after or clock
            taken.append(match.span())
    for match in _BEFORE.finditer(utterance.plain):
        if not overlaps(*match.span(), taken) and (clock := _clock(match, "1")):
            before = before or clock
            taken.append(match.span())
    return after, before


_TRIP_PURPOSE = re.compile(r"\b(?:on|for|a)\s+business\b(?!\s+class)|\bbusiness\s+trip\b")


def _cabin(utterance: Utterance, taken: list[tuple[int, int]]) -> str | None:
    """The cabin asked for; "class"/"hạng"/"ghế" phrases win over a bare word, and "on business"
    (why someone travels) is no cabin."""
    purpose = [m.span() for m in _TRIP_PURPOSE.finditer(utterance.plain)]
    found = _phrases(utterance, CABINS, taken + purpose)
    if not found:
        return None
    marked = [f for f in found if -f[1] > 8 or "class" in utterance.plain[f[0] : f[0] - f[1] + 6]]
    return min(marked or found)[2]


def _airline(utterance: Utterance, taken: list[tuple[int, int]]) -> str | None:
    found = _phrases(utterance, airline_phrases(), taken)
    codes = airline_codes()
    for token in utterance.tokens:
        # Two-letter codes are often words or abbreviations, so only upper-case ones count.
        if token.typed in codes and token.typed.isupper() and not token.typed.isdigit():
            if not overlaps(token.start, token.end, taken):
                found.append((token.start, -2, token.typed))
    return min(found)[2] if found else None


_IMPOSSIBLE_CLOCK = re.compile(r"(?<![\d/.:-])(2[5-9]|[3-9]\d)\s*(?:h|gio|:[0-5]\d)(?![\w/])")


def _impossible_time(utterance: Utterance) -> str | None:
    match = _IMPOSSIBLE_CLOCK.search(utterance.plain)
    return utterance.typed[match.start() : match.end()] if match else None


_HOLIDAY_NIGHT = re.compile(r"(?:dem|toi)\s+(?:noel|giang\s+sinh|giao\s+thua|trung\s+thu)")


def extract_slots(utterance: Utterance, today: date, usd_rate: int = DEFAULT_USD_VND_RATE) -> Slots:
    """Read every search detail in the message."""
    taken: list[tuple[int, int]] = []
    prices = find_prices(utterance, taken, usd_rate)
    max_price = prices[0].vnd if prices else None
    after, before = _times(utterance, taken)
    # "Tối nay" is both a date and a time of day, so the named window looks past date spans.
    window = _named_window(utterance, list(taken))
    dates = find_dates(utterance, today, taken)
    if any(_HOLIDAY_NIGHT.match(utterance.plain, d.start) for d in dates):
        # "Đêm Noel", "đêm giao thừa", "Christmas Eve": the night names the day, not the hour.
        window = None
    party = find_party(utterance, taken)
    passengers = party.seats
    if window is not None and not (after or before):
        after, before = window
    return Slots(
        dates=tuple(dates),
        passengers=passengers,
        cabin=_cabin(utterance, taken),
        max_price=max_price,
        depart_after=after,
        depart_before=before,
        airline=_airline(utterance, taken),
        sort=_first_phrase(utterance, SORTS, taken),
        round_trip=utterance.has(*_ROUND_TRIP),
        one_way=utterance.has(*_ONE_WAY),
        infants=party.infants,
        infant_alone=party.infant_alone,
        passengers_change=party.change,
        impossible_time=_impossible_time(utterance),
        converted=prices[0].converted if prices else None,
    )
