"""Fit a conversation into a model's context budget, deterministically and without a network.

Before each model call the request (system prompt, tool schemas, history, the current turn) is
estimated; past the budget the oldest whole turns are left out (a turn is a ``user`` message and
everything after it up to the next one), so an assistant message with ``tool_calls`` always
travels with its ``tool`` results. The newest turn (the traveller's message and all this turn
has done) is always sent. What the dropped turns established is kept as a short note appended to
the system prompt, built by rules from the dropped messages (no model call): the last flight
search and its cheapest and earliest flights, bookings with their status and passengers, the
travellers named, the places and dates of the tool calls.

Token counting is an estimate, never a tokenizer: tiktoken fetches its BPE files over the network
and every provider tokenizes differently. Each message costs its JSON form's UTF-8 bytes divided
by :data:`BYTES_PER_TOKEN` (3.0), rounded up, plus :data:`MESSAGE_OVERHEAD` (4); the tool schemas
cost their JSON bytes / 3.0. BPE tokenizers are commonly reported at about 4 bytes a token on
English and 3 to 4 on JSON and Vietnamese, so the estimate should run above a real count; no real
tokenizer could be loaded here to calibrate it. It is always above what the offline model reports
(JSON characters / 4, messages only).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: the events module imports this one, and needs nothing of the model adapters.
    from booking.agent.models.model_spec import ModelSpec

Message = dict[str, Any]

#: The budget when neither the model nor the settings give one (``BOOKING_LLM_CONTEXT_TOKENS``).
DEFAULT_CONTEXT_TOKENS = 32_000
BYTES_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 4
"""Tokens a message costs beyond its text: role and separators (OpenAI documents 3-4)."""
REPLY_PRIMING = 3
"""Tokens every request costs once: the start of the assistant's reply."""
NOTE_MAX_BYTES = 2_000
"""The facts note never grows past this (UTF-8, JSON-escaped), whatever was dropped."""

_FIELD_MAX_CHARS = 80
_MAX_FLIGHTS = 3
_MAX_BOOKINGS = 5
_MAX_NAMES_PER_BOOKING = 4
_LINE_MAX_BYTES = 700
_MAX_NAMES = 9
_MAX_MENTIONS = 8
_PLACE_KEYS = ("from_city", "to_city", "city")
_DATE_KEYS = ("date", "return_date")
_BOOKING_TOOLS = frozenset(
    {"book_flight", "hold_booking", "confirm_booking", "cancel_booking", "get_booking"}
)


@dataclass(frozen=True, slots=True)
class ContextReport:
    """What was sent to the model, against its budget."""

    budget: int
    estimated: int
    """Estimated tokens of the request as sent (system prompt and note, tools, messages)."""
    kept_messages: int
    """History and current-turn messages sent (the system prompt not counted)."""
    dropped_messages: int
    dropped_turns: int
    summarized: bool
    """Whether a facts note about the dropped turns was added to the system prompt."""

    @property
    def fits(self) -> bool:
        """False only when the newest turn alone is past the budget (it is sent anyway)."""
        return self.estimated <= self.budget

    def to_metadata(self) -> dict[str, Any]:
        """As the UI message stream's ``messageMetadata.context`` (camelCase, like its siblings)."""
        return {
            "budget": self.budget,
            "estimated": self.estimated,
            "keptMessages": self.kept_messages,
            "droppedMessages": self.dropped_messages,
            "droppedTurns": self.dropped_turns,
            "summarized": self.summarized,
        }


@dataclass(frozen=True, slots=True)
class FittedRequest:
    messages: list[Message]
    """The request's messages: the system message first, then what was kept."""
    report: ContextReport


def budget_for(chain: Sequence[ModelSpec], default: int = DEFAULT_CONTEXT_TOKENS) -> int:
    """The smallest budget along a fallback chain: every model in it may get the same request."""
    return min((spec.context_tokens or default for spec in chain), default=default)


def estimate_text(text: str) -> int:
    return math.ceil(len(text.encode()) / BYTES_PER_TOKEN)


def estimate_message(message: Mapping[str, Any]) -> int:
    serialized = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    return estimate_text(serialized) + MESSAGE_OVERHEAD


def estimate_tools(tools: Sequence[Mapping[str, Any]]) -> int:
    if not tools:
        return 0
    return estimate_text(json.dumps(list(tools), ensure_ascii=False, separators=(",", ":")))


def estimate_request(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
) -> int:
    """The estimate of a whole request, as :func:`fit` computes it."""
    return sum(map(estimate_message, messages)) + estimate_tools(tools) + REPLY_PRIMING


def turn_starts(messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """Where each turn begins: 0, then every ``user`` message after the first message."""
    return [0] + [i for i, m in enumerate(messages) if i > 0 and m.get("role") == "user"]


def fit(
    system_prompt: str,
    messages: Sequence[Message],
    tools: Sequence[Mapping[str, Any]],
    budget: int,
    *,
    costs: Sequence[int] | None = None,
) -> FittedRequest:
    """The request to send: every message when it fits, else the newest whole turns that fit
    with the note about the others.

    Args:
        messages: the history and the current turn, oldest first, without a system message.
        costs: :func:`estimate_message` of each of ``messages``, when the caller has them.
    """
    costs = list(costs) if costs is not None else [estimate_message(m) for m in messages]
    assert len(costs) == len(messages)
    fixed = estimate_tools(tools) + REPLY_PRIMING
    system = {"role": "system", "content": system_prompt}
    fixed += estimate_message(system)
    total = fixed + sum(costs)
    if total <= budget:
        report = ContextReport(budget, total, len(messages), 0, 0, False)
        return FittedRequest([system, *messages], report)
    starts = turn_starts(messages)
    # Room for the longest note, so one pass decides what goes; the note is built once.
    reserve = math.ceil((NOTE_MAX_BYTES + _size("\n\n")) / BYTES_PER_TOKEN) + 1
    kept_cost = sum(costs)
    cut, dropped_turns = 0, 0
    for turn, start in enumerate(starts[:-1]):
        if fixed + reserve + kept_cost <= budget:
            break
        end = starts[turn + 1]
        kept_cost -= sum(costs[start:end])
        cut, dropped_turns = end, turn + 1
    note = facts_note(messages[:cut], dropped_turns)
    if note:
        fixed -= estimate_message(system)
        system = {"role": "system", "content": f"{system_prompt}\n\n{note}"}
        fixed += estimate_message(system)
    kept = list(messages[cut:])
    estimated = fixed + kept_cost
    report = ContextReport(budget, estimated, len(kept), cut, dropped_turns, bool(note))
    return FittedRequest([system, *kept], report)


# The facts note ---------------------------------------------------------------------------


@dataclass
class _Facts:
    search: list[tuple[dict[str, Any], dict[str, Any] | None]]
    """(arguments, result) of each search of the latest assistant message that searched."""
    bookings: dict[str, dict[str, Any]]
    """By reference, the latest view of each booking (insertion order = recency)."""
    names: dict[str, None]
    places: dict[str, None]
    dates: dict[str, None]


def facts_note(dropped: Sequence[Mapping[str, Any]], turns: int) -> str | None:
    """What the dropped messages established, in at most :data:`NOTE_MAX_BYTES`; ``None`` when
    nothing worth keeping was dropped. Deterministic: the same messages give the same note."""
    facts = _read(dropped)
    bookings = _booking_lines(facts)
    # In order of importance: the last line is the first to go when the note is too long.
    lines = [*bookings[:1], *_search_lines(facts), *bookings[1:]]
    if facts.names:
        lines.append("- Travellers named: " + "; ".join(_last(facts.names, _MAX_NAMES)) + ".")
    if facts.places:
        lines.append(
            "- Places in tool calls: " + ", ".join(_last(facts.places, _MAX_MENTIONS)) + "."
        )
    if facts.dates:
        lines.append("- Dates in tool calls: " + ", ".join(_last(facts.dates, _MAX_MENTIONS)) + ".")
    if not lines:
        return None
    head = (
        f"The {turns} oldest turn(s) of this conversation ({len(dropped)} messages) are left out "
        "to fit the context window. What they established:"
    )
    tail = "Prices and seats may have changed since: search again before booking."
    lines = [_clip_bytes(line, _LINE_MAX_BYTES) for line in lines]
    note = "\n".join([head, *lines, tail])
    while _size(note) > NOTE_MAX_BYTES and len(lines) > 1:
        lines.pop()  # The least important line goes first (they are in order of importance).
        note = "\n".join([head, *lines, tail])
    while _size(note) > NOTE_MAX_BYTES:
        note = _clip_bytes(note, len(note.encode()) - (_size(note) - NOTE_MAX_BYTES))
    return note


def _read(messages: Sequence[Mapping[str, Any]]) -> _Facts:
    facts = _Facts([], {}, {}, {}, {})
    calls: dict[str, tuple[int, str, dict[str, Any]]] = {}
    # Only the latest search's results are read: parsing every older one would cost the most.
    search_at = max(
        (i for i, m in enumerate(messages) if any(n == "search_flights" for _, n in _names(m))),
        default=-1,
    )
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "assistant":
            for call_id, name, arguments in _calls(message):
                calls[call_id] = (index, name, arguments)
                _mention(facts, arguments)
                if name in ("book_flight", "hold_booking"):
                    for passenger in arguments.get("passengers") or []:
                        if isinstance(passenger, Mapping) and passenger.get("full_name"):
                            _add(facts.names, _clip(passenger["full_name"]))
        elif role == "tool" and message.get("tool_call_id") in calls:
            at, name, arguments = calls[str(message["tool_call_id"])]
            if name == "search_flights":
                if at == search_at:
                    facts.search.append((arguments, _json_object(message.get("content"))))
                continue
            result = _json_object(message.get("content")) if name in _BOOKING_TOOLS else None
            if result and isinstance(result.get("booking"), Mapping):
                booking = dict(result["booking"])
                reference = str(booking.get("reference") or "")
                if reference:
                    facts.bookings.pop(reference, None)
                    facts.bookings[reference] = booking
                for passenger in booking.get("passengers") or []:
                    if isinstance(passenger, Mapping) and passenger.get("full_name"):
                        _add(facts.names, _clip(passenger["full_name"]))
    return facts


def _booking_lines(facts: _Facts) -> list[str]:
    """One line per booking, the most recently seen first, each with its latest status."""
    lines = []
    for reference in reversed(_last(facts.bookings, _MAX_BOOKINGS)):
        booking = facts.bookings[reference]
        flight = booking.get("flight") if isinstance(booking.get("flight"), Mapping) else {}
        people = [
            _clip(p.get("full_name", ""))
            for p in booking.get("passengers") or []
            if isinstance(p, Mapping)
        ]
        names = ", ".join(people[:_MAX_NAMES_PER_BOOKING])
        if len(people) > _MAX_NAMES_PER_BOOKING:
            names += f" and {len(people) - _MAX_NAMES_PER_BOOKING} more"
        lines.append(
            f"- Booking {_clip(reference)} ({_clip(booking.get('status', '?'))}): "
            f"{_flight_text(flight or {})}, {_clip(booking.get('cabin', ''))}, "
            f"passengers {names or '?'}, total {_vnd(booking.get('total_vnd'))}."
        )
    return lines


def _search_lines(facts: _Facts) -> list[str]:
    lines = []
    for arguments, result in facts.search:
        asked = json.dumps(
            {k: v for k, v in arguments.items() if v is not None},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        line = f"- Last flight search: search_flights {_clip(asked, 200)}"
        if result is None:
            lines.append(line + " (no result).")
            continue
        if isinstance(result.get("error"), Mapping):
            lines.append(line + f" failed: {_clip(result['error'].get('message', ''))}.")
            continue
        flights = [f for f in result.get("flights") or [] if isinstance(f, Mapping)]
        if not flights:
            nearest = ", ".join(str(d) for d in (result.get("nearest_dates") or [])[:3])
            lines.append(
                line
                + f" found no flights ({_clip(result.get('reason') or 'none')})"
                + (f"; nearest dates with seats: {nearest}." if nearest else ".")
            )
            continue
        cheapest = sorted(
            flights, key=lambda f: (_int(f.get("price_vnd")), str(f.get("departs_at")))
        )
        shown = cheapest[:_MAX_FLIGHTS]
        earliest = min(flights, key=lambda f: str(f.get("departs_at")))
        picks = "; ".join(_flight_text(f, price=True) for f in shown)
        line += f" found {result.get('total_matches', len(flights))} flight(s). Cheapest: {picks}."
        if earliest not in shown:
            line += f" Earliest: {_flight_text(earliest, price=True)}."
        lines.append(line)
    return lines


def _flight_text(flight: Mapping[str, Any], *, price: bool = False) -> str:
    departs = str(flight.get("departs_at") or "")[:16].replace("T", " ")
    text = (
        f"{_clip(flight.get('flight_number', '?'))} (flight_id {_clip(flight.get('flight_id'))}) "
        f"{_clip(flight.get('origin', '?'))}->{_clip(flight.get('destination', '?'))} "
        f"departs {departs}"
    )
    if price:
        text += f", {_vnd(flight.get('price_vnd'))} per passenger"
    return text


def _calls(message: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, Mapping) or not isinstance(call.get("function"), Mapping):
            continue
        function = call["function"]
        arguments = _json_object(function.get("arguments")) or {}
        out.append((str(call.get("id", "")), str(function.get("name", "")), arguments))
    return out


def _names(message: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(id, name) of an assistant message's tool calls, without parsing their arguments."""
    if message.get("role") != "assistant":
        return []
    return [
        (str(call.get("id", "")), str(call["function"].get("name", "")))
        for call in message.get("tool_calls") or []
        if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping)
    ]


def _mention(facts: _Facts, arguments: Mapping[str, Any]) -> None:
    for key in _PLACE_KEYS:
        if isinstance(arguments.get(key), str) and arguments[key].strip():
            _add(facts.places, _clip(arguments[key].strip()))
    for key in _DATE_KEYS:
        if isinstance(arguments.get(key), str) and arguments[key].strip():
            _add(facts.dates, _clip(arguments[key].strip()))


def _json_object(content: Any) -> dict[str, Any] | None:
    if isinstance(content, Mapping):
        return dict(content)
    if not isinstance(content, str):
        return None
    try:
        loaded = json.loads(content)
    except json.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _add(seen: dict[str, None], value: str) -> None:
    """Insert ``value`` as the most recent (dicts keep insertion order)."""
    seen.pop(value, None)
    seen[value] = None


def _last(seen: Mapping[str, Any], n: int) -> list[str]:
    return list(seen)[-n:]


def _clip(value: Any, limit: int = _FIELD_MAX_CHARS) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(text: str) -> int:
    """UTF-8 bytes of ``text`` as the request's JSON carries it (escapes included)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _clip_bytes(text: str, limit: int) -> str:
    if len(text.encode()) <= limit:
        return text
    return text.encode()[: limit - len("…".encode())].decode(errors="ignore") + "…"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 2**62


def _vnd(value: Any) -> str:
    try:
        return f"{int(value):,}".replace(",", ".") + "đ"
    except (TypeError, ValueError):
        return "?"
