"""Plain autocommit psycopg connections for the one statement every new reply waits on.

A turn's start is one function call (``booking_start_turn``, migration 0007). Through the
SQLAlchemy pool it would cost four round trips: the pre-ping on checkout, ``BEGIN``, the call
and ``COMMIT``. Here it costs one: the connections are in autocommit (a single statement is its
own transaction) and come from psycopg's own pool (``psycopg_pool``, kept by psycopg's authors)
rather than one of ours.

The liveness check is HikariCP's rule rather than a ping per checkout: a connection used in the
last :data:`ALIVE_BYPASS_S` is trusted, an older one is pinged first (an empty query), and a
broken one is replaced by the pool. So after a database restart the first checkout of each idle
connection finds out before the statement is sent, and a busy server pays no ping.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from booking.db.engine import psycopg_options

#: A connection used this recently is not pinged before its next use (HikariCP's
#: ``aliveBypassWindowMs`` is 500 ms; ours is the same order).
ALIVE_BYPASS_S = 0.5


#: At most this many connections: a start holds one for one round trip (well under a
#: millisecond), so four serve hundreds of starts a second, and the database's connection
#: budget goes to the SQLAlchemy pool, the writer and the listener.
MAX_SIZE = 4


class HotPool:
    """A small pool of autocommit connections; ``open`` in the app's lifespan, then
    ``connection()``."""

    def __init__(self, url: str, *, pooler: str = "none", max_size: int = MAX_SIZE) -> None:
        self._last_used: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = (
            weakref.WeakKeyDictionary()
        )
        self._pool = AsyncConnectionPool(
            url,
            kwargs={"autocommit": True, **psycopg_options(pooler)},
            min_size=1,
            max_size=max_size,
            open=False,
            check=self._check,
            name="booking-hot",
        )

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        last = self._last_used.get(conn)
        if last is None or time.monotonic() - last > ALIVE_BYPASS_S:
            await AsyncConnectionPool.check_connection(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._pool.connection() as conn:
            try:
                yield conn
            finally:
                self._last_used[conn] = time.monotonic()
