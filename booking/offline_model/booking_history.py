"""What the conversation holds so far, as far as bookings go. Pure.

The results of the latest flight search, every booking a tool returned, the held booking the
latest tool turn made, and a hold, confirm or cancel that never ran. Tool results are read back
from the ``tool`` messages that answer an assistant message's calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from booking.offline_model.text import tool_calls

BOOKING_TOOLS: frozenset[str] = frozenset(
    {"book_flight", "hold_booking", "confirm_booking", "cancel_booking", "get_booking"}
)


@dataclass(frozen=True, slots=True)
class Search:
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


def read_result(content: Any) -> dict[str, Any] | None:
    """A tool message's JSON object (its content a string or text parts), or None if unreadable."""
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    try:
        loaded = json.loads(content) if isinstance(content, str) else content
    except json.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None


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
            results.append((found[0], found[1], read_result(message.get("content")) or {}))
    return results


def latest_search(messages: Sequence[Mapping[str, Any]], index: int) -> Search | None:
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
            return Search(legs)
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


def current(views: list[Mapping[str, Any]], statuses: tuple[str, ...]) -> str | None:
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


def latest_turn_held(messages: Sequence[Mapping[str, Any]], index: int) -> str | None:
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


def interrupted_call(
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
