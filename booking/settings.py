"""Typed settings read from the environment (prefix ``BOOKING_``) and an optional ``.env`` file.

No other module reads ``os.environ``: build :class:`Settings` once at the edge (CLI, app factory,
seed) and pass it down.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator
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

    max_model_calls: int = Field(default=6, ge=1, le=50)
    """Model calls allowed in one turn (model -> tools -> model ...)."""
    max_tool_errors: int = Field(default=2, ge=0, le=10)
    """Invalid tool calls the model may correct in one turn before the turn fails."""
    tool_timeout_s: float = Field(default=10.0, gt=0)

    auth: Literal["on", "off"] = "on"
    """``off`` disables API keys, for local development and demos (refused on a public address)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser (exact matches)."""

    max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(default=120, ge=1)
    """Requests per API key per minute, per process; beyond it, 429 with Retry-After."""
    heartbeat_s: float = Field(default=15.0, gt=0)
    """An SSE comment at least this often while a stream is otherwise quiet."""
    max_running_turns: int = Field(default=256, ge=1)
    """Turns one process runs at once; past it new turns get 503 with Retry-After."""
    max_stream_lifetime_s: float = Field(default=3600.0, gt=0)
    """A stream is closed after this long (the client resumes with its last event id)."""
    turn_lease_s: float = Field(default=15.0, gt=0)
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

    offline_pace_ms: float = Field(default=0.0, ge=0, le=1000)
    """Pause between the offline model's streamed chunks (the demo sets it so text visibly streams)."""

    usd_vnd_rate: int = Field(default=26_000, ge=1_000, le=100_000)
    """VND per US dollar the offline model converts "under 50 USD" with (and says so)."""

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str | None) -> str | None:
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
