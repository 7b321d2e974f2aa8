"""Fold stored stream parts back into UI messages, as ``readUIMessageStream`` would on a client,
so a frontend can hydrate a conversation from ``GET /v1/conversations/{id}``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from booking.agent.tool_calls import as_content, denied
from booking.domain.conversations import ConversationRecord
from booking.turns.ui_stream import Part


def fold_parts(parts: Iterable[Part]) -> dict[str, Any]:
    message: dict[str, Any] = {"id": None, "role": "assistant", "parts": [], "metadata": {}}
    texts: dict[str, dict[str, Any]] = {}
    entry: dict[str, Any]
    tools: dict[str, dict[str, Any]] = {}
    for part in parts:
        kind = part.get("type")
        if kind == "start":
            message["id"] = part.get("messageId")
            message["metadata"].update(part.get("messageMetadata") or {})
        elif kind == "start-step":
            message["parts"].append({"type": "step-start"})
        elif kind in ("text-start", "reasoning-start"):
            entry = {
                "type": "text" if kind == "text-start" else "reasoning",
                "text": "",
                "state": "streaming",
            }
            texts[part["id"]] = entry
            message["parts"].append(entry)
        elif kind in ("text-delta", "reasoning-delta") and part.get("id") in texts:
            texts[part["id"]]["text"] += part.get("delta", "")
        elif kind in ("text-end", "reasoning-end") and part.get("id") in texts:
            texts[part["id"]]["state"] = "done"
        elif kind == "tool-input-start":
            entry = {
                "type": f"tool-{part['toolName']}",
                "toolCallId": part["toolCallId"],
                "state": "input-streaming",
                "input": None,
            }
            tools[part["toolCallId"]] = entry
            message["parts"].append(entry)
        elif kind in _TOOL_STATES and part.get("toolCallId") in tools:
            entry = tools[part["toolCallId"]]
            entry["state"] = _TOOL_STATES[kind]
            for key in ("input", "output", "errorText"):
                if key in part:
                    entry[key] = part[key]
            if kind == "tool-approval-request":
                entry["approval"] = {"id": part["approvalId"]}
                if "approvalDescriptor" in part:
                    entry["approval"]["descriptor"] = part["approvalDescriptor"]
            elif "approval" in entry and kind in ("tool-output-available", "tool-output-error"):
                entry["approval"]["approved"] = True
            elif "approval" in entry and kind == "tool-output-denied":
                entry["approval"]["approved"] = False
        elif isinstance(kind, str) and kind.startswith("data-"):
            # As readUIMessageStream: a data part with the id of an earlier one replaces it.
            entry = {"type": kind, "id": part.get("id"), "data": part.get("data")}
            same = [
                i
                for i, p in enumerate(message["parts"])
                if p.get("type") == kind and entry["id"] is not None and p.get("id") == entry["id"]
            ]
            if same:
                message["parts"][same[0]] = entry
            else:
                message["parts"].append(entry)
        elif kind == "message-metadata":
            message["metadata"].update(part.get("messageMetadata") or {})
        elif kind == "finish":
            message["metadata"]["finishReason"] = part.get("finishReason")
        elif kind == "error":
            message["metadata"]["errorText"] = part.get("errorText")
        elif kind == "abort":
            message["metadata"]["aborted"] = True
    return message


_TOOL_STATES = {
    "tool-input-available": "input-available",
    "tool-input-error": "output-error",
    "tool-output-available": "output-available",
    "tool-output-error": "output-error",
    "tool-approval-request": "approval-requested",
    "tool-output-denied": "output-denied",
}


def answer_messages(parts: Iterable[Part]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What one turn's stored parts said, as Chat Completions messages: an assistant message per
    model call (its text, and its tool calls with their arguments), and each call's result by
    call id, as the model receives it (:func:`booking.agent.tool_calls.as_content`). For a
    turn its process could not close (:func:`booking.agent.history.incomplete_answer` makes
    the history of it); text of a call the model had not finished is in its own message."""
    messages: list[dict[str, Any]] = []
    outputs: dict[str, str] = {}
    text: list[str] = []
    calls: list[dict[str, Any]] = []

    def end_step() -> None:
        content = "".join(text)
        if calls:
            messages.append({"role": "assistant", "content": content or None, "tool_calls": calls})
        elif content:
            messages.append({"role": "assistant", "content": content})

    for part in parts:
        kind = part.get("type")
        if kind in ("start-step", "finish-step"):
            end_step()
            text, calls = [], []
        elif kind == "text-delta":
            text.append(str(part.get("delta", "")))
        elif kind in ("tool-input-available", "tool-input-error"):
            raw = part.get("input")
            arguments = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
            calls.append(
                {
                    "id": part["toolCallId"],
                    "type": "function",
                    "function": {"name": part["toolName"], "arguments": arguments or "{}"},
                }
            )
            if kind == "tool-input-error":
                outputs[part["toolCallId"]] = as_content({"error": _error(part)})
        elif kind == "tool-output-available":
            outputs[part["toolCallId"]] = as_content(part.get("output"))
        elif kind == "tool-output-error":
            outputs[part["toolCallId"]] = as_content({"error": _error(part)})
        elif kind == "tool-output-denied":
            outputs[part["toolCallId"]] = as_content({"error": denied(None)})
    end_step()
    return messages, outputs


def _error(part: Part) -> dict[str, Any]:
    return {"message": part.get("errorText") or "the tool failed"}


def user_message(ui_message_id: str | None, text: str, fallback_id: str) -> dict[str, Any]:
    return {
        "id": ui_message_id or fallback_id,
        "role": "user",
        "parts": [{"type": "text", "text": text}],
    }


def transcript(record: ConversationRecord) -> list[dict[str, Any]]:
    """The conversation as UI messages: each user message, then the answer to it.

    A reply that paused for approval continues in another turn as the same message: the parts
    are grouped by the message id each turn's ``start`` names."""
    message_of: dict[str, str] = {}
    by_message: dict[str, list[Part]] = {}
    for stored in record.parts:
        message_id = message_of.setdefault(
            stored.turn_id, str(stored.part.get("messageId") or stored.turn_id)
        )
        by_message.setdefault(message_id, []).append(stored.part)
    messages = []
    for m in record.messages:
        if m.role != "user":
            continue
        messages.append(
            user_message(m.ui_message_id, str(m.payload.get("content", "")), f"user-{m.position}")
        )
        answer = message_of.get(m.turn_id or "")
        if answer in by_message:
            messages.append(fold_parts(by_message.pop(answer)))
    return messages
