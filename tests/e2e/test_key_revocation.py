"""Revoking an API key against the real app: a key a process accepted lately is answered from its
cache without a query, and a revoked key is refused (401 ``unauthorized``) once the cache's TTL
(``BOOKING_AUTH_CACHE_S``) has passed, at once with the cache off."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import psycopg
import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from booking.cli import app as cli
from booking.db.engine import libpq_url
from booking.domain.api_keys import KeyCache, hash_key
from tests.support.api import MakeKey, assert_problem
from tests.support.in_process import InProcessApp, StartApp
from tests.support.waits import wait_for


class KeyQueries:
    """Counts the statements an app's engine sends that read ``api_keys``."""

    def __init__(self, served: InProcessApp) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._engine = served.app.state.booking.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "api_keys" in statement:
            with self._lock:
                self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


@pytest.fixture
def key_queries() -> Iterator[list[KeyQueries]]:
    made: list[KeyQueries] = []
    yield made
    for counter in made:
        counter.close()


def count_key_queries(served: InProcessApp, made: list[KeyQueries]) -> KeyQueries:
    counter = KeyQueries(served)
    made.append(counter)
    return counter


def revoke_in_sql(url: str, key: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        done = conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_hash = %s", [hash_key(key)]
        )
        assert done.rowcount == 1


def test_a_cached_key_is_not_looked_up_again(
    start_app: StartApp, make_key: MakeKey, key_queries: list[KeyQueries]
) -> None:
    served = start_app(auth_cache_s=300)
    queries = count_key_queries(served, key_queries)
    key = make_key()
    with served.client(key) as client:
        for _ in range(5):
            assert client.get("/v1/conversations").status_code == 200
    assert queries.count == 1


def test_a_revoked_key_is_served_from_the_cache_until_its_ttl(
    start_app: StartApp, make_key: MakeKey, seeded_url: str, key_queries: list[KeyQueries]
) -> None:
    """Within the TTL the process does not ask (the documented window); a TTL this long cannot
    pass during the test, so the answer does not depend on the machine's speed."""
    served = start_app(auth_cache_s=300)
    queries = count_key_queries(served, key_queries)
    key = make_key()
    with served.client(key) as client:
        assert client.get("/v1/conversations").status_code == 200
        revoke_in_sql(seeded_url, key)
        assert client.get("/v1/conversations").status_code == 200
    assert queries.count == 1


def test_a_revoked_key_is_refused_once_the_ttl_has_passed(
    start_app: StartApp, make_key: MakeKey, seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Revoked with ``booking keys revoke``, as an operator would, from another process's view."""
    served = start_app(auth_cache_s=0.2)
    key = make_key()
    monkeypatch.setenv("BOOKING_DATABASE_URL", seeded_url)
    with served.client(key) as client:
        assert client.get("/v1/conversations").status_code == 200
        revoked = CliRunner().invoke(cli, ["keys", "revoke", key[:10]])
        assert revoked.exit_code == 0, revoked.output

        def refused_yet() -> httpx2.Response | None:
            response = client.get("/v1/conversations")
            return response if response.status_code == 401 else None

        refused = wait_for(refused_yet)
    body = assert_problem(refused, 401, "unauthorized")
    assert key not in refused.text
    assert body["detail"] == "Unknown or revoked API key."


def test_with_the_cache_off_a_revoked_key_is_refused_at_once(
    start_app: StartApp, make_key: MakeKey, seeded_url: str, key_queries: list[KeyQueries]
) -> None:
    served = start_app(auth_cache_s=0)
    queries = count_key_queries(served, key_queries)
    key = make_key()
    with served.client(key) as client:
        assert client.get("/v1/conversations").status_code == 200
        assert client.get("/v1/conversations").status_code == 200
        revoke_in_sql(seeded_url, key)
        assert_problem(client.get("/v1/conversations"), 401, "unauthorized")
    assert queries.count == 3


def test_unknown_keys_are_not_cached(start_app: StartApp, key_queries: list[KeyQueries]) -> None:
    """A refused key leaves nothing behind, so made-up keys cannot push real ones out."""
    served = start_app(auth_cache_s=300)
    queries = count_key_queries(served, key_queries)
    cache: KeyCache = served.app.state.booking.key_cache
    with served.client("bk_" + "x" * 43) as client:
        for _ in range(3):
            assert_problem(client.get("/v1/conversations"), 401, "unauthorized")
    assert queries.count == 3
    assert len(cache) == 0
