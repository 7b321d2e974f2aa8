"""Liveness, readiness, metrics and the configured models."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from booking.api.deps import CurrentClient, StateDep
from booking.api.problems import problem, problem_responses
from booking.api.schemas import ModelInfo
from booking.db import migrate

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


_READY = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["ready"]}},
}


@router.get(
    "/readyz",
    responses={
        200: {"content": {"application/json": {"schema": _READY}}},
        **problem_responses(503),
    },
)
async def readyz(state: StateDep) -> Response:
    """The database answers, its schema is at the code's migration head, this process's
    event writer stores parts (a process that cannot store them streams nothing) and its LISTEN
    connection is up (without it, stop requests and remote followers do not reach it)."""
    head = migrate.head_revision()
    try:
        async with state.sessionmaker() as session:
            current = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # Any failure to reach the database means not ready.
        return problem(503, "database_unavailable", f"database unreachable: {type(exc).__name__}")
    if current != head:
        return problem(503, "migrations_pending", f"database at {current}, code expects {head}")
    if state.turns.closing:
        return problem(503, "shutting_down", "the server is shutting down")
    if not state.turns.writer.healthy():
        return problem(
            503,
            "event_writer_failing",
            "the event writer has not stored parts for more than "
            f"{state.turns.writer.unhealthy_after_s:g} s",
        )
    if state.turns.follower.down_for() > state.turns.writer.unhealthy_after_s:
        return problem(
            503,
            "listener_disconnected",
            "the LISTEN connection to the database has been down for more than "
            f"{state.turns.writer.unhealthy_after_s:g} s",
        )
    return Response('{"status":"ready"}', media_type="application/json")


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", tags=["models"], responses=problem_responses(401, 429))
async def models(client: CurrentClient, state: StateDep) -> list[ModelInfo]:
    """The configured models, primary first, then its fallbacks."""
    return [
        ModelInfo(
            name=spec.name,
            model=spec.model,
            base_url=spec.base_url,
            primary=spec.name == state.model.name,
        )
        for spec in state.model.chain()
    ]
