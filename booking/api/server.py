"""The HTTP server's edge: uvicorn with limits on what a client may send before any key is checked.

Every way we serve the app under uvicorn (``booking serve``, its workers, the demo, the image)
goes through :func:`uvicorn_config` and :func:`run`, so they all get the same limits:

- request line plus headers over ``BOOKING_HTTP_MAX_HEADER_BYTES`` (16 KiB): 431
  ``headers_too_large``, then the connection closes;
- more than ``BOOKING_HTTP_MAX_HEADERS`` (100) header fields: 431 ``too_many_headers``, then close;
- a request's headers and body not in within ``BOOKING_HTTP_REQUEST_TIMEOUT_S`` (10 s) of the
  connection opening or of the request's first byte: 408 ``request_timeout``, then close (a
  connection that sent nothing is closed without a word);
- idle keep-alive connections close after ``BOOKING_HTTP_KEEPALIVE_S`` (5 s; uvicorn's own);
- past ``BOOKING_HTTP_MAX_CONNECTIONS`` (1000) open connections per process: 503 ``server_busy``
  with Retry-After, then close;
- ``BOOKING_HTTP_BACKLOG`` (2048): the kernel's accept queue (uvicorn's own).

Two more things happen here because this is where a request is first seen: past
``BOOKING_MAX_RUNNING_TURNS`` a request that would start a turn is answered ``503`` as soon as its
headers are parsed (``booking.api.admission``), and each request's scope carries the
``booking.disconnect`` extension, through which the SSE response learns that its client left
(``booking.api.sse``).

Why uvicorn and a subclass rather than another server: uvicorn 0.55 has the keep-alive timeout
and the backlog, and we keep its SIGTERM drain (``booking.api.app.server_exiting`` reads its
``Server.should_exit``). Its default protocol (``httptools``, picked by ``http="auto"``) has no
limit on a header's size: llhttp hands a field over in pieces and httptools joins them with
``bytes +=``, so an endless header grows without bound (136 → 556 MiB with four connections), has no
count of fields, and no timer at all until a first response (a connection that sends half a
request is held forever). h11 (``http="h11"``) bounds the buffer (``h11_max_incomplete_event_size``,
answered with a plain 400) but has no field count or read timeout either, and costs more CPU per
streamed part (docs/operations.md has the figures). Hypercorn has a read timeout but no field
count or connection cap; Granian has most limits, but is a Rust server with its own worker and
signal model, a larger move than the ~150 lines below. So: :class:`EdgeProtocol`, the smallest
subclass of uvicorn's httptools protocol that adds what uvicorn lacks, passed as ``http=``.

The connection cap is ours too, not uvicorn's ``limit_concurrency``: that one answers a plain-text
503 without Retry-After, counts running tasks as well, and refuses ``/healthz`` too, so a full
replica would fail its liveness probe and be restarted with every stream on it. Ours counts open
connections (an SSE stream is one, and is what costs memory), answers a problem document with
Retry-After, and always answers ``/healthz`` and ``/metrics``; ``/readyz`` is refused like any
other path, so a load balancer sends new clients elsewhere while a replica is full.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.responses import Response
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from booking.api.admission import ADMISSION_STATE, retry_after, starts_turn
from booking.api.problems import problem
from booking.api.sse import DISCONNECT_EXTENSION
from booking.settings import Settings

log = logging.getLogger(__name__)

#: Paths answered even when the process is at its connection cap: the liveness probe (a full
#: replica is alive; restarting it would drop every stream on it) and the metrics that show it.
ALWAYS_ANSWERED = frozenset({b"/healthz", b"/metrics"})
#: After refusing a request, the rest of what the client sends is read and dropped for this long
#: and up to this many bytes, so a client that sends a whole oversized request before reading
#: reads our answer instead of a connection reset (nginx's ``lingering_close``); past either, the
#: connection is reset. The byte budget keeps an endless sender from costing us a read at line
#: rate for the whole time (with 2 s alone, four such senders cost a core: /readyz took 0.5 s).
LINGER_S = 2.0
LINGER_BYTES = 1024 * 1024
#: Seconds a client is told to wait when the process is at its connection cap.
BUSY_RETRY_AFTER_S = 1


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """What one connection may send before the app sees a request."""

    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    request_timeout_s: float = 10.0
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_header_bytes=settings.http_max_header_bytes,
            max_headers=settings.http_max_headers,
            request_timeout_s=settings.http_request_timeout_s,
            max_connections=settings.http_max_connections,
        )


class EdgeConfig(uvicorn.Config):
    """uvicorn's config plus our limits (a module-level class: workers unpickle it)."""

    def __init__(self, app: Any, *, edge: EdgeLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.edge = edge


class _Refused(Exception):
    """Raised in a parser callback to stop llhttp; the answer is in ``EdgeProtocol._refusal``."""


class _Throttle:
    """Log a refusal at most once per ``every_s`` per kind, with how many were not logged: an
    attack must not become a flood of log lines."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self.every_s) < self.every_s:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return
        dropped = self._dropped.pop(kind, 0)
        self._last[kind] = now
        if dropped:
            message, args = message + " (and %d more since the last such line)", (*args, dropped)
        log.warning(message, *args)


_throttle = _Throttle()
_env_limits: EdgeLimits | None = None


def _limits_of(config: uvicorn.Config) -> EdgeLimits:
    """The config's limits; under a plain ``uvicorn --http booking.api.server:EdgeProtocol`` the
    environment's settings (read once per process)."""
    global _env_limits
    edge = getattr(config, "edge", None)
    if isinstance(edge, EdgeLimits):
        return edge
    if _env_limits is None:
        _env_limits = EdgeLimits.from_settings(Settings())
    return _env_limits


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size and count limit, a request-read timeout,
    and a connection cap (see the module docstring).

    A connection is in one of three phases: reading a request's headers (``_reading`` is
    ``"headers"``), reading its body (``"body"``), or neither (``None``: the app is answering,
    or the connection idles under uvicorn's keep-alive timer). The read timer runs whenever a
    request is being read: from the connection's opening, and from the first byte of each later
    request, until the request's last byte.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: Any = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = _limits_of(config)
        self.limit_concurrency = None  # ours replaces uvicorn's (on_headers_complete)
        self._app = self.app
        self._reading: str | None = "headers"
        self._header_bytes = 0  # received while reading headers (before llhttp joins them)
        self._request_bytes = 0  # of the request being read; 0: the client sent nothing yet
        self._read_timer: Any = None
        self._linger_timer: Any = None
        self._refusal: bytes | None = None
        self._refused = False
        self._lingered = 0
        self._on_lost: tuple[RequestResponseCycle, Callable[[], None]] | None = None

    # Connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_read_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().connection_lost(exc)
        watched, self._on_lost = self._on_lost, None
        if watched is not None and not watched[0].response_complete:
            watched[1]()

    def on_response_complete(self) -> None:
        self._on_lost = None
        super().on_response_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:  # lingering after a refusal: read and drop, within the budget
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self.transport.abort()
            return
        if self._reading is None:
            self._reading = "headers"  # the first byte of the next request
        self._arm_read_timer()
        self._request_bytes += len(data)
        if self._reading == "headers":
            self._header_bytes += len(data)
        super().data_received(data)
        # Still reading headers after all of this chunk: every byte counted is a header byte.
        if (
            self._reading == "headers"
            and self._header_bytes > self.limits.max_header_bytes
            and not self._refused
            and not self.transport.is_closing()
        ):
            self._refuse_headers(
                "headers_too_large",
                f"The request line and headers exceed {self.limits.max_header_bytes} bytes.",
            )

    # Parser callbacks ---------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.limits.max_headers:
            self._stop_parser(
                "too_many_headers",
                f"A request may carry at most {self.limits.max_headers} header fields.",
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading = "body"
        self._header_bytes = 0
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._stop_parser(
                "headers_too_large",
                f"The request line and headers exceed {self.limits.max_header_bytes} bytes.",
            )
        path = self.url.partition(b"?")[0]
        self._admit(path)
        if len(self.connections) > self.limits.max_connections and path not in ALWAYS_ANSWERED:
            _throttle.warn(
                "busy", "at %d open connections: answering 503", self.limits.max_connections
            )
            self.app = _busy()  # for this request only: uvicorn reads self.app right here
        try:
            super().on_headers_complete()
        finally:
            self.app = self._app
        if self.cycle is not None and self.cycle.scope is self.scope:
            # The SSE response learns of a lost connection from us (booking.api.sse), instead
            # of keeping a task per stream waiting on ``receive`` for it.
            self.scope["extensions"] = {
                DISCONNECT_EXTENSION: {"watch": functools.partial(self._notify_on_lost, self.cycle)}
            }

    def on_message_complete(self) -> None:
        self._reading = None
        self._request_bytes = 0
        self._disarm_read_timer()
        super().on_message_complete()

    def _notify_on_lost(self, cycle: RequestResponseCycle, callback: Callable[[], None]) -> None:
        """The :data:`~booking.api.sse.DISCONNECT_EXTENSION`: call ``callback`` if the
        connection is lost before ``cycle``'s response is complete (one response at a time
        streams on a connection; pipelined requests wait for it)."""
        self._on_lost = (cycle, callback)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to any parser error, ours included: ours when we stopped the parser."""
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        super().send_400_response(msg)

    # Limits -------------------------------------------------------------------------------------

    def _admit(self, path: bytes) -> None:
        """Past capacity, refuse a request that would start a turn right here, before a task is
        made for it (``booking.api.admission``): the answer does not queue behind the work of
        the streams already admitted. The body, if any, is read and dropped (``_refuse``)."""
        refusal = self.app_state.get(ADMISSION_STATE)
        if refusal is None or not starts_turn(
            self.parser.get_method().decode("latin-1"), path.decode("latin-1")
        ):
            return
        refused = refusal()
        if refused is not None:
            self._refusal = self._problem(
                refused.status, refused.code, refused.message, extra=retry_after(refused)
            )
            raise _Refused(refused.code)

    def _stop_parser(self, code: str, detail: str) -> None:
        self._refusal = self._problem(431, code, detail)
        _throttle.warn(code, "%s from %s: answering 431", code, self._peer())
        raise _Refused(code)

    def _refuse_headers(self, code: str, detail: str) -> None:
        _throttle.warn(code, "%s from %s: answering 431", code, self._peer())
        self._refuse(self._problem(431, code, detail))

    def _refuse(self, answer: bytes) -> None:
        """Answer, then stop reading requests: half-close our side and drop what still comes for
        :data:`LINGER_S` (so the client reads the answer, not a reset), then close."""
        self._refused = True
        self._disarm_read_timer()
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger_timer = self.loop.call_later(LINGER_S, self.transport.abort)
        else:
            self.transport.close()

    def _arm_read_timer(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(
                self.limits.request_timeout_s, self._read_timed_out
            )

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._request_bytes == 0:
            self.transport.close()  # opened and never used: nothing to answer
            return
        _throttle.warn("timeout", "request from %s not read in time: 408", self._peer())
        cycle = self.cycle if self._reading == "body" else None
        if cycle is not None and cycle.response_started:
            self.transport.close()  # the app already answers; nothing else may be written
            return
        if cycle is not None:
            # The app waits for the body: it gets http.disconnect, and writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self._refused = True
        self.transport.write(
            self._problem(
                408,
                "request_timeout",
                f"The request did not arrive within {self.limits.request_timeout_s:g} s.",
            )
        )
        self.transport.close()

    def _problem(
        self, status: int, code: str, detail: str, extra: dict[str, str] | None = None
    ) -> bytes:
        """A problem document as raw HTTP/1.1 bytes, for answers written before the app runs."""
        response = problem(status, code, detail, headers=extra)
        headers = [
            *self.server_state.default_headers,
            *response.raw_headers,
            (b"connection", b"close"),
        ]
        lines = [STATUS_LINE[status], *(name + b": " + value + b"\r\n" for name, value in headers)]
        return b"".join([*lines, b"\r\n", response.body])

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "?"


def _busy() -> Response:
    return problem(
        503,
        "server_busy",
        "This server has too many open connections; retry in a moment.",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S), "Connection": "close"},
    )


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> EdgeConfig:
    """uvicorn's config for our app with the edge limits from ``settings``; ``options`` are
    uvicorn's own (host, port, workers, factory, log_config, ...)."""
    return EdgeConfig(
        app,
        edge=EdgeLimits.from_settings(settings),
        http=EdgeProtocol,
        ws="none",  # no WebSocket routes: an upgrade is a plain request
        timeout_keep_alive=settings.http_keepalive_s,
        backlog=settings.http_backlog,
        limit_concurrency=None,  # EdgeProtocol's cap instead (module docstring)
        **options,
    )


def run(config: EdgeConfig) -> None:
    """Serve until SIGTERM or Ctrl-C, as ``uvicorn.run`` does with a config of ours."""
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
