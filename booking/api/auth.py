"""Who is calling: a bearer API key (see :mod:`booking.domain.api_keys`), and a rate limit per key."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain.api_keys import key_holder
from booking.errors import RateLimited, Unauthorized

DEV_TENANT = "dev"


@dataclass(frozen=True, slots=True)
class Client:
    tenant: str
    key_id: str | None


async def authenticate(
    request: Request, sessionmaker: async_sessionmaker[AsyncSession], enabled: bool
) -> Client:
    if not enabled:
        return Client(DEV_TENANT, None)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    async with sessionmaker() as session:
        holder = await key_holder(session, token.strip())
    if holder is None:
        raise Unauthorized("Unknown or revoked API key.")
    return Client(holder.tenant, holder.key_id)


@dataclass
class RateLimiter:
    """A token bucket per key, per process.

    Hand-written (15 lines) rather than a library: the only state is two floats per key, and the
    HTTP layer needs the exact seconds to put in Retry-After.
    """

    per_minute: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, key: str) -> None:
        now = time.monotonic()
        rate = self.per_minute / 60.0
        tokens, last = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry = max(1, int((1.0 - tokens) / rate + 0.999))
            raise RateLimited("Too many requests; slow down.", retry_after=retry)
        self._buckets[key] = (tokens - 1.0, now)
