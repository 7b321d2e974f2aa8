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


def incomplete_answer(
    messages: list[dict[str, Any]], outputs: dict[str, str], note: str
) -> list[dict[str, Any]]:
    """What an answer cut short (interrupted, stopped, failed) adds to the history, so the next
    turn reads user, assistant (partial), user... and never two user messages in a row.

    ``messages``: the assistant and tool messages the turn produced, complete or not;
    ``outputs``: tool results by call id, known but maybe not yet in ``messages``. Every open
    call gets its known result; a call with none is dropped (an assistant message left with
    neither text nor calls goes too). The answer then ends with an assistant message whose
    text ends with ``note`` (e.g. ``[answer interrupted: the server stopped]``), which a model
    reads as "this was cut short" and every provider accepts (no extra keys)."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    called = {
        call["id"]
        for m in messages
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or ()
    }
    # Results of calls an earlier turn made (a reply continued after approval) answer the
    # assistant message that ends the stored history: they come first.
    out: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": call_id, "content": content}
        for call_id, content in outputs.items()
        if call_id not in called and call_id not in answered
    ]
    for message in messages:
        if message.get("role") != "assistant" or not message.get("tool_calls"):
            out.append(message)
            continue
        calls = [c for c in message["tool_calls"] if c["id"] in answered or c["id"] in outputs]
        if calls:
            out.append({**message, "tool_calls": calls})
        elif message.get("content"):
            out.append({"role": "assistant", "content": message["content"]})
        out += [
            {"role": "tool", "tool_call_id": c["id"], "content": outputs[c["id"]]}
            for c in calls
            if c["id"] not in answered
        ]
    last = out[-1] if out else None
    if last and last.get("role") == "assistant" and not last.get("tool_calls"):
        out[-1] = {**last, "content": f"{str(last.get('content') or '').rstrip()}\n\n{note}"}
    else:
        out.append({"role": "assistant", "content": note})
    return out
