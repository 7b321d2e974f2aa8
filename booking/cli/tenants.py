"""``booking tenants``: per-tenant settings."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from booking.cli.common import console, fail, guard, url
from booking.settings import Settings

app = typer.Typer(help="Per-tenant settings.", no_args_is_help=True)


@app.command("retention")
def tenants_retention(
    tenant: Annotated[str, typer.Argument(help="The tenant (as its API keys name it).")],
    days: Annotated[
        str, typer.Argument(help="Delete conversations idle longer than DAYS, or `none`.")
    ],
) -> None:
    """Set how long TENANT's idle conversations are kept (bookings are always kept)."""
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.db.retention_repository import RetentionRepository

    if days.strip().lower() == "none":
        value = None
    elif days.isdigit() and int(days) >= 1:
        value = int(days)
    else:
        raise fail(f"DAYS must be a whole number of days (1 or more) or `none`, not {days!r}")
    settings = Settings()

    async def run() -> None:
        engine = make_async_engine(url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await RetentionRepository(session).set_conversation_retention(tenant, value)
        finally:
            await engine.dispose()

    guard(lambda: asyncio.run(run()))
    if value is None:
        console.print(f"tenant {tenant}: conversations are kept")
    else:
        console.print(
            f"tenant {tenant}: conversations idle for {value} days are deleted "
            "(at the next retention pass; bookings are kept)"
        )
