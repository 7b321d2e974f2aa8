"""What the lifespan builds and every request uses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.agent.models.openai_chat import OpenAIChatModel
from booking.api.auth import RateLimiter
from booking.domain.api_keys import KeyCache
from booking.domain.dates import Clock
from booking.domain.places import Gazetteer
from booking.settings import Settings
from booking.turns import Metrics, TurnManager


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    places: Gazetteer
    clock: Clock
    model: OpenAIChatModel
    turns: TurnManager
    metrics: Metrics
    limiter: RateLimiter
    key_cache: KeyCache
    """Keys accepted lately (``BOOKING_AUTH_CACHE_S``), read by ``auth.authenticate``."""
