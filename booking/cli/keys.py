"""``booking keys``: API keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from booking.cli.common import console, guard, url
from booking.settings import Settings

app = typer.Typer(help="API keys.", no_args_is_help=True)


@app.command("create")
def keys_create(
    name: Annotated[
        str, typer.Option(help="A name for the key (also its tenant unless --tenant).")
    ],
    tenant: Annotated[
        str | None, typer.Option(help="Tenant whose conversations the key sees.")
    ] = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.api_keys import create_key

    settings = Settings()

    async def run() -> str:
        engine = make_async_engine(url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                _, key = await create_key(session, name, tenant)
            return key
        finally:
            await engine.dispose()

    key = guard(lambda: asyncio.run(run()))
    console.print(f"key for tenant {tenant or name} (shown once, keep it secret):")
    # The bare key on a line of its own, never wrapped or styled: scripts read it.
    typer.echo(key)
