"""API keys: random 256-bit secrets, shown once and stored only as a hash.

Keys cannot be guessed, so a plain SHA-256 of the key is stored (a slow password hash buys
nothing against a key nobody can guess) and compared in the database."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.api_key_repository import ApiKeyRepository
from booking.db.models import ApiKey

KEY_PREFIX = "bk_"


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """Who a key belongs to."""

    key_id: str
    tenant: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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


async def key_holder(session: AsyncSession, key: str) -> KeyHolder | None:
    """The holder of a valid (known, not revoked) key; None otherwise."""
    row = await ApiKeyRepository(session).by_hash(hash_key(key))
    return KeyHolder(row.id, row.tenant) if row is not None else None
