"""Prompt size per turn of a 60-turn conversation, with the whole history and fitted to a budget.

One run, two passes over the same traveller messages through the real orchestrator, the offline
model and the seeded database: ``before`` sends the whole history every model call (the
behaviour before issue 15), ``after`` fits it to the offline model's budget
(``OFFLINE_CONTEXT_TOKENS``, or ``--budget``). For each turn it records the largest request of
the turn: the prompt tokens the offline model reports (JSON characters / 4, messages only) and
our estimate (:mod:`booking.agent.context_window`, tools included).

    python -m bench.context_bench [--budget 32000] [--turns 60]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import database_url
from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.context_window import estimate_tools
from booking.agent.events import TextDelta, TurnDone, TurnFailed, Usage
from booking.agent.models.openai_chat import OpenAIChatModel
from booking.agent.models.select import OFFLINE_CONTEXT_TOKENS, OFFLINE_NAME, offline_spec
from booking.agent.orchestrator import Orchestrator
from booking.db import migrate
from booking.db.engine import make_async_engine
from booking.domain.dates import FixedClock
from booking.domain.directory import load_gazetteer
from booking.settings import SERVICE_TZ, Settings
from seed.load import SeedOptions, seed_database

DB = "booking_context_bench"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SERVICE_TZ)
#: A budget no conversation here reaches: the whole history every call, but still estimated.
UNBOUNDED = 10**9

#: What a traveller planning a few trips says, in both languages; cycled to the turn count.
MESSAGES = [
    "Đặt vé SGN → HAN ngày 15/6",
    "còn ngày hôm sau thì sao?",
    "Thời tiết Hà Nội ngày 16/6 thế nào?",
    "Vé từ Hà Nội đi Đà Nẵng ngày 18/6 cho 2 người",
    "chuyến sau 12h?",
    "Thời tiết Đà Nẵng ngày 18/6?",
    "Flights from Da Nang to Ho Chi Minh City on June 22",
    "any business class?",
    "What's the weather in Da Lat on June 25?",
    "Vé SGN đi Phú Quốc 28/6",
    "còn ngày 29/6?",
    "cảm ơn nhé",
    "Vé Hà Nội đi Nha Trang ngày 20/6, giá dưới 2 triệu",
    "Thời tiết Nha Trang cuối tuần này?",
    "Flights from Hanoi to Hue on June 19",
]
LAST = "đặt chuyến rẻ nhất mình tìm được lúc đầu nhé"


@dataclass
class TurnFigures:
    reported: int
    """Largest ``prompt_tokens`` the model reported in the turn."""
    estimated: int
    """Our estimate of that request (tools included)."""
    dropped_turns: int
    ended: str
    answer: str
    total: int
    """Prompt tokens reported over all the turn's model calls (what it costs)."""
    metadata: dict[str, Any] | None
    """The turn's first model call's ``context`` metadata."""


async def converse(
    orchestrator: Orchestrator, turns: int
) -> tuple[list[TurnFigures], list[dict[str, Any]]]:
    history: list[dict[str, Any]] = []
    figures: list[TurnFigures] = []
    for n in range(turns):
        text = LAST if n == turns - 1 else MESSAGES[n % len(MESSAGES)]
        turn = orchestrator.start(history, text)
        reported = estimated = dropped = 0
        ended = "?"
        answer: list[str] = []
        metadata: dict[str, Any] | None = None
        async for event in turn:
            if isinstance(event, TextDelta):
                answer.append(event.text)
            elif isinstance(event, Usage):
                reported = max(reported, event.prompt_tokens)
                if event.context is not None:
                    metadata = metadata or event.context.to_metadata()
                    estimated = max(estimated, event.context.estimated)
                    dropped = max(dropped, event.context.dropped_turns)
            elif isinstance(event, (TurnDone, TurnFailed)):
                ended = event.reason if isinstance(event, TurnDone) else event.code
        history += turn.messages
        figures.append(
            TurnFigures(
                reported,
                estimated,
                dropped,
                ended,
                "".join(answer),
                turn.usage.prompt_tokens,
                metadata,
            )
        )
    return figures, history


async def main(budget: int, turns: int) -> None:
    url = database_url(DB)
    admin = database_url("postgres").replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DB}")
    migrate.upgrade(url)
    seed_database(url, SeedOptions(today=NOW.date(), days=45, scale=0.5))
    settings = Settings(database_url=url, now=NOW, environment="test")
    engine = make_async_engine(url, settings)
    clock = FixedClock(NOW)
    async with AsyncSession(engine) as session:
        places = await load_gazetteer(session)
    ctx = ToolContext(async_sessionmaker(engine, expire_on_commit=False), places, clock)
    model = OpenAIChatModel([offline_spec(clock)], OFFLINE_NAME)
    results = {}
    for label, tokens in (("before", UNBOUNDED), ("after", budget)):
        orchestrator = Orchestrator(model, default_registry(), ctx, context_tokens=tokens)
        started = time.perf_counter()
        results[label] = await converse(orchestrator, turns)
        print(f"{label}: {turns} turns in {time.perf_counter() - started:.1f} s")
    await model.aclose()
    await engine.dispose()
    before, after = results["before"][0], results["after"][0]
    print(f"\nbudget {budget} estimated tokens; largest request of the turn")
    print("turn | before: reported (estimated) | after: reported (estimated), turns dropped")
    for n in sorted({1, 10, 20, 30, 40, 50, turns}):
        b, a = before[n - 1], after[n - 1]
        print(
            f"{n:4d} | {b.reported:7,d} ({b.estimated:7,d}) | {a.reported:7,d} ({a.estimated:7,d}), "
            f"{a.dropped_turns} dropped"
        )
    print(
        f"\nprompt tokens of every model call over {turns} turns (reported): "
        f"before {sum(f.total for f in before):,}, after {sum(f.total for f in after):,}"
    )
    over = [n + 1 for n, f in enumerate(after) if f.estimated > budget]
    print(f"turns over budget after fitting: {over or 'none'}")
    print(f"turn {turns} context metadata, fitted: {after[-1].metadata}")
    print(f"tool schemas: {estimate_tools(default_registry().schemas()):,} estimated tokens")
    for label, figures in (("before", before), ("after", after)):
        print(f"turn {turns} {label} ({figures[-1].ended}): {figures[-1].answer[:160]!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=OFFLINE_CONTEXT_TOKENS)
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.budget, args.turns))
