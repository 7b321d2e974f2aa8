"""Keep a conversation's history valid for Chat Completions whatever interrupted a turn."""

from __future__ import annotations

import json
from typing import Any


def close_open_tool_calls(messages: list[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    """Add a ``tool`` error result for every call that has none (a cancelled or crashed turn),
    so the next request is not rejected for an assistant ``tool_calls`` message left unanswered."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []
    for message in messages:
        if message.get("role") != "tool" and pending:
            out += _answers(pending, reason)
            pending = []
        out.append(message)
        if message.get("role") == "assistant" and message.get("tool_calls"):
            pending = [call["id"] for call in message["tool_calls"]]
        elif message.get("role") == "tool" and message.get("tool_call_id") in pending:
            pending.remove(message["tool_call_id"])
    return out + _answers(pending, reason)


def _answers(call_ids: list[str], reason: str) -> list[dict[str, Any]]:
    content = json.dumps({"error": {"code": "not_run", "message": reason}})
    return [{"role": "tool", "tool_call_id": call_id, "content": content} for call_id in call_ids]


def unanswered_calls(messages: list[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    """The ``tool`` results that would close the calls still open at the end of ``messages``
    (a turn that paused for approval); empty when every call has its result."""
    closed = close_open_tool_calls(messages, reason)
    return closed[len(messages) :] if closed[: len(messages)] == messages else []
