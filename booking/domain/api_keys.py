"""API keys: random 256-bit secrets, shown once and stored only as a hash.

Keys cannot be guessed, so a plain SHA-256 of the key is stored (a slow password hash buys
nothing against a key nobody can guess) and compared in the database.

A process remembers the keys it has accepted for a few seconds (:class:`KeyCache`,
``BOOKING_AUTH_CACHE_S``), so a revoked key (:func:`revoke_key`) is refused by every replica
within that time, not at once."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.api_key_repository import ApiKeyRepository
from booking.db.models import ApiKey
from booking.errors import NotFound, ValidationFailed

KEY_PREFIX = "bk_"
#: Keys a process remembers at most; past it the least recently used go first.
KEY_CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who a key belongs to."""

    key_id: str
    tenant: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as ``booking keys list`` shows it: never the key, only its first characters."""

    key_id: str
    name: str
    tenant: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Revocation:
    """What :func:`revoke_key` did."""

    key: KeyInfo
    """The key, with the time it is revoked since."""
    already: bool
    """It was revoked before (its first revocation's time is kept)."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyCache:
    """The holders of keys this process accepted lately, by the key's SHA-256 (never the key).

    A bounded TTL cache: an entry lives ``ttl_s`` from when it was looked up, so a key revoked
    in the database is refused here at most ``ttl_s`` later, and at most ``max_entries`` keys
    are kept (the least recently used go first). ``ttl_s`` 0 turns it off: every request asks
    the database, as before.

    Unknown and revoked keys are not remembered: a key created a moment ago works at once, and
    a client trying made-up keys cannot push the real ones out (each of its tries still costs
    one indexed query, as it always did). Two requests that miss together both ask the
    database; both get the same answer, so we do not make one wait for the other.

    ``cachetools.TTLCache`` rather than our own dict: expiry and the size bound together, with
    LRU eviction, are what it is for and tested for. One event loop uses it, so it needs no lock.
    """

    def __init__(
        self,
        ttl_s: float,
        max_entries: int = KEY_CACHE_MAX_ENTRIES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._entries: TTLCache[str, KeyHolder] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_s, timer=timer) if ttl_s > 0 else None
        )

    def get(self, key_hash: str) -> KeyHolder | None:
        return self._entries.get(key_hash) if self._entries is not None else None

    def put(self, key_hash: str, holder: KeyHolder) -> None:
        if self._entries is not None:
            self._entries[key_hash] = holder

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else 0


async def create_key(
    session: AsyncSession, name: str, tenant: str | None = None
) -> tuple[KeyHolder, str]:
    """Store a new key; return its holder and the key itself (shown once, never stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=uuid.uuid4().hex,
        tenant=tenant or name,
        name=name,
        key_hash=hash_key(key),
        prefix=key[:10],
    )
    await ApiKeyRepository(session).add(row)
    return KeyHolder(row.id, row.tenant), key


async def key_holder_by_hash(session: AsyncSession, key_hash: str) -> KeyHolder | None:
    """The holder of the valid (known, not revoked) key whose SHA-256 is ``key_hash``; None
    otherwise."""
    row = await ApiKeyRepository(session).by_hash(key_hash)
    return KeyHolder(row.id, row.tenant) if row is not None else None


def _info(row: ApiKey, revoked_at: datetime | None = None) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        name=row.name,
        tenant=row.tenant,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=revoked_at or row.revoked_at,
    )


async def list_keys(session: AsyncSession, tenant: str | None = None) -> list[KeyInfo]:
    """Every key, revoked ones too, oldest first (only ``tenant``'s when given)."""
    return [_info(row) for row in await ApiKeyRepository(session).listed(tenant)]


async def revoke_key(session: AsyncSession, id_or_prefix: str) -> Revocation:
    """Revoke the key whose id or display prefix (``bk_`` and 7 characters) is ``id_or_prefix``.

    Servers refuse it once their :class:`KeyCache` forgets it (``BOOKING_AUTH_CACHE_S``).
    Revoking a revoked key changes nothing and says so. Raises :class:`NotFound` when no key
    matches, :class:`ValidationFailed` when a prefix names several.
    """
    repository = ApiKeyRepository(session)
    wanted = id_or_prefix.strip()
    rows = await repository.matching(wanted) if wanted else []
    if not rows:
        raise NotFound(f"No API key has the id or prefix {wanted!r}.")
    if len(rows) > 1:
        raise ValidationFailed(f"{len(rows)} API keys have the prefix {wanted!r}; give the id.")
    (row,) = rows
    already = row.revoked_at is not None
    revoked_at = await repository.revoke(row.id)
    if revoked_at is None:
        # Deleted since we read it: as if it had never been there.
        raise NotFound(f"No API key has the id or prefix {wanted!r}.")
    return Revocation(_info(row, revoked_at), already)
