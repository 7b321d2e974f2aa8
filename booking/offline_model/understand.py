"""From the conversation so far to a plan: the tool calls to make now, or a sentence to say instead.

Pure and deterministic: same messages and ``today``, same plan. The pipeline (docs/offline-model.md):

1. Normalize (:mod:`text`: NFC, folded form, chat shorthand expanded).
2. Recognize typed spans: dates (:mod:`date_mentions`), prices (:mod:`prices`), party
   (:mod:`party`), time windows, cabin, airline and sort (:mod:`slots`), places
   (:mod:`place_mentions`, with the words around them).
3. Assign roles (:func:`place_mentions.sort_places`: markers first, then order) and cut the
   message into clauses (:mod:`grammar`) so weather and flights each get their own places and
   dates.
4. Check before calling (:mod:`checks`): unknown or identical places, passed or far dates,
   impossible parties and windows are asked about instead.
5. Build on the conversation (:mod:`dialogue`): follow-ups inherit the last search that ran,
   a pending request is completed by the next message.

:func:`analyse` runs these steps; its pieces live beside it: the language (:mod:`message_language`),
what a message is about (:mod:`topics`), the dates and legs it means (:mod:`trip_legs`), and the
plan with the calls and questions it is built from (:mod:`outcomes`).

Rules worth knowing:

- Missing origin, destination or date is asked for, never guessed.
- Round trip without a return date: nothing is searched yet; the plan asks for the return date.
- Weather and flights in one message: both calls (``search_flights`` first). If the flight part
  lacks a detail, only ``get_weather`` is called and the answer ends with the question
  (:func:`booking.offline_model.reply.compose_answer` asks it).
- Booking (hold a flight from the last search, confirm, cancel, look up) is read first, by
  :func:`booking.offline_model.booking_plans.plan_booking`; a message it does not take is read
  as a search as before. A hold missing names or contact details is pending like a search.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from booking.offline_model import checks, phrases
from booking.offline_model.booking_plans import plan_booking
from booking.offline_model.date_mentions import DateMention
from booking.offline_model.dialogue import flight_request, offered_date, read_history, weather_calls
from booking.offline_model.grammar import clauses, share
from booking.offline_model.lexicon import (
    GREETINGS,
    HELP_WORDS,
    MANAGE_WORDS,
    THANKS_WORDS,
    THERE_RAW,
    UNSUPPORTED_RAW,
    UNSUPPORTED_WORDS,
)
from booking.offline_model.message_language import conversation_language
from booking.offline_model.outcomes import Outcome, Plan, ask, refuse, search_calls, with_notes
from booking.offline_model.place_mentions import Mention, find_places, mention_tokens, sort_places
from booking.offline_model.planned import PlannedCall
from booking.offline_model.prices import DEFAULT_USD_VND_RATE
from booking.offline_model.slots import extract_slots
from booking.offline_model.text import Utterance, last_user_index, message_text, parse_utterance
from booking.offline_model.topics import (
    asked_for,
    flight_words,
    only_topic,
    other_transport,
    topic_of,
    weather_words,
    without_places,
)
from booking.offline_model.trip_legs import RETURN_LEG, find_legs, leg_windows, meant_dates

_NOW = re.compile(r"\b(?:now|right\s+now|currently|bay\s+gio|hien\s+tai|luc\s+nay)\b")
_THAT_DAY = re.compile(
    r"\b(?:(?:on\s+)?that\s+(?:day|date)|the\s+same\s+day|(?:ngay|hom)\s+(?:do|ay|hom\s+do)"
    r"|cung\s+ngay(?:\s+do)?)\b"
)

#: How many earlier user turns may still be completing one request.
_MAX_PENDING_TURNS = 4


#: A yes to the question the last answer asked ("ừ", "ok", "đúng rồi", "năm sau", "yes").
_YES = re.compile(
    r"\b(?:u|uh|uhm|um|ok|oke|okay|dung|dung\s+roi|vang|yes|yeah|yep|yup|sure|correct|nam\s+sau"
    r"|next\s+year|duoc|chuan|phai|co|da|right)\b"
)
_HOW_IS_RAW = ("thế nào", "ra sao", "the nao", "sao rồi", "how is", "how's")
_BARE_NUMBER = re.compile(r"\s*(\d{1,2})\s*(?:nguoi|ng|khach|ve|pax|people)?\s*[.!]?\s*")


def _asked_count(pending: Mapping[str, Any] | None) -> bool:
    """Whether the last answer asked how many travel (a party it could not search)."""
    return bool(pending) and (pending or {}).get("_asked") == "passengers"


def _bare_count(utterance: Utterance) -> int | None:
    """A message that is only a number ("9", "3 người"): the answer to "how many?"."""
    match = _BARE_NUMBER.fullmatch(utterance.plain)
    return int(match[1]) if match else None


def _unknown(mentions: Sequence[Mention]) -> Mention | None:
    return next((m for m in mentions if not m.city.slug), None)


def analyse(
    messages: Sequence[Mapping[str, Any]],
    today: date,
    *,
    depth: int = 0,
    usd_rate: int = DEFAULT_USD_VND_RATE,
) -> Outcome:
    """The plan for the latest user message, with the state of any unfinished request."""
    index = last_user_index(messages)
    language = conversation_language(messages)
    if index is None:
        return Outcome(language, reply=phrases.greeting(language))
    utterance = parse_utterance(message_text(messages[index]))
    slots = meant_dates(utterance, extract_slots(utterance, today, usd_rate))
    mentions = find_places(utterance, tuple((d.start, d.end) for d in slots.dates))
    if not slots.dates and (that_day := _THAT_DAY.search(utterance.plain)) is not None:
        # "flights there that day", "hôm đó": the day the conversation was about.
        slots = replace(slots, dates=(DateMention(*that_day.span(), None, 0),))
    history = read_history(
        messages,
        index,
        lambda earlier: (
            analyse(earlier, today, depth=depth + 1, usd_rate=usd_rate)
            if depth < _MAX_PENDING_TURNS
            else None
        ),
    )
    topical = without_places(utterance, mentions)
    asks_weather = weather_words(topical)
    asks_flight = flight_words(topical)
    has_details = bool(mentions or slots.dates or slots.has_filters or slots.round_trip)

    if topical.has(*MANAGE_WORDS):
        return Outcome(language, reply=phrases.unsupported(language, manages_booking=True))
    off_topic = (
        topical.has(*UNSUPPORTED_WORDS)
        or topical.has_raw(*UNSUPPORTED_RAW)
        or other_transport(topical)
    )
    step = None
    if not off_topic:  # "book a hotel" is no flight booking.
        step = plan_booking(
            messages, index, utterance, slots, mentions, language, today, history.booking
        )
    if step is not None:
        if step.call is not None:
            return Outcome(language, (PlannedCall(*step.call),))
        if step.pending_search is not None:
            lacking = ("origin", "destination", "date")
            return Outcome(language, (), step.reply, step.pending_search, lacking)
        return Outcome(language, reply=step.reply, booking=step.draft)
    if off_topic and (not (asks_flight or asks_weather) or other_transport(topical)):
        return Outcome(language, reply=phrases.unsupported(language, asked=asked_for(topical)))
    accepts_offer = offered_date(history.pending) is not None and _YES.search(utterance.plain)
    answers_count = _bare_count(utterance) if _asked_count(history.pending) else None
    if answers_count is not None:
        # "Bạn đi bao nhiêu người?" - "9".
        slots = replace(slots, passengers=answers_count)
    if not asks_flight and not asks_weather:
        # Details without a topic word ("ngày mai thì sao?", "2 người") continue whatever the
        # last turn looked up: the weather after a weather answer, else a flight search.
        weather_follow_up = history.weather_only_turn and history.pending is None
        if accepts_offer or answers_count is not None:
            asks_flight = True
        elif mentions and not slots.has_filters and topical.has_raw(*_HOW_IS_RAW):
            # "Nha Trang mai thế nào?": how a place will be is its weather.
            asks_weather = True
        elif has_details and weather_follow_up and len(mentions) <= 1 and not slots.has_filters:
            asks_weather = True
        elif not has_details and topical.has(*THANKS_WORDS):
            return Outcome(language, reply=phrases.thanks(language))
        elif not has_details and topical.has(*GREETINGS):
            return Outcome(language, reply=phrases.greeting(language))
        elif not has_details and topical.has(*HELP_WORDS):
            return Outcome(language, reply=phrases.capabilities(language))
        elif not has_details:
            return Outcome(language, reply=phrases.not_understood(language))
        else:
            asks_flight = True

    flight_mentions, weather_mentions = list(mentions), list(mentions)
    flight_slots, weather_slots = slots, slots
    routes = any(m.role == "origin" for m in mentions)
    if asks_weather and (asks_flight or routes):
        # Each request keeps the places and dates of its own clauses ("weather this weekend and
        # flights next Friday"); one with none of its own borrows the other's.
        routed = frozenset(m.first for m in mentions if m.role in ("origin", "destination", "verb"))
        parts = clauses(utterance, topic_of, mention_tokens(list(mentions)), routed)
        start_of = {id(m): utterance.tokens[m.first].start for m in mentions}
        flight_mentions = share(mentions, lambda m: start_of[id(m)], parts, "flight")
        weather_mentions = share(mentions, lambda m: start_of[id(m)], parts, "weather")
        flight_only, weather_only = (
            only_topic(utterance, parts, "flight"),
            only_topic(utterance, parts, "weather"),
        )
        flight_slots = meant_dates(flight_only, extract_slots(flight_only, today, usd_rate))
        weather_slots = meant_dates(weather_only, extract_slots(weather_only, today, usd_rate))
        if not flight_slots.dates:
            flight_slots = replace(flight_slots, dates=weather_slots.dates)
        weather_now = _NOW.search(only_topic(utterance, parts, "weather").plain) is not None
        if not weather_slots.dates and not weather_now:
            weather_slots = replace(weather_slots, dates=flight_slots.dates)
        if not flight_mentions and not weather_mentions:
            flight_mentions = weather_mentions = list(mentions)
    route = sort_places(flight_mentions, weather=asks_weather and not asks_flight)
    wants_flight = asks_flight or (asks_weather and (route.origin is not None or slots.round_trip))
    says_there = topical.has("there") or topical.has_raw(*THERE_RAW)

    weather_route = sort_places(weather_mentions, weather=True)
    weather_mention = weather_route.at
    if asks_weather and weather_mention is None and not (wants_flight and asks_flight):
        weather_mention = weather_route.destination or weather_route.origin
    if asks_weather and asks_flight and weather_mention is None and weather_mentions:
        weather_mention = weather_mentions[0]
    if asks_weather and not asks_flight and wants_flight:
        weather_mention = route.at
    weather_place = weather_mention.value if weather_mention else None
    extra_weather: list[str] = []
    if asks_weather and not wants_flight and weather_mention is not None:
        # "Thời tiết Phú Quốc với Côn Đảo", "weather in Hai Phong and Ha Noi": each place.
        extra_weather = [
            m.value
            for m in weather_mentions
            if m is not weather_mention and m.city.slug and m.value != weather_place
        ]
    destination = route.destination.value if route.destination else None
    # "Flights there" points at the place whose weather was asked, now or in the last turn.
    if wants_flight and destination is None and says_there:
        destination = weather_place or (history.last_weather or {}).get("city")
    if asks_weather and weather_place is None:
        weather_place = destination

    unknown = _unknown([m for m in (route.origin, route.destination) if m] if wants_flight else [])
    if unknown is None and asks_weather and weather_mention is not None:
        unknown = _unknown([weather_mention])
    if unknown is not None:
        role = "from_city" if unknown is route.origin else "to_city" if wants_flight else "city"
        not_known = checks.unknown_place(unknown.value, role, language)
        if wants_flight:
            so_far, _ = flight_request(flight_slots, route, history, today, destination=destination)
            return refuse(language, so_far, not_known)
        return Outcome(language, (), not_known.question, None, not_known.missing)

    calls: list[PlannedCall] = []
    arguments: dict[str, Any] = {}
    missing: tuple[str, ...] = ()
    # Several legs need a date each: with fewer date phrases there is nothing to cut.
    several = wants_flight and len(flight_slots.dates) >= 2
    legs = find_legs(utterance, flight_mentions, flight_slots, today, usd_rate) if several else []
    if len(legs) >= 2:
        # "HN-SG ngày 5/3 và SG-PQ ngày 8/3": a search per leg, each with its own details.
        for leg in legs:
            if (problem := checks.check_search(leg, today, language)) is not None:
                return refuse(language, leg, problem)
            calls.extend(search_calls(leg))
        wants_flight = False
    if wants_flight:
        arguments, missing = flight_request(
            flight_slots,
            route,
            history,
            today,
            destination=destination,
            accepts_offer=bool(accepts_offer),
            return_leg=RETURN_LEG.search(utterance.plain) is not None
            and any(t.raw in ("về", "back", "return", "returning") for t in utterance.tokens),
        )
        if arguments.get("_return_date") and len(flight_slots.dates) >= 2:
            arguments = leg_windows(utterance, flight_slots, arguments, today)
        if not missing:
            problem = checks.check_search(arguments, today, language)
            if problem is not None:
                return with_notes(refuse(language, arguments, problem), slots)
            calls.extend(search_calls(arguments))
        elif not asks_weather:
            return with_notes(ask(language, arguments, missing), slots)
    if asks_weather:
        weather = weather_calls(
            weather_slots,
            history,
            today,
            [weather_place, *extra_weather] if weather_place else [],
            arguments,
            language,
            now=_NOW.search(utterance.plain) is not None,
        )
        if weather is None:
            return ask(language, {}, ("weather_place",))
        if isinstance(weather, checks.Problem):
            return Outcome(language, (), weather.question)
        calls.extend(weather)
    return with_notes(
        Outcome(language, tuple(calls), None, arguments if missing else None, missing),
        flight_slots,
    )


def understand(
    messages: Sequence[Mapping[str, Any]], today: date, *, usd_rate: int = DEFAULT_USD_VND_RATE
) -> Plan:
    """Read the conversation and decide the next step.

    Args:
        messages: OpenAI Chat Completions messages, the latest user message last (or before
            the assistant's own messages).
        today: the date in Asia/Ho_Chi_Minh, which relative dates count from.

    Returns:
        The tool calls to make now, or the sentence to say instead.
    """
    outcome = analyse(messages, today, usd_rate=usd_rate)
    return Plan(outcome.language, outcome.calls, outcome.reply)
