"""What the planner decides for a message: the plan, and the state an unfinished request keeps.

Also what every decision is built from: the search calls for a complete request (its extra days
and way back included), the question for what a request lacks, and the question a failed check
asks instead of a call (:mod:`checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from booking.offline_model import checks, phrases
from booking.offline_model.booking_intent import Draft
from booking.offline_model.dialogue import REQUIRED, problem_of
from booking.offline_model.planned import PlannedCall
from booking.offline_model.slots import Slots
from booking.offline_model.text import Language


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


#: The tool's parameter order, which the calls follow so equal requests serialize alike.
_ORDER: tuple[str, ...] = (
    *("from_city", "to_city", "date", "passengers", "cabin", "max_price", "depart_after"),
    *("depart_before", "airline", "sort", "limit"),
)


def search_calls(arguments: Mapping[str, Any]) -> tuple[PlannedCall, ...]:
    """The searches for a complete request: its day, any extra days, and the way back."""
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


def ask(language: Language, arguments: dict[str, Any], missing: tuple[str, ...]) -> Outcome:
    """Ask for what the request lacks, after a summary of what it has."""
    summary = phrases.request_summary(arguments, language)
    problem = problem_of(arguments, language) if "date" in missing else None
    if problem is not None:
        rest = tuple(m for m in missing if m != "date")
        question = problem.question + (" " + phrases.ask_missing(rest, language) if rest else "")
    else:
        question = phrases.ask_missing(missing, language)
    reply = f"{summary} {question}" if summary else question
    return Outcome(language, (), reply, arguments, missing)


def refuse(language: Language, arguments: dict[str, Any], problem: checks.Problem) -> Outcome:
    """Ask instead of calling; what the question asks for is dropped from the pending request."""
    pending = {k: v for k, v in arguments.items() if k not in problem.drop and k != "_problem"}
    pending["_asked"] = problem.code
    missing = tuple(label for key, label in REQUIRED if not pending.get(key))
    return Outcome(language, (), problem.question, pending, missing or problem.missing)


def with_notes(outcome: Outcome, slots: Slots) -> Outcome:
    """Carry what the answer must mention: infants on a lap, a converted currency."""
    if slots.infants or slots.converted:
        return replace(outcome, infants=slots.infants, converted=slots.converted)
    return outcome
