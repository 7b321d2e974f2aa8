"""What a message asks of a booking: the flight, the travellers, a reference, yes or cancel. Pure.

A message is read once into a :class:`Reading` (passengers and contact details, the flight it
points at, a booking reference, and the words that cancel, confirm, ask for a status or book);
:func:`new_search` tells a message that asks for other flights from one that books, and
:class:`Draft` is a hold as far as the messages have filled it in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from booking.domain.wording import clock
from booking.offline_model.booking_history import Search
from booking.offline_model.date_mentions import DateMention, overlaps
from booking.offline_model.place_mentions import Mention
from booking.offline_model.reference_index import airline_codes
from booking.offline_model.selection import Choice, Picked, find_choice, pick
from booking.offline_model.slots import Slots
from booking.offline_model.text import Utterance
from booking.offline_model.travellers import People, Traveller, find_people

#: The characters of a booking reference: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"

#: Words that make a message about booking, as typed in lower case: "đặt" but not "đạt" (a
#: name) or "đất", "mua" but not "mưa", "muốn" but not "muộn". "Đặt vé" alone often means
#: "find tickets", so these only book together with a flight reference or passenger details.
_BOOK_RAW: frozenset[str] = frozenset(
    {"đặt", "dat", "book", "booking", "reserve", "hold", "lấy", "lay", "chọn", "chon", "mua"}
    | {"take", "want", "muốn", "chốt", "chot", "giữ", "giu"}
)
#: Folded phrases that are a booking request even without a flight reference ("hold" alone is
#: too often "hold on").
_STRONG_BOOK_WORDS: tuple[str, ...] = ("dat cho", "giu cho", "book", "reserve", "hold seats")
_CONFIRM_WORDS: tuple[str, ...] = (
    *("xac nhan", "confirm", "dong y", "xuat ve", "chot ve", "chot don", "go ahead"),
    "approve",
)
_NOT_CONFIRM_WORDS: tuple[str, ...] = (
    *("khong dong y", "khong xac nhan", "chua xac nhan", "dont confirm", "don t confirm"),
    *("do not confirm", "ma xac nhan", "confirmation"),
)
#: A whole message of these confirms a hold the previous answer offered.
_YES_WORDS: frozenset[str] = frozenset(
    {"ok", "oke", "okay", "oki", "yes", "yep", "yeah", "sure", "co", "u", "vang", "da", "duoc"}
    | {"roi", "nhe", "nha", "luon", "di", "please", "dong", "y", "chot", "let", "s", "do", "it"}
)
_STATUS_WORDS: tuple[str, ...] = (
    *("trang thai", "tinh trang", "status", "my booking", "my reservation", "dat cho cua toi"),
    *("ve cua toi", "booking cua toi", "kiem tra dat cho", "kiem tra ve", "xem dat cho"),
    *("check my booking", "check booking", "look up booking", "booking details"),
    *("chi tiet dat cho", "thong tin dat cho"),
)
#: Folded words that announce a reference; "mã" counts only with its accent ("mà" is "but").
_REFERENCE_WORDS: tuple[str, ...] = (
    "booking",
    "reference",
    "ref",
    "code",
    "pnr",
    "reservation",
    "dat cho",
    "confirmation",
)
#: Words that ask to hold seats without booking them yet: only these plan ``hold_booking``;
#: every other booking request is booked in one decision (``book_flight``). Folded, as whole
#: words; "giữ" is read with its accent ("giu" alone could be a name).
_HOLD_ONLY_WORDS: tuple[str, ...] = (
    *("giu cho", "giu ve", "giu giup", "giu lai", "hold", "hold seats", "on hold"),
    *("chua tra tien", "chua thanh toan", "tra tien sau", "thanh toan sau", "tra sau"),
    *("pay later", "without paying", "not pay yet", "don t pay yet", "dont pay yet"),
    *("just hold", "only hold", "hold only", "reserve only", "chi giu"),
)
_NOT_HOLD_WORDS: tuple[str, ...] = ("hold on", "on hold please wait")
#: Words that drop a booking request still waiting for details.
DROP_WORDS: tuple[str, ...] = (
    *("thoi", "khong dat nua", "bo qua", "never mind", "nevermind", "forget it"),
    *("khong can nua", "stop"),
)
#: Words that point at the return leg of a round-trip search.
_RETURN_WORDS: tuple[str, ...] = ("chieu ve", "chuyen ve", "return", "way back", "inbound")
#: Not references although six letters and digits: amounts and clock times ("1tr500", "10h30p").
_UNIT_LIKE = re.compile(r"\d+[a-z]{1,3}(?:\d+[a-z]{0,3})?")
_FLIGHT_LIKE = re.compile(r"([A-Z0-9]{2})\d{1,4}")


@dataclass(frozen=True, slots=True)
class Draft:
    """A hold still missing something; the next message may complete it."""

    flight: Mapping[str, Any] | None
    """The flight from the search results, or None while the traveller has not named one."""
    cabin: str
    default_count: int
    """The search's passenger count."""
    count: int | None = None
    """A passenger count the traveller said for the booking."""
    travellers: tuple[Traveller, ...] = ()
    email: str | None = None
    phone: str | None = None
    hold_only: bool = False
    """The traveller asked to hold the seats, not to book them yet."""

    @property
    def passengers(self) -> int:
        """How many travel: the count said or searched, or more if more names were given."""
        return max(self.count or self.default_count, len(self.travellers), 1)


@dataclass(frozen=True, slots=True)
class _Reference:
    text: str
    start: int
    end: int
    strong: bool
    """All characters from the alphabet, letters and digits: a reference wherever it stands."""


def _reference_word(utterance: Utterance) -> bool:
    return utterance.has(*_REFERENCE_WORDS) or utterance.has_raw("mã")


def _flight_like(text: str) -> bool:
    """Whether a reference candidate could be a flight number ("VN3467")."""
    match = _FLIGHT_LIKE.fullmatch(text)
    return match is not None and match[1] in airline_codes()


def _references(utterance: Utterance, people: People) -> list[_Reference]:
    """Six-letter-and-digit words outside names, phones and e-mails, upper-cased."""
    found: list[_Reference] = []
    tokens = utterance.tokens
    for index, token in enumerate(tokens):
        word = token.word
        if len(word) != 6 or not token.typed.isascii():
            continue
        if overlaps(token.start, token.end, list(people.spans)):
            continue
        upper = word.upper()
        letters = any(c.isalpha() for c in word)
        digits = any(c.isdigit() for c in word)
        in_alphabet = all(c in REFERENCE_ALPHABET for c in upper)
        before = " " + " ".join(t.word for t in tokens[max(0, index - 3) : index]) + " "
        raw_before = {t.raw for t in tokens[max(0, index - 3) : index]}
        announced = any(f" {w} " in before for w in _REFERENCE_WORDS) or "mã" in raw_before
        if letters and digits:
            if not token.typed.isupper() and _UNIT_LIKE.fullmatch(word):
                continue  # "1tr500", "10h30p": amounts and times.
            found.append(_Reference(upper, token.start, token.end, in_alphabet))
        elif in_alphabet and (announced or (letters and token.typed.isupper())):
            found.append(_Reference(upper, token.start, token.end, False))
    return found


def _cancels(utterance: Utterance, people: People) -> bool:
    for index, token in enumerate(utterance.tokens):
        if index in people.name_tokens:
            continue
        if token.raw in ("hủy", "huỷ") or token.word in ("cancel", "cancellation"):
            return True
        if token.word == "huy" and (token.typed.islower() or index == 0):
            return True
    return False


def confirms(utterance: Utterance) -> bool:
    if not utterance.has(*_CONFIRM_WORDS) or utterance.has(*_NOT_CONFIRM_WORDS):
        return False
    # "Đã xác nhận chưa?" asks whether it is confirmed.
    return not utterance.has("chua", "yet")


def holds_only(utterance: Utterance) -> bool:
    """Whether the message asks to hold seats without booking ("giữ chỗ", "chưa trả tiền",
    "hold it for me", "pay later"), not "hold on"."""
    if utterance.has_raw("giữ"):
        return True
    return utterance.has(*_HOLD_ONLY_WORDS) and not utterance.has(*_NOT_HOLD_WORDS)


def _only_yes(utterance: Utterance) -> bool:
    words = [t.word for t in utterance.tokens]
    return 0 < len(words) <= 4 and all(word in _YES_WORDS for word in words)


def _asks_status(utterance: Utterance) -> bool:
    return utterance.has(*_STATUS_WORDS) or (
        utterance.has("xac nhan", "confirmed") and utterance.has("chua", "is", "yet")
    )


def _book_words(utterance: Utterance, people: People) -> tuple[bool, bool]:
    """(any booking word, a word that books even without a flight reference)."""
    tokens = [t for i, t in enumerate(utterance.tokens) if i not in people.name_tokens]
    some = False
    for index, token in enumerate(tokens):
        after = tokens[index + 1].word if index + 1 < len(tokens) else ""
        # Unaccented "muon" is "muốn" (want) unless "muộn nhất" (latest).
        if token.raw in _BOOK_RAW or (token.raw == "muon" and after != "nhat"):
            some = True
    words = " " + " ".join(t.word for t in tokens) + " "
    some = some or any(f" {w} " in words for w in ("go with", "i ll take", "i will take"))
    strong = any(f" {w} " in words for w in _STRONG_BOOK_WORDS)
    return some or strong, strong


def _masked_dates(slots: Slots, spans: list[tuple[int, int]]) -> list[DateMention]:
    return [d for d in slots.dates if not overlaps(d.start, d.end, spans)]


def _same_place(mention: Mention, search: Search) -> bool:
    names: set[str] = set()
    for arguments, result in search.legs:
        names.update(str(arguments.get(key, "")).upper() for key in ("from_city", "to_city"))
        query = result.get("query")
        if isinstance(query, Mapping):
            for side in ("from", "to"):
                place = query.get(side)
                if isinstance(place, Mapping):
                    names.update(
                        str(a.get("iata", "")).upper()
                        for a in place.get("airports") or []
                        if isinstance(a, Mapping)
                    )
    codes = {mention.value.upper(), *mention.city.airports}
    return bool(codes & names)


def _search_day(search: Search) -> str | None:
    if not search.legs:
        return None
    arguments, result = search.legs[0]
    query = result.get("query")
    day = (query.get("date") if isinstance(query, Mapping) else None) or arguments.get("date")
    return str(day) if day else None


def new_search(
    utterance: Utterance,
    search: Search | None,
    slots: Slots,
    mentions: list[Mention],
    spans: list[tuple[int, int]],
    choice: Choice | None,
) -> bool:
    """Whether the message asks for other flights than the ones last found.

    Places and dates inside names, e-mails, phones and the flight reference do not count
    ("Lê Văn Vinh", "an.bay@Example.com", "sinh 12/03/1990", "chuyến thứ 2").
    """
    tokens = utterance.tokens
    places = [m for m in mentions if not overlaps(tokens[m.first].start, tokens[m.last].end, spans)]
    dates = _masked_dates(slots, spans)
    if search is None:
        return bool(places or dates)
    if any(not _same_place(m, search) for m in places):
        return True
    searched = _search_day(search)
    for mention in dates:
        if mention.day is None or mention.day.isoformat() != searched:
            return True
    if slots.round_trip:
        return True
    cabin_changed = slots.cabin is not None and slots.cabin != search.cabin()
    return cabin_changed and (choice is None or choice.kind != "number")


def contributes(choice: Choice | None, people: People, slots: Slots) -> bool:
    return choice is not None or people.said_anything or slots.passengers is not None


def leg(utterance: Utterance, search: Search) -> int:
    returning = utterance.has(*_RETURN_WORDS) or utterance.has_raw("về")
    return 1 if len(search.legs) > 1 and returning else 0


def _within(flight: Mapping[str, Any], slots: Slots) -> bool:
    """Whether a flight fits the airline, price and time filters said with a superlative."""
    if slots.airline and str(flight.get("airline_code", "")).upper() != slots.airline.upper():
        return False
    if slots.max_price and int(flight.get("price_vnd") or 0) > slots.max_price:
        return False
    departs = clock(flight.get("departs_at"))
    if slots.depart_after and departs < slots.depart_after:
        return False
    return not (slots.depart_before and departs > slots.depart_before)


def choose(choice: Choice, search: Search, utterance: Utterance, slots: Slots) -> Picked:
    if choice.kind == "number":
        return pick(choice, search.all_flights())
    flights = search.flights(leg(utterance, search))
    if choice.kind in ("cheapest", "earliest", "latest", "fastest"):
        flights = [f for f in flights if _within(f, slots)]
    elif slots.airline:
        flights = [f for f in flights if _within(f, Slots(airline=slots.airline))]
    return pick(choice, flights)


def merge(draft: Draft, people: People, count: int | None) -> Draft:
    travellers = list(draft.travellers)
    known = {t.full_name.casefold() for t in travellers}
    for traveller in people.travellers:
        if traveller.full_name.casefold() not in known:
            travellers.append(traveller)
            known.add(traveller.full_name.casefold())
    return replace(
        draft,
        count=count if count is not None else draft.count,
        travellers=tuple(travellers),
        email=people.email or draft.email,
        phone=people.phone or draft.phone,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    """What one message says that matters for bookings."""

    people: People
    choice: Choice | None
    references: tuple[_Reference, ...]
    reference: _Reference | None
    """The reference the message means, if it names one."""
    cancels: bool
    confirms: bool
    """"Xác nhận", "confirm", "đồng ý" with no flight or passenger beside it."""
    asks_status: bool
    yes_only: bool
    book_word: bool
    strong_book_word: bool


def read(utterance: Utterance, today: date, search: Search | None) -> Reading:
    people = find_people(utterance, today)
    references = tuple(_references(utterance, people))
    choice = find_choice(utterance, search.numbers if search else frozenset(), list(people.spans))
    cancels = _cancels(utterance, people)
    confirming = confirms(utterance) and choice is None and not people.said_anything
    asks_status = _asks_status(utterance)
    context = cancels or confirming or asks_status or _reference_word(utterance)
    # A loose reference ("ABC123") needs words around it that speak of bookings; a flight
    # number being booked ("đặt chuyến VN3467") is no reference.
    reference = next(
        (
            r
            for r in references
            if (r.strong or context)
            and (context or not _flight_like(r.text))
            and not (
                choice and choice.kind == "number" and overlaps(r.start, r.end, list(choice.spans))
            )
        ),
        None,
    )
    book_word, strong_book_word = _book_words(utterance, people)
    return Reading(
        people,
        choice,
        references,
        reference,
        cancels,
        confirming,
        asks_status,
        _only_yes(utterance),
        book_word,
        strong_book_word,
    )
