"""Chat Completions ``messages`` and ``tools`` as a Responses API request. Pure: no I/O, no SDK.

System and developer messages become ``instructions``; text becomes message items; an
assistant's ``tool_calls`` become ``function_call`` items and each ``tool`` message a
``function_call_output`` with the same ``call_id``. The request is stateless (``store: false``,
the whole input every call) and streamed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def to_input(messages: Sequence[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """(instructions, input items) for Chat Completions ``messages``.

    System and developer messages become ``instructions``; user and assistant text become
    message items; an assistant's ``tool_calls`` become ``function_call`` items and each ``tool``
    message a ``function_call_output`` with the same ``call_id``.
    """
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            if text := _text_of(content):
                instructions.append(text)
        elif role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.get("tool_call_id"),
                    "output": _text_of(content),
                }
            )
        elif role == "assistant":
            if text := _text_of(content):
                items.append({"type": "message", "role": "assistant", "content": text})
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                arguments = function.get("arguments")
                if not isinstance(arguments, str):
                    arguments = json.dumps(arguments or {}, ensure_ascii=False)
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": arguments,
                    }
                )
        else:
            items.append(
                {"type": "message", "role": role or "user", "content": _user_content(content)}
            )
    return ("\n\n".join(instructions) or None), items


def to_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Responses function tools for Chat Completions ``tools``.

    ``strict`` is sent explicitly: the Responses API makes function tools strict when it is
    left out, and strict mode refuses schemas with optional properties (ours have them).
    """
    out: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, Mapping):
            out.append(dict(tool))  # Already in the Responses shape.
            continue
        entry: dict[str, Any] = {"type": "function", "name": function["name"]}
        if function.get("description"):
            entry["description"] = function["description"]
        entry["parameters"] = function.get("parameters") or {"type": "object", "properties": {}}
        entry["strict"] = bool(function.get("strict", False))
        out.append(entry)
    return out


def request_body(
    model: str, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The ``responses.create`` arguments: stateless and streamed."""
    instructions, items = to_input(messages)
    body: dict[str, Any] = {"model": model, "input": items, "store": False, "stream": True}
    if instructions is not None:
        body["instructions"] = instructions
    if tools:
        body["tools"] = to_tools(tools)
    return body


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, Mapping))
    return ""


def _user_content(content: Any) -> Any:
    if not isinstance(content, list):
        return _text_of(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "text":
            parts.append({"type": "input_text", "text": str(part.get("text") or "")})
        elif part.get("type") == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, Mapping) else url
            parts.append({"type": "input_image", "image_url": url, "detail": "auto"})
    return parts
