"""The rate limit holds across the fleet: two server processes on one database admit the limit
between them, not twice it (``BOOKING_RATE_LIMIT_SCOPE=fleet``, the default).

Each process counts the live replicas (their LISTEN connections in ``pg_stat_activity``) and
allows its share; requests alternate between the two, as a round-robin balancer sends them.
The processes run on a database of their own, so no other test's server counts as a replica.
Before the fleet scope, each process allowed the whole limit: 2x the limit got through."""

from __future__ import annotations

import math
import re
import time

import pytest

from booking.db import migrate
from tests.conftest import ScratchDatabases
from tests.support.server import ServerProcess, SpawnServer
from tests.support.waits import wait_for

LIMIT = 30


@pytest.fixture(scope="module")
def own_database(scratch: ScratchDatabases) -> str:
    url = scratch.create("booking_fleet_rl")
    migrate.upgrade(url)
    return url


def replicas_counted(server: ServerProcess) -> float:
    with server.client() as client:
        text = client.get("/metrics").text
    found = re.search(r"^booking_fleet_replicas (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def test_two_replicas_admit_the_limit_between_them(spawn: SpawnServer, own_database: str) -> None:
    settings = {
        "database_url": own_database,
        # Loopback with keys off: every request is the same caller (its address) on both.
        "auth": "off",
        "rate_limit_per_minute": LIMIT,
        "fleet_refresh_s": 0.2,
    }
    a, b = spawn(**settings), spawn(**settings)
    wait_for(lambda: replicas_counted(a) == 2 and replicas_counted(b) == 2)

    admitted = refused = 0
    retry_after: set[str] = set()
    started = time.monotonic()
    with a.client() as on_a, b.client() as on_b:
        for i in range(2 * LIMIT):
            response = (on_a, on_b)[i % 2].get("/v1/conversations")
            if response.status_code == 200:
                admitted += 1
            else:
                assert response.status_code == 429, response.text
                retry_after.add(response.headers["retry-after"])
                refused += 1
    elapsed = time.monotonic() - started

    # The tolerance is what the buckets refill while the requests are sent (LIMIT a minute for
    # the whole fleet), plus one for the second the refill rounds into.
    assert LIMIT <= admitted <= LIMIT + math.ceil(elapsed * LIMIT / 60) + 1, (admitted, elapsed)
    assert refused == 2 * LIMIT - admitted
    assert retry_after
    assert all(value.isdigit() and int(value) >= 1 for value in retry_after)

    # A replica dies: the survivor counts it gone and allows the whole limit again.
    b.kill()
    wait_for(lambda: replicas_counted(a) == 1)
