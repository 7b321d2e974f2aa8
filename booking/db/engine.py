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


def make_async_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        echo=settings.db_echo,
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
