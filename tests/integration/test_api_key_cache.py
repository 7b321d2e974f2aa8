"""API keys: the bounded TTL cache of accepted keys, revocation and listing in the domain, and
``booking keys revoke|list`` on a real database."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from booking.cli import app
from booking.db.engine import libpq_url
from booking.db.models import ApiKey
from booking.domain.api_keys import (
    KeyCache,
    KeyHolder,
    create_key,
    hash_key,
    key_holder_by_hash,
    list_keys,
    revoke_key,
)
from booking.errors import NotFound, ValidationFailed


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def holder(n: int) -> KeyHolder:
    return KeyHolder(f"id{n}", f"tenant{n}")


def new_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


# KeyCache


def test_cache_remembers_a_key_until_its_ttl_passes() -> None:
    timer = FakeTimer()
    cache = KeyCache(5.0, timer=timer)
    cache.put(hash_key("bk_a"), holder(1))
    timer.now += 4.9
    assert cache.get(hash_key("bk_a")) == holder(1)
    timer.now += 0.2
    assert cache.get(hash_key("bk_a")) is None


def test_cache_ttl_counts_from_the_lookup_not_from_the_last_hit() -> None:
    """A key used without pause is still looked up again every TTL: revocation reaches it."""
    timer = FakeTimer()
    cache = KeyCache(1.0, timer=timer)
    cache.put("h", holder(1))
    for _ in range(10):
        timer.now += 0.15
        cache.get("h")
    assert cache.get("h") is None


def test_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = KeyCache(60.0, max_entries=3, timer=FakeTimer())
    for n in range(3):
        cache.put(f"h{n}", holder(n))
    assert cache.get("h0") == holder(0)  # h1 is now the least recently used
    for n in range(3, 100):
        cache.put(f"h{n}", holder(n))
        assert len(cache) <= 3
    assert len(cache) == 3
    assert cache.get("h1") is None
    assert cache.get("h99") == holder(99)


def test_the_default_bound_is_ten_thousand_keys() -> None:
    cache = KeyCache(60.0, timer=FakeTimer())
    for n in range(10_050):
        cache.put(f"h{n}", holder(n))
    assert len(cache) == 10_000


def test_cache_with_ttl_zero_remembers_nothing() -> None:
    cache = KeyCache(0)
    cache.put("h", holder(1))
    assert cache.get("h") is None
    assert len(cache) == 0


# The domain: lookup, list, revoke


async def test_a_revoked_key_has_no_holder(session: AsyncSession) -> None:
    tenant = new_tenant()
    made, key = await create_key(session, "cache test", tenant)
    assert await key_holder_by_hash(session, hash_key(key)) == made

    done = await revoke_key(session, made.key_id)

    assert not done.already
    assert done.key.revoked_at is not None
    assert await key_holder_by_hash(session, hash_key(key)) is None


async def test_revoke_by_prefix_and_twice(session: AsyncSession) -> None:
    made, key = await create_key(session, "cache test", new_tenant())
    first = await revoke_key(session, key[:10])
    assert first.key.key_id == made.key_id
    again = await revoke_key(session, made.key_id)
    assert again.already
    # The first revocation's time is kept.
    assert again.key.revoked_at == first.key.revoked_at


async def test_revoke_unknown_key_is_not_found(session: AsyncSession) -> None:
    for unknown in (uuid.uuid4().hex, "bk_nothere", "", "   "):
        with pytest.raises(NotFound):
            await revoke_key(session, unknown)


async def test_revoke_refuses_a_prefix_two_keys_share(session: AsyncSession) -> None:
    tenant = new_tenant()
    for n in range(2):
        session.add(
            ApiKey(
                id=uuid.uuid4().hex,
                tenant=tenant,
                name=f"twin {n}",
                key_hash=hash_key(f"bk_twinpfx-{uuid.uuid4().hex}"),
                prefix="bk_twinpfx",
            )
        )
    await session.flush()
    with pytest.raises(ValidationFailed, match="2 API keys have the prefix"):
        await revoke_key(session, "bk_twinpfx")
    assert all(key.revoked_at is None for key in await list_keys(session, tenant))


async def test_list_keys_of_a_tenant_revoked_ones_too(session: AsyncSession) -> None:
    tenant = new_tenant()
    first, _ = await create_key(session, "one", tenant)
    second, _ = await create_key(session, "two", tenant)
    await create_key(session, "elsewhere", new_tenant())
    await revoke_key(session, first.key_id)

    listed = await list_keys(session, tenant)

    # Both were created in this one transaction, at the same now(): compare without order.
    by_id = {key.key_id: key for key in listed}
    assert set(by_id) == {first.key_id, second.key_id}
    assert (by_id[first.key_id].name, by_id[second.key_id].name) == ("one", "two")
    assert by_id[first.key_id].revoked_at is not None
    assert by_id[second.key_id].revoked_at is None
    assert all(key.prefix.startswith("bk_") and len(key.prefix) == 10 for key in listed)
    everyone = {key.key_id for key in await list_keys(session)}
    assert {first.key_id, second.key_id} <= everyone


# The CLI


@pytest.fixture
def cli_env(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BOOKING_DATABASE_URL", seeded_url)
    return seeded_url


def cli_key(tenant: str) -> str:
    result = CliRunner().invoke(app, ["keys", "create", "--name", "cli", "--tenant", tenant])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def revoked_at(url: str, key: str) -> object:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT revoked_at FROM api_keys WHERE key_hash = %s", [hash_key(key)]
        ).fetchone()
    assert row is not None
    return row[0]


def test_cli_list_shows_a_tenants_keys_never_the_key(cli_env: str) -> None:
    tenant = new_tenant()
    key = cli_key(tenant)

    result = CliRunner().invoke(app, ["keys", "list", "--tenant", tenant])

    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().splitlines()
    assert header.split("\t") == ["id", "name", "tenant", "prefix", "created", "revoked"]
    assert len(rows) == 1
    key_id, name, listed_tenant, prefix, created, revoked = rows[0].split("\t")
    assert (name, listed_tenant, prefix, revoked) == ("cli", tenant, key[:10], "-")
    assert len(key_id) == 32
    assert created.endswith("Z")
    assert key[10:] not in result.output


def test_cli_revoke_by_id_then_list_shows_it_revoked(cli_env: str) -> None:
    tenant = new_tenant()
    key = cli_key(tenant)
    listed = CliRunner().invoke(app, ["keys", "list", "--tenant", tenant])
    key_id = listed.output.strip().splitlines()[1].split("\t")[0]

    result = CliRunner().invoke(app, ["keys", "revoke", key_id])

    assert result.exit_code == 0, result.output
    assert f"key {key_id} ({key[:10]}, tenant {tenant}) revoked at" in result.output
    assert "BOOKING_AUTH_CACHE_S" in result.output
    assert revoked_at(cli_env, key) is not None
    after = CliRunner().invoke(app, ["keys", "list", "--tenant", tenant])
    assert after.output.strip().splitlines()[1].split("\t")[5] != "-"

    again = CliRunner().invoke(app, ["keys", "revoke", key[:10]])
    assert again.exit_code == 0, again.output
    assert "was already revoked" in again.output


def test_cli_revoke_unknown_key_fails_with_one_line(cli_env: str) -> None:
    result = CliRunner().invoke(app, ["keys", "revoke", "no-such-key"])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == ["error: No API key has the id or prefix 'no-such-key'. [not_found]"]
