"""Tool catalogs that let a test control a turn (a tool held until the test opens a gate, a slow
tool), and the provider response that makes a scripted model call one."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from tests.support.fake_provider import sse
from tests.support.waits import DEADLINE_S


@dataclass
class Gate:
    """Holds a tool until the test opens it; records starts and cancellations.

    Thread-safe: the tool runs on a server's loop, the test opens the gate from its own thread.
    """

    opened: threading.Event
    started: threading.Event
    cancelled: threading.Event

    @classmethod
    def new(cls) -> Gate:
        return cls(threading.Event(), threading.Event(), threading.Event())

    def open(self) -> None:
        self.opened.set()

    def wait_started(self, timeout: float = DEADLINE_S) -> None:
        assert self.started.wait(timeout), "the gated tool never started"

    async def wait(self, limit_s: float) -> None:
        """Called inside the tool: wait (cancellably) for the test to open the gate."""
        self.started.set()
        deadline = time.monotonic() + limit_s
        try:
            while not self.opened.is_set():
                if time.monotonic() > deadline:
                    raise AssertionError("the gate was never opened")
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def gated_registry(gate: Gate, *, limit_s: float = 15.0) -> ToolRegistry:
    """A catalog with one tool, ``hold``, that returns only once ``gate`` is opened."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=limit_s + 5)
    async def hold(ctx: ToolContext, label: str = "x") -> dict[str, Any]:
        """Waits for the test to let it finish.

        Args:
            label: Echoed back.
        """
        await gate.wait(limit_s)
        return {"label": label, "held": True}

    return registry


def slow_registry(seconds: float) -> ToolRegistry:
    """A catalog with one tool, ``slow_lookup``, that sleeps ``seconds``."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=seconds + 10)
    async def slow_lookup(ctx: ToolContext, what: str = "x") -> dict[str, Any]:
        """Looks something up, slowly.

        Args:
            what: What to look up.
        """
        await asyncio.sleep(seconds)
        return {"what": what, "found": True}

    return registry


def call_chunks(
    call_id: str, name: str, arguments: dict[str, Any], *, text: str = ""
) -> list[bytes]:
    """A provider response streaming optional text, then one tool call (arguments in two halves)."""
    raw = json.dumps(arguments, ensure_ascii=False)
    chunks: list[dict[str, Any] | str] = []
    if text:
        chunks.append({"choices": [{"index": 0, "delta": {"content": text}}]})
    chunks.append(
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        ]}}]}
    )  # fmt: skip
    for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
        chunks.append(
            {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": piece}}
            ]}}]}
        )  # fmt: skip
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}})
    chunks.append("[DONE]")
    return sse(*chunks)
