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
    details: Annotated[
        bool,
        typer.Option(
            "--details", help="After each answer: model, time to first token, tokens, cost."
        ),
    ] = False,
) -> None:
    """Talk to the agent in the terminal, e.g.
    `booking chat "vé SGN đi HAN thứ Sáu tuần sau" "còn ngày hôm sau thì sao?"`.

    Answers are rendered as Markdown; approvals are asked on the terminal."""
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
    from booking.cli.markdown import MarkdownStream, usage_line
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.dates import clock_from
    from booking.domain.directory import load_gazetteer
    from booking.settings import environment

    settings = Settings()

    text = MarkdownStream(console)

    async def approver(request: ApprovalRequested) -> ApprovalDecision:
        text.flush()
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
            for line in lines():
                if messages:
                    console.print(f"[bold]you>[/] {escape(line)}")
                console.print("[bold cyan]agent>[/]")
                turn = orchestrator.start(history, line)
                async for event in turn:
                    if isinstance(event, TextDelta):
                        text.add(event.text)
                        continue
                    text.flush()
                    if isinstance(event, ToolCallStarted):
                        console.print(f"[dim]{escape(event.name)} …[/]")
                    elif isinstance(event, ToolResult | ToolError):
                        status = "✓" if isinstance(event, ToolResult) else "✗"
                        code = (
                            "" if isinstance(event, ToolResult) else f" {event.error.get('code')}"
                        )
                        console.print(
                            f"[dim]{status} {escape(event.name)}{escape(code)}, "
                            f"{event.duration_ms:.0f} ms[/]"
                        )
                    elif isinstance(event, TurnDone) and details:
                        u = event.usage
                        line_ = usage_line(
                            {
                                "models": u.models,
                                "ttftMs": u.ttft_ms,
                                "promptTokens": u.prompt_tokens,
                                "completionTokens": u.completion_tokens,
                                "modelCalls": u.model_calls,
                                "costUsd": u.cost_usd,
                            }
                        )
                        console.print(f"[dim]{escape(line_)}[/]", highlight=False)
                    elif isinstance(event, TurnFailed):
                        console.print(f"[red]{escape(f'{event.message} [{event.code}]')}[/]")
                text.flush()
                history += turn.messages
        finally:
            await model.aclose()
            await engine.dispose()

    guard(lambda: asyncio.run(run()))
