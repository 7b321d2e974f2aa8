"""Booking requests: hold a flight from the last search, then confirm, cancel or look it up. Pure.

Rules worth knowing:

- A hold needs a flight from the most recent ``search_flights`` results in the history, named by
  number ("VJ123"), superlative ("rẻ nhất", "earliest"), place in the list ("chuyến thứ 2",
  "the second one") or departure time ("chuyến 8h15", "the 8:15 one"); see :mod:`selection`.
  Cabin and passenger count default to that search's. A flight number from the results is
  enough by itself; the other references need a booking word ("đặt", "book", "lấy", "chọn"...)
  or passenger details beside them, so "rẻ nhất thì sao?" stays a search follow-up.
- A message naming a new route, another day, or another cabin is a search, never a booking:
  "đặt vé SGN → HAN ngày 15/6" only finds tickets.
- Names and contact details are never invented: what is missing is asked for, and the next
  message completes the request (the earlier user turns are read again, as for searches).
- "xác nhận" / "confirm" / "đồng ý" confirms the latest held booking in the history; "hủy" /
  "cancel" without a reference cancels the latest held or confirmed one; a reference alone, or
  with "thế nào" / "status", is looked up. References are 6 letters and digits, upper-cased.
- Nothing here runs a tool: the plan is a call the server makes after asking the traveller to
  approve it (except ``get_booking``, which only reads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from booking.agent.models.offline import phrases
from booking.agent.models.offline.dates import DateMention, overlaps
from booking.agent.models.offline.formats import clock, format_day, format_vnd, parse_moment
from booking.agent.models.offline.lexicon import airline_codes
from booking.agent.models.offline.places import Mention
from booking.agent.models.offline.selection import SHOWN, Choice, Picked, find_choice, pick
from booking.agent.models.offline.slots import Slots
from booking.agent.models.offline.text import Language, Utterance, tool_calls
from booking.agent.models.offline.travellers import People, Traveller, find_people

BOOKING_TOOLS: frozenset[str] = frozenset(
    {"hold_booking", "confirm_booking", "cancel_booking", "get_booking"}
)
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
#: Words that drop a booking request still waiting for details.
_DROP_WORDS: tuple[str, ...] = (
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

    @property
    def passengers(self) -> int:
        """How many travel: the count said or searched, or more if more names were given."""
        return max(self.count or self.default_count, len(self.travellers), 1)


@dataclass(frozen=True, slots=True)
class BookingStep:
    """What a booking message leads to: a call, or a sentence (maybe with a pending draft)."""

    call: tuple[str, dict[str, Any]] | None = None
    reply: str | None = None
    draft: Draft | None = None
    """The hold waiting for details, when ``reply`` asks for them."""
    pending_search: dict[str, Any] | None = None
    """Search arguments gathered so far when ``reply`` asks for a search's route and day."""


@dataclass(frozen=True, slots=True)
class _Search:
    """The results of the most recent turn that searched flights (two legs for a round trip)."""

    legs: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...]
    """(arguments, result) per ``search_flights`` call answered with flights or no flights."""

    @property
    def numbers(self) -> frozenset[str]:
        return frozenset(
            str(flight.get("flight_number", "")).upper().replace(" ", "")
            for _, result in self.legs
            for flight in _flights(result)
        )

    def flights(self, leg: int) -> list[Mapping[str, Any]]:
        if not self.legs:
            return []
        return _flights(self.legs[min(leg, len(self.legs) - 1)][1])

    def all_flights(self) -> list[Mapping[str, Any]]:
        return [flight for _, result in self.legs for flight in _flights(result)]

    def cabin(self) -> str:
        if not self.legs:
            return "economy"
        arguments, result = self.legs[0]
        query = result.get("query") if isinstance(result.get("query"), Mapping) else {}
        return str(arguments.get("cabin") or (query or {}).get("cabin") or "economy")

    def passengers(self) -> int:
        if not self.legs:
            return 1
        arguments, result = self.legs[0]
        query = result.get("query") if isinstance(result.get("query"), Mapping) else {}
        try:
            return int(arguments.get("passengers") or (query or {}).get("passengers") or 1)
        except (TypeError, ValueError):
            return 1


def _flights(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    flights = result.get("flights")
    if not isinstance(flights, list):
        return []
    return [f for f in flights if isinstance(f, Mapping) and f.get("flight_id") is not None]


def _load(content: Any) -> dict[str, Any]:
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    try:
        loaded = json.loads(content) if isinstance(content, str) else content
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def turn_results(
    messages: Sequence[Mapping[str, Any]], position: int
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(tool name, arguments, result) for each call of the assistant message at ``position``."""
    by_id = {call_id: (name, args) for call_id, name, args in tool_calls(messages[position])}
    results: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for message in messages[position + 1 :]:
        if message.get("role") != "tool":
            break
        found = by_id.get(str(message.get("tool_call_id")))
        if found is not None:
            results.append((found[0], found[1], _load(message.get("content"))))
    return results


def _latest_search(messages: Sequence[Mapping[str, Any]], index: int) -> _Search | None:
    for position in range(index - 1, -1, -1):
        message = messages[position]
        if message.get("role") != "assistant":
            continue
        if any(name == "search_flights" for _, name, _ in tool_calls(message)):
            legs = tuple(
                (arguments, result)
                for name, arguments, result in turn_results(messages, position)
                if name == "search_flights" and "flights" in result
            )
            return _Search(legs)
    return None


def booking_views(messages: Sequence[Mapping[str, Any]], index: int) -> list[Mapping[str, Any]]:
    """Every booking a tool returned before ``index``, newest first."""
    views: list[Mapping[str, Any]] = []
    for position in range(index - 1, -1, -1):
        message = messages[position]
        if message.get("role") != "assistant" or not message.get("tool_calls"):
            continue
        for name, _, result in reversed(turn_results(messages, position)):
            booking = result.get("booking")
            if name in BOOKING_TOOLS and isinstance(booking, Mapping) and booking.get("reference"):
                views.append(booking)
    return views


def _current(views: list[Mapping[str, Any]], statuses: tuple[str, ...]) -> str | None:
    """The newest booking whose latest known status is one of ``statuses``."""
    seen: set[str] = set()
    for view in views:
        reference = str(view["reference"])
        if reference in seen:
            continue
        seen.add(reference)
        if view.get("status") in statuses:
            return reference
    return None


def _latest_turn_held(messages: Sequence[Mapping[str, Any]], index: int) -> str | None:
    """The reference of a held booking the latest tool turn returned, if it did."""
    for position in range(index - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "assistant" and message.get("tool_calls"):
            for name, _, result in turn_results(messages, position):
                booking = result.get("booking")
                if name in BOOKING_TOOLS and isinstance(booking, Mapping):
                    if booking.get("status") == "held" and booking.get("reference"):
                        return str(booking["reference"])
            return None
    return None


def _interrupted_call(
    messages: Sequence[Mapping[str, Any]], index: int
) -> tuple[str, dict[str, Any]] | None:
    """A hold, confirm or cancel of the latest tool turn that never ran.

    The traveller typed a message instead of answering the approval request ("not_run"), or
    answered too late ("approval_expired"); "xác nhận" then means "do it", so the same call is
    made again and the server asks again. A declined call is not repeated.
    """
    for position in range(index - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "assistant" and message.get("tool_calls"):
            for name, arguments, result in turn_results(messages, position):
                error = result.get("error")
                code = error.get("code") if isinstance(error, Mapping) else None
                if name in BOOKING_TOOLS - {"get_booking"} and code in (
                    "not_run",
                    "approval_expired",
                ):
                    return name, arguments
            return None
    return None


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


def _confirms(utterance: Utterance) -> bool:
    if not utterance.has(*_CONFIRM_WORDS) or utterance.has(*_NOT_CONFIRM_WORDS):
        return False
    # "Đã xác nhận chưa?" asks whether it is confirmed.
    return not utterance.has("chua", "yet")


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


def _same_place(mention: Mention, search: _Search) -> bool:
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


def _search_day(search: _Search) -> str | None:
    if not search.legs:
        return None
    arguments, result = search.legs[0]
    query = result.get("query")
    day = (query.get("date") if isinstance(query, Mapping) else None) or arguments.get("date")
    return str(day) if day else None


def _new_search(
    utterance: Utterance,
    search: _Search | None,
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


def _contributes(choice: Choice | None, people: People, slots: Slots) -> bool:
    return choice is not None or people.said_anything or slots.passengers is not None


def _leg(utterance: Utterance, search: _Search) -> int:
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


def _choose(choice: Choice, search: _Search, utterance: Utterance, slots: Slots) -> Picked:
    if choice.kind == "number":
        return pick(choice, search.all_flights())
    flights = search.flights(_leg(utterance, search))
    if choice.kind in ("cheapest", "earliest", "latest", "fastest"):
        flights = [f for f in flights if _within(f, slots)]
    elif slots.airline:
        flights = [f for f in flights if _within(f, Slots(airline=slots.airline))]
    return pick(choice, flights)


def _merge(draft: Draft, people: People, count: int | None) -> Draft:
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
class _Reading:
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


def _read(utterance: Utterance, today: date, search: _Search | None) -> _Reading:
    people = find_people(utterance, today)
    references = tuple(_references(utterance, people))
    choice = find_choice(utterance, search.numbers if search else frozenset(), list(people.spans))
    cancels = _cancels(utterance, people)
    confirms = _confirms(utterance) and choice is None and not people.said_anything
    asks_status = _asks_status(utterance)
    context = cancels or confirms or asks_status or _reference_word(utterance)
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
    return _Reading(
        people,
        choice,
        references,
        reference,
        cancels,
        confirms,
        asks_status,
        _only_yes(utterance),
        book_word,
        strong_book_word,
    )


def _manage(
    messages: Sequence[Mapping[str, Any]],
    index: int,
    reading: _Reading,
    language: Language,
    pending: Draft | None,
) -> BookingStep | None:
    """Cancel, confirm or look up a booking, when the message asks for that."""
    views = booking_views(messages, index)
    reference = reading.reference
    if reading.cancels:
        if reference is not None:
            return BookingStep(call=("cancel_booking", {"reference": reference.text}))
        if pending is not None and reading.choice is None:
            return BookingStep(reply=_dropped(language))
        interrupted = _interrupted_call(messages, index)
        if interrupted is not None:
            # "Hủy" instead of answering the approval request: the request is off, and an
            # older booking is no reason to cancel anything.
            return BookingStep(reply=_dropped(language, interrupted[0]))
        active = _current(views, ("held", "confirmed"))
        if active is not None:
            return BookingStep(call=("cancel_booking", {"reference": active}))
        return BookingStep(reply=_ask_reference("cancel", language))
    yes = reading.confirms or (reading.yes_only and pending is None)
    if yes and reference is None and (retry := _interrupted_call(messages, index)) is not None:
        return BookingStep(call=retry)
    if reading.confirms:
        if reference is not None:
            return BookingStep(call=("confirm_booking", {"reference": reference.text}))
        held = _current(views, ("held",))
        if held is not None:
            return BookingStep(call=("confirm_booking", {"reference": held}))
        if pending is None:
            return BookingStep(reply=_nothing_held(_current(views, ("confirmed",)), language))
    if reference is not None and not (reading.choice is not None and reading.book_word):
        return BookingStep(call=("get_booking", {"reference": reference.text}))
    if reading.asks_status and reading.choice is None and not reading.people.said_anything:
        if views:
            return BookingStep(call=("get_booking", {"reference": str(views[0]["reference"])}))
        return BookingStep(reply=_ask_reference("status", language))
    if reading.yes_only and pending is None:
        held = _latest_turn_held(messages, index)
        if held is not None:
            return BookingStep(call=("confirm_booking", {"reference": held}))
    return None


def plan_booking(
    messages: Sequence[Mapping[str, Any]],
    index: int,
    utterance: Utterance,
    slots: Slots,
    mentions: list[Mention],
    language: Language,
    today: date,
    pending: Draft | None,
) -> BookingStep | None:
    """The booking step for the message at ``index``, or None when it is not about booking.

    Args:
        messages: the conversation.
        index: position of the latest user message.
        utterance: that message, parsed.
        slots: its search details (dates, passengers, cabin, filters).
        mentions: the places it names.
        language: the language to answer in.
        today: the date in Vietnam.
        pending: a hold the previous answer asked details for, if it did.
    """
    search = _latest_search(messages, index)
    reading = _read(utterance, today, search)
    managed = _manage(messages, index, reading, language, pending)
    if managed is not None:
        return managed
    people, choice = reading.people, reading.choice
    spans = [*people.spans, *((r.start, r.end) for r in reading.references)]
    spans += choice.spans if choice else ()
    if _new_search(utterance, search, slots, mentions, spans, choice):
        return None
    if pending is not None:
        if _contributes(choice, people, slots) or _confirms(utterance):
            return _continue(pending, choice, people, slots, search, utterance, language)
        if utterance.has(*_DROP_WORDS):
            return BookingStep(reply=_dropped(language))
        return None
    if choice is not None:
        listed = search is not None and choice.number in search.numbers
        if not (reading.book_word or people.said_anything or listed):
            return None
        if search is None:
            return _no_search(choice, slots, language)
        draft = Draft(None, search.cabin(), search.passengers())
        return _continue(draft, choice, people, slots, search, utterance, language)
    # "Book" alone, or names with a phone or e-mail, after a search: ask which flight.
    details = bool(people.travellers) and bool(people.email or people.phone)
    asks = reading.strong_book_word or details or (reading.book_word and people.said_anything)
    if search is not None and search.all_flights() and asks:
        draft = Draft(None, search.cabin(), search.passengers())
        return _continue(draft, None, people, slots, search, utterance, language)
    return None


def _continue(
    draft: Draft,
    choice: Choice | None,
    people: People,
    slots: Slots,
    search: _Search | None,
    utterance: Utterance,
    language: Language,
) -> BookingStep:
    """Merge what the message adds into the draft, then hold it or ask for what is missing."""
    draft = _merge(draft, people, slots.passengers)
    problem: str | None = None
    shown: list[Mapping[str, Any]] = search.flights(0)[:SHOWN] if search else []
    if choice is not None and search is not None:
        if not search.all_flights():
            return BookingStep(reply=_empty_search(language))
        picked = _choose(choice, search, utterance, slots)
        if picked.flight is not None:
            cabin = slots.cabin if slots.cabin and choice.kind == "number" else draft.cabin
            draft = replace(draft, flight=picked.flight, cabin=cabin)
        else:
            draft = replace(draft, flight=None)
            problem = _problem(choice, picked, language)
            shown = list(picked.candidates) or search.flights(_leg(utterance, search))[:SHOWN]
    if draft.flight is None:
        return BookingStep(reply=_which_flight(problem, shown, language), draft=draft)
    names_missing = draft.passengers - len(draft.travellers)
    contact_missing = not (draft.email or draft.phone)
    if names_missing > 0 or contact_missing:
        return BookingStep(
            reply=_ask_details(draft, names_missing, contact_missing, language), draft=draft
        )
    arguments: dict[str, Any] = {
        "flight_id": draft.flight["flight_id"],
        "cabin": draft.cabin,
        "passengers": [
            {"full_name": t.full_name, "date_of_birth": t.date_of_birth} for t in draft.travellers
        ],
        "contact": {"email": draft.email, "phone": draft.phone},
    }
    return BookingStep(call=("hold_booking", arguments))


# Sentences ---------------------------------------------------------------------------------


def flight_brief(flight: Mapping[str, Any], language: Language) -> str:
    """ "**VJ101** VietJet Air, 08:15 thứ Ba, 15/12/2026, SGN → HAN"."""
    number = f"**{flight.get('flight_number', '?')}**"
    airline = flight.get("airline_name") or flight.get("airline_code") or ""
    moment = parse_moment(flight.get("departs_at"))
    when = clock(flight.get("departs_at"))
    if moment is not None:
        day = format_day(moment.date(), language)
        when = f"{when} {day}" if language == "vi" else f"{when} on {day}"
    route = f"{flight.get('origin', '?')} → {flight.get('destination', '?')}"
    return ", ".join(part for part in (f"{number} {airline}".strip(), when, route) if part)


def _option(position: int, flight: Mapping[str, Any], language: Language) -> str:
    price = format_vnd(int(flight.get("price_vnd") or 0), language)
    return f"{position}. **{flight.get('flight_number', '?')}** {clock(flight.get('departs_at'))} · {price}"


def _which_flight(problem: str | None, shown: list[Mapping[str, Any]], language: Language) -> str:
    lines = [problem] if problem else []
    if language == "vi":
        lines.append("Bạn muốn đặt chuyến nào?" + (" Các chuyến vừa tìm:" if shown else ""))
    else:
        lines.append(
            "Which flight would you like to book?" + (" The ones I found:" if shown else "")
        )
    lines += [_option(i, f, language) for i, f in enumerate(shown, start=1)]
    lines.append(
        "Bạn trả lời bằng số hiệu chuyến, “rẻ nhất” hoặc “chuyến thứ 2” nhé."
        if language == "vi"
        else "Answer with the flight number, “the cheapest” or “the second one”."
    )
    return "\n".join(lines)


def _problem(choice: Choice, picked: Picked, language: Language) -> str:
    vi = language == "vi"
    said = choice.said
    if picked.problem == "ambiguous":
        count = len(picked.candidates)
        return f"Có {count} chuyến khớp với “{said}”." if vi else f"{count} flights match “{said}”."
    if picked.problem == "out_of_range":
        count = len(picked.candidates)
        return (
            f"Danh sách vừa rồi chỉ có {count} chuyến."
            if vi
            else f"The list I showed has only {count} flight" + ("s." if count != 1 else ".")
        )
    if choice.kind == "number":
        return (
            f"Mình không thấy chuyến {said} trong kết quả vừa tìm."
            if vi
            else f"I can't find {said} among the flights I just found."
        )
    if choice.kind == "time":
        return (
            f"Không có chuyến nào khởi hành lúc {said} trong kết quả vừa tìm."
            if vi
            else f"None of the flights I found leaves at {said}."
        )
    return (
        "Không có chuyến nào khớp yêu cầu trong kết quả vừa tìm."
        if vi
        else "None of the flights I found matches that."
    )


def _names_part(draft: Draft, missing: int, language: Language) -> str:
    if language == "vi":
        if draft.travellers:
            return f"họ tên đầy đủ của {missing} hành khách nữa"
        who = "hành khách" if draft.passengers == 1 else f"{draft.passengers} hành khách"
        return f"họ tên đầy đủ của {who} (như trên giấy tờ tùy thân)"
    if draft.travellers:
        return f"the full name of {missing} more passenger" + ("s" if missing > 1 else "")
    if draft.passengers == 1:
        return "the passenger's full name (as on their ID)"
    return f"the full names of the {draft.passengers} passengers (as on their IDs)"


def _ask_details(
    draft: Draft, names_missing: int, contact_missing: bool, language: Language
) -> str:
    assert draft.flight is not None
    parts: list[str] = []
    if names_missing > 0:
        parts.append(_names_part(draft, names_missing, language))
    if contact_missing:
        parts.append(
            "số điện thoại hoặc email liên hệ"
            if language == "vi"
            else "a phone number or email for the booking"
        )
    brief = flight_brief(draft.flight, language)
    names = "; ".join(t.full_name for t in draft.travellers)
    if language == "vi":
        text = f"Để giữ chỗ chuyến {brief}, bạn cho mình {' và '.join(parts)} nhé."
        return text + (f" Mình đã có: {names}." if names and names_missing > 0 else "")
    text = f"To hold {brief}, please send {' and '.join(parts)}."
    return text + (f" So far: {names}." if names and names_missing > 0 else "")


def _no_search(choice: Choice, slots: Slots, language: Language) -> BookingStep:
    if language == "vi":
        note = (
            f"Mình chưa tìm chuyến bay nào nên chưa biết chuyến {choice.said} là chuyến nào."
            if choice.kind == "number"
            else "Mình chưa tìm chuyến bay nào nên chưa có chuyến để chọn."
        )
    elif choice.kind == "number":
        note = f"I haven't searched any flights yet, so I can't tell which flight {choice.said} is."
    else:
        note = "I haven't searched any flights yet, so there is nothing to pick from."
    missing = ("origin", "destination", "date")
    pending: dict[str, Any] = {}
    if slots.passengers is not None:
        pending["passengers"] = slots.passengers
    return BookingStep(
        reply=f"{note} {phrases.ask_missing(missing, language)}", pending_search=pending
    )


def _empty_search(language: Language) -> str:
    if language == "vi":
        return "Lần tìm vừa rồi không có chuyến nào để đặt. Bạn thử tìm ngày hoặc tuyến khác nhé."
    return "The last search found no flights to book. Try another day or route."


def _ask_reference(purpose: str, language: Language) -> str:
    if language == "vi":
        if purpose == "cancel":
            return (
                "Bạn cho mình mã đặt chỗ cần hủy (6 ký tự, ví dụ K7QX3M) nhé. "
                "Còn đổi vé hay hoàn tiền thì mình chưa làm được, tính năng này sẽ sớm có."
            )
        return "Bạn cho mình mã đặt chỗ (6 ký tự, ví dụ K7QX3M) để mình tra cứu nhé."
    if purpose == "cancel":
        return (
            "Which booking should I cancel? Please send its 6-character reference (e.g. K7QX3M). "
            "Changes and refunds are not available yet; they are coming soon."
        )
    return "Please send the 6-character booking reference (e.g. K7QX3M) and I'll look it up."


def _nothing_held(confirmed: str | None, language: Language) -> str:
    if confirmed is not None:
        return (
            f"Đặt chỗ **{confirmed}** đã được xác nhận rồi, không cần xác nhận lại."
            if language == "vi"
            else f"Booking **{confirmed}** is already confirmed; there is nothing more to confirm."
        )
    return (
        "Hiện không có đặt chỗ nào đang giữ để xác nhận. Bạn chọn chuyến muốn đặt trước nhé."
        if language == "vi"
        else "There is no held booking to confirm yet. Pick a flight to book first."
    )


def _dropped(language: Language, tool: str = "hold_booking") -> str:
    if tool != "hold_booking":
        return (
            "Được rồi, mình không làm nữa; đặt chỗ của bạn không có gì thay đổi."
            if language == "vi"
            else "All right, I'll leave it; nothing changed on your booking."
        )
    return (
        "Được rồi, mình bỏ yêu cầu đặt chỗ này; chưa có gì được đặt cả."
        if language == "vi"
        else "All right, I've dropped that booking request; nothing was booked."
    )
