"""The turn runtime without HTTP: managers on the test database, a scripted in-process model,
and a tool that waits for the test.

A :class:`ScriptedModel` answers each model call with the next list of Chat Completions chunk
dicts (the last repeats), with no transport at all: these tests are about the runtime (admission,
storage, following, stopping, leases), not about the wire.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.agent.context import ToolContext
from booking.agent.factory import build_orchestrator
from booking.agent.models.base import Pricing
from booking.agent.orchestrator import Orchestrator
from booking.agent.tools import ToolRegistry
from booking.db.engine import libpq_url, make_sessionmaker
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from booking.settings import Settings
from booking.turns import Followed, LiveTurn, Metrics, TurnManager
from tests.conftest import TEST_NOW

Chunk = dict[str, Any]


def text_reply(text: str) -> list[Chunk]:
    """A streamed text answer, word by word, ending with ``stop``."""
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1].rstrip()
    return [
        {"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in words
    ] + [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]


def tool_call(name: str, arguments: str = "{}", call_id: str = "call_1") -> list[Chunk]:
    """One streamed tool call, ending with ``tool_calls``."""
    return [
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": call_id, "type": "function",
             "function": {"name": name, "arguments": arguments}}
        ]}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]  # fmt: skip


@dataclass
class _Stream:
    chunks: Sequence[Chunk]
    model: str = "scripted"
    pricing: Pricing | None = None
    started_at: float = 0.0
    ttft_ms: float = 1.0

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[Chunk]:
        for chunk in self.chunks:
            await asyncio.sleep(0)
            yield chunk

    async def aclose(self) -> None:
        return None


@dataclass
class ScriptedModel:
    """A model whose every call streams the next script (the last one repeats)."""

    scripts: list[list[Chunk]]
    calls: int = 0

    @property
    def name(self) -> str:
        return "scripted"

    async def open_stream(self, messages: list[Chunk], tools: list[Chunk]) -> _Stream:
        script = self.scripts[min(self.calls, len(self.scripts) - 1)]
        self.calls += 1
        return _Stream(script)


@dataclass
class Gate:
    """What the ``hold`` tool waits for; ``entered`` is set once a call is waiting."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    entered: asyncio.Event = field(default_factory=asyncio.Event)


def held_registry(gate: Gate) -> ToolRegistry:
    """A catalog with one tool, ``hold``, that returns only once the gate opens."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=60)
    async def hold(ctx: ToolContext, label: str = "x") -> dict[str, Any]:
        """Waits for the test to let it finish.

        Args:
            label: Echoed back.
        """
        gate.entered.set()
        await gate.opened.wait()
        return {"label": label, "held": True}

    return registry


@dataclass
class Runtime:
    """Builds turn managers (each one a "process") on one database; closes them all."""

    engine: AsyncEngine
    database_url: str
    places: Gazetteer
    managers: list[TurnManager] = field(default_factory=list)

    async def manager(
        self, model: Any, registry: ToolRegistry | None = None, **options: Any
    ) -> TurnManager:
        settings = Settings(database_url=self.database_url, now=TEST_NOW, environment="test")
        sessionmaker = make_sessionmaker(self.engine)
        clock = FixedClock(TEST_NOW)

        def orchestrator_for(conversation_id: str, tenant: str) -> Orchestrator:
            return build_orchestrator(
                settings,
                sessionmaker,
                self.places,
                clock,
                model,
                conversation_id=conversation_id,
                tenant=tenant,
                registry=registry,
            )

        manager = TurnManager(
            sessionmaker,
            orchestrator_for,
            listen_url=libpq_url(self.database_url),
            metrics=Metrics(),
            **options,
        )
        await manager.start()
        self.managers.append(manager)
        return manager

    async def close(self) -> None:
        for manager in reversed(self.managers):
            await manager.close(grace_s=5)


def new_ids() -> tuple[str, str]:
    """A fresh (tenant, conversation id)."""
    return f"t-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex


async def read_all(
    manager: TurnManager, conversation_id: str, after: int, limit_s: float = 10.0
) -> list[Followed]:
    """Everything ``follow`` yields from ``after`` until it ends."""

    async def collect() -> list[Followed]:
        out: list[Followed] = []
        async for batch in manager.follow(conversation_id, after):
            out.extend(batch)
        return out

    return await asyncio.wait_for(collect(), limit_s)


async def finished(live: LiveTurn, limit_s: float = 10.0) -> None:
    assert live.task is not None
    await asyncio.wait_for(asyncio.shield(live.task), limit_s)


def types(followed: Sequence[Followed]) -> list[str]:
    return [str(part.get("type")) for _, part, _ in followed]


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    """Run one SQL statement in its own transaction; its rows (none for a write)."""
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return list(result.all()) if result.returns_rows else []
