"""The real app in the test process, reached through an ASGI transport instead of a socket.

:class:`InProcessApp` builds the app with ``create_app`` and runs its lifespan (engine, turn
manager, LISTEN connection) on an event loop of its own in a daemon thread, as a uvicorn server
in a thread would, but without uvicorn: starting and stopping one costs a few milliseconds
instead of a quarter of a second. :meth:`InProcessApp.client` returns a plain synchronous
``httpx2.Client`` whose transport hands each request to the app as one ASGI call on that loop.

Why not the ready-made transports: ``httpx2.ASGITransport`` is async only and buffers the whole
response, so a test could not read an SSE reply part by part while its turn runs (behind a
:class:`~tests.support.tools.Gate`, say); Starlette's ``TestClient`` streams, but only the one
client that entered the lifespan shares its event loop, and these tests talk to one app with
several keys at once.

The transport behaves as uvicorn does where a client can tell: the body is streamed as the app
sends it; ``receive`` answers ``http.disconnect`` once the response is complete or the client
closed it early; an exception before the response started becomes a plain 500 (logged), one after
it cuts the body short. What it cannot show is the wire itself (sockets, HTTP/1.1 framing, a
client vanishing mid-stream, signals): those tests use :mod:`tests.support.server`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Protocol

import httpx2
from fastapi import FastAPI
from starlette.types import Message

from booking.agent.tools import ToolRegistry
from booking.api.app import create_app
from booking.settings import Settings
from booking.turns import TurnManager
from tests.support.server import BackgroundLoop
from tests.support.waits import DEADLINE_S

log = logging.getLogger(__name__)
#: How long closing the app waits for requests still running, as uvicorn's graceful shutdown
#: does with ``timeout_graceful_shutdown`` in :func:`tests.support.server.start_server`.
GRACEFUL_S = 5.0
_END = object()
_client_ports = itertools.count(40000)


class StartApp(Protocol):
    def __call__(self, registry: ToolRegistry | None = None, **overrides: Any) -> InProcessApp: ...


class InProcessApp:
    """One app with its lifespan running; :meth:`close` runs the lifespan's shutdown."""

    base_url = "http://testserver"

    def __init__(self, settings: Settings, registry: ToolRegistry | None = None) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(settings, registry=registry)
        self.loop = BackgroundLoop()
        self.state: dict[str, Any] = {}
        self._requests: set[Future[None]] = set()
        self._lifespan: asyncio.Task[None] | None = None
        # Lifespan messages each way (an asyncio queue binds to the loop that first uses it).
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.closed = False
        try:
            self.loop.run(self._startup())
        except BaseException:
            self.loop.close()
            raise

    @property
    def turns(self) -> TurnManager:
        """The app's turn manager (for waiting on shutdown, never to drive a test)."""
        manager: TurnManager = self.app.state.booking.turns
        return manager

    def client(self, key: str | None = None, **kwargs: Any) -> httpx2.Client:
        """A client for this app; ``key`` is sent as a bearer token."""
        headers = {"authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        timeout = kwargs.pop("timeout", httpx2.Timeout(DEADLINE_S, read=5.0))
        return httpx2.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=InProcessTransport(self),
            **kwargs,
        )

    def close(self) -> None:
        """Let running requests finish (cancel them after :data:`GRACEFUL_S`), then shut down."""
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.run(
                self._shutdown(), timeout=GRACEFUL_S + self.settings.shutdown_grace_s + 10
            )
        finally:
            self.loop.close()

    # The lifespan, spoken as the ASGI protocol (what uvicorn's ``lifespan="on"`` does). ----------

    async def _startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._lifespan = asyncio.create_task(
            self.app(scope, self._to_app.get, self._from_app.put), name="lifespan"
        )
        await self._to_app.put({"type": "lifespan.startup"})
        reply = await self._lifespan_reply()
        if reply["type"] != "lifespan.startup.complete":
            raise AssertionError(f"the app failed to start: {reply.get('message')}")

    async def _shutdown(self) -> None:
        pending = {asyncio.wrap_future(f) for f in self._requests if not f.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=GRACEFUL_S)
            for request in late:
                request.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._to_app.put({"type": "lifespan.shutdown"})
        reply = await self._lifespan_reply()
        if reply["type"] != "lifespan.shutdown.complete":
            raise AssertionError(f"the app failed to shut down: {reply.get('message')}")

    async def _lifespan_reply(self) -> Message:
        """The app's next lifespan message; the app's own exception if it died instead."""
        assert self._lifespan is not None
        reply = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({reply, self._lifespan}, return_when=asyncio.FIRST_COMPLETED)
        if reply.done():
            return reply.result()
        reply.cancel()
        self._lifespan.result()  # raises what the app raised
        raise AssertionError("the app's lifespan returned without answering")

    def submit(self, exchange: _Exchange) -> None:
        """Run one request on the app's loop."""
        if self.closed:
            raise httpx2.ConnectError("the app is closed")
        future = asyncio.run_coroutine_threadsafe(exchange.run(self.app), self.loop.loop)
        self._requests.add(future)
        future.add_done_callback(self._requests.discard)


class _Exchange:
    """One request and its response, between the test's thread and the app's loop."""

    def __init__(self, scope: dict[str, Any], body: list[bytes], loop: asyncio.AbstractEventLoop):
        self.scope = scope
        self.body = body
        self.loop = loop
        self.started: Future[tuple[int, list[tuple[bytes, bytes]]]] = Future()
        self.chunks: queue.Queue[object] = queue.Queue()
        self._finished = asyncio.Event()
        """The response is complete or the client went away: ``receive`` says disconnect."""
        self._disconnected = False
        self._body_sent = False

    async def run(self, app: FastAPI) -> None:
        try:
            await app(self.scope, self._receive, self._send)
        except BaseException as exc:
            if isinstance(exc, Exception):
                log.exception("Exception in ASGI application")
            if not self.started.done():
                self._start(500, [(b"content-type", b"text/plain; charset=utf-8")])
                self.chunks.put(b"Internal Server Error")
                self.chunks.put(_END)
            elif not self._finished.is_set():
                self.chunks.put(exc)  # the body is cut short, as a closed connection would
            if not isinstance(exc, Exception):
                raise
        else:
            if not self.started.done():
                log.error("ASGI callable returned without starting response")
                self._start(500, [(b"content-type", b"text/plain; charset=utf-8")])
                self.chunks.put(b"Internal Server Error")
            self.chunks.put(_END)
        finally:
            self._finished.set()

    def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started.set_result((status, headers))

    async def _receive(self) -> Message:
        if not self._body_sent:
            chunk = self.body.pop(0) if self.body else b""
            self._body_sent = not self.body
            return {"type": "http.request", "body": chunk, "more_body": bool(self.body)}
        await self._finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if self._disconnected:
            return  # uvicorn drops what the app sends to a client that left.
        if message["type"] == "http.response.start":
            self._start(message["status"], list(message.get("headers", [])))
        elif message["type"] == "http.response.body":
            if body := message.get("body", b""):
                self.chunks.put(bytes(body))
            if not message.get("more_body", False):
                self.chunks.put(_END)
                self._finished.set()

    def disconnect(self) -> None:
        """The client closed the response before its end (thread-safe)."""

        def mark() -> None:
            self._disconnected = True
            self._finished.set()

        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(mark)


class _ResponseBody(httpx2.SyncByteStream):
    def __init__(self, exchange: _Exchange, read_timeout: float | None, head: bool) -> None:
        self.exchange = exchange
        self.read_timeout = read_timeout
        self.head = head
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.complete:
            try:
                item = self.exchange.chunks.get(timeout=self.read_timeout)
            except queue.Empty:
                raise httpx2.ReadTimeout("no data from the app within the read timeout") from None
            if item is _END:
                self.complete = True
            elif isinstance(item, BaseException):
                self.complete = True
                raise httpx2.RemoteProtocolError(
                    "the app failed after starting its response (uvicorn would close the "
                    f"connection): {item!r}"
                )
            elif not self.head:
                assert isinstance(item, bytes)
                yield item

    def close(self) -> None:
        if not self.complete:
            self.exchange.disconnect()


class InProcessTransport(httpx2.BaseTransport):
    """Hands each request of a synchronous client to an :class:`InProcessApp`."""

    def __init__(self, target: InProcessApp) -> None:
        self.target = target
        self.client_address = ("127.0.0.1", next(_client_ports))

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        # Sent as the client wrote it: one ASGI message per chunk of a streamed (chunked) body.
        body = [bytes(chunk) for chunk in request.stream]  # type: ignore[union-attr]
        raw_path, _, _ = request.url.raw_path.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": raw_path,
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (request.url.host, request.url.port or 80),
            "client": self.client_address,
            "state": dict(self.target.state),
        }
        exchange = _Exchange(scope, body, self.target.loop.loop)
        self.target.submit(exchange)
        timeouts = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        try:
            status, headers = exchange.started.result(timeout=read_timeout)
        except TimeoutError:
            exchange.disconnect()
            raise httpx2.ReadTimeout("the app sent no response within the read timeout") from None
        return httpx2.Response(
            status,
            headers=headers,
            stream=_ResponseBody(exchange, read_timeout, head=request.method == "HEAD"),
            extensions={"http_version": b"HTTP/1.1"},
        )
