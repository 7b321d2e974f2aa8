"""From the conversation so far to a plan: the tool calls to make now, or a sentence to say instead.

Pure and deterministic: same messages and ``today``, same plan. Rules worth knowing:

- Missing origin, destination or date is asked for, never guessed. The next message then
  completes that pending request (the previous user turns are read again to rebuild it).
- Follow-ups ("còn ngày hôm sau?", "what about business class?", "2 người thì sao") start from
  the most recent ``search_flights`` call in the assistant's tool calls (the outbound leg when
  that turn searched a round trip) and change only what the new message says. A message naming
  both origin and destination starts a fresh search and borrows only the date.
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
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from booking.offline_model import checks, phrases
from booking.offline_model.booking_intent import Draft
from booking.offline_model.booking_plans import plan_booking
from booking.offline_model.date_mentions import DateMention
from booking.offline_model.grammar import Clause, Topic, clauses, share
from booking.offline_model.lexicon import (
    FLIGHT_WORDS,
    GREETINGS,
    HELP_WORDS,
    MANAGE_WORDS,
    THANKS_WORDS,
    THERE_RAW,
    TRANSPORT_WORDS,
    UNSUPPORTED_RAW,
    UNSUPPORTED_WORDS,
    WEATHER_RAW,
    WEATHER_WORDS,
)
from booking.offline_model.place_mentions import Mention, Route, find_places, sort_places
from booking.offline_model.prices import DEFAULT_USD_VND_RATE
from booking.offline_model.slots import Slots, extract_slots
from booking.offline_model.text import (
    Language,
    Utterance,
    english_evidence,
    last_user_index,
    message_text,
    parse_utterance,
    tool_calls,
    vietnamese_evidence,
)
from booking.offline_model.travellers import find_people

_NOW = re.compile(r"\b(?:now|right\s+now|currently|bay\s+gio|hien\s+tai|luc\s+nay)\b")
_THAT_DAY = re.compile(
    r"\b(?:(?:on\s+)?that\s+(?:day|date)|the\s+same\s+day|(?:ngay|hom)\s+(?:do|ay|hom\s+do)"
    r"|cung\s+ngay(?:\s+do)?)\b"
)

#: How many earlier user turns may still be completing one request.
_MAX_PENDING_TURNS = 4
_REQUIRED = (("from_city", "origin"), ("to_city", "destination"), ("date", "date"))


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One tool call the model makes."""

    name: str
    """"search_flights", "get_weather", "hold_booking", "confirm_booking", "cancel_booking" or
    "get_booking"."""
    arguments: dict[str, Any]
    """JSON-serializable arguments, only those the user expressed."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with the latest user message."""

    language: Language
    calls: tuple[PlannedCall, ...]
    """Tool calls to make now; may be empty."""
    reply: str | None
    """Text to say instead (clarifying question, capabilities, greeting) when there are no calls."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A plan plus what the next turn needs to finish an incomplete flight request."""

    language: Language
    calls: tuple[PlannedCall, ...] = ()
    reply: str | None = None
    pending: dict[str, Any] | None = None
    """Arguments gathered so far for a flight search that still lacks something."""
    missing: tuple[str, ...] = ()
    """What ``pending`` lacks: "origin", "destination", "date", "return_date"."""
    booking: Draft | None = None
    """A hold that still lacks the flight, names or contact details the reply asks for."""
    infants: int = 0
    """Infants under two the traveller mentioned: they fly on a lap, so no seat was searched."""
    converted: tuple[float, str, int] | None = None
    """A price cap said in a foreign currency: (amount, currency code, VND it was converted to)."""


@dataclass(frozen=True, slots=True)
class _History:
    last_search: dict[str, Any] | None = None
    last_weather: dict[str, Any] | None = None
    weather_days: tuple[str, ...] = ()
    """Every day the latest weather lookup asked for (both days of a weekend)."""
    weather_only_turn: bool = False
    """Whether the latest assistant tool calls were all ``get_weather``."""
    pending: dict[str, Any] | None = None
    booking: Draft | None = None
    """The hold the previous answer asked details for (no tool ran since)."""


def _history(
    messages: Sequence[Mapping[str, Any]],
    index: int,
    today: date,
    depth: int,
    usd_rate: int = DEFAULT_USD_VND_RATE,
) -> _History:
    last_search: dict[str, Any] | None = None
    last_weather: dict[str, Any] | None = None
    weather_days: tuple[str, ...] = ()
    weather_only: bool | None = None
    searched_since_previous_user = False
    called_since_previous_user = False
    previous_user: int | None = None
    for position in range(index - 1, -1, -1):
        message = messages[position]
        if message.get("role") == "user" and previous_user is None:
            previous_user = position
        if message.get("role") != "assistant":
            continue
        calls = tool_calls(message)
        names = [name for _, name, _ in calls]
        called_since_previous_user = called_since_previous_user or (
            bool(calls) and previous_user is None
        )
        if calls and weather_only is None:
            weather_only = all(name == "get_weather" for name in names)
        if "search_flights" in names:
            searched_since_previous_user = searched_since_previous_user or previous_user is None
            if last_search is None:
                last_search = next(args for _, name, args in calls if name == "search_flights")
        if "get_weather" in names and last_weather is None:
            last_weather = next(args for _, name, args in calls if name == "get_weather")
            weather_days = tuple(
                dict.fromkeys(
                    str(args["date"])
                    for _, name, args in calls
                    if name == "get_weather" and args.get("date")
                )
            )
    pending: Outcome | None = None
    if previous_user is not None and not searched_since_previous_user:
        if depth < _MAX_PENDING_TURNS:
            pending = analyse(
                messages[: previous_user + 1], today, depth=depth + 1, usd_rate=usd_rate
            )
    return _History(
        last_search=last_search,
        last_weather=last_weather,
        weather_days=weather_days,
        weather_only_turn=bool(weather_only),
        pending=pending.pending if pending else None,
        booking=pending.booking if pending and not called_since_previous_user else None,
    )


def _mention_tokens(mentions: list[Mention]) -> frozenset[int]:
    return frozenset(i for m in mentions for i in range(m.first, m.last + 1))


def _evidence(utterance: Utterance) -> Language | None:
    """The language the message shows, if any.

    Place names count only through their accents; personal names, e-mails and phones not at
    all ("book for Nguyễn Văn An" is English, "Nguyen Van An, 0901234567" shows nothing).
    """
    people = find_people(utterance, None)
    skip = _mention_tokens(find_places(utterance)) | people.name_tokens
    skip |= frozenset(
        i
        for i, t in enumerate(utterance.tokens)
        if any(start <= t.start and t.end <= end for start, end in people.spans)
    )
    if vietnamese_evidence(utterance, skip, quiet=people.spans):
        return "vi"
    if english_evidence(utterance, skip):
        return "en"
    return None


def detect_language(text: str) -> Language:
    """Vietnamese when the text has Vietnamese letters or words outside place names, else English."""
    return "vi" if _evidence(parse_utterance(text)) == "vi" else "en"


def conversation_language(messages: Sequence[Mapping[str, Any]]) -> Language:
    """The language of the latest user message that shows one (codes and dates show none)."""
    fallback: Language | None = None
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        evidence = _evidence(parse_utterance(message_text(message)))
        if evidence is not None:
            return evidence
        fallback = fallback or "en"
    return fallback or "vi"


def _flight_words(utterance: Utterance) -> bool:
    if utterance.has(*FLIGHT_WORDS):
        return True
    previous = ""
    for token in utterance.tokens:
        # "vé" is a ticket and "về" a return; "bay" is flying, "bảy" seven, "sân bay" an airport.
        if token.raw in ("vé", "ve", "chuyến") or (token.raw == "bay" and previous != "san"):
            return True
        previous = token.word
    return False


def _weather_words(utterance: Utterance) -> bool:
    return utterance.has(*WEATHER_WORDS) or utterance.has_raw(*WEATHER_RAW)


def _resolve(mention: DateMention, base: date) -> date:
    if mention.day is not None:
        return mention.day
    return base + timedelta(days=mention.shift or 0)


def _split_dates(
    slots: Slots, expecting_return: bool
) -> tuple[DateMention | None, DateMention | None]:
    """Which mentioned date is the outbound one and which the return."""
    outbound: DateMention | None = None
    back: DateMention | None = None
    for mention in slots.dates:
        is_return = mention.return_mark == "strong" or (
            mention.return_mark == "weak" and (outbound is not None or expecting_return)
        )
        if is_return and back is None:
            back = mention
        elif outbound is None and not is_return:
            outbound = mention
    if slots.round_trip and back is None and len(slots.dates) >= 2 and outbound is slots.dates[0]:
        back = slots.dates[1]
    if expecting_return and back is None and outbound is not None and len(slots.dates) == 1:
        outbound, back = None, outbound
    return outbound, back


def _day(arguments: Mapping[str, Any], key: str, today: date) -> date:
    try:
        return date.fromisoformat(str(arguments[key]))
    except (KeyError, ValueError):
        return today


def _flight_request(
    slots: Slots,
    route: Route,
    history: _History,
    today: date,
    *,
    destination: str | None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The search arguments (internal keys start with "_") and what they still lack."""
    origin = route.origin.value if route.origin else None
    fresh_route = origin is not None and destination is not None
    if history.pending is not None:
        arguments = dict(history.pending)
    elif history.last_search is not None and not fresh_route:
        arguments = dict(history.last_search)
    elif history.last_search is not None and "date" in history.last_search:
        arguments = {"date": history.last_search["date"]}
    else:
        arguments = {}
    arguments.pop("_more_dates", None)
    arguments.pop("_problem", None)
    lone = route.destination if origin is None else None
    if (
        history.pending is not None
        and lone is not None
        and lone.role in ("none", "verb")
        and destination == lone.value
        and arguments.get("to_city")
        and not arguments.get("from_city")
    ):
        # "Bạn bay từ đâu?" - "Sài Gòn": a lone place answers the question that was asked.
        origin, destination = destination, None
    if origin is not None:
        arguments["from_city"] = origin
    if destination is not None:
        arguments["to_city"] = destination
    if "date" not in arguments and history.last_weather and history.last_weather.get("date"):
        # "Flights there that day" after a forecast: the forecast's day is the base.
        base_day = str(history.last_weather["date"])
    else:
        base_day = None
    expecting_return = bool(arguments.get("_round_trip")) and "date" in arguments
    outbound, back = _split_dates(slots, expecting_return)
    if outbound is not None:
        if _passed(outbound) is not None or _month(outbound) is not None:
            arguments.pop("date", None)
            arguments["_problem"] = _date_problem(outbound)
        else:
            base = date.fromisoformat(base_day) if base_day else _day(arguments, "date", today)
            days = _days(outbound, base)
            arguments["date"] = days[0].isoformat()
            if len(days) > 1:
                arguments["_more_dates"] = [d.isoformat() for d in days[1:]]
    if back is not None and _passed(back) is None and _month(back) is None:
        arguments["_return_date"] = _resolve(back, _day(arguments, "date", today)).isoformat()
    if slots.one_way:
        arguments.pop("_round_trip", None)
        arguments.pop("_return_date", None)
    elif slots.round_trip or back is not None:
        arguments["_round_trip"] = True
    passengers = slots.passengers
    if slots.passengers_change and passengers is not None:
        # "Thêm 1 người nữa": the party already searched, one more.
        passengers = int(arguments.get("passengers") or 1) + slots.passengers_change * passengers
    for key, value in (
        ("passengers", passengers),
        ("cabin", slots.cabin),
        ("max_price", slots.max_price),
        ("airline", slots.airline),
    ):
        if value is not None:
            arguments[key] = value
    if slots.depart_after or slots.depart_before:
        arguments.pop("depart_after", None)
        arguments.pop("depart_before", None)
        if slots.depart_after:
            arguments["depart_after"] = slots.depart_after
        if slots.depart_before:
            arguments["depart_before"] = slots.depart_before
    if slots.sort == "price":
        arguments.pop("sort", None)
    elif slots.sort is not None:
        arguments["sort"] = slots.sort
    missing = [label for key, label in _REQUIRED if not arguments.get(key)]
    if arguments.get("_round_trip") and not arguments.get("_return_date"):
        missing.append("return_date")
    return arguments, tuple(missing)


def _days(mention: DateMention, base: date) -> tuple[date, ...]:
    """Every day a date phrase means (both days of a weekend), or the shifted day."""
    days = tuple(getattr(mention, "days", ()) or ())
    return days or (_resolve(mention, base),)


def _date_problem(mention: DateMention) -> tuple[str, str | None]:
    """("passed", iso day, next year's) or ("month", month number) as JSON-friendly values."""
    passed = _passed(mention)
    if passed is not None:
        offer = getattr(mention, "next_year", None)
        return ("passed:" + passed.isoformat(), offer.isoformat() if offer else None)
    return (f"month:{_month(mention)}", None)


def _passed(mention: DateMention) -> date | None:
    value = getattr(mention, "passed", None)
    return value if isinstance(value, date) else None


def _month(mention: DateMention) -> int | None:
    value = getattr(mention, "month", None)
    return value if isinstance(value, int) else None


def _problem_of(arguments: Mapping[str, Any], language: Language) -> checks.Problem | None:
    said = arguments.get("_problem")
    if not said:
        return None
    kind, offer = said
    if str(kind).startswith("passed:"):
        day = date.fromisoformat(str(kind).removeprefix("passed:"))
        return checks.passed(day, date.fromisoformat(offer) if offer else None, language)
    return checks.month_without_day(int(str(kind).removeprefix("month:")), language)


#: The tool's parameter order, which the calls follow so equal requests serialize alike.
_ORDER: tuple[str, ...] = (
    *("from_city", "to_city", "date", "passengers", "cabin", "max_price", "depart_after"),
    *("depart_before", "airline", "sort", "limit"),
)


def _search_calls(arguments: Mapping[str, Any]) -> tuple[PlannedCall, ...]:
    public = {k: arguments[k] for k in _ORDER if k in arguments}
    calls = [PlannedCall("search_flights", public)]
    for day in arguments.get("_more_dates") or ():
        calls.append(PlannedCall("search_flights", {**public, "date": day}))
    if arguments.get("_return_date"):
        back = dict(public)
        back["from_city"], back["to_city"] = public["to_city"], public["from_city"]
        back["date"] = arguments["_return_date"]
        calls.append(PlannedCall("search_flights", back))
    return tuple(calls)


def _ask(language: Language, arguments: dict[str, Any], missing: tuple[str, ...]) -> Outcome:
    summary = phrases.request_summary(arguments, language)
    problem = _problem_of(arguments, language) if "date" in missing else None
    if problem is not None:
        rest = tuple(m for m in missing if m != "date")
        question = problem.question + (" " + phrases.ask_missing(rest, language) if rest else "")
    else:
        question = phrases.ask_missing(missing, language)
    reply = f"{summary} {question}" if summary else question
    return Outcome(language, (), reply, arguments, missing)


def _refuse(language: Language, arguments: dict[str, Any], problem: checks.Problem) -> Outcome:
    """Ask instead of calling; what the question asks for is dropped from the pending request."""
    pending = {k: v for k, v in arguments.items() if k not in problem.drop and k != "_problem"}
    missing = tuple(label for key, label in _REQUIRED if not pending.get(key))
    return Outcome(language, (), problem.question, pending, missing or problem.missing)


def _topic(utterance: Utterance) -> Topic | None:
    if _weather_words(utterance):
        return "weather"
    if _flight_words(utterance):
        return "flight"
    return None


def _without(utterance: Utterance, mentions: Sequence[Mention]) -> Utterance:
    """The message without its place names, so "nắng" in a misspelt "Đà Nắng" is no weather word."""
    skip = _mention_tokens(list(mentions))
    return replace(
        utterance, tokens=tuple(t for i, t in enumerate(utterance.tokens) if i not in skip)
    )


def _only(utterance: Utterance, parts: Sequence[Clause], topic: Topic) -> Utterance:
    """The message with every clause of another topic blanked out (offsets kept)."""
    typed = list(utterance.typed)
    for part in parts:
        if part.topic != topic:
            typed[part.start : part.end] = " " * (part.end - part.start)
    return parse_utterance("".join(typed))


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
    slots = extract_slots(utterance, today, usd_rate)
    mentions = find_places(utterance, tuple((d.start, d.end) for d in slots.dates))
    if not slots.dates and (that_day := _THAT_DAY.search(utterance.plain)) is not None:
        # "flights there that day", "hôm đó": the day the conversation was about.
        slots = replace(slots, dates=(DateMention(*that_day.span(), None, 0),))
    history = _history(messages, index, today, depth, usd_rate)
    topical = _without(utterance, mentions)
    asks_weather = _weather_words(topical)
    asks_flight = _flight_words(topical)
    has_details = bool(mentions or slots.dates or slots.has_filters or slots.round_trip)

    if topical.has(*MANAGE_WORDS):
        return Outcome(language, reply=phrases.unsupported(language, manages_booking=True))
    off_topic = (
        topical.has(*UNSUPPORTED_WORDS)
        or topical.has_raw(*UNSUPPORTED_RAW)
        or _other_transport(topical)
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
    if off_topic and (not (asks_flight or asks_weather) or _other_transport(topical)):
        return Outcome(language, reply=phrases.unsupported(language))
    if not asks_flight and not asks_weather:
        # Details without a topic word ("ngày mai thì sao?", "2 người") continue whatever the
        # last turn looked up: the weather after a weather answer, else a flight search.
        weather_follow_up = history.weather_only_turn and history.pending is None
        if has_details and weather_follow_up and len(mentions) <= 1 and not slots.has_filters:
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
        parts = clauses(utterance, _topic, _mention_tokens(list(mentions)), routed)
        start_of = {id(m): utterance.tokens[m.first].start for m in mentions}
        flight_mentions = share(mentions, lambda m: start_of[id(m)], parts, "flight")
        weather_mentions = share(mentions, lambda m: start_of[id(m)], parts, "weather")
        flight_slots = extract_slots(_only(utterance, parts, "flight"), today, usd_rate)
        weather_slots = extract_slots(_only(utterance, parts, "weather"), today, usd_rate)
        if not flight_slots.dates:
            flight_slots = replace(flight_slots, dates=weather_slots.dates)
        weather_now = _NOW.search(_only(utterance, parts, "weather").plain) is not None
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
            so_far, _ = _flight_request(
                flight_slots, route, history, today, destination=destination
            )
            return _refuse(language, so_far, not_known)
        return Outcome(language, (), not_known.question, None, not_known.missing)

    calls: list[PlannedCall] = []
    arguments: dict[str, Any] = {}
    missing: tuple[str, ...] = ()
    if wants_flight:
        arguments, missing = _flight_request(
            flight_slots, route, history, today, destination=destination
        )
        if not missing:
            problem = checks.check_search(arguments, today, language)
            if problem is not None:
                return _with_notes(_refuse(language, arguments, problem), slots)
            calls.extend(_search_calls(arguments))
        elif not asks_weather:
            return _with_notes(_ask(language, arguments, missing), slots)
    if asks_weather:
        weather = _weather_calls(
            weather_slots,
            history,
            today,
            [weather_place, *extra_weather] if weather_place else [],
            arguments,
            language,
            now=_NOW.search(utterance.plain) is not None,
        )
        if weather is None:
            return _ask(language, {}, ("weather_place",))
        if isinstance(weather, checks.Problem):
            return Outcome(language, (), weather.question)
        calls.extend(weather)
    return _with_notes(
        Outcome(language, tuple(calls), None, arguments if missing else None, missing),
        flight_slots,
    )


def _with_notes(outcome: Outcome, slots: Slots) -> Outcome:
    """Carry what the answer must mention: infants on a lap, a converted currency."""
    if slots.infants or slots.converted:
        return replace(outcome, infants=slots.infants, converted=slots.converted)
    return outcome


def _other_transport(utterance: Utterance) -> bool:
    """Trains, coaches and boats: not flights ("tàu bay" and "máy bay" are planes)."""
    previous = ""
    for token in utterance.tokens:
        if token.raw in ("tàu", "tau") and previous not in ("may",):
            following = utterance.plain[token.end : token.end + 6]
            if not following.lstrip().startswith("bay"):
                return True
        previous = token.word
    return utterance.has(*TRANSPORT_WORDS)


def _weather_calls(
    slots: Slots,
    history: _History,
    today: date,
    places: Sequence[str],
    flight: Mapping[str, Any],
    language: Language,
    *,
    now: bool = False,
) -> list[PlannedCall] | checks.Problem | None:
    """``get_weather`` for each place and day asked, falling back on the conversation."""
    places = list(places)
    if not places and history.weather_only_turn and history.last_weather:
        places = [str(history.last_weather.get("city"))]
    if not places:
        for source in (history.pending, history.last_search):
            if source and source.get("to_city"):
                places = [str(source["to_city"])]
                break
    if not places:
        return None
    base = _day(history.last_weather or flight, "date", today)
    days: tuple[date, ...]
    if slots.dates:
        mention = slots.dates[0]
        if (passed := _passed(mention)) is not None:
            return checks.passed(passed, getattr(mention, "next_year", None), language)
        days = _days(mention, base)
    elif now:
        days = (today,)
    elif history.weather_only_turn and history.weather_days:
        # "Còn Hà Nội thì sao?" after a forecast keeps the day(s) that forecast was for.
        days = tuple(date.fromisoformat(d) for d in history.weather_days)
    elif flight.get("date"):
        days = (date.fromisoformat(str(flight["date"])),)
    else:
        # The tool's default is today.
        return [PlannedCall("get_weather", {"city": place}) for place in places]
    return [
        PlannedCall("get_weather", {"city": place, "date": d.isoformat()})
        for place in places
        for d in days
    ]


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
