"""Fixtures for the HTTP API: apps in process, real servers, API keys, a fake model provider.

Every app is the real one (``create_app`` with its lifespan) on the run's migrated, seeded
database. Plain request/response tests reach it in process (:mod:`tests.support.in_process`):
``server`` is one app with keys on, shared by every test that needs no other settings, and
``start_app(**settings)`` makes one of a test's own. Tests about the wire (heartbeats,
disconnects, several servers, restarts, the browser) ``start(**settings)`` uvicorn on a socket,
or ``spawn`` a process to kill. The database is shared by every test, so each test uses fresh
conversation ids and, where it lists conversations, a tenant of its own.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from booking.agent.tools import ToolRegistry
from booking.db.engine import make_async_engine, make_sessionmaker
from booking.domain.api_keys import create_key
from booking.settings import Settings
from tests.conftest import TEST_NOW
from tests.support.api import MakeKey
from tests.support.approvals import (
    ApprovalStatus,
    Bookings,
    read_approval_status,
    read_bookings,
)
from tests.support.fake_provider import FakeProvider
from tests.support.in_process import InProcessApp, StartApp
from tests.support.server import (
    BackgroundLoop,
    RunningServer,
    ServerProcess,
    SpawnServer,
    StartServer,
    start_server,
)


@pytest.fixture(scope="session")
def bg_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def base_settings(seeded_url: str) -> dict[str, Any]:
    """What every test server shares; tests override single fields."""
    return {
        "database_url": seeded_url,
        "now": TEST_NOW,
        "environment": "test",
        "auth": "on",
        "heartbeat_s": 0.3,
        "db_pool_size": 4,
        "shutdown_grace_s": 5.0,
        "llm_max_retries": 0,
        "llm_first_chunk_timeout_s": 5.0,
        "llm_stall_timeout_s": 5.0,
        # Tests poll; only the rate-limit test wants the limit, and it sets its own.
        "rate_limit_per_minute": 100_000,
        # Test apps share one database without being one fleet: each keeps its own limit.
        "rate_limit_scope": "process",
    }


@pytest.fixture(scope="session")
def make_key(bg_loop: BackgroundLoop, seeded_url: str) -> Iterator[MakeKey]:
    """``make_key()`` stores a new API key for a tenant of its own and returns the key."""
    settings = Settings(database_url=seeded_url, environment="test", db_pool_size=1)
    engine = bg_loop.run(_make_engine(seeded_url, settings))
    sessionmaker = make_sessionmaker(engine)

    async def create() -> str:
        async with sessionmaker() as session, session.begin():
            tenant = f"t-{uuid.uuid4().hex[:12]}"
            _, key = await create_key(session, name=f"e2e {tenant}", tenant=tenant)
        return key

    yield lambda: bg_loop.run(create())
    bg_loop.run(engine.dispose())


async def _make_engine(url: str, settings: Settings) -> Any:
    return make_async_engine(url, settings)


@pytest.fixture
def start(base_settings: dict[str, Any]) -> Iterator[StartServer]:
    """``start(registry=None, **settings)`` serves a new app; all are stopped after the test."""
    servers: list[RunningServer] = []

    def start_one(registry: ToolRegistry | None = None, **overrides: Any) -> RunningServer:
        settings = Settings(**{**base_settings, **overrides})
        server = start_server(settings, registry)
        servers.append(server)
        return server

    yield start_one
    # All at once: each takes uvicorn's shutdown tick and its lifespan's shutdown.
    for server in servers:
        server.server.should_exit = True
    for server in reversed(servers):
        if not server.stopped:
            server.stop()


@pytest.fixture
def start_app(base_settings: dict[str, Any]) -> Iterator[StartApp]:
    """``start_app(registry=None, **settings)`` runs a new app in process; all are closed after
    the test."""
    apps: list[InProcessApp] = []

    def start_one(registry: ToolRegistry | None = None, **overrides: Any) -> InProcessApp:
        app = InProcessApp(Settings(**{**base_settings, **overrides}), registry)
        apps.append(app)
        return app

    yield start_one
    for app in reversed(apps):
        app.close()


@pytest.fixture
def spawn(seeded_url: str, tmp_path: Path) -> Iterator[SpawnServer]:
    """``spawn(**settings)`` runs the app in a process of its own (offline model, keys on),
    so a test can kill it; every process is killed after the test. ``deployed=True`` runs it
    with ``booking serve`` (see :class:`ServerProcess`)."""
    processes: list[ServerProcess] = []

    def spawn_one(
        *, deployed: bool = False, ready_path: str = "/readyz", **overrides: Any
    ) -> ServerProcess:
        settings = {
            "BOOKING_DATABASE_URL": seeded_url,
            "BOOKING_NOW": TEST_NOW.isoformat(),
            "BOOKING_ENVIRONMENT": "test",
            "BOOKING_AUTH": "on",
            "BOOKING_HEARTBEAT_S": "0.3",
            "BOOKING_DB_POOL_SIZE": "2",
            "BOOKING_RATE_LIMIT_PER_MINUTE": "100000",
        }
        settings.update({f"BOOKING_{k.upper()}": str(v) for k, v in overrides.items()})
        log_path = tmp_path / f"server-{len(processes)}.log"
        process = ServerProcess(settings, log_path, deployed=deployed, ready_path=ready_path)
        processes.append(process)
        return process

    yield spawn_one
    for process in processes:
        process.kill()


@pytest.fixture(scope="session")
def server(base_settings: dict[str, Any]) -> Iterator[InProcessApp]:
    """The app in process with API keys on and the built-in offline model, shared by every test
    that needs no other settings (none of them may change it)."""
    app = InProcessApp(Settings(**base_settings))
    yield app
    app.close()


@pytest.fixture(scope="session")
def live_server(base_settings: dict[str, Any]) -> Iterator[RunningServer]:
    """A server on a socket with API keys on and the built-in offline model, shared by the tests
    that need the wire but no other settings (none of them may change it)."""
    server = start_server(Settings(**base_settings))
    yield server
    server.stop()


@pytest.fixture
def key(make_key: MakeKey) -> str:
    return make_key()


@pytest.fixture
def provider(bg_loop: BackgroundLoop) -> Iterator[FakeProvider]:
    fake = bg_loop.run(FakeProvider().start())
    yield fake
    bg_loop.run(fake.stop())


@pytest.fixture
def llm(provider: FakeProvider) -> dict[str, Any]:
    """Settings that make ``provider`` the model."""
    return {"llm_base_url": provider.base_url, "llm_model": "m", "llm_api_key": "k"}


@pytest.fixture
def bookings_of(seeded_url: str) -> Bookings:
    """The bookings a conversation made, read from the database."""
    return functools.partial(read_bookings, seeded_url)


@pytest.fixture
def approval_status(seeded_url: str) -> ApprovalStatus:
    """An approval's stored status (``None`` when there is no such approval)."""
    return functools.partial(read_approval_status, seeded_url)
