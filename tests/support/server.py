"""The real app over real HTTP, for end-to-end tests.

:func:`start_server` runs uvicorn in a daemon thread on a free 127.0.0.1 port, with the app's
lifespan (engine, turn manager, LISTEN connection), so several servers can share one database in
one test process and each has its own :class:`~booking.turns.TurnManager`, as separate
processes would. :class:`BackgroundLoop` runs helpers that need an event loop (the fake provider,
API key creation) in another thread, so tests stay synchronous and a blocking HTTP read never
starves them. :func:`read_sse` parses a response body into records that keep ids and comments
(heartbeats), which ``useChat`` throws away but these tests check.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import uvicorn
from fastapi import FastAPI

from booking.agent.context import ToolContext
from booking.agent.tools import ToolRegistry
from booking.api.app import create_app
from booking.turns import TurnManager
from booking.settings import Settings
from tests.support.fake_provider import sse

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
#: Longest wait for anything a test expects to happen "soon".
DEADLINE_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


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
    config = uvicorn.Config(
        app,
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

    def __init__(self, settings: dict[str, str], log_path: Path, *, deployed: bool = False) -> None:
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
                    if client.get("/readyz").status_code == 200:
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


# Reading SSE ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSERecord:
    """One SSE event (``data`` with its ``id``) or one comment line (``: ping``)."""

    id: str | None = None
    data: str | None = None
    comment: str | None = None
    at: float = 0.0
    """``time.monotonic()`` when the record was complete."""

    @property
    def is_done(self) -> bool:
        return self.data == "[DONE]"

    @property
    def part(self) -> dict[str, Any]:
        """The UI message stream part (JSON data)."""
        assert self.data is not None, self
        assert not self.is_done, self
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def type(self) -> str | None:
        if self.data is None or self.is_done:
            return None
        kind: str = self.part["type"]
        return kind

    @property
    def seq(self) -> int:
        assert self.id is not None, self
        assert self.id.isdigit(), self
        return int(self.id)


def read_sse(lines: Iterator[str]) -> Iterator[SSERecord]:
    """Records in arrival order; a comment is its own record, an event ends at a blank line."""
    event_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or event_id is not None:
                yield SSERecord(
                    id=event_id,
                    data="\n".join(data) if data else None,
                    at=time.monotonic(),
                )
            event_id, data = None, []
        elif line.startswith(":"):
            yield SSERecord(comment=line[1:].strip(), at=time.monotonic())
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
    if data or event_id is not None:
        yield SSERecord(id=event_id, data="\n".join(data) if data else None, at=time.monotonic())


class Stream:
    """An open SSE response read incrementally, with a deadline on every wait."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.records: list[SSERecord] = []
        self._iter = read_sse(response.iter_lines())

    @property
    def events(self) -> list[SSERecord]:
        """Data records (parts and ``[DONE]``), without comments."""
        return [r for r in self.records if r.data is not None]

    @property
    def parts(self) -> list[SSERecord]:
        return [r for r in self.records if r.data is not None and not r.is_done]

    @property
    def done(self) -> bool:
        return bool(self.records) and self.records[-1].is_done

    def read_until(
        self, predicate: Callable[[SSERecord], bool], timeout: float = DEADLINE_S
    ) -> SSERecord:
        """Read records until one matches; fail if the stream ends or the deadline passes.

        Heartbeats arrive every ``heartbeat_s``, so the deadline is checked often even when
        the turn is quiet.
        """
        deadline = time.monotonic() + timeout
        for record in self._iter:
            self.records.append(record)
            if predicate(record):
                return record
            if time.monotonic() > deadline:
                break
        raise AssertionError(
            f"no matching record within {timeout} s; got {[r.data or r.comment for r in self.records]}"
        )

    def read_for(self, predicate: Callable[[SSERecord], bool], timeout: float) -> bool:
        """Read until a record matches (True) or ``timeout`` passes (False); never fails."""
        deadline = time.monotonic() + timeout
        for record in self._iter:
            self.records.append(record)
            if predicate(record):
                return True
            if time.monotonic() > deadline:
                return False
        return False

    def read_type(self, kind: str, timeout: float = DEADLINE_S) -> SSERecord:
        return self.read_until(lambda r: r.type == kind, timeout)

    def read_to_end(self, timeout: float = DEADLINE_S) -> list[SSERecord]:
        """Everything up to ``[DONE]``; the body must end right after it."""
        self.read_until(lambda r: r.is_done, timeout)
        rest = list(self._iter)
        assert not [r for r in rest if r.data is not None], f"events after [DONE]: {rest}"
        self.records += rest
        return self.events


@dataclass
class Gate:
    """Holds a tool until the test opens it; records starts and cancellations.

    Thread-safe: the tool runs on a server's loop, the test opens the gate from its own thread.
    """

    opened: threading.Event
    started: threading.Event
    cancelled: threading.Event

    @classmethod
    def new(cls) -> Gate:
        return cls(threading.Event(), threading.Event(), threading.Event())

    def open(self) -> None:
        self.opened.set()

    def wait_started(self, timeout: float = DEADLINE_S) -> None:
        assert self.started.wait(timeout), "the gated tool never started"

    async def wait(self, limit_s: float) -> None:
        """Called inside the tool: wait (cancellably) for the test to open the gate."""
        self.started.set()
        deadline = time.monotonic() + limit_s
        try:
            while not self.opened.is_set():
                if time.monotonic() > deadline:
                    raise AssertionError("the gate was never opened")
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def gated_registry(gate: Gate, *, limit_s: float = 15.0) -> ToolRegistry:
    """A catalog with one tool, ``hold``, that returns only once ``gate`` is opened."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=limit_s + 5)
    async def hold(ctx: ToolContext, label: str = "x") -> dict[str, Any]:
        """Waits for the test to let it finish.

        Args:
            label: Echoed back.
        """
        await gate.wait(limit_s)
        return {"label": label, "held": True}

    return registry


def slow_registry(seconds: float) -> ToolRegistry:
    """A catalog with one tool, ``slow_lookup``, that sleeps ``seconds``."""
    registry = ToolRegistry()

    @registry.tool(timeout_s=seconds + 10)
    async def slow_lookup(ctx: ToolContext, what: str = "x") -> dict[str, Any]:
        """Looks something up, slowly.

        Args:
            what: What to look up.
        """
        await asyncio.sleep(seconds)
        return {"what": what, "found": True}

    return registry


def call_chunks(
    call_id: str, name: str, arguments: dict[str, Any], *, text: str = ""
) -> list[bytes]:
    """A provider response streaming optional text, then one tool call (arguments in two halves)."""
    raw = json.dumps(arguments, ensure_ascii=False)
    chunks: list[dict[str, Any] | str] = []
    if text:
        chunks.append({"choices": [{"index": 0, "delta": {"content": text}}]})
    chunks.append(
        {"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        ]}}]}
    )  # fmt: skip
    for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
        chunks.append(
            {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": piece}}
            ]}}]}
        )  # fmt: skip
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}})
    chunks.append("[DONE]")
    return sse(*chunks)


def wait_for(
    condition: Callable[[], T | None], timeout: float = DEADLINE_S, interval: float = 0.05
) -> T:
    """Poll until ``condition()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# Requests and assertions shared by the e2e tests -------------------------------------------------


def new_id() -> str:
    """A conversation id no other test (or run) uses."""
    return f"e2e-{uuid.uuid4().hex}"


def chat_body(conversation_id: str, text: str, message_id: str | None = None) -> dict[str, Any]:
    """The body ``useChat``'s ``DefaultChatTransport`` posts for a new user message."""
    return {
        "id": conversation_id,
        "messages": [
            {
                "id": message_id or f"u-{uuid.uuid4().hex[:8]}",
                "role": "user",
                "parts": [{"type": "text", "text": text}],
            }
        ],
        "trigger": "submit-message",
    }


def assert_problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with our stable ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    assert body["type"].endswith(f"/{code}")
    return body


def conversation(client: httpx2.Client, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_idle(
    client: httpx2.Client, conversation_id: str, timeout: float = DEADLINE_S
) -> dict[str, Any]:
    """Poll the conversation until no turn runs in it; return it."""

    def idle() -> dict[str, Any] | None:
        body = conversation(client, conversation_id)
        return body if body["running_turn_id"] is None else None

    return wait_for(idle, timeout)


def replay(
    client: httpx2.Client,
    conversation_id: str,
    *,
    after: int | None = 0,
    last_event_id: int | None = None,
) -> list[SSERecord]:
    """Every event of ``/events`` after a cursor, up to and including ``[DONE]``."""
    params = {"after": after} if after is not None else {}
    headers = {"last-event-id": str(last_event_id)} if last_event_id is not None else {}
    with client.stream(
        "GET", f"/v1/conversations/{conversation_id}/events", params=params, headers=headers
    ) as response:
        assert response.status_code == 200, response.read()
        return Stream(response).read_to_end()


def wire(records: list[SSERecord]) -> list[tuple[str | None, Any]]:
    """Events as compared across streams: (id, parsed part or ``"[DONE]"``).

    Parsed, because a replay reads parts back from JSONB, which keeps values, not key order.
    """
    return [(r.id, r.data if r.is_done else r.part) for r in records if r.data is not None]


def assert_contiguous(records: list[SSERecord]) -> None:
    """Every part has a numeric id, one more than the previous; ``[DONE]`` is last, without id."""
    parts = [r for r in records if r.data is not None]
    assert parts, "no events"
    assert parts[-1].is_done, parts[-1]
    assert parts[-1].id is None, parts[-1]
    seqs = [r.seq for r in parts[:-1]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
