"""Leases and liveness: each running turn's process renews its lease; any process's sweeper
closes the turns whose process is gone with a retryable error part, never leaving them
"running".

A process is gone when its lease lapsed (``turn_lease_s``, renewed every third of it), or,
much sooner, when its LISTEN connection (named ``booking:<owner>``, see
:func:`booking.turns.follower.application_name`) is no longer in ``pg_stat_activity``: when a
process dies the kernel closes its sockets and PostgreSQL ends that backend within
milliseconds. An owner must be seen absent twice, at least :data:`ABSENT_CONFIRM_S` apart (a
LISTEN reconnect takes about a second), and a turn is never judged in its first
:data:`START_GRACE_S`. A process that is alive but slow (SIGSTOP, a long GC pause) keeps its
connection, so only its lease can expire it. A host that vanishes without a TCP reset keeps its
backend until PostgreSQL's TCP keepalive gives up: then the lease decides, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.agent.history import incomplete_answer
from booking.db.conversation_repository import ConversationRepository
from booking.db.models import TurnRow
from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.turns.transcript import answer_messages
from booking.turns.ui_stream import Part, UIStreamEncoder
from booking.turns.writer import conversation_channel

log = logging.getLogger(__name__)
INTERRUPTED_MESSAGE = (
    "The server answering you stopped mid-reply. What you saw is kept; "
    "send your message again to get the rest."
)
#: The note ending what the model reads back of an answer the server's end cut short.
INTERRUPTED_NOTE = "[answer interrupted: the server stopped]"
#: How often every process looks for turns whose owner is gone.
SWEEP_S = 1.0
#: An owner must be seen without a connection this long apart before its turns are taken.
ABSENT_CONFIRM_S = 1.0
#: A turn's owner is not judged by its connection in the turn's first second.
START_GRACE_S = 1.0
#: Nobody is judged by connection while the PostgreSQL server started less than this ago.
SERVER_SETTLE_S = 10.0


class LeaseKeeper:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        owner: str,
        lease: timedelta,
        running_turn_ids: Callable[[], Iterable[str]],
        *,
        sweep_s: float = SWEEP_S,
        absent_confirm_s: float = ABSENT_CONFIRM_S,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.owner = owner
        self.lease = lease
        self._running_turn_ids = running_turn_ids
        self.sweep_s = sweep_s
        self.absent_confirm_s = absent_confirm_s
        self._absent_since: dict[str, float] = {}
        """Owners seen without a connection, and when first (this process's clock)."""

    async def run(self) -> None:
        """Renew this process's leases (a third of a lease apart) and sweep for orphans
        (every ``sweep_s``, sooner when an absent owner is due for its second look)."""
        await asyncio.gather(self._renew_forever(), self._sweep_forever())

    async def _renew_forever(self) -> None:
        period = max(0.5, self.lease.total_seconds() / 3)
        while True:
            try:
                await self.renew()
            except Exception:
                log.exception("lease renewal failed; retrying")
            await asyncio.sleep(period)

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.close_orphans()
            except Exception:
                log.exception("orphan sweep failed; retrying")
            pause = self.sweep_s
            if self._absent_since:
                due = min(self._absent_since.values()) + self.absent_confirm_s - loop.time()
                pause = min(pause, max(0.05, due))
            await asyncio.sleep(pause)

    async def renew(self) -> None:
        async with self._sessionmaker() as session, session.begin():
            await TurnRepository(session).renew_leases(
                self.owner, self.lease, list(self._running_turn_ids())
            )

    async def close_orphans(self) -> int:
        """Turns whose process is gone: close them with a retryable error part, once; how many."""
        now = asyncio.get_running_loop().time()
        async with self._sessionmaker() as session, session.begin():
            turns = TurnRepository(session)
            absent = await turns.absent_owners(
                exclude=self.owner,
                started_before=timedelta(seconds=START_GRACE_S),
                settled=timedelta(seconds=SERVER_SETTLE_S),
            )
            self._absent_since = {o: self._absent_since.get(o, now) for o in absent}
            confirmed = [
                o for o, since in self._absent_since.items() if now - since >= self.absent_confirm_s
            ]
            orphans = await turns.claim_orphans(confirmed, timedelta(seconds=START_GRACE_S))
            for turn in orphans:
                await self._close(session, turn)
        return len(orphans)

    async def close_if_orphaned(self, turn_id: str, owner: str) -> bool:
        """Close this turn now if its process is gone (lease lapsed, or no connection: one look
        is enough when someone asks to stop it), or if it is this process's own turn and
        the caller knows this process does not run it. Whether it was closed here."""
        async with self._sessionmaker() as session, session.begin():
            claimed = await TurnRepository(session).claim_orphans(
                [owner] if owner != self.owner else [],
                timedelta(seconds=START_GRACE_S),
                turn_id=turn_id,
                mine=self.owner if owner == self.owner else None,
            )
            for turn in claimed:
                await self._close(session, turn)
        return bool(claimed)

    async def _close(self, session: AsyncSession, turn: TurnRow) -> None:
        """End a claimed turn as its process would have: close what its stream left open, a
        retryable ``turn_interrupted`` error, and what the traveller saw into the history."""
        stored = [row.part for row in await TurnRepository(session).parts_of(turn.id)]
        parts = _left_open(stored) + UIStreamEncoder(turn.message_id).failure(
            "turn_interrupted", INTERRUPTED_MESSAGE, True
        )
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
        messages, outputs = answer_messages(stored)
        await TurnRepository(session).add_messages(
            turn, incomplete_answer(messages, outputs, INTERRUPTED_NOTE)
        )
        await TurnEventRepository(session).notify(
            conversation_channel(turn.conversation_id),
            f"{turn.conversation_id}:{first + len(parts) - 1}",
        )
        log.warning("closed orphaned turn %s of %s", turn.id, turn.conversation_id)


def _left_open(parts: list[Part]) -> list[Part]:
    """The parts that end whatever text, reasoning or step the stored stream left open."""
    open_blocks: dict[str, str] = {}
    step_open = False
    for part in parts:
        kind = str(part.get("type"))
        if kind in ("text-start", "reasoning-start"):
            open_blocks[str(part.get("id"))] = kind.replace("-start", "-end")
        elif kind in ("text-end", "reasoning-end"):
            open_blocks.pop(str(part.get("id")), None)
        elif kind == "start-step":
            step_open = True
        elif kind == "finish-step":
            step_open = False
    closing: list[dict[str, Any]] = [{"type": end, "id": id_} for id_, end in open_blocks.items()]
    return closing + ([{"type": "finish-step"}] if step_open else [])
