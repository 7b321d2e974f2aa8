"""Leases: each running turn's process renews it; any process's sweeper closes turns whose
process died (the lease ran out) with a retryable error part, never leaving them "running"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.conversation_repository import ConversationRepository
from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.turns.ui_stream import UIStreamEncoder
from booking.turns.writer import EVENTS_CHANNEL

log = logging.getLogger(__name__)
INTERRUPTED_MESSAGE = (
    "The server stopped while answering. Nothing was lost: send the message again or resume."
)


class LeaseKeeper:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        owner: str,
        lease: timedelta,
        running_turn_ids: Callable[[], Iterable[str]],
    ) -> None:
        self._sessionmaker = sessionmaker
        self.owner = owner
        self.lease = lease
        self._running_turn_ids = running_turn_ids

    async def run(self) -> None:
        """Renew this process's leases and sweep orphans, a third of a lease apart."""
        period = max(0.5, self.lease.total_seconds() / 3)
        while True:
            try:
                await self.renew()
                await self.close_orphans()
            except Exception:
                log.exception("lease upkeep failed; retrying")
            await asyncio.sleep(period)

    async def renew(self) -> None:
        async with self._sessionmaker() as session, session.begin():
            await TurnRepository(session).renew_leases(
                self.owner, self.lease, list(self._running_turn_ids())
            )

    async def close_orphans(self) -> int:
        """Turns whose process died: close them with a retryable error part, once; how many."""
        async with self._sessionmaker() as session, session.begin():
            orphans = await TurnRepository(session).claim_expired()
            for turn in orphans:
                encoder = UIStreamEncoder(turn.message_id)
                parts = encoder.failure("turn_interrupted", INTERRUPTED_MESSAGE, True)
                first = await ConversationRepository(session).allocate_seqs(
                    turn.conversation_id, len(parts)
                )
                await TurnEventRepository(session).append(
                    [
                        {
                            "conversation_id": turn.conversation_id,
                            "seq": first + i,
                            "turn_id": turn.id,
                            "part": p,
                        }
                        for i, p in enumerate(parts)
                    ]
                )
                await TurnEventRepository(session).notify(
                    EVENTS_CHANNEL, f"{turn.conversation_id}:{first + len(parts) - 1}"
                )
                log.warning("closed orphaned turn %s of %s", turn.id, turn.conversation_id)
        return len(orphans)
