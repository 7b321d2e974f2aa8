"""Typed settings read from the environment (prefix ``BOOKING_``) and an optional ``.env`` file.

No other module reads ``os.environ``: build :class:`Settings` once at the edge (CLI, app factory,
seed) and pass it down.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Local time zone of the service: "today", "mai", "next Friday" are all read here.
SERVICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def normalize_database_url(url: str) -> str:
    """Point any PostgreSQL URL at the psycopg 3 driver, the only driver we use."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql:// (PostgreSQL is the only database)")


class Settings(BaseSettings):
    """Service configuration. Every field can be set as ``BOOKING_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="BOOKING_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"
    """Deployment environment; production refuses unsafe defaults."""

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BOOKING_DATABASE_URL", "DATABASE_URL")
    )
    """PostgreSQL URL. When unset, an embedded PostgreSQL is started under ``data_dir``."""

    data_dir: Path = Path(".booking")
    """Folder for local state; the embedded PostgreSQL lives in ``data_dir / "pg"``."""

    now: datetime | None = None
    """Fixes "now" (ISO date-time) for demos and tests; naive values are read in Asia/Ho_Chi_Minh."""

    max_days_ahead: int = Field(default=365, ge=1, le=730)
    """How far ahead a search may ask; later dates are refused as beyond the horizon."""

    db_pool_size: int = Field(default=10, ge=1, le=200)
    """Connections kept open per process."""

    db_echo: bool = False
    """Log every SQL statement (development only)."""

    database_pooler: Literal["none", "transaction"] = "none"
    """``transaction`` when ``database_url`` goes through PgBouncer (or any pooler) in transaction
    mode: no server-side prepared statements and no session state on pooled connections; the
    LISTEN connection goes to ``database_direct_url``."""
    database_direct_url: str | None = Field(default=None, validate_default=True)
    """PostgreSQL URL that bypasses the pooler, for the one LISTEN connection per process (LISTEN
    does not work through a transaction pooler) and migrations. Defaults to ``database_url``;
    required with ``database_pooler=transaction``."""

    llm_base_url: str | None = None
    """An OpenAI-compatible endpoint (OpenAI, a relay, vLLM, Ollama, llama.cpp, LiteLLM)."""

    llm_api_key: SecretStr | None = None
    """Key for ``llm_base_url``; local servers usually accept any value."""

    llm_model: str | None = None
    """Model id at ``llm_base_url``. With no model configured, the built-in offline model answers."""

    llm_config: Path | None = None
    """TOML file of several named models with keys, prices and fallbacks (see README)."""

    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_first_chunk_timeout_s: float = Field(default=10.0, gt=0)
    """Longest wait from sending a request to its first chunk."""
    llm_stall_timeout_s: float = Field(default=15.0, gt=0)
    """Longest silence between two chunks once a stream has started."""
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    """Retries per model before its first chunk, before falling back to the next model."""
    llm_retry_max_wait_s: float = Field(default=8.0, ge=0)
    llm_context_tokens: int = Field(default=32_000, ge=1_000, le=10_000_000)
    """Largest prompt (estimated tokens: system prompt, tool schemas, history) sent to a model
    from ``BOOKING_LLM_MODEL``, or to a TOML model without ``context_tokens``; older turns are
    left out past it (``docs/agent.md``, "The context window")."""

    max_model_calls: int = Field(default=6, ge=1, le=50)
    """Model calls allowed in one turn (model -> tools -> model ...)."""
    max_tool_errors: int = Field(default=2, ge=0, le=10)
    """Invalid tool calls the model may correct in one turn before the turn fails."""
    tool_timeout_s: float = Field(default=10.0, gt=0)

    auth: Literal["on", "off"] = "on"
    """``off`` disables API keys, for local development and demos (refused on a public address)."""
    auth_cache_s: float = Field(default=5.0, ge=0, le=300)
    """How long a process remembers an API key it accepted (at most 10,000 keys), so requests
    with it skip the database; a revoked key is refused by every replica within this long. 0:
    every request asks the database (revocation at once)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Limits at the HTTP edge, before any key is checked (booking.api.server; docs/operations.md).
    http_max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    """Request line plus header fields, in bytes; past it 431 and the connection is closed."""
    http_max_headers: int = Field(default=100, ge=10, le=1000)
    """Header fields in one request; past it 431 and the connection is closed."""
    http_request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """A request's headers and body must arrive within this long (from the connection opening
    or the request's first byte), else 408 and the connection is closed."""
    http_keepalive_s: int = Field(default=5, ge=1, le=3600)
    """An idle keep-alive connection is closed after this long."""
    http_max_connections: int = Field(default=1000, ge=1)
    """Open connections per process, SSE streams included; past it new requests get 503
    ``server_busy`` (``/healthz`` and ``/metrics`` are always answered)."""
    http_backlog: int = Field(default=2048, ge=1)
    """Connections the kernel queues before they are accepted (capped by net.core.somaxconn)."""
    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser (exact matches)."""

    max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(default=120, ge=1)
    """Requests per API key per minute, for the whole fleet (``rate_limit_scope``); beyond it,
    429 with Retry-After."""
    rate_limit_scope: Literal["fleet", "process"] = "fleet"
    """``fleet``: each process allows its share, the limit divided by the live replicas it counts
    in ``pg_stat_activity`` (exact under round-robin balancing); ``process``: each process allows
    the whole limit (N replicas admit N times it)."""
    fleet_refresh_s: float = Field(default=5.0, gt=0)
    """How often a process counts the live replicas for ``rate_limit_scope=fleet``."""
    heartbeat_s: float = Field(default=15.0, gt=0)
    """An SSE comment at least this often while a stream is otherwise quiet."""
    max_running_turns: int = Field(default=256, ge=1)
    """Turns one process runs at once; past it new turns get 503 with Retry-After."""
    max_stream_lifetime_s: float = Field(default=3600.0, gt=0)
    """A stream is closed after this long (the client resumes with its last event id)."""
    turn_lease_s: float = Field(default=15.0, gt=0)
    events_notify: Literal["followed", "all"] = "followed"
    """Which stored parts the event writer announces with ``NOTIFY``: ``followed``, only those of
    turns a client follows from another process; ``all``, every batch on one channel every
    process listens to (the old behaviour, kept to measure against)."""
    event_writer_unhealthy_s: float = Field(default=5.0, gt=0)
    """``/readyz`` answers 503 ``event_writer_failing`` once the event writer has failed, or
    waited on one write, for longer than this."""
    event_writer_linger_ms: float = Field(default=0.0, ge=0, le=100)
    """How long the event writer lets a run of text deltas gather before storing them (and so
    releasing them): fewer statements per chunk for at most this much added per-chunk latency.
    A turn's first text, tool calls and its end are never held. 0 writes each at once."""
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    """On SIGTERM, how long running turns get to finish before they are interrupted."""

    hold_ttl_s: float = Field(default=900.0, gt=0)
    """How long a held booking keeps its seats before it expires (default 15 minutes)."""
    booking_cutoff_s: float = Field(default=7200.0, ge=0)
    """No booking closer than this to departure (default 2 hours)."""
    approval_ttl_s: float = Field(default=900.0, gt=0)
    """How long a traveller has to approve a side-effecting action."""
    hold_sweep_s: float = Field(default=30.0, gt=0)
    """How often the server's sweeper expires lapsed holds."""
    # Retention of the event log and of conversations (booking.turns.retention; docs/operations.md).
    resume_window_s: float = Field(default=86400.0, ge=60)
    """How long after a turn closes its stream can be resumed part for part; after it the turn's
    parts are compacted (text deltas folded) and its raw rows dropped with their day partition."""
    retention_every_s: float = Field(default=300.0, gt=0)
    """How often a server runs a retention pass (partitions, compaction, expiry); one server at
    a time does the work."""

    offline_pace_ms: float = Field(default=0.0, ge=0, le=1000)
    """Pause between the offline model's streamed chunks (the demo sets it so text visibly streams)."""

    usd_vnd_rate: int = Field(default=26_000, ge=1_000, le=100_000)
    """VND per US dollar the offline model converts "under 50 USD" with (and says so)."""

    # OpenTelemetry traces (booking.telemetry; docs/interop.md). The standard OTEL_* names that
    # decide whether to export at all; the SDK reads the others (service name, sampler,
    # headers, batching) itself.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    """OTLP/HTTP base URL (``/v1/traces`` is appended); unset with the next: no tracing."""
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    """OTLP/HTTP traces URL, used as is (wins over the base URL)."""
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")
    otel_capture_content: bool = False
    """Record message text, tool arguments and results on spans (off: ids, models, tokens,
    timings and outcomes only)."""

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @field_validator("database_direct_url")
    @classmethod
    def _direct(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("database_pooler") == "transaction":
            raise ValueError(
                "BOOKING_DATABASE_POOLER=transaction needs BOOKING_DATABASE_DIRECT_URL "
                "(LISTEN does not work through a transaction pooler)"
            )
        return normalize_database_url(value) if value else None

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=SERVICE_TZ)
        return value

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pg"


def environment() -> dict[str, str]:
    """The process environment, for settings that name a variable (e.g. a model's ``api_key_env``)."""
    import os

    return dict(os.environ)
