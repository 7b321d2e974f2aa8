"""Who is calling: a bearer API key (see :mod:`booking.domain.api_keys`), and a rate limit per key.

Accepted keys are remembered for ``BOOKING_AUTH_CACHE_S`` (a
:class:`~booking.domain.api_keys.KeyCache`, one per app, held in its state): a request with a
key seen lately costs no database round trip, and a revoked key is refused within that time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.domain.api_keys import KeyCache, hash_key, key_holder_by_hash
from booking.errors import RateLimited, Unauthorized

log = logging.getLogger(__name__)
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
    key_hash = hash_key(token.strip())
    cache = _key_cache(request)
    holder = cache.get(key_hash) if cache is not None else None
    if holder is None:
        async with sessionmaker() as session:
            holder = await key_holder_by_hash(session, key_hash)
        if holder is None:
            raise Unauthorized("Unknown or revoked API key.")
        if cache is not None:
            cache.put(key_hash, holder)
    return Client(holder.tenant, holder.key_id)


def _key_cache(request: Request) -> KeyCache | None:
    """The app's cache of accepted keys (``AppState.key_cache``, built in the lifespan)."""
    # Read from the app's state, where the lifespan put it, rather than passed in, so the
    # dependency that calls ``authenticate`` needs no change; an app without one (none today)
    # asks the database every time.
    state = getattr(request.app.state, "booking", None)
    cache: KeyCache | None = getattr(state, "key_cache", None)
    return cache


@dataclass
class RateLimiter:
    """A token bucket per key; in a fleet, each process allows its share of the limit.

    The limit is for the whole fleet: with ``replicas`` processes live (counted every few seconds
    by :meth:`track_replicas`), each allows ``per_minute / replicas`` a minute (at least one
    request in a burst). Behind a balancer that spreads requests round-robin the sum is the
    limit exactly, with no database round trip per request; a client whose requests all reach
    one replica (a pinned keep-alive connection) gets that replica's share only. We chose this
    over a bucket in PostgreSQL per request (exact under any balancing) because every request
    would then wait on a statement, and the 429 path would hit the database hardest when it is
    attacked.

    Hand-written (a token bucket is two floats per key) rather than a library: the HTTP layer
    needs the exact seconds to put in Retry-After, and the share changes with the fleet.
    """

    per_minute: int
    replicas: int = 1
    """Live processes sharing the limit (1: this process alone)."""
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def capacity(self) -> float:
        """This process's burst: its share of a minute's requests, at least one."""
        return max(1.0, self.per_minute / self.replicas)

    def check(self, key: str) -> None:
        now = time.monotonic()
        rate = self.per_minute / self.replicas / 60.0
        capacity = self.capacity
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry = max(1, int((1.0 - tokens) / rate + 0.999))
            raise RateLimited("Too many requests; slow down.", retry_after=retry)
        self._buckets[key] = (tokens - 1.0, now)

    def prune(self) -> None:
        """Forget the keys whose bucket is full again (the same as never seen): the table stays
        as small as the set of recently active keys."""
        now = time.monotonic()
        rate = self.per_minute / self.replicas / 60.0
        capacity = self.capacity
        for key, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * rate >= capacity:
                del self._buckets[key]

    async def track_replicas(
        self,
        count: Callable[[], Awaitable[int]],
        every_s: float,
        observe: Callable[[int], None] = lambda _: None,
    ) -> None:
        """Recount the live replicas every ``every_s`` for as long as the server runs; while the
        database does not answer, keep the last count."""
        while True:
            try:
                self.replicas = max(1, await count())
                observe(self.replicas)
            except Exception:
                log.warning("counting live replicas failed; keeping %d", self.replicas)
            self.prune()
            await asyncio.sleep(every_s)
