"""Bearer API keys. Keys are random 256-bit secrets, so a plain SHA-256 of the key is stored
(a slow password hash buys nothing against a key nobody can guess) and compared in the database."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.conversation_repository import ApiKeyRepository
from booking.db.models import ApiKey
from booking.errors import BookingError

KEY_PREFIX = "bk_"
DEV_TENANT = "dev"


class Unauthorized(BookingError):
    code = "unauthorized"
    status = 401


class RateLimited(BookingError):
    code = "rate_limited"
    status = 429


@dataclass(frozen=True, slots=True)
class Client:
    tenant: str
    key_id: str | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, name: str, tenant: str | None = None
) -> tuple[ApiKey, str]:
    """Store a new key; return the row and the key itself (shown once, never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=uuid.uuid4().hex,
        tenant=tenant or name,
        name=name,
        key_hash=hash_key(key),
        prefix=key[:10],
    )
    await ApiKeyRepository(session).add(row)
    return row, key


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
        row = await ApiKeyRepository(session).by_hash(hash_key(token.strip()))
    if row is None:
        raise Unauthorized("Unknown or revoked API key.")
    return Client(row.tenant, row.id)


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
