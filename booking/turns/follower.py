"""Following a conversation's parts: replay from any cursor, then the running turn live.

Inside the process a follower reads the live turn's memory; a turn another process runs is
followed through the database, woken by PostgreSQL ``LISTEN/NOTIFY`` (no other broker). The same
listening connection carries stop requests for turns this process runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.turns.live import Draining, Followed, LiveTurn
from booking.turns.ui_stream import Part, encode_part, is_terminal
from booking.turns.writer import EVENTS_CHANNEL

log = logging.getLogger(__name__)
#: Stop requests for a conversation's running turn, whichever process runs it.
CANCEL_CHANNEL = "booking_turn_cancel"
#: Rows read from the log per query while replaying.
REPLAY_PAGE = 1000


def application_name(owner: str) -> str:
    """The ``application_name`` of ``owner``'s LISTEN connection (visible in ``pg_stat_activity``)."""
    return f"booking:{owner}"


class Follower:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        listen_url: str,
        live: Mapping[str, LiveTurn],
        cancel: Callable[[str], None],
        *,
        owner: str = "",
    ) -> None:
        self._sessionmaker = sessionmaker
        self.owner = owner
        """This process's lease owner id; its LISTEN connection carries it as
        ``application_name`` (:func:`application_name`), so any process can see whether the owner
        of a turn is still connected."""
        self._listen_url = listen_url
        self._live = live
        self._cancel = cancel
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self.draining = False

    async def follow(self, conversation_id: str, after: int) -> AsyncIterator[list[Followed]]:
        """Every part after the cursor, then the running turn's parts live until it ends, in
        batches of (cursor, part, its JSON). Raises :class:`Draining` when the server begins to
        shut down before the turn ends."""
        live = self._live.get(conversation_id)
        if live is None or after < live.first_seq - 1:
            async for seq, part in self._replay(conversation_id, after):
                after = seq
                yield [(seq, part, encode_part(part))]
            live = self._live.get(conversation_id)
        if live is not None and after >= live.first_seq - 1:
            async for batch in live.follow(after):
                yield batch
            return
        async for seq, part in self._follow_remote(conversation_id, after):
            yield [(seq, part, encode_part(part))]

    def drain(self) -> None:
        """End every follower of another process's turn now."""
        self.draining = True
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    async def _replay(self, conversation_id: str, after: int) -> AsyncIterator[tuple[int, Part]]:
        while True:
            async with self._sessionmaker() as session:
                rows = await TurnEventRepository(session).after(conversation_id, after, REPLAY_PAGE)
            for row in rows:
                after = row.seq
                yield row.seq, row.part
            if len(rows) < REPLAY_PAGE:
                return

    async def _follow_remote(
        self, conversation_id: str, after: int
    ) -> AsyncIterator[tuple[int, Part]]:
        """Follow a turn another process runs: wake on NOTIFY, read the database."""
        waiter = asyncio.Event()
        self._waiters.setdefault(conversation_id, set()).add(waiter)
        try:
            while True:
                async with self._sessionmaker() as session:
                    running = await TurnRepository(session).running(conversation_id)
                    rows = await TurnEventRepository(session).after(conversation_id, after)
                for row in rows:
                    after = row.seq
                    yield row.seq, row.part
                    if is_terminal(row.part) and (running is None or running.id == row.turn_id):
                        return
                if running is None and not rows:
                    return
                if self.draining:
                    raise Draining
                if not rows:
                    waiter.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), 1.0)
        finally:
            self._waiters[conversation_id].discard(waiter)
            if not self._waiters[conversation_id]:
                del self._waiters[conversation_id]

    async def listen(self) -> None:
        """Hold a ``LISTEN`` connection for stored parts and stop requests; reconnect if lost."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._listen_url, autocommit=True, application_name=application_name(self.owner)
                ) as conn:
                    await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    await conn.execute(f"LISTEN {CANCEL_CHANNEL}")
                    async for note in conn.notifies():
                        self.dispatch(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    def dispatch(self, channel: str, payload: str) -> None:
        if channel == CANCEL_CHANNEL:
            self._cancel(payload)
            return
        conversation_id = payload.rsplit(":", 1)[0]
        for waiter in self._waiters.get(conversation_id, ()):
            waiter.set()
