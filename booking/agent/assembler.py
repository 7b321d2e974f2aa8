"""Merge streamed Chat Completions chunks into text and complete tool calls, whatever the provider.

Pure: chunks in (as JSON-shaped dicts), small events out, the complete response at the end. Every
provider quirk we know of is handled here and nowhere else (tests replay one stream per quirk):

- a call split over many chunks, or whole in one chunk; several calls interleaved;
- ``index`` missing, or the same index reused for every parallel call (told apart by ``id``, or by
  a new ``name`` arriving after the previous call's arguments are complete JSON);
- ``id`` missing, empty, arriving late, or repeated in every delta; ``name`` repeated in every delta;
- an ``id`` that changes on every fragment of one call (vLLM, LiteLLM): the same ``index`` with no
  new name is the same call, whatever the ids say; a name that arrives only after the id;
- a name split over deltas (``"search_"`` then ``"flights"``): fragments are joined, a repeat is
  recognised, and the call is announced once the name is a known tool or its arguments begin;
- the whole argument string re-sent in every delta, or all of it batched into one late delta;
- arguments re-sent whole at the end (cumulative rather than incremental deltas);
- text before and after the calls; ``finish_reason`` ``stop`` or missing although calls were made;
- chunks with empty ``choices``, a final usage-only chunk, ``reasoning_content``/``reasoning``;
- the deprecated ``function_call`` delta;
- an ``error`` object mid-stream (raised as :class:`ProviderStreamError`).

Arguments that are not valid JSON are kept verbatim with the parse error, so the orchestrator can
send the model a precise error (never a silent ``{}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal


class ProviderStreamError(Exception):
    """The provider sent an error object inside the stream."""

    def __init__(self, error: Any) -> None:
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(str(message or error))
        self.error = error


@dataclass(frozen=True, slots=True)
class TextPiece:
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ReasoningPiece:
    text: str
    kind: Literal["reasoning"] = "reasoning"


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    name: str
    kind: Literal["call-started"] = "call-started"


@dataclass(frozen=True, slots=True)
class ArgumentsPiece:
    call_id: str
    delta: str
    kind: Literal["arguments"] = "arguments"


Piece = TextPiece | ReasoningPiece | CallStarted | ArgumentsPiece


@dataclass(slots=True)
class AssembledCall:
    call_id: str
    name: str
    arguments: str
    """The JSON text as received ("" when the model sent none)."""

    def parse(self) -> tuple[dict[str, Any] | None, str | None]:
        """(arguments, None) or (None, why they are not a JSON object)."""
        text = self.arguments.strip()
        if not text:
            return {}, None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"arguments are not valid JSON ({exc.msg} at character {exc.pos})"
        if not isinstance(value, dict):
            return None, "arguments must be a JSON object"
        return value, None


@dataclass(slots=True)
class AssembledResponse:
    text: str
    reasoning: str
    calls: list[AssembledCall]
    finish_reason: str | None
    usage: dict[str, Any] | None


@dataclass(slots=True)
class _Slot:
    call_id: str | None = None
    provider_id: str | None = None
    index: int | None = None
    name: str = ""
    arguments: str = ""
    started: bool = False
    order: int = 0


@dataclass(slots=True)
class ToolCallAssembler:
    """Feed chunks with :meth:`feed`; call :meth:`finish` after the last one."""

    id_prefix: str = "call"
    """Prefix of the ids given to calls whose provider sent none."""
    known_names: frozenset[str] = frozenset()
    """The tools the model may call. A name fragment that is not one of them waits for the rest
    of the name (or for the arguments to begin) before the call is announced; empty announces a
    call as soon as any name arrives."""
    _text: list[str] = field(default_factory=list)
    _reasoning: list[str] = field(default_factory=list)
    _slots: list[_Slot] = field(default_factory=list)
    _finish_reason: str | None = None
    _usage: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any]) -> list[Piece]:
        """Take one chunk; return what it adds, in order."""
        if chunk.get("error"):
            raise ProviderStreamError(chunk["error"])
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        pieces: list[Piece] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
                continue  # We ask for one choice; ignore any others.
            delta = choice.get("delta") or choice.get("message") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._reasoning.append(reasoning)
                pieces.append(ReasoningPiece(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._text.append(content)
                pieces.append(TextPiece(content))
            for raw in delta.get("tool_calls") or ():
                if isinstance(raw, dict):
                    pieces += self._feed_call(raw)
            legacy = delta.get("function_call")
            if isinstance(legacy, dict):
                pieces += self._feed_call({"index": 0, "function": legacy})
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return pieces

    def finish(self) -> AssembledResponse:
        calls = [
            AssembledCall(self._public_id(slot), slot.name, slot.arguments)
            for slot in sorted(self._slots, key=lambda s: s.order)
            if slot.name
        ]
        return AssembledResponse(
            text="".join(self._text),
            reasoning="".join(self._reasoning),
            calls=calls,
            finish_reason=self._finish_reason,
            usage=self._usage,
        )

    def _feed_call(self, raw: dict[str, Any]) -> list[Piece]:
        function = raw.get("function") or {}
        name = function.get("name") or ""
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            # Some servers send an already-parsed object; keep it as JSON text.
            arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
        call_id = raw.get("id") or None
        slot = self._slot_for(raw.get("index"), call_id, name, arguments)
        if call_id is None and slot.name and _opens_another_object(slot.arguments, arguments):
            # Same index, no ids, same tool: the name came alone on the previous delta and was
            # taken for a repetition; a second JSON object starting now proves it was a new call.
            previous = slot
            slot = _Slot(index=previous.index, name=name or previous.name, order=len(self._slots))
            self._slots.append(slot)
        pieces: list[Piece] = []
        if name:
            slot.name = _joined_name(slot.name, name, started=bool(slot.arguments))
        added = self._append_arguments(slot, arguments)
        if slot.name and not slot.started and (self._is_whole_name(slot.name) or slot.arguments):
            slot.started = True
            pieces.append(CallStarted(self._public_id(slot), slot.name))
            if slot.arguments:  # Arguments that arrived before or with the end of the name.
                pieces.append(ArgumentsPiece(self._public_id(slot), slot.arguments))
        elif added and slot.started:
            pieces.append(ArgumentsPiece(self._public_id(slot), added))
        return pieces

    def _is_whole_name(self, name: str) -> bool:
        """Whether ``name`` can be announced: a known tool, or no tool starts with it."""
        if not self.known_names or name in self.known_names:
            return True
        return not any(known.startswith(name) for known in self.known_names)

    def _slot_for(self, index: Any, call_id: str | None, name: str, arguments: str) -> _Slot:
        if call_id is not None:
            for slot in self._slots:
                if call_id in (slot.provider_id, slot.call_id):
                    return slot
        candidate: _Slot | None = None
        if isinstance(index, int):
            for slot in reversed(self._slots):
                if slot.index == index:
                    candidate = slot
                    break
        elif self._slots:
            candidate = self._slots[-1]
        if candidate is not None and not self._starts_new_call(candidate, call_id, name, arguments):
            if call_id is not None and candidate.provider_id is None:
                candidate.provider_id = call_id  # The id arrived after the first delta.
            return candidate
        slot = _Slot(
            provider_id=call_id,
            index=index if isinstance(index, int) else None,
            order=len(self._slots),
        )
        self._slots.append(slot)
        return slot

    @staticmethod
    def _starts_new_call(slot: _Slot, call_id: str | None, name: str, arguments: str) -> bool:
        if call_id is not None and slot.provider_id is not None and call_id != slot.provider_id:
            # Same index, another id: a provider that reuses one index for parallel calls starts
            # each with its name; one whose ids change on every fragment sends no new name
            # (vLLM, LiteLLM), or only the same one again while the arguments are unfinished.
            if not name:
                return _is_complete_json(slot.arguments) and arguments.lstrip().startswith("{")
            return name != slot.name or _is_complete_json(slot.arguments) or not slot.arguments
        if name and slot.name and _is_complete_json(slot.arguments):
            # A name after complete arguments is a new call, unless the provider merely repeats
            # the name on every delta (then no new arguments object starts here).
            return name != slot.name or arguments.lstrip().startswith("{") or call_id is not None
        return False

    @staticmethod
    def _append_arguments(slot: _Slot, arguments: str) -> str:
        if not arguments:
            return ""
        current = slot.arguments
        if current and arguments.startswith(current) and len(arguments) >= len(current):
            # Cumulative deltas: the provider re-sent everything so far plus the new part.
            added = arguments[len(current) :]
        elif current and arguments == current:
            added = ""
        elif current and _is_complete_json(arguments) and _is_complete_json(current):
            # The whole arguments re-sent at the end: keep the first copy.
            added = ""
        else:
            added = arguments
        slot.arguments = current + added
        return added

    def _public_id(self, slot: _Slot) -> str:
        if slot.call_id is None:
            slot.call_id = slot.provider_id or f"{self.id_prefix}_{slot.order}"
        return slot.call_id


def _joined_name(current: str, incoming: str, *, started: bool) -> str:
    """The call's name after another ``name`` field: a repeat, the whole name again
    (cumulative), or the next fragment of a name split over deltas."""
    if not current or incoming == current:
        return incoming or current
    if incoming.startswith(current):
        return incoming  # Cumulative: everything so far plus the rest.
    if started or current.endswith(incoming):
        return current  # Arguments already flow, or a tail repeated: the name is complete.
    return current + incoming


def _opens_another_object(current: str, incoming: str) -> bool:
    """``incoming`` starts a new JSON object although ``current`` is already complete."""
    return (
        incoming.lstrip().startswith("{")
        and not incoming.startswith(current)
        and _is_complete_json(current)
        and not _is_complete_json(incoming)
    )


def _is_complete_json(text: str) -> bool:
    text = text.strip()
    if not text.startswith("{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
