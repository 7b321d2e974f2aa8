"""The real app over real HTTP, for the tests where the wire is the point (heartbeats, client
disconnects, several servers sharing a database, SIGTERM, crashes, the browser and the AI SDK).

:func:`start_server` runs uvicorn in a daemon thread on a free 127.0.0.1 port, with the app's
lifespan (engine, turn manager, LISTEN connection), so several servers can share one database in
one test process and each has its own :class:`~booking.turns.TurnManager`, as separate
processes would. :class:`ServerProcess` runs one in a process of its own, for a test to kill.
:class:`BackgroundLoop` runs helpers that need an event loop (the fake provider, API key
creation, an in-process app) in another thread, so tests stay synchronous and a blocking HTTP
read never starves them. Plain request/response tests need no socket:
:mod:`tests.support.in_process`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx2
import uvicorn
from fastapi import FastAPI

from booking.agent.tools import ToolRegistry
from booking.api.app import create_app
from booking.api.server import uvicorn_config
from booking.settings import Settings
from booking.turns import TurnManager
from tests.support.waits import DEADLINE_S

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class StartServer(Protocol):
    def __call__(self, registry: ToolRegistry | None = None, **overrides: Any) -> RunningServer: ...


#: ``spawn(deployed=False, **settings)``: see the ``spawn`` fixture.
SpawnServer = Callable[..., "ServerProcess"]


class BackgroundLoop:
    """An event loop in a daemon thread; :meth:`run` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="bg-loop", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        """Cancel whatever still runs on the loop, as ``asyncio.run`` does at its end (the app
        leaves tasks behind, such as sse-starlette's shutdown watcher), then stop and close it."""
        if self._thread.is_alive():
            self.run(_cancel_other_tasks(), timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class RunningServer:
    """One app served by uvicorn in a thread."""

    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    port: int
    settings: Settings

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def turns(self) -> TurnManager:
        """The server's turn manager (for waiting on shutdown, never to drive a test)."""
        manager: TurnManager = self.app.state.booking.turns
        return manager

    def client(self, key: str | None = None, **kwargs: Any) -> httpx2.Client:
        """A client for this server; ``key`` is sent as a bearer token."""
        headers = {"authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        timeout = kwargs.pop("timeout", httpx2.Timeout(DEADLINE_S, read=5.0))
        return httpx2.Client(base_url=self.base_url, headers=headers, timeout=timeout, **kwargs)

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful stop: uvicorn drains connections, then the lifespan closes the turns."""
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"server on port {self.port} did not stop within {timeout} s")

    @property
    def stopped(self) -> bool:
        return not self.thread.is_alive()


def start_server(settings: Settings, registry: ToolRegistry | None = None) -> RunningServer:
    """Build the app with ``create_app`` and serve it; return once it accepts requests."""
    app = create_app(settings, registry=registry)
    # Bound here and handed to uvicorn, so no other process can take the port in between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The edge limits of `booking serve` (header limits, timeouts, connection cap), so the wire
    # tests see the protocol travellers get.
    config = uvicorn_config(
        app,
        settings,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        # A test that forgets to close a stream must not hang the run.
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise AssertionError("the server exited during startup (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise AssertionError("the server did not start in time")
        time.sleep(0.01)
    return RunningServer(app, server, thread, port, settings)


class ServerProcess:
    """The app in a separate uvicorn process (``--factory``, settings from the environment), so a
    test can kill it with SIGKILL, as a crash would: no lifespan shutdown, leases left to expire.

    ``deployed``: run ``booking serve`` instead, as the image does (the app's JSON logging at
    INFO with uvicorn's access log, where the bare uvicorn command logs warnings only)."""

    def __init__(
        self,
        settings: dict[str, str],
        log_path: Path,
        *,
        deployed: bool = False,
        ready_path: str = "/readyz",
    ) -> None:
        self.ready_path = ready_path
        """What answers 200 once the process serves (``/healthz`` for one meant to be unready)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
        env.update(settings)
        self.port = free_port()
        self.log_path = log_path
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        if deployed:
            command = [sys.executable, "-m", "booking", "serve", "--no-migrate", *address]
        else:
            command = [
                sys.executable, "-m", "uvicorn", "booking.api.app:create_app", "--factory",
                *address, "--log-level", "warning",
            ]  # fmt: skip
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = None) -> httpx2.Client:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx2.Client(
            base_url=self.base_url, headers=headers, timeout=httpx2.Timeout(DEADLINE_S, read=5.0)
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        with httpx2.Client(base_url=self.base_url, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"server process exited: {self.log_path.read_text()}")
                try:
                    if client.get(self.ready_path).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"server process not ready: {self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL: nothing in the process gets to run again."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
