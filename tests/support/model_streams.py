"""What the SDK-over-HTTP tests of both upstream protocols share: model clients made and closed
per test, fake providers stopped cleanly, and an opened stream read to its assembled response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from booking.agent.assembler import AssembledResponse, ToolCallAssembler
from booking.agent.models.base import OpenedStream
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy, Timeouts
from tests.support.fake_provider import FakeProvider

#: Short enough for tests, long enough for a loaded 2-core machine.
TIMEOUTS = Timeouts(connect_s=2, first_chunk_s=2, stall_s=1)
RETRY = RetryPolicy(retries=2, initial_wait_s=0.01, max_wait_s=0.05)

ModelFactory = Callable[..., OpenAIChatModel]


class ModelMaker:
    """Builds model clients for a test and closes them all afterwards (before the providers)."""

    def __init__(self) -> None:
        self._created: list[OpenAIChatModel] = []

    def __call__(
        self,
        *specs: ModelSpec,
        primary: str = "fake",
        timeouts: Timeouts = TIMEOUTS,
        retry: RetryPolicy = RETRY,
        sleep: Callable[[float], Any] | None = None,
    ) -> OpenAIChatModel:
        model = OpenAIChatModel(list(specs), primary, timeouts=timeouts, retry=retry, sleep=sleep)
        self._created.append(model)
        return model

    async def aclose(self) -> None:
        for model in self._created:
            await model.aclose()


def _handler_owner(task: asyncio.Task[Any]) -> object:
    """The FakeProvider whose connection handler this task runs, if any."""
    coro = task.get_coro()
    frame = getattr(coro, "cr_frame", None)
    if getattr(coro, "__qualname__", "") != "FakeProvider._handle" or frame is None:
        return None
    return frame.f_locals.get("self")


async def stop_providers(started: list[FakeProvider]) -> None:
    """Stop the providers, then let connection handlers still writing to a client that went away
    (stall and reset tests) finish, rather than be cancelled when the event loop closes."""
    for provider in started:
        await provider.stop()
    handlers = [task for task in asyncio.all_tasks() if _handler_owner(task) in started]
    if handlers:
        await asyncio.wait(handlers, timeout=2)


async def read_all(
    stream: OpenedStream, chunks: list[dict[str, Any]] | None = None
) -> AssembledResponse:
    """Feed every chunk of an opened stream to a fresh assembler (chunks also collected)."""
    assembler = ToolCallAssembler()
    try:
        async for chunk in stream:
            if chunks is not None:
                chunks.append(chunk)
            assembler.feed(chunk)
    finally:
        await stream.aclose()
    return assembler.finish()
