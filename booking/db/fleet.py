"""The fleet as PostgreSQL sees it: which ``booking`` processes are connected to this database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: Every process's LISTEN connection is named ``booking:<owner>`` (``turns.follower``).
APPLICATION_PREFIX = "booking:"


async def live_replicas(session: AsyncSession, own_application_name: str) -> int:
    """This process plus every other one whose LISTEN connection is open on this database.

    The LISTEN connection goes straight to PostgreSQL even behind PgBouncer, and a process that
    dies loses it within milliseconds (the kernel closes its socket), so the count follows the
    fleet. ``application_name`` is visible to every role in ``pg_stat_activity``.
    """
    others = await session.scalar(
        text(
            "SELECT count(DISTINCT application_name) FROM pg_stat_activity "
            "WHERE datname = current_database() AND left(application_name, :n) = :prefix "
            "AND application_name <> :own"
        ),
        {"n": len(APPLICATION_PREFIX), "prefix": APPLICATION_PREFIX, "own": own_application_name},
    )
    return 1 + int(others or 0)
