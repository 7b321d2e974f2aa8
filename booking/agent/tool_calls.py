"""The tool calls of one step: checked, put to the traveller when they need approval, and run.

A call to an unknown tool, or with arguments that are not JSON or do not validate, becomes an
error result the model can act on (:func:`prepare`); a tool that fails or runs past its timeout
does too (:func:`run_tools`). Valid calls run concurrently, each with its own context (its call
id) and timeout, and each outcome is passed on as soon as it is known.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from booking.agent.assembler import AssembledCall
from booking.agent.context import ToolContext
from booking.agent.events import ApprovalRequested, ToolError, ToolResult, TurnEvent
from booking.agent.tools import InvalidToolArguments, Tool, ToolRegistry
from booking.i18n.format import Language

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A call checked before it runs: its tool and arguments, or the error the model gets."""

    call: AssembledCall
    tool: Tool | None
    arguments: dict[str, Any] | None
    error: dict[str, Any] | None


def prepare(registry: ToolRegistry, call: AssembledCall) -> PreparedCall:
    """The call checked: its tool, and its validated arguments or the error the model gets."""
    tool = registry.get(call.name)
    if tool is None:
        error = {
            "code": "unknown_tool",
            "message": f"There is no tool named '{call.name}'. Available: {', '.join(registry.names())}.",
        }
        return PreparedCall(call, None, None, error)
    arguments, problem = call.parse()
    if arguments is None:
        error = {
            "code": "invalid_arguments",
            "message": f"{call.name}: {problem}. Send a JSON object.",
        }
        return PreparedCall(call, tool, None, error)
    try:
        return PreparedCall(call, tool, tool.validate(arguments), None)
    except InvalidToolArguments as exc:
        return PreparedCall(
            call,
            tool,
            None,
            {"code": "invalid_arguments", "message": str(exc), "errors": exc.errors},
        )


async def approval_request(
    ctx: ToolContext, item: PreparedCall, language: Language = "en"
) -> ApprovalRequested | ToolError:
    """The approval request for a call, with what it would do; or why it cannot be done.

    Args:
        language: the conversation's; the request's text (its reason) is the summary's words
            in it (``text_vi`` for Vietnamese), and the summary says which (``language``).
    """
    assert item.tool is not None
    assert item.arguments is not None
    tool, call_id = item.tool, item.call.call_id
    summary, error = await tool.summary(ctx, item.arguments)
    if error is not None:
        return ToolError(call_id, tool.name, error, 0.0)
    worded = summary.get("text_vi") if language == "vi" else None
    text = str(worded or summary.get("text") or _summary(item))
    if "text" in summary:
        summary = {**summary, "language": "vi" if worded else "en"}
    return ApprovalRequested(
        f"apr_{uuid.uuid4().hex}", call_id, tool.name, item.arguments, summary, text
    )


async def run_tools(
    ctx: ToolContext, items: list[PreparedCall], results: dict[str, str]
) -> AsyncIterator[TurnEvent]:
    """Run concurrently; yield each outcome as soon as it is known."""
    tasks = {asyncio.create_task(_invoke(ctx, item)): item for item in items}
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                event = task.result()
                results[event.call_id] = as_content(
                    event.output if isinstance(event, ToolResult) else {"error": event.error}
                )
                yield event
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _invoke(ctx: ToolContext, item: PreparedCall) -> ToolResult | ToolError:
    assert item.tool is not None
    assert item.arguments is not None
    tool, call_id = item.tool, item.call.call_id
    started = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - started) * 1000

    output, error = await tool.run(replace(ctx, call_id=call_id), item.arguments)
    if error is not None:
        return ToolError(call_id, tool.name, error, elapsed())
    return ToolResult(call_id, tool.name, output, elapsed())


def assistant_message(text: str, calls: list[AssembledCall]) -> dict[str, Any]:
    """The assistant message exactly as Chat Completions requires before tool results."""
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments or "{}"},
            }
            for c in calls
        ],
    }


def denied(reason: str | None) -> dict[str, Any]:
    """The error result of a call the traveller declined."""
    return {
        "code": "approval_denied",
        "message": "The traveller declined this action; nothing was done."
        + (f" Reason: {reason}" if reason else ""),
    }


def as_content(value: Any) -> str:
    """A tool result as the content of its ``tool`` message."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _summary(item: PreparedCall) -> str:
    assert item.tool is not None
    args = ", ".join(f"{k}={v!r}" for k, v in (item.arguments or {}).items() if v is not None)
    return f"{item.tool.name}({args})"
