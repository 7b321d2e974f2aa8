"""Engine and session factories. Called from the composition roots (CLI, app lifespan, seed), never at import."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from booking.settings import Settings


def psycopg_options(pooler: str) -> dict[str, Any]:
    """psycopg connection options for the pooler mode (``Settings.database_pooler``).

    Behind a transaction pooler each transaction may run on another server connection, so a
    statement psycopg prepared on one (its default after five runs of the same query) is missing
    on the next: "prepared statement _pg3_0 does not exist". PgBouncer 1.18 (Debian 12) cannot
    track them; ``prepare_threshold=None`` keeps every statement unnamed.
    """
    return {"prepare_threshold": None} if pooler == "transaction" else {}


def make_async_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        echo=settings.db_echo,
        connect_args=psycopg_options(settings.database_pooler),
    )


def direct_url(url: str, settings: Settings) -> str:
    """The URL that reaches PostgreSQL itself, not the pooler: for LISTEN (one connection per
    process; notifications are delivered to a session, which a transaction pooler does not
    keep) and for migrations. ``url`` is the resolved ``database_url``."""
    return settings.database_direct_url or url


async def connect_raw(
    url: str, pooler: str = "none", **kwargs: Any
) -> psycopg.AsyncConnection[Any]:
    """A plain autocommit psycopg connection for the hot paths that skip SQLAlchemy (the event
    writer), configured for the pooler mode. Behind a transaction pooler, set nothing on the
    session (``SET``): the next transaction may run on a connection another client gets next;
    use ``SET LOCAL`` inside a transaction instead."""
    return await psycopg.AsyncConnection.connect(
        libpq_url(url), autocommit=True, **{**psycopg_options(pooler), **kwargs}
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as plain libpq/psycopg takes it (no ``+psycopg`` driver suffix)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection's psycopg connection, for the hot paths that skip the ORM."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection  # type: ignore[misc]
