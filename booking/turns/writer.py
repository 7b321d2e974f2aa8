"""The event-log writer: one per process, committing every live turn's new parts in groups."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from booking.db.event_log import append_events, last_seqs
from booking.turns.live import LiveTurn

log = logging.getLogger(__name__)
#: The channel every stored batch is announced on (``conversation_id:last seq``).
EVENTS_CHANNEL = "booking_turn_events"


class EventWriter:
    """One writer for every turn of the process, committing in groups.

    While one batch is being written, every turn's new parts accumulate; the next transaction
    takes them all (COPY, one cursor update and one NOTIFY per conversation). Alone, a part is
    stored about half a millisecond after it is made; under load, batches grow instead of
    transactions multiplying. Parts reach clients only once stored.

    Groups are committed without waiting for the WAL flush, so a PostgreSQL crash can take the
    last few that clients already saw. After any failed write the writer therefore asks the
    database, once it answers again, how far each live turn really got, and writes the missing
    parts again from memory: the log a client resumes from never has a hole.
    """

    def __init__(self, url: str, live_turns: Callable[[], Iterable[LiveTurn]]) -> None:
        self._url = url
        self._live_turns = live_turns
        self._dirty: dict[str, LiveTurn] = {}
        self._wakeup = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._resync = False

    def mark(self, live: LiveTurn) -> None:
        self._dirty[live.turn_id] = live
        self._wakeup.set()

    async def run(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                batch = [(live, len(live.parts)) for live in self._dirty.values()]
                self._dirty.clear()
                try:
                    await self._write(batch)
                except psycopg.errors.UniqueViolation:
                    # Another process took these cursors (its sweeper closed a turn it thought
                    # orphaned): write turn by turn and drop only the turns that clash.
                    await self._reset()
                    for live, upto in batch:
                        try:
                            await self._write([(live, upto)])
                        except psycopg.errors.UniqueViolation:
                            log.error("turn %s lost its cursors to another process", live.turn_id)
                            await self._reset()
                except Exception:
                    log.exception("writing turn events failed; retrying")
                    self._resync = True
                    await self._reset()
                    for live, _ in batch:
                        self.mark(live)
                    await asyncio.sleep(0.5)
                    continue
                for live, upto in batch:
                    live.stored(upto)
        finally:
            await self._reset()

    async def _reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _write(self, batch: list[tuple[LiveTurn, int]]) -> None:
        rows = self._rows(batch)
        if not rows and not self._resync:
            return
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            # No fsync wait on every group: if PostgreSQL crashes, the last few hundred
            # milliseconds are rewritten from memory (``_rewind``). Bookings are written with
            # full durability elsewhere.
            await self._conn.execute("SET synchronous_commit = off")
        if self._resync:
            await self._rewind(self._conn)
            self._resync = False
            rows = self._rows(batch)
        # One statement on a plain connection: the ORM's per-statement overhead cost more CPU
        # than the turns themselves at a few thousand parts a second.
        if rows:
            await append_events(self._conn, rows, EVENTS_CHANNEL)

    @staticmethod
    def _rows(batch: list[tuple[LiveTurn, int]]) -> list[tuple[str, int, str, str]]:
        return [
            (live.conversation_id, live.parts[i][0], live.turn_id, live.encoded[i])
            for live, upto in batch
            for i in range(live.persisted, upto)
        ]

    async def _rewind(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Set each live turn's ``persisted`` back to what the database really holds."""
        turns = {live.turn_id: live for live in self._live_turns()}
        if not turns:
            return
        stored = dict(await last_seqs(conn, list(turns)))
        for live in turns.values():
            self.rewind(live, stored.get(live.turn_id, live.first_seq))

    def rewind(self, live: LiveTurn, last_stored: int) -> None:
        """The database holds ``live``'s parts up to ``last_stored``: write the rest again."""
        kept = bisect.bisect_right(live.parts, last_stored, key=lambda item: item[0])
        if kept < live.persisted:
            log.warning(
                "turn %s: %d stored parts lost in a database crash; writing them again",
                live.turn_id,
                live.persisted - kept,
            )
            live.persisted = kept
            self.mark(live)
