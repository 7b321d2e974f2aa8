"""Typed settings read from the environment (prefix ``BOOKING_``) and an optional ``.env`` file.

No other module reads ``os.environ``: build :class:`Settings` once at the edge (CLI, app factory,
seed) and pass it down.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use at the edge."""
    return Settings()
