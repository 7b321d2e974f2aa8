"""What the commands share: the consoles, one-line failures, the database URL, a domain session.

Installed packages that add commands (``booking.commands`` entry points) use these too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from booking.errors import BookingError
from booking.settings import Settings

# Piped output (CI logs, `| less`) gets room for the flight table instead of rich's 80 columns.
console = Console(width=None if Console().is_terminal else 120)
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error; raise what this returns to exit with status 1."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


def url(settings: Settings) -> str:
    """The database URL (the embedded server's, started if needed, unless one is set)."""
    from booking.db.embedded import database_url

    return database_url(settings)


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn expected failures into one-line messages."""
    import sqlalchemy.exc

    try:
        return fn()
    except BookingError as exc:
        raise fail(f"{exc.message} [{exc.code}]") from None
    except (sqlalchemy.exc.OperationalError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(f"database unavailable: {first}") from None
    except sqlalchemy.exc.ProgrammingError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        raise fail(f"{first} (has `booking db upgrade` run?)") from None


def run_domain(settings: Settings, work: Callable[[Any, Any, date], Awaitable[T]]) -> T:
    """Open a session, load the gazetteer, run ``work(session, gazetteer, today)``."""
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.dates import clock_from, today as today_of
    from booking.domain.directory import load_gazetteer

    async def main() -> T:
        engine = make_async_engine(url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session:
                places = await load_gazetteer(session)
                return await work(session, places, today_of(clock_from(settings)))
        finally:
            await engine.dispose()

    return guard(lambda: asyncio.run(main()))
