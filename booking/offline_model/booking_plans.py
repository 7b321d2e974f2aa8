"""Booking requests: book a flight from the last search (or hold it), confirm, cancel or look it
up. Pure.

Rules worth knowing:

- "Đặt vé", "book", "lấy chuyến này" book in one decision (``book_flight``: one approval, and the
  booking is confirmed); only an explicit hold ("giữ chỗ", "hold", "chưa trả tiền", "pay later")
  plans ``hold_booking``, which "xác nhận" / "confirm" then makes final.

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

This module plans; what the conversation holds is read in :mod:`booking_history`, what the message says
in :mod:`booking_intent`, and the questions and answers are worded in :mod:`booking_phrases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from booking.offline_model import booking_phrases
from booking.offline_model.booking_history import (
    Search,
    booking_views,
    current,
    interrupted_call,
    latest_search,
    latest_turn_held,
)
from booking.offline_model.booking_intent import (
    DROP_WORDS,
    Draft,
    Reading,
    choose,
    confirms,
    contributes,
    holds_only,
    leg,
    merge,
    new_search,
    read,
)
from booking.offline_model.place_mentions import Mention
from booking.offline_model.selection import SHOWN, Choice
from booking.offline_model.slots import Slots
from booking.offline_model.text import Language, Utterance, tool_calls
from booking.offline_model.travellers import People


@dataclass(frozen=True, slots=True)
class BookingStep:
    """What a booking message leads to: a call, or a sentence (maybe with a pending draft)."""

    call: tuple[str, dict[str, Any]] | None = None
    reply: str | None = None
    draft: Draft | None = None
    """The hold waiting for details, when ``reply`` asks for them."""
    pending_search: dict[str, Any] | None = None
    """Search arguments gathered so far when ``reply`` asks for a search's route and day."""


def _manage(
    messages: Sequence[Mapping[str, Any]],
    index: int,
    reading: Reading,
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
            return BookingStep(reply=booking_phrases.dropped(language))
        interrupted = interrupted_call(messages, index)
        if interrupted is not None:
            # "Hủy" instead of answering the approval request: the request is off, and an
            # older booking is no reason to cancel anything.
            return BookingStep(reply=booking_phrases.dropped(language, interrupted[0]))
        active = current(views, ("held", "confirmed")) or _last_asked_reference(messages, index)
        if active is not None:
            return BookingStep(call=("cancel_booking", {"reference": active}))
        return BookingStep(reply=booking_phrases.ask_reference("cancel", language))
    yes = reading.confirms or (reading.yes_only and pending is None)
    if yes and reference is None and (retry := interrupted_call(messages, index)) is not None:
        return BookingStep(call=retry)
    if reading.confirms:
        if reference is not None:
            return BookingStep(call=("confirm_booking", {"reference": reference.text}))
        held = current(views, ("held",))
        if held is not None:
            return BookingStep(call=("confirm_booking", {"reference": held}))
        if pending is None:
            return BookingStep(
                reply=booking_phrases.nothing_held(current(views, ("confirmed",)), language)
            )
    if reference is not None and not (reading.choice is not None and reading.book_word):
        return BookingStep(call=("get_booking", {"reference": reference.text}))
    if reading.asks_status and reading.choice is None and not reading.people.said_anything:
        if views:
            return BookingStep(call=("get_booking", {"reference": str(views[0]["reference"])}))
        return BookingStep(reply=booking_phrases.ask_reference("status", language))
    if reading.yes_only and pending is None:
        held = latest_turn_held(messages, index)
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
    search = latest_search(messages, index)
    reading = read(utterance, today, search)
    managed = _manage(messages, index, reading, language, pending)
    if managed is not None:
        return managed
    people, choice = reading.people, reading.choice
    spans = [*people.spans, *((r.start, r.end) for r in reading.references)]
    spans += choice.spans if choice else ()
    if new_search(utterance, search, slots, mentions, spans, choice):
        return None
    if pending is not None:
        if contributes(choice, people, slots) or confirms(utterance):
            return _continue(pending, choice, people, slots, search, utterance, language)
        if utterance.has(*DROP_WORDS):
            return BookingStep(reply=booking_phrases.dropped(language))
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
    search: Search | None,
    utterance: Utterance,
    language: Language,
) -> BookingStep:
    """Merge what the message adds into the draft, then book it (or hold it, when the traveller
    asked to hold only) or ask for what is missing."""
    draft = merge(draft, people, slots.passengers)
    if holds_only(utterance):
        draft = replace(draft, hold_only=True)
    problem: str | None = None
    shown: list[Mapping[str, Any]] = search.flights(0)[:SHOWN] if search else []
    if choice is not None and search is not None:
        if not search.all_flights():
            return BookingStep(reply=booking_phrases.empty_search(language))
        picked = choose(choice, search, utterance, slots)
        if picked.flight is not None:
            cabin = slots.cabin if slots.cabin and choice.kind == "number" else draft.cabin
            draft = replace(draft, flight=picked.flight, cabin=cabin)
        else:
            draft = replace(draft, flight=None)
            problem = booking_phrases.problem(choice, picked, language)
            shown = list(picked.candidates) or search.flights(leg(utterance, search))[:SHOWN]
    if draft.flight is None:
        return BookingStep(
            reply=booking_phrases.which_flight(problem, shown, language), draft=draft
        )
    names_missing = draft.passengers - len(draft.travellers)
    contact_missing = not (draft.email or draft.phone)
    if names_missing > 0 or contact_missing:
        return BookingStep(
            reply=booking_phrases.ask_details(draft, names_missing, contact_missing, language),
            draft=draft,
        )
    arguments: dict[str, Any] = {
        "flight_id": draft.flight["flight_id"],
        "cabin": draft.cabin,
        "passengers": [
            {"full_name": t.full_name, "date_of_birth": t.date_of_birth} for t in draft.travellers
        ],
        "contact": {"email": draft.email, "phone": draft.phone},
    }
    return BookingStep(call=("hold_booking" if draft.hold_only else "book_flight", arguments))


def _no_search(choice: Choice, slots: Slots, language: Language) -> BookingStep:
    """Nothing searched yet to pick from: ask for a search, keeping the passenger count said."""
    pending: dict[str, Any] = {}
    if slots.passengers is not None:
        pending["passengers"] = slots.passengers
    return BookingStep(reply=booking_phrases.no_search(choice, language), pending_search=pending)


def _last_asked_reference(messages: Sequence[Mapping[str, Any]], index: int) -> str | None:
    """The reference the latest booking call named ("check A6RM4X", then "cancel it"), when
    its result says nothing the views could read."""
    for position in range(index - 1, -1, -1):
        for _, name, arguments in tool_calls(messages[position]):
            if name in ("get_booking", "confirm_booking") and arguments.get("reference"):
                return str(arguments["reference"])
    return None
