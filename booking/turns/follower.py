"""Following a conversation's parts: replay from any cursor, then the running turn live.

Inside the process a follower reads the live turn's memory; a turn another process runs is
followed through the database, woken by PostgreSQL ``LISTEN/NOTIFY`` (no other broker): the
follower listens on its conversation's channel (on the process's one LISTEN connection, channels
added and removed as followers come and go) and tells the turn's owner it follows, so the owner
announces that turn's stored parts, and only that turn's (a ``NOTIFY`` serializes commits, so no
batch pays for one nobody waits for). A follower also reads the log every second, so a lost
notification costs at most that. The same listening connection carries stop requests for turns
this process runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.turns.live import Draining, Followed, LiveTurn, TurnLost
from booking.turns.ui_stream import Part, encode_part, is_terminal
from booking.turns.writer import (
    EVENTS_CHANNEL,
    FOLLOW_RENEW_S,
    conversation_channel,
    follow_channel,
)

log = logging.getLogger(__name__)
#: Stop requests for a conversation's running turn, whichever process runs it.
CANCEL_CHANNEL = "booking_turn_cancel"
#: Rows read from the log per query while replaying.
REPLAY_PAGE = 1000
#: Pause before reconnecting a lost LISTEN connection (well under ``leases.ABSENT_CONFIRM_S``).
RECONNECT_S = 0.25
#: A follower of another process's turn reads the log at least this often, notified or not.
POLL_S = 1.0
#: Longest wait for the LISTEN connection to take a new channel before reading anyway.
SUBSCRIBE_WAIT_S = 2.0


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
        self._follow_channel = follow_channel(owner)
        self._channels: dict[str, int] = {}
        """Conversation channels followers here want, and how many followers want each."""
        self._listening: set[str] = set()
        """Those the LISTEN connection listens on now."""
        self._subscribing: dict[str, list[asyncio.Future[None]]] = {}
        self._outbox: list[tuple[str, str]] = []
        """Notifications to send on the LISTEN connection (a follower telling an owner)."""
        self._kick = asyncio.Event()
        self._connected = False
        self._down_since: float | None = time.monotonic()
        """Since when the LISTEN connection is down (None while connected)."""

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
            try:
                async for batch in live.follow(after):
                    yield batch
                return
            except TurnLost as lost:
                # This process no longer stores the turn: what the database holds is the truth
                # (the parts of whoever closed it), else the reason it was lost.
                ended, after = False, lost.after
                async for seq, part in self._follow_remote(conversation_id, after):
                    ended, after = is_terminal(part), seq
                    yield [(seq, part, encode_part(part))]
                if not ended:
                    yield [
                        (after + i, part, encode_part(part))
                        for i, part in enumerate(lost.lost.parts(), start=1)
                    ]
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
        """Follow a turn another process runs: listen on the conversation's channel, tell the
        owner (every :data:`FOLLOW_RENEW_S`), read the database when notified or every
        :data:`POLL_S`."""
        waiter = asyncio.Event()
        self._waiters.setdefault(conversation_id, set()).add(waiter)
        channel = conversation_channel(conversation_id)
        told: tuple[str, float] | None = None
        try:
            await self._subscribe(channel)
            while True:
                waiter.clear()  # Before reading: a notification during the read is kept.
                async with self._sessionmaker() as session:
                    running = await TurnRepository(session).running(conversation_id)
                    rows = await TurnEventRepository(session).after(conversation_id, after)
                if running is not None and running.owner != self.owner:
                    now = time.monotonic()
                    if told is None or told[0] != running.owner or now - told[1] >= FOLLOW_RENEW_S:
                        self._send(follow_channel(running.owner), conversation_id)
                        told = (running.owner, now)
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
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), POLL_S)
        finally:
            self._waiters[conversation_id].discard(waiter)
            if not self._waiters[conversation_id]:
                del self._waiters[conversation_id]
            self._unsubscribe(channel)

    # The LISTEN connection -----------------------------------------------------------------

    async def _subscribe(self, channel: str) -> None:
        """Listen on ``channel`` (shared by every follower of it here); return once the
        connection listens, so nothing committed after the caller's next read goes unheard."""
        self._channels[channel] = self._channels.get(channel, 0) + 1
        if channel in self._listening or not self._connected:
            return  # Without a connection, the follower polls; it listens once one is back.
        future = asyncio.get_running_loop().create_future()
        self._subscribing.setdefault(channel, []).append(future)
        self._kick.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), SUBSCRIBE_WAIT_S)

    def _unsubscribe(self, channel: str) -> None:
        left = self._channels.get(channel, 0) - 1
        if left > 0:
            self._channels[channel] = left
            return
        self._channels.pop(channel, None)
        self._kick.set()

    def _send(self, channel: str, payload: str) -> None:
        self._outbox.append((channel, payload))
        self._kick.set()

    async def listen(self) -> None:
        """Hold the ``LISTEN`` connection (stop requests, followers elsewhere, and the channels
        of the conversations followed here); reconnect if lost."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._listen_url, autocommit=True, application_name=application_name(self.owner)
                ) as conn:
                    await conn.execute(
                        f"LISTEN {EVENTS_CHANNEL}; LISTEN {CANCEL_CHANNEL};"
                        f" LISTEN {self._follow_channel}"
                    )
                    self._connected = True
                    self._down_since = None
                    await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._disconnected()
                # Short: while this connection is down, other processes count this one's
                # turns as orphaned once they see it missing twice (leases.ABSENT_CONFIRM_S).
                await asyncio.sleep(RECONNECT_S)
            finally:
                self._disconnected()

    def down_for(self) -> float:
        """Seconds the LISTEN connection has been down (0 while connected). While it is down,
        stop requests do not reach this process, remote followers are not woken, and other
        processes see its owner missing and take its turns over: ``/readyz`` fails."""
        return 0.0 if self._down_since is None else time.monotonic() - self._down_since

    def _disconnected(self) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
        self._connected = False
        self._listening.clear()
        self._outbox.clear()
        for futures in self._subscribing.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        self._subscribing.clear()

    async def _serve(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Deliver notifications; between two, apply channel changes and send what followers
        asked (psycopg's ``notifies()`` holds the connection, so it is stopped for that)."""
        # Notifications missed while the connection was down: every follower reads now.
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()
        while True:
            self._kick.clear()
            await self._apply(conn)
            pump = asyncio.ensure_future(self._pump(conn))
            kicked = asyncio.ensure_future(self._kick.wait())
            try:
                await asyncio.wait({pump, kicked}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                pump.cancel()
                kicked.cancel()
                done = await asyncio.gather(pump, kicked, return_exceptions=True)
            if isinstance(done[0], Exception):
                raise done[0]

    async def _pump(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for note in conn.notifies():
            self.dispatch(note.channel, note.payload)
        raise psycopg.OperationalError("the LISTEN connection stopped")

    async def _apply(self, conn: psycopg.AsyncConnection[Any]) -> None:
        wanted = set(self._channels)
        commands = [f"LISTEN {c}" for c in wanted - self._listening]
        commands += [f"UNLISTEN {c}" for c in self._listening - wanted]
        if commands:
            await conn.execute("; ".join(commands))
            self._listening = wanted
        for channel in [c for c in self._subscribing if c in self._listening or c not in wanted]:
            for future in self._subscribing.pop(channel):
                if not future.done():
                    future.set_result(None)
        outbox, self._outbox = self._outbox, []
        if outbox:
            await conn.execute(
                "SELECT pg_notify(n->>0, n->>1) FROM jsonb_array_elements(%s::jsonb) n",
                [json.dumps(outbox)],
            )

    def dispatch(self, channel: str, payload: str) -> None:
        if channel == CANCEL_CHANNEL:
            self._cancel(payload)
            return
        if channel == self._follow_channel:
            # A follower elsewhere follows a turn of ours: announce its parts for a while.
            live = self._live.get(payload)
            if live is not None and live.writer is not None:
                live.writer.followed(live)
            return
        conversation_id = payload.rsplit(":", 1)[0]
        for waiter in self._waiters.get(conversation_id, ()):
            waiter.set()
