"""``booking keys``: API keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from booking.cli.common import console, guard, url
from booking.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="API keys.", no_args_is_help=True)
T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one committed transaction; expected failures are one line."""
    from booking.db.engine import make_async_engine, make_sessionmaker

    async def run() -> T:
        engine = make_async_engine(url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return guard(lambda: asyncio.run(run()))


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


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
    from booking.domain.api_keys import create_key

    async def work(session: AsyncSession) -> str:
        _, key = await create_key(session, name, tenant)
        return key

    key = _in_transaction(Settings(), work)
    console.print(f"key for tenant {tenant or name} (shown once, keep it secret):")
    # The bare key on a line of its own, never wrapped or styled: scripts read it.
    typer.echo(key)


@app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
) -> None:
    """List API keys, revoked ones too (never the keys themselves: their first characters)."""
    from booking.domain.api_keys import KeyInfo, list_keys

    async def work(session: AsyncSession) -> list[KeyInfo]:
        return await list_keys(session, tenant)

    keys = _in_transaction(Settings(), work)
    # Tab-separated and unstyled, so names are shown as they are and scripts can cut columns.
    typer.echo("id\tname\ttenant\tprefix\tcreated\trevoked")
    for key in keys:
        typer.echo(
            f"{key.key_id}\t{key.name}\t{key.tenant}\t{key.prefix}\t"
            f"{_when(key.created_at)}\t{_when(key.revoked_at)}"
        )


@app.command("revoke")
def keys_revoke(
    key: Annotated[
        str,
        typer.Argument(
            metavar="KEY_ID_OR_PREFIX",
            help="The key's id, or its prefix (`bk_` and 7 characters), as `booking keys list` shows.",
        ),
    ],
) -> None:
    """Revoke an API key: every server refuses it within BOOKING_AUTH_CACHE_S."""
    from booking.domain.api_keys import Revocation, revoke_key

    async def work(session: AsyncSession) -> Revocation:
        return await revoke_key(session, key)

    done = _in_transaction(Settings(), work)
    info = done.key
    what = "was already revoked" if done.already else "revoked"
    console.print(
        f"key {info.key_id} ({info.prefix}, tenant {info.tenant}) {what} at "
        f"{_when(info.revoked_at)}; servers refuse it within BOOKING_AUTH_CACHE_S (5 s by default)",
        highlight=False,
        markup=False,
    )
