"""``booking chat``: talk to the agent in the terminal, approvals asked on the terminal too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.markup import escape

from booking.cli.common import console, guard, url
from booking.settings import Settings


def chat(
    messages: Annotated[
        list[str] | None,
        typer.Argument(help="Messages to send in turn; none: read lines from stdin."),
    ] = None,
    approve: Annotated[
        bool | None,
        typer.Option(
            help="Answer booking approvals yes (--approve) or no (--no-approve); "
            "default: ask on a terminal, else no."
        ),
    ] = None,
) -> None:
    """Talk to the agent in the terminal, e.g. `booking chat "Đặt vé SGN → HAN ngày 15/6"`."""
    import sys

    from booking.agent.events import (
        ApprovalRequested,
        TextDelta,
        ToolCallStarted,
        ToolError,
        ToolResult,
        TurnDone,
        TurnFailed,
    )
    from booking.agent.factory import build_orchestrator
    from booking.agent.models.select import build_model_client
    from booking.agent.orchestrator import ApprovalDecision
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.dates import clock_from
    from booking.domain.directory import load_gazetteer
    from booking.settings import environment

    settings = Settings()

    async def approver(request: ApprovalRequested) -> ApprovalDecision:
        console.print(f"\n[bold yellow]approve?[/] {escape(request.text)}")
        if approve is not None:
            console.print("yes" if approve else "no (pass --approve to accept)")
            return ApprovalDecision(approve)
        if not sys.stdin.isatty():
            console.print("no (not a terminal; pass --approve to accept)")
            return ApprovalDecision(False, "not confirmed in the terminal")
        answer = await asyncio.to_thread(input, "[y/N] ")
        return ApprovalDecision(answer.strip().lower() in ("y", "yes", "có", "co"))

    def lines() -> Iterator[str]:
        if messages:
            yield from messages
            return
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                return
            if line:
                yield line

    async def run() -> None:
        engine = make_async_engine(url(settings), settings)
        clock = clock_from(settings)
        model = build_model_client(settings, clock, environment())
        try:
            sessionmaker = make_sessionmaker(engine)
            async with sessionmaker() as session:
                places = await load_gazetteer(session)
            orchestrator = build_orchestrator(
                settings,
                sessionmaker,
                places,
                clock,
                model,
                approver=approver,
                conversation_id=f"cli-{uuid.uuid4().hex[:12]}",
                tenant="cli",
            )
            history: list[dict[str, Any]] = []
            for text in lines():
                if messages:
                    console.print(f"[bold]you>[/] {escape(text)}")
                console.print("[bold cyan]agent>[/] ", end="")
                turn = orchestrator.start(history, text)
                async for event in turn:
                    if isinstance(event, TextDelta):
                        console.print(event.text, end="", markup=False, highlight=False)
                    elif isinstance(event, ToolCallStarted):
                        console.print(f"[dim]\\[{event.name} …][/] ", end="")
                    elif isinstance(event, ToolResult | ToolError):
                        status = "ok" if isinstance(event, ToolResult) else event.error.get("code")
                        console.print(
                            f"[dim]\\[{event.name} {status}, {event.duration_ms:.0f} ms][/] ",
                            end="",
                        )
                    elif isinstance(event, TurnDone):
                        u = event.usage
                        console.print(
                            f"\n[dim]{u.model_calls} model calls, {u.prompt_tokens}+{u.completion_tokens} "
                            f"tokens, first token {u.ttft_ms or 0:.0f} ms, model {', '.join(u.models)}[/]"
                        )
                    elif isinstance(event, TurnFailed):
                        console.print(f"\n[red]{escape(f'{event.message} [{event.code}]')}[/]")
                history += turn.messages
        finally:
            await model.aclose()
            await engine.dispose()

    guard(lambda: asyncio.run(run()))
