"""Test settings and the real PostgreSQL every integration test runs on.

The server is ``BOOKING_TEST_DATABASE_URL`` when set (CI points it at the machine's PostgreSQL),
else an embedded PostgreSQL under ``.booking/test-pg``. Each run creates its own database, migrates
it with Alembic (not ``create_all``, so the migrations are tested too), seeds it once, and drops it
at the end. Each test then runs inside a transaction that is rolled back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from booking.db import migrate
from booking.db.embedded import embedded_url, stop_embedded
from booking.db.engine import libpq_url, make_async_engine
from booking.domain.directory import load_gazetteer
from booking.domain.places import Gazetteer
from booking.settings import SERVICE_TZ, Settings, normalize_database_url
from seed.load import SeedOptions, seed_database
from tests.support import ast_lock
from tests.support.tracing import exporter  # noqa: F401 (a fixture: spans in memory)

# Before any app thread runs: see the module's docstring (a CPython 3.11.7 race in ``ast``).
ast_lock.install()

ROOT = Path(__file__).resolve().parents[1]
#: "Now" for every test: a Monday morning in Vietnam.
TEST_NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SERVICE_TZ)
TEST_TODAY: date = TEST_NOW.date()
TEST_SEED = SeedOptions(seed=42, today=TEST_TODAY, days=45, scale=0.5)


def _server_url() -> str:
    url = os.environ.get("BOOKING_TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return embedded_url(ROOT / ".booking" / "test-pg")


@contextlib.contextmanager
def own_embedded_server(name: str, seed: SeedOptions) -> Iterator[tuple[str, Path]]:
    """(URL, data folder) of an embedded PostgreSQL of the caller's own, migrated and seeded: one
    a test may crash and restart (never the shared server). Stopped and removed afterwards.

    Not under pytest's ``tmp_path``: run as root, pgserver runs the server as its own user, and
    every pytest session resets ``/tmp/pytest-of-root`` to mode 0700, locking that user out."""
    pg_dir = Path(tempfile.mkdtemp(prefix=f"booking-{name}-")) / "pg"
    try:
        url = embedded_url(pg_dir)
        migrate.upgrade(url)
        seed_database(url, seed)
        yield url, pg_dir
    finally:
        stop_embedded(pg_dir)
        shutil.rmtree(pg_dir.parent, ignore_errors=True)


class ScratchDatabases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self, prefix: str = "booking_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(libpq_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url_of(name)

    def url_of(self, name: str) -> str:
        base, _, query = self.server_url.partition("?")
        root = base.rsplit("/", 1)[0]
        return f"{root}/{name}" + (f"?{query}" if query else "")

    def drop_all(self) -> None:
        with psycopg.connect(libpq_url(self.server_url), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def scratch() -> Iterator[ScratchDatabases]:
    databases = ScratchDatabases(_server_url())
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def seeded_url(scratch: ScratchDatabases) -> str:
    """A migrated, seeded database shared read-only by the whole run."""
    url = scratch.create()
    migrate.upgrade(url)
    seed_database(url, TEST_SEED)
    return url


@pytest.fixture(scope="session")
def settings(seeded_url: str) -> Settings:
    return Settings(database_url=seeded_url, now=TEST_NOW, environment="test")


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    assert settings.database_url
    engine = make_async_engine(settings.database_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back: code under test may commit."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        async with AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        ) as s:
            yield s
        await outer.rollback()


@pytest.fixture(scope="session")
async def gazetteer(engine: AsyncEngine) -> Gazetteer:
    async with AsyncSession(engine) as s:
        return await load_gazetteer(s)
