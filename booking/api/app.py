"""The ASGI application: ``create_app(settings)`` and the lifespan that builds its resources.

uvicorn points at the factory (``booking.api.app:create_app``), never at an import-time app.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette.sse import AppStatus
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking import __version__, logs, telemetry
from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.factory import build_orchestrator
from booking.agent.models.select import build_model_client
from booking.agent.tools import ToolRegistry
from booking.api import mcp, openapi, problems
from booking.api.admission import Admission
from booking.api.auth import RateLimiter
from booking.api.problems import problem
from booking.api.routes import (
    agui,
    bookings,
    chat,
    conversations,
    flights,
    health,
    i18n,
    places,
    weather,
)
from booking.api.state import AppState
from booking.db.embedded import database_url
from booking.db.engine import direct_url, libpq_url, make_async_engine, make_sessionmaker
from booking.db.fleet import live_replicas
from booking.domain import bookings as bookings_domain
from booking.domain.api_keys import KeyCache
from booking.domain.booking_rules import booking_policy
from booking.domain.dates import Clock, clock_from
from booking.domain.directory import load_gazetteer
from booking.domain.tool_approvals import ToolApprovals
from booking.settings import Settings, environment
from booking.turns import Metrics, TurnManager
from booking.turns.follower import application_name
from booking.turns.retention import RetentionKeeper

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
DESCRIPTION = """Flight search, weather and bookings for an airline's chat widget.
A turn streams as a Vercel AI SDK UI message stream; see docs/api.md."""


async def sweep_holds(
    sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, every_s: float
) -> None:
    """Expire lapsed holds and give their seats back, for as long as the server runs."""
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                expired = await bookings_domain.expire_holds(session, clock.now())
            if expired:
                log.info("expired %d held bookings", expired)
        except Exception:
            log.exception("expiring holds failed; retrying")
        await asyncio.sleep(every_s)


def server_exiting() -> bool:
    """Whether the ASGI server began to shut down (SIGTERM or Ctrl-C).

    uvicorn runs the lifespan's shutdown only after open connections close, and it no longer
    ends streaming responses itself, so the app has to notice the exit earlier. We read the flag
    the way sse-starlette does: its own ``AppStatus``, or the ``should_exit`` of the uvicorn
    ``Server`` whose bound method is the SIGTERM handler (our own code: no public hook exists).
    """
    if AppStatus.should_exit:
        return True
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


async def watch_for_shutdown(turns: TurnManager, every_s: float = 0.2) -> None:
    """End every follower as soon as shutdown begins (their clients resume elsewhere); the turns
    themselves get the grace period in the lifespan's shutdown."""
    # Polled: the flag is a plain attribute of uvicorn's Server, with nothing to await on.
    while not server_exiting():  # noqa: ASYNC110
        await asyncio.sleep(every_s)
    turns.begin_drain()


def create_app(
    settings: Settings | None = None, *, registry: ToolRegistry | None = None
) -> FastAPI:
    """The app; ``registry`` replaces the tool catalog (tests use slow or failing tools)."""
    settings = settings or Settings()
    # Tracing only with an OTLP endpoint (or a provider a test installed); else nothing at all.
    traced = telemetry.setup(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        engine = make_async_engine(url, settings)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            places = await load_gazetteer(session)
        clock = clock_from(settings)
        model = build_model_client(settings, clock, environment())
        tools = registry or default_registry(timeout_s=settings.tool_timeout_s)
        metrics = Metrics()

        def orchestrator_for(conversation_id: str, tenant: str) -> Any:
            return build_orchestrator(
                settings,
                sessionmaker,
                places,
                clock,
                model,
                conversation_id=conversation_id,
                tenant=tenant,
                registry=tools,
            )

        turns = TurnManager(
            sessionmaker,
            orchestrator_for,
            listen_url=libpq_url(direct_url(url, settings)),
            metrics=metrics,
            max_running=settings.max_running_turns,
            lease_s=settings.turn_lease_s,
            approval_ttl_s=settings.approval_ttl_s,
        )
        turns.writer.configure(
            notify=settings.events_notify,
            unhealthy_after_s=settings.event_writer_unhealthy_s,
            pooler=settings.database_pooler,
            url=libpq_url(url),
            linger_s=settings.event_writer_linger_ms / 1000,
        )
        await turns.start()
        sweeper = asyncio.create_task(
            sweep_holds(sessionmaker, clock, settings.hold_sweep_s), name="holds-sweeper"
        )
        drain_watch = asyncio.create_task(watch_for_shutdown(turns), name="drain-watch")
        retention = asyncio.create_task(
            RetentionKeeper(
                sessionmaker,
                resume_window_s=settings.resume_window_s,
                every_s=settings.retention_every_s,
                metrics=metrics,
            ).run(),
            name="retention",
        )
        limiter = RateLimiter(settings.rate_limit_per_minute)

        async def count_replicas() -> int:
            if settings.rate_limit_scope == "process":
                return 1
            async with sessionmaker() as session:
                return await live_replicas(session, application_name(turns.owner))

        # Counted before the first request, so a new replica never starts with the whole limit.
        limiter.replicas = await count_replicas()
        fleet_watch = asyncio.create_task(
            limiter.track_replicas(
                count_replicas, settings.fleet_refresh_s, metrics.fleet_replicas.set
            ),
            name="fleet-watch",
        )
        app.state.booking = AppState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            places=places,
            clock=clock,
            model=model,
            turns=turns,
            metrics=metrics,
            limiter=limiter,
            key_cache=KeyCache(settings.auth_cache_s),
        )

        def mcp_context(tenant: str, call_id: str | None) -> ToolContext:
            return ToolContext(
                sessionmaker=sessionmaker,
                places=places,
                clock=clock,
                max_days_ahead=settings.max_days_ahead,
                conversation_id=mcp.CONVERSATION,
                tenant=tenant,
                booking_policy=booking_policy(settings),
                call_id=call_id,
            )

        # The MCP server (/mcp): the same tools, context and approvals' rules (booking.api.mcp).
        app.state.mcp = mcp.McpEdge(
            tools,
            mcp_context,
            approvals=ToolApprovals(sessionmaker, settings.approval_ttl_s),
        )
        await app.state.mcp.start()
        try:
            yield
        finally:
            await app.state.mcp.stop()
            retention.cancel()
            await asyncio.gather(retention, return_exceptions=True)
            sweeper.cancel()
            drain_watch.cancel()
            fleet_watch.cancel()
            await asyncio.gather(sweeper, drain_watch, fleet_watch, return_exceptions=True)
            await turns.close(settings.shutdown_grace_s)
            telemetry.shutdown(traced)  # After the turns: their spans are flushed too.
            await model.aclose()
            await engine.dispose()

    app = FastAPI(title="booking", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    problems.install(app)
    openapi.install(app)
    for router in (
        chat.router,
        conversations.router,
        bookings.router,
        flights.router,
        weather.router,
        places.router,
        health.router,
        i18n.router,
        agui.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    mcp.install(app)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        """The web chat page (no build step: one HTML file, its script and style)."""
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Correlation)
    # Outside every other middleware of ours (CORS aside, so browsers can read the answer):
    # past capacity a new turn is refused before auth or the body (booking.api.admission).
    app.add_middleware(Admission, owner=app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "authorization",
                "content-type",
                "last-event-id",
                "x-request-id",
                "idempotency-key",
            ],
            expose_headers=["x-vercel-ai-ui-message-stream", "x-request-id", "retry-after"],
        )
    if telemetry.enabled():
        # Outermost: a server span per request (a client's traceparent continues its trace),
        # the parent of the turn it begins. No span per ASGI message: an SSE stream sends
        # thousands.
        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=telemetry.provider(),
            excluded_urls="/healthz,/readyz,/metrics",
            exclude_spans=["receive", "send"],
        )
    return app


class Correlation:
    """A correlation id per request (``X-Request-ID`` if sent), echoed back and put on every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = sent or uuid.uuid4().hex
        token = logs.correlation_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (b"x-request-id", request_id.encode("latin-1"))
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.correlation_id.reset(token)


class BodyLimit:
    """413 for bodies over the limit, whether or not they declare their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, "body_too_large", f"Request bodies are limited to {self.max_bytes} bytes."
        )
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """An HTTPException, so FastAPI lets it through while reading the body (it wraps others in
    a 400) and the problem handler renders it."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request bodies are limited to {max_bytes} bytes.")
