"""Reading the test database directly, as the security tests check it: who owns what, what
changed, where a string ended up, and the stable problem every refusal carries."""

from __future__ import annotations

from typing import Any

import httpx2
import psycopg
from psycopg import sql

from booking.db.engine import libpq_url
from booking.domain.api_keys import hash_key

PROBLEM = "application/problem+json"
WRITE_TOOLS = {"hold_booking", "confirm_booking", "cancel_booking"}


def query(url: str, statement: str | sql.Composed, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of one statement on the test database (its own connection, committed reads)."""
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(statement, args or None).fetchall()


def tenant_of(url: str, key: str) -> str:
    ((tenant,),) = query(url, "SELECT tenant FROM api_keys WHERE key_hash = %s", hash_key(key))
    return str(tenant)


def rows_of_tenant(url: str, tenant: str) -> dict[str, int]:
    """How many rows of each tenant-owned table belong to ``tenant``."""
    counts = {}
    for table in ("conversations", "bookings", "approvals", "idempotency_keys"):
        statement = sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s").format(
            sql.Identifier(table)
        )
        ((counts[table],),) = query(url, statement, tenant)
    return counts


def tables_containing(url: str, needle: str) -> list[str]:
    """The tables of the public schema with a row whose text contains ``needle``."""
    found = []
    for (table,) in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
        statement = sql.SQL("SELECT count(*) FROM {} AS t WHERE strpos(t::text, %s) > 0").format(
            sql.Identifier(table)
        )
        ((count,),) = query(url, statement, needle)
        if count:
            found.append(table)
    return found


def approval_status(url: str, approval_id: str) -> str:
    ((status,),) = query(url, "SELECT status FROM approvals WHERE id = %s", approval_id)
    return str(status)


def assert_refused_with_a_code(response: httpx2.Response) -> None:
    """A 4xx problem document with a stable ``code`` (never a 5xx, never a bare error)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["code"], body
    assert body["status"] == response.status_code, body
