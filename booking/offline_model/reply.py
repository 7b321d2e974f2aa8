"""Tool results to the answer the user reads, in Vietnamese or English. Pure.

Only the results of the latest assistant turn are read: each ``tool`` message is matched to the
call it answers by ``tool_call_id``, so the answer knows which tool spoke and with which
arguments. Two flight searches with swapped places are an outbound and a return leg. When the
user also asked for flights that still lack a detail (weather was looked up alone), the answer
ends with the question for it. Flight results are written by :mod:`flight_answers`, forecasts by
:mod:`weather_answers`, booking results by :mod:`receipts` and tool errors by :mod:`error_replies`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from booking.domain.wording import format_conversion
from booking.offline_model import phrases
from booking.offline_model.booking_history import BOOKING_TOOLS, read_result
from booking.offline_model.error_replies import explain_error
from booking.offline_model.flight_answers import OFFER, flights_answer
from booking.offline_model.receipts import booking_answer
from booking.offline_model.text import Language, tool_calls
from booking.offline_model.understand import analyse
from booking.offline_model.weather_answers import weather_answer


@dataclass(frozen=True, slots=True)
class _Result:
    name: str
    arguments: dict[str, Any]
    content: dict[str, Any]


def _results(messages: Sequence[Mapping[str, Any]]) -> tuple[int, list[_Result]]:
    """Index of the latest assistant message with tool calls, and the results answering it."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "assistant" and message.get("tool_calls"):
            calls = tool_calls(message)
            by_id = {call_id: (name, args) for call_id, name, args in calls}
            results: list[_Result] = []
            for offset, reply in enumerate(
                m for m in messages[index + 1 :] if m.get("role") == "tool"
            ):
                fallback = calls[offset][1:] if offset < len(calls) else ("", {})
                name, args = by_id.get(str(reply.get("tool_call_id")), fallback)
                results.append(_Result(name, args, _load(reply.get("content"))))
            return index, results
    return len(messages), []


def _load(content: Any) -> dict[str, Any]:
    loaded = read_result(content)
    if loaded is None:
        return {"error": {"code": "tool_failed", "message": str(content)}}
    return loaded


def _kind(result: _Result) -> Literal["flights", "weather", "booking", "other"]:
    if result.name == "search_flights" or "flights" in result.content:
        return "flights"
    if result.name == "get_weather" or "condition_code" in result.content:
        return "weather"
    if result.name in BOOKING_TOOLS or isinstance(result.content.get("booking"), Mapping):
        return "booking"
    return "other"


def _reference_day(results: list[_Result]) -> date:
    """A day to read relative dates against when re-reading the question.

    Only which details the question lacked matters here, not the dates themselves, so any day
    will do; the results' own day keeps it close to the conversation.
    """
    for result in results:
        for value in (result.content.get("day"), (result.content.get("query") or {}).get("date")):
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                continue
    return date(2000, 1, 1)


def _notes(infants: int, converted: Any, language: Language) -> list[str]:
    """What the planner understood but did not search: lap infants, a converted budget."""
    notes: list[str] = []
    vi = language == "vi"
    if infants > 0:
        if vi:
            notes.append(
                f"Mình đã ghi nhận {infants} em bé đi cùng "
                "(ngồi lòng người lớn, không cần ghế riêng)."
            )
        else:
            who = "the infant" if infants == 1 else f"the {infants} infants"
            notes.append(
                f"I've noted {who}: infants under two fly on an adult's lap, "
                "so no seat was searched for them."
            )
    if isinstance(converted, tuple) and len(converted) == 3:
        amount, currency, vnd = converted
        said = format_conversion(float(amount), str(currency), int(vnd), language)
        notes.append(
            f"Mình đã quy đổi mức giá bạn đưa ra: {said}."
            if vi
            else f"I converted your budget: {said}."
        )
    return notes


def compose_answer(messages: Sequence[Mapping[str, Any]], language: Language) -> str:
    """The final answer from the tool results of the latest assistant turn."""
    index, results = _results(messages)
    searches = [r for r in results if _kind(r) == "flights"]
    is_round_trip = len(searches) == 2 and (
        searches[0].arguments.get("from_city") == searches[1].arguments.get("to_city")
    )
    sections: list[str] = []
    found_flights = False
    # A place without an airport is explained once, not once per leg.
    noted: set[str] = set()
    for result in results:
        label: str | None = None
        if is_round_trip and result in searches:
            first = result is searches[0]
            label = ("Chiều đi:" if first else "Chiều về:") if language == "vi" else None
            label = label or ("Outbound:" if first else "Return:")
        if "error" in result.content:
            text = explain_error(
                result.content["error"], result.arguments, language, tool=result.name
            )
            sections.append(f"**{label}** {text}" if label else text)
        elif _kind(result) == "flights":
            sections.append(flights_answer(result.content, language, label, noted))
            found_flights = found_flights or bool(result.content.get("flights"))
        elif _kind(result) == "weather":
            sections.append(weather_answer(result.content, result.arguments, language))
        elif _kind(result) == "booking" and isinstance(result.content.get("booking"), Mapping):
            sections.append(booking_answer(result.name, result.content["booking"], language))
    if not sections:
        sections.append(
            "Mình chưa nhận được kết quả tra cứu. Bạn thử lại nhé."
            if language == "vi"
            else "I didn't get any results back. Please try again."
        )
    # Re-reading the question tells what it lacked and what the planner noted along the way.
    outcome = analyse(messages[:index], _reference_day(results))
    notes = _notes(outcome.infants, outcome.converted, language) if searches else []
    if notes:
        sections.append(" ".join(notes))
    if found_flights:
        sections.append(OFFER[language])
    # When weather was looked up alone because the flight part lacked a detail, ask for it now.
    if outcome.pending is not None and outcome.missing and not searches:
        summary = phrases.request_summary(outcome.pending, language)
        sections.append(
            " ".join(s for s in (summary, phrases.ask_missing(outcome.missing, language)) if s)
        )
    return "\n\n".join(sections)
