"""Dialogue state: what a follow-up inherits from the conversation and what it overrides.

The conversation is read back from the messages (the assistant's own tool calls are the record
of what was searched). A follow-up starts from the most recent search that ran and changes only
what it says; naming both places starts a fresh search that keeps only the date; a request that
is still missing something (the previous answer asked for it) is rebuilt from the messages that
started it. Weather follow-ups keep the day(s) of the last forecast. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from booking.offline_model import checks
from booking.offline_model.booking_intent import Draft
from booking.offline_model.date_mentions import DateMention
from booking.offline_model.place_mentions import Route
from booking.offline_model.planned import PlannedCall
from booking.offline_model.slots import Slots
from booking.offline_model.text import Language, tool_calls

REQUIRED = (("from_city", "origin"), ("to_city", "destination"), ("date", "date"))


class Earlier(Protocol):
    """What reading an earlier turn again gives back: its unfinished request, if any."""

    @property
    def pending(self) -> dict[str, Any] | None: ...

    @property
    def booking(self) -> Draft | None: ...


@dataclass(frozen=True, slots=True)
class History:
    last_search: dict[str, Any] | None = None
    last_weather: dict[str, Any] | None = None
    weather_days: tuple[str, ...] = ()
    """Every day the latest weather lookup asked for (both days of a weekend)."""
    weather_only_turn: bool = False
    """Whether the latest assistant tool calls were all ``get_weather``."""
    pending: dict[str, Any] | None = None
    booking: Draft | None = None
    """The hold the previous answer asked details for (no tool ran since)."""


def read_history(
    messages: Sequence[Mapping[str, Any]],
    index: int,
    earlier: Callable[[Sequence[Mapping[str, Any]]], Earlier | None],
) -> History:
    """What the conversation before ``index`` leaves for the latest message to build on.

    Args:
        earlier: reads the conversation up to an earlier user message again, for a request
            that message left unfinished (the planner itself, bounded in depth by its caller).
    """
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
    pending: Earlier | None = None
    if previous_user is not None and not searched_since_previous_user:
        pending = earlier(messages[: previous_user + 1])
    return History(
        last_search=last_search,
        last_weather=last_weather,
        weather_days=weather_days,
        weather_only_turn=bool(weather_only),
        pending=pending.pending if pending else None,
        booking=pending.booking if pending and not called_since_previous_user else None,
    )


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


def flight_request(
    slots: Slots,
    route: Route,
    history: History,
    today: date,
    *,
    destination: str | None,
    accepts_offer: bool = False,
    return_leg: bool = False,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The search arguments (internal keys start with "_") and what they still lack.

    Args:
        accepts_offer: the message says yes to the date the last answer offered ("15/6 has
            passed; did you mean 15/6/2027?" - "ừ, năm sau").
        return_leg: the message asks for the way back ("vé về", "the flight back").
    """
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
    arguments.pop("_asked", None)
    arguments.pop("_return_window", None)
    offered = offered_date(arguments)
    arguments.pop("_problem", None)
    if accepts_offer and offered is not None and not slots.dates:
        arguments["date"] = offered
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
    one_way_before = history.pending is None and not arguments.get("_round_trip")
    if return_leg and back is None and outbound is not None and origin is None and not destination:
        outbound, back = None, outbound
    if (
        back is not None
        and outbound is None
        and one_way_before
        and origin is None
        and destination is None
        and not slots.round_trip
        and arguments.get("from_city")
        and arguments.get("to_city")
    ):
        # "Vé về thì lấy chủ nhật" after a one-way search: the way back, on its own.
        arguments["from_city"], arguments["to_city"] = arguments["to_city"], arguments["from_city"]
        outbound, back = back, None
    if outbound is not None:
        if _vague(outbound):
            arguments.pop("date", None)
            arguments["_problem"] = _date_problem(outbound)
        else:
            base = date.fromisoformat(base_day) if base_day else _day(arguments, "date", today)
            days = _days(outbound, base)
            arguments["date"] = days[0].isoformat()
            if len(days) > 1:
                arguments["_more_dates"] = [d.isoformat() for d in days[1:]]
    if back is not None and not _vague(back):
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
    arguments.pop("_impossible_time", None)
    arguments.pop("_infant_alone", None)
    if slots.infant_alone:
        arguments["_infant_alone"] = True
    if slots.impossible_time:
        arguments["_impossible_time"] = slots.impossible_time
    if slots.sort == "price":
        arguments.pop("sort", None)
    elif slots.sort is not None:
        arguments["sort"] = slots.sort
    missing = [label for key, label in REQUIRED if not arguments.get(key)]
    if arguments.get("_round_trip") and not arguments.get("_return_date"):
        missing.append("return_date")
    return arguments, tuple(missing)


def _days(mention: DateMention, base: date) -> tuple[date, ...]:
    """Every day a date phrase means (both days of a weekend), or the shifted day."""
    days = tuple(getattr(mention, "days", ()) or ())
    return days or (_resolve(mention, base),)


def _date_problem(mention: DateMention) -> tuple[str, str | None]:
    """Why a date phrase gives no day, as JSON-friendly values kept in the pending request:
    ("passed:<day>", next year's day), ("week:<monday>", None) or ("month:<n>", None)."""
    if mention.passed is not None:
        offer = mention.next_year
        return ("passed:" + mention.passed.isoformat(), offer.isoformat() if offer else None)
    if mention.week is not None:
        return ("week:" + mention.week.isoformat(), None)
    return (f"month:{mention.month}", None)


def _vague(mention: DateMention) -> bool:
    """Whether the phrase names no day to search: passed, or only a week or a month."""
    return mention.passed is not None or mention.month is not None or mention.week is not None


def offered_date(pending: Mapping[str, Any] | None) -> str | None:
    """The date a pending request's question offered (next year's, for a passed date)."""
    said = (pending or {}).get("_problem")
    return str(said[1]) if said and said[1] else None


def problem_of(arguments: Mapping[str, Any], language: Language) -> checks.Problem | None:
    said = arguments.get("_problem")
    if not said:
        return None
    kind, offer = said
    if str(kind).startswith("passed:"):
        day = date.fromisoformat(str(kind).removeprefix("passed:"))
        return checks.passed(day, date.fromisoformat(offer) if offer else None, language)
    if str(kind).startswith("week:"):
        return checks.week_without_day(
            date.fromisoformat(str(kind).removeprefix("week:")), language
        )
    return checks.month_without_day(int(str(kind).removeprefix("month:")), language)


def weather_calls(
    slots: Slots,
    history: History,
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
        if mention.passed is not None:
            return checks.passed(mention.passed, mention.next_year, language)
        if mention.week is not None:
            return checks.week_without_day(mention.week, language)
        if mention.month is not None:
            return checks.month_without_day(mention.month, language)
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
