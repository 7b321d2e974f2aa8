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
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from booking.offline_model import checks, phrases
from booking.offline_model.booking_intent import Draft
from booking.offline_model.booking_plans import plan_booking
from booking.offline_model.date_mentions import DateMention
from booking.offline_model.dialogue import (
    REQUIRED,
    flight_request,
    offered_date,
    problem_of,
    read_history,
    weather_calls,
)
from booking.offline_model.grammar import Clause, Topic, clauses, share
from booking.offline_model.lexicon import (
    FLIGHT_WORDS,
    GREETINGS,
    HELP_WORDS,
    MANAGE_WORDS,
    QUESTION_RAW,
    THANKS_WORDS,
    THERE_RAW,
    TRANSPORT_WORDS,
    UNSUPPORTED_RAW,
    UNSUPPORTED_WORDS,
    WEATHER_ADJECTIVES_RAW,
    WEATHER_RAW,
    WEATHER_WORDS,
)
from booking.offline_model.place_mentions import Mention, find_places, sort_places
from booking.offline_model.planned import PlannedCall
from booking.offline_model.prices import DEFAULT_USD_VND_RATE
from booking.offline_model.slots import Slots, extract_slots
from booking.offline_model.text import (
    Language,
    Utterance,
    english_evidence,
    last_user_index,
    message_text,
    parse_utterance,
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
    if utterance.has(*WEATHER_WORDS) or utterance.has_raw(*WEATHER_RAW):
        return True
    asked = "?" in utterance.typed or utterance.has_raw(*QUESTION_RAW)
    return asked and utterance.has_raw(*WEATHER_ADJECTIVES_RAW)


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
        if arguments.get("_return_window"):
            back.pop("depart_after", None)
            back.pop("depart_before", None)
            after, before = arguments["_return_window"]
            back.update(
                {k: v for k, v in (("depart_after", after), ("depart_before", before)) if v}
            )
            back = {k: back[k] for k in _ORDER if k in back}
        calls.append(PlannedCall("search_flights", back))
    return tuple(calls)


def _ask(language: Language, arguments: dict[str, Any], missing: tuple[str, ...]) -> Outcome:
    summary = phrases.request_summary(arguments, language)
    problem = problem_of(arguments, language) if "date" in missing else None
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
    pending["_asked"] = problem.code
    missing = tuple(label for key, label in REQUIRED if not pending.get(key))
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


#: Words that ask for the way back: "vé về", "chiều về", "the flight back", "return flight".
_RETURN_LEG = re.compile(
    r"\b(?:ve\s+ve|chieu\s+ve|chuyen\s+ve|luot\s+ve|ngay\s+ve|(?:the\s+)?(?:flight|way)\s+back"
    r"|return\s+(?:flight|leg)|flying\s+back)\b"
)
_PURPOSE = re.compile(r"\b(?:an|don|choi|nghi|ve\s+que|celebrate|spend)\s*$")
_PURPOSE_INSIDE = re.compile(r"(?:an|don|choi|nghi)\s")
_CORRECTION = re.compile(
    r"\b(?:nham|nham\s+roi|sua\s+lai|y\s+la|y\s+minh\s+la|i\s+mean|sorry|actually|correction"
    r"|doi\s+lai)\b"
)
_NEGATED = re.compile(r"\b(?:khong\s+phai|chu\s+khong\s+phai|not)\s*(?:la\s+)?(?:ngay\s+)?$")


def _meant_dates(utterance: Utterance, slots: Slots) -> Slots:
    """The dates the traveller means to fly on, corrections and purposes aside.

    "à nhầm, ngày 16 chứ không phải 15": a date after a correction wins, one after "không
    phải"/"not" is dropped. "về quê ăn Tết, ... ngày 1/2": a holiday that is why someone travels
    gives way to a date said for the flight.
    """
    dates = list(slots.dates)
    plain = utterance.plain
    dates = [d for d in dates if not _NEGATED.search(plain[: d.start])] or dates
    correction = max(_CORRECTION.finditer(plain), key=lambda m: m.start(), default=None)
    if correction is not None and any(d.start > correction.end() for d in dates):
        dates = [d for d in dates if d.start > correction.end()]
    purposes = [
        d
        for d in dates
        if _PURPOSE.search(plain[: d.start]) or _PURPOSE_INSIDE.match(plain, d.start)
    ]
    if purposes and len(purposes) < len(dates):
        dates = [d for d in dates if d not in purposes]
    return slots if dates == list(slots.dates) else replace(slots, dates=tuple(dates))


def _leg_windows(
    utterance: Utterance, slots: Slots, arguments: dict[str, Any], today: date
) -> dict[str, Any]:
    """Each leg of a round trip keeps the time of day said with it ("đi 5/6 buổi sáng, về 9/6
    buổi tối", "đi sáng thứ 5 về chiều chủ nhật"): the message is cut where the way back starts."""
    if _BOTH_WAYS.search(utterance.plain):
        return arguments  # "morning flights both ways": one window for both legs.
    out, back = slots.dates[0], slots.dates[-1]
    marks = [
        m
        for m in _WAY_BACK.finditer(utterance.plain, out.end, back.start)
        if m[0] != "ve" or utterance.lower[m.start() : m.end()] == "về"
    ]
    if marks:
        cut = marks[-1].start()
    else:
        parts = clauses(utterance, lambda _: "flight")
        own = next((c for c in parts if c.start <= back.start < c.end), None)
        if own is None or own.start == 0:
            return arguments
        cut = own.start
    typed = utterance.typed
    there = extract_slots(parse_utterance(typed[:cut] + " " * (len(typed) - cut)), today)
    home = extract_slots(parse_utterance(" " * cut + typed[cut:]), today)
    if not (home.depart_after or home.depart_before):
        return arguments
    result = {k: v for k, v in arguments.items() if k not in ("depart_after", "depart_before")}
    for key, value in (
        ("depart_after", there.depart_after),
        ("depart_before", there.depart_before),
    ):
        if value:
            result[key] = value
    result["_return_window"] = (home.depart_after, home.depart_before)
    return result


_BOTH_WAYS = re.compile(
    r"\b(?:both\s+ways|each\s+way|ca\s+(?:2|hai)\s+chieu|ca\s+di\s+(?:lan|va)\s+ve|2\s+chieu\s+deu)\b"
)
_WAY_BACK = re.compile(r"\b(?:ve|return(?:ing)?|back|flying\s+back|coming\s+back)\b")


def _legs(
    utterance: Utterance,
    mentions: Sequence[Mention],
    slots: Slots,
    today: date,
    usd_rate: int,
) -> list[dict[str, Any]]:
    """The legs of a multi-city request: clauses that each name a route and a day.

    Fewer than two such clauses is an ordinary request (a round trip names one route).
    """
    parts = clauses(utterance, lambda _: "flight")
    legs: list[dict[str, Any]] = []
    for part in parts:
        own = [m for m in mentions if part.first <= m.first <= part.last and m.city.slug]
        route = sort_places(own, weather=False)
        if route.origin is None or route.destination is None:
            continue
        typed = utterance.typed
        text = " " * part.start + typed[part.start : part.end] + " " * (len(typed) - part.end)
        details = extract_slots(parse_utterance(text), today, usd_rate)
        days = [d for d in details.dates if d.days]
        if not days:
            continue
        leg: dict[str, Any] = {
            "from_city": route.origin.value,
            "to_city": route.destination.value,
            "date": days[0].days[0].isoformat(),
        }
        for key, value in (
            ("passengers", details.passengers),
            ("cabin", details.cabin or slots.cabin),
            ("max_price", details.max_price or slots.max_price),
            ("airline", details.airline or slots.airline),
            ("depart_after", details.depart_after),
            ("depart_before", details.depart_before),
        ):
            if value is not None:
                leg[key] = value
        if details.passengers is None:
            # "2 người nhé: HN-SG ngày 5/3 rồi SG-PQ ngày 8/3": the party goes on every leg.
            inherited = legs[-1].get("passengers") if legs else slots.passengers
            if inherited is not None:
                leg["passengers"] = inherited
        legs.append(leg)
    return legs if len(legs) >= 2 else []


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
    slots = _meant_dates(utterance, extract_slots(utterance, today, usd_rate))
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
        return Outcome(language, reply=phrases.unsupported(language, asked=_asked_for(topical)))
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
        parts = clauses(utterance, _topic, _mention_tokens(list(mentions)), routed)
        start_of = {id(m): utterance.tokens[m.first].start for m in mentions}
        flight_mentions = share(mentions, lambda m: start_of[id(m)], parts, "flight")
        weather_mentions = share(mentions, lambda m: start_of[id(m)], parts, "weather")
        flight_only, weather_only = (
            _only(utterance, parts, "flight"),
            _only(utterance, parts, "weather"),
        )
        flight_slots = _meant_dates(flight_only, extract_slots(flight_only, today, usd_rate))
        weather_slots = _meant_dates(weather_only, extract_slots(weather_only, today, usd_rate))
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
            so_far, _ = flight_request(flight_slots, route, history, today, destination=destination)
            return _refuse(language, so_far, not_known)
        return Outcome(language, (), not_known.question, None, not_known.missing)

    calls: list[PlannedCall] = []
    arguments: dict[str, Any] = {}
    missing: tuple[str, ...] = ()
    # Several legs need a date each: with fewer date phrases there is nothing to cut.
    several = wants_flight and len(flight_slots.dates) >= 2
    legs = _legs(utterance, flight_mentions, flight_slots, today, usd_rate) if several else []
    if len(legs) >= 2:
        # "HN-SG ngày 5/3 và SG-PQ ngày 8/3": a search per leg, each with its own details.
        for leg in legs:
            if (problem := checks.check_search(leg, today, language)) is not None:
                return _refuse(language, leg, problem)
            calls.extend(_search_calls(leg))
        wants_flight = False
    if wants_flight:
        arguments, missing = flight_request(
            flight_slots,
            route,
            history,
            today,
            destination=destination,
            accepts_offer=bool(accepts_offer),
            return_leg=_RETURN_LEG.search(utterance.plain) is not None
            and any(t.raw in ("về", "back", "return", "returning") for t in utterance.tokens),
        )
        if arguments.get("_return_date") and len(flight_slots.dates) >= 2:
            arguments = _leg_windows(utterance, flight_slots, arguments, today)
        if not missing:
            problem = checks.check_search(arguments, today, language)
            if problem is not None:
                return _with_notes(_refuse(language, arguments, problem), slots)
            calls.extend(_search_calls(arguments))
        elif not asks_weather:
            return _with_notes(_ask(language, arguments, missing), slots)
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


_STAY_WORDS = ("khach san", "hotel", "hotels", "resort", "homestay", "hostel", "airbnb", "phong")
_PAPER_WORDS = ("visa", "visas", "ho chieu", "passport", "thi thuc", "bao hiem", "insurance")


def _asked_for(utterance: Utterance) -> str | None:
    """Which kind of thing not sold here the message asks for, if one is clear."""
    if _other_transport(utterance):
        return "transport"
    if utterance.has(*_STAY_WORDS):
        return "stay"
    if utterance.has(*_PAPER_WORDS):
        return "papers"
    return None


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
