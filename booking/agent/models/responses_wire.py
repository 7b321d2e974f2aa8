"""The Responses API wire format, both ways, as pure functions: no I/O, no SDK.

- :func:`request_body` (built in :mod:`responses_request`): Chat Completions ``messages`` and
  ``tools`` -> ``responses.create`` arguments (system -> ``instructions``; text -> message items;
  an assistant's ``tool_calls`` -> ``function_call`` items; ``tool`` messages ->
  ``function_call_output`` items with the same ``call_id``), stateless (``store: false``, the
  whole input every call) and streamed;
- :class:`ResponsesTranslator`: stream events -> Chat-Completions-shaped chunk dicts, at most one
  per event, which :class:`~booking.agent.assembler.ToolCallAssembler` assembles unchanged.

Tolerated: sequence numbers missing, with gaps, or repeated (an exact repeat is dropped; a server
reusing one number for different events is taken at its word, in arrival order: a gap is never
waited for, as that would hold the stream back); a call's arguments or a text that arrive only in
the ``.done`` event, the ``output_item.done`` item or the final response (only what is missing is
passed on, never a second copy); events of built-in tools and unknown types (ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from booking.agent.models.responses_request import request_body, to_input, to_tools

__all__ = ["ResponsesTranslator", "request_body", "to_input", "to_tools"]

#: ``incomplete_details.reason`` -> Chat Completions ``finish_reason`` ("length" for any other).
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}

# Events -> chunks -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    index: int
    """The ``index`` of its tool_calls deltas (the output index, unless that was taken)."""
    call_id: str | None = None
    started: bool = False
    """Its id and name were passed on."""
    sent: list[str] = field(default_factory=list)
    """The arguments passed on so far."""


@dataclass(slots=True)
class ResponsesTranslator:
    """Responses stream events (JSON dicts) in, Chat Completions chunk dicts out.

    Pure and incremental: :meth:`feed` returns the chunk an event adds, or ``None`` for events
    that add nothing (``response.created``, content parts, items of built-in tools...).
    """

    events: int = 0
    """Events fed (repeats included)."""
    finished: bool = False
    """A final event arrived (completed, incomplete, failed or error); later ones are ignored."""
    _calls: dict[int, _Call] = field(default_factory=dict)
    _by_call_id: dict[str, _Call] = field(default_factory=dict)
    _item_index: dict[str, int] = field(default_factory=dict)
    _texts: dict[tuple[str, int, int], list[str]] = field(default_factory=dict)
    _has_summary: bool = False
    _any_text: bool = False
    _seen: dict[int, tuple[Any, ...]] | None = field(default_factory=dict)
    """Fingerprint of the event with each sequence number; ``None`` once the server has reused a
    number for another event (its numbers then identify nothing)."""

    def feed(self, event: dict[str, Any]) -> dict[str, Any] | None:
        self.events += 1
        if self.finished or self._is_repeat(event):
            return None
        kind = event.get("type")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            return self._text("text", event, event.get("delta"))
        if kind in ("response.output_text.done", "response.refusal.done"):
            return self._fill_text("text", event, event.get("text") or event.get("refusal"))
        if kind == "response.reasoning_text.delta":
            return self._text("reasoning", event, event.get("delta"))
        if kind == "response.reasoning_text.done":
            return self._fill_text("reasoning", event, event.get("text"))
        if kind == "response.reasoning_summary_text.delta":
            return self._summary_text(event, event.get("delta"), done=False)
        if kind == "response.reasoning_summary_text.done":
            return self._summary_text(event, event.get("text"), done=True)
        if kind == "response.output_item.added":
            return self._item(event, done=False)
        if kind == "response.output_item.done":
            return self._item(event, done=True)
        if kind == "response.function_call_arguments.delta":
            return self._arguments(event, event.get("delta"), done=False)
        if kind == "response.function_call_arguments.done":
            return self._arguments(event, event.get("arguments"), done=True)
        if kind in ("response.completed", "response.incomplete"):
            return self._finish(event)
        if kind == "response.failed":
            self.finished = True
            response = event.get("response") or {}
            error = response.get("error") if isinstance(response, Mapping) else None
            return _error_chunk(error if isinstance(error, Mapping) else {}, kind)
        if kind == "error":
            self.finished = True
            nested = event.get("error")
            return _error_chunk(nested if isinstance(nested, Mapping) else event, kind)
        return None

    def _is_repeat(self, event: dict[str, Any]) -> bool:
        seq = event.get("sequence_number")
        if self._seen is None or not isinstance(seq, int):
            return False
        fingerprint = _fingerprint(event)
        previous = self._seen.get(seq)
        if previous is None:
            self._seen[seq] = fingerprint
            return False
        if previous == fingerprint:
            return True
        self._seen = None  # One number, two events: the numbers identify nothing here.
        return False

    # Text and reasoning.

    def _text(self, kind: str, event: Mapping[str, Any], delta: Any) -> dict[str, Any] | None:
        if not isinstance(delta, str) or not delta:
            return None
        key = (kind, _int(event.get("output_index")), _int(event.get("content_index")))
        self._texts.setdefault(key, []).append(delta)
        if kind == "text":
            self._any_text = True
            return _delta({"content": delta})
        return _delta({"reasoning_content": delta})

    def _fill_text(self, kind: str, event: Mapping[str, Any], full: Any) -> dict[str, Any] | None:
        if not isinstance(full, str):
            return None
        key = (kind, _int(event.get("output_index")), _int(event.get("content_index")))
        return self._text(kind, event, _missing("".join(self._texts.get(key, ())), full))

    def _summary_text(
        self, event: Mapping[str, Any], text: Any, *, done: bool
    ) -> dict[str, Any] | None:
        if not isinstance(text, str) or not text:
            return None
        output_index = _int(event.get("output_index"))
        part = _int(event.get("summary_index"))
        key = ("summary", output_index, part)
        if done:
            text = _missing("".join(self._texts.get(key, ())), text)
            if not text:
                return None
        separator = ""
        if key not in self._texts and self._has_summary:
            separator = "\n\n"  # A new summary part is a new paragraph.
        self._has_summary = True
        self._texts.setdefault(key, []).append(text)
        return _delta({"reasoning_content": separator + text})

    # Function calls.

    def _item(self, event: Mapping[str, Any], *, done: bool) -> dict[str, Any] | None:
        item = event.get("item")
        if not isinstance(item, Mapping):
            return None
        index = self._index_of(event, item)
        if item.get("type") == "function_call":
            call = self._call_at(index)
            arguments = item.get("arguments")
            return self._call_delta(call, item, arguments if isinstance(arguments, str) else "")
        if done and item.get("type") == "message":
            added = ""
            for content_index, text in _message_texts(item):
                key = ("text", index, content_index)
                missing = _missing("".join(self._texts.get(key, ())), text)
                if missing:
                    self._texts.setdefault(key, []).append(missing)
                    added += missing
            if added:
                self._any_text = True
                return _delta({"content": added})
        return None

    def _arguments(
        self, event: Mapping[str, Any], arguments: Any, *, done: bool
    ) -> dict[str, Any] | None:
        if not isinstance(arguments, str):
            return None
        call = self._call_at(self._index_of(event, None))
        if done:
            arguments = _missing("".join(call.sent), arguments)
        if not arguments:
            return None
        call.sent.append(arguments)
        return _delta({"tool_calls": [{"index": call.index, "function": {"arguments": arguments}}]})

    def _call_delta(
        self, call: _Call, item: Mapping[str, Any], arguments: str
    ) -> dict[str, Any] | None:
        """The delta that starts ``call`` (id, name, any arguments so far) or completes it."""
        added = _missing("".join(call.sent), arguments)
        if added:
            call.sent.append(added)
        if call.started:
            if not added:
                return None
            return _delta({"tool_calls": [{"index": call.index, "function": {"arguments": added}}]})
        call.started = True
        call_id = item.get("call_id") or item.get("id")
        if isinstance(call_id, str) and call_id:
            call.call_id = call_id
            self._by_call_id[call_id] = call
        raw = {
            "index": call.index,
            "id": call.call_id,
            "type": "function",
            "function": {"name": str(item.get("name") or ""), "arguments": added},
        }
        return _delta({"tool_calls": [raw]})

    def _call_at(self, index: int) -> _Call:
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _Call(index)
        return call

    def _index_of(self, event: Mapping[str, Any], item: Mapping[str, Any] | None) -> int:
        """The event's output index; from its item id when the server sent none."""
        index = event.get("output_index")
        item_id = event.get("item_id") or (item.get("id") if item is not None else None)
        if isinstance(index, int):
            if isinstance(item_id, str):
                self._item_index.setdefault(item_id, index)
            return index
        if isinstance(item_id, str):
            return self._item_index.setdefault(item_id, len(self._item_index))
        return 0

    # The end.

    def _finish(self, event: Mapping[str, Any]) -> dict[str, Any]:
        self.finished = True
        response = event.get("response")
        response = response if isinstance(response, Mapping) else {}
        delta = self._unseen_output(response.get("output"))
        if event.get("type") == "response.incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, Mapping) else None
            finish = _INCOMPLETE.get(reason, "length") if isinstance(reason, str) else "length"
        else:
            finish = "tool_calls" if any(c.started for c in self._calls.values()) else "stop"
        chunk: dict[str, Any] = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        usage = _usage(response.get("usage"))
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def _unseen_output(self, output: Any) -> dict[str, Any]:
        """What the final response holds that no event streamed: calls never announced (matched
        by call id), missing ends of arguments, and the text when none was streamed at all."""
        if not isinstance(output, list):
            return {}
        calls: list[dict[str, Any]] = []
        texts: list[str] = []
        for position, item in enumerate(output):
            if not isinstance(item, Mapping):
                continue
            if item.get("type") == "function_call":
                call_id = item.get("call_id") or item.get("id")
                call = self._by_call_id.get(call_id) if isinstance(call_id, str) else None
                if call is None:
                    free = position if position not in self._calls else max(self._calls) + 1
                    call = self._call_at(free)
                arguments = item.get("arguments")
                chunk = self._call_delta(
                    call, item, arguments if isinstance(arguments, str) else ""
                )
                if chunk is not None:
                    calls += chunk["choices"][0]["delta"]["tool_calls"]
            elif item.get("type") == "message" and not self._any_text:
                texts += [text for _, text in _message_texts(item)]
        delta: dict[str, Any] = {}
        if texts and "".join(texts):
            delta["content"] = "".join(texts)
        if calls:
            delta["tool_calls"] = calls
        return delta


def _delta(delta: dict[str, Any]) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta}]}


def _error_chunk(error: Mapping[str, Any], kind: str) -> dict[str, Any]:
    message = error.get("message")
    return {
        "error": {
            "message": message if isinstance(message, str) and message else f"{kind} event",
            "code": error.get("code"),
            "type": kind,
        }
    }


def _missing(sent: str, full: str) -> str:
    """What ``full`` adds to what was already passed on; nothing when the two disagree (what was
    streamed stands, it cannot be taken back)."""
    return full[len(sent) :] if full.startswith(sent) else ""


def _message_texts(item: Mapping[str, Any]) -> list[tuple[int, str]]:
    content = item.get("content")
    if not isinstance(content, list):
        return []
    out = []
    for index, part in enumerate(content):
        if isinstance(part, Mapping):
            text = part.get("text") if part.get("type") == "output_text" else part.get("refusal")
            if isinstance(text, str):
                out.append((index, text))
    return out


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    prompt = _int(raw.get("input_tokens"))
    completion = _int(raw.get("output_tokens"))
    total = raw.get("total_tokens")
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if isinstance(total, int) else prompt + completion,
    }
    cached = (raw.get("input_tokens_details") or {}).get("cached_tokens")
    if cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    reasoning = (raw.get("output_tokens_details") or {}).get("reasoning_tokens")
    if reasoning:
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def _fingerprint(event: Mapping[str, Any]) -> tuple[Any, ...]:
    """Enough of an event to tell an exact repeat from another event (no copy of the event)."""
    item = event.get("item")
    return (
        event.get("type"),
        event.get("output_index"),
        event.get("content_index"),
        event.get("summary_index"),
        event.get("delta"),
        event.get("item_id") or (item.get("id") if isinstance(item, Mapping) else None),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
