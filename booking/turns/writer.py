"""The event-log writer: one per process, committing every live turn's new parts in groups."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import psycopg

from booking.db.engine import connect_raw
from booking.db.event_log import append_events, last_seqs, notify_many, turn_states
from booking.turns.live import LiveTurn
from booking.turns.metrics import Metrics

log = logging.getLogger(__name__)
#: Longest one group commit may take before the connection is dropped and the write retried.
WRITE_TIMEOUT_S = 10.0
#: With ``BOOKING_EVENTS_NOTIFY=all`` (the old behaviour, kept for comparison): every stored
#: batch is announced here (``conversation_id:last seq``) and every process listens.
EVENTS_CHANNEL = "booking_turn_events"
#: How long an owner keeps announcing a turn's parts after a follower elsewhere said it follows
#: (followers repeat it every :data:`FOLLOW_RENEW_S`).
FOLLOWED_FOR_S = 30.0
FOLLOW_RENEW_S = 10.0

NotifyMode = Literal["all", "followed"]

#: Errors that say one turn's rows can never be written (a constraint, bad data such as a NUL
#: in a text): retrying would fail forever, so the writer finds the turn and fails it alone.
PERMANENT = (psycopg.errors.IntegrityError, psycopg.errors.DataError)


def conversation_channel(conversation_id: str) -> str:
    """The ``LISTEN`` channel of one conversation's stored parts: an identifier PostgreSQL takes
    unquoted (lower-case hex) and short enough (35 bytes; the limit is 63) whatever the id."""
    return "bk_" + hashlib.blake2b(conversation_id.encode(), digest_size=16).hexdigest()


def follow_channel(owner: str) -> str:
    """Where followers in other processes tell ``owner`` they follow one of its turns (payload:
    the conversation id)."""
    return "bk_follow_" + hashlib.blake2b(owner.encode(), digest_size=12).hexdigest()


class EventWriter:
    """One writer for every turn of the process, committing in groups.

    While one batch is being written, every turn's new parts accumulate; the next transaction
    takes them all (one statement: the rows, and a NOTIFY per conversation someone elsewhere
    follows). Alone, a part is stored about half a millisecond after it is made; under load,
    batches grow instead of transactions multiplying. Parts reach clients only once stored.

    Only turns this process still owns are written (``append_events``): a turn another process
    closed (a sweeper) or whose conversation was deleted is *lost*: its followers here get a
    terminal part, its task is cancelled, and it never blocks the others. A turn whose rows the
    database refuses (a constraint, bad data) is failed alone, with a stored error part.

    Groups are committed without waiting for the WAL flush, so a PostgreSQL crash can take the
    last few that clients already saw. After any failed write the writer therefore asks the
    database, once it answers again, how far each live turn really got, and writes the missing
    parts again from memory: the log a client resumes from never has a hole.
    """

    def __init__(
        self,
        url: str,
        live_turns: Callable[[], Iterable[LiveTurn]],
        *,
        owner: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._url = url
        self._live_turns = live_turns
        self.owner = owner
        self._dirty: dict[str, LiveTurn] = {}
        self._pings: dict[str, LiveTurn] = {}
        self._wakeup = asyncio.Event()
        self._urgent = asyncio.Event()
        self.linger_s = 0.0
        """How long a batch of continuing deltas may wait for more before it is written
        (``BOOKING_EVENT_WRITER_LINGER_MS``); 0 writes at once."""
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._resync = False
        self.notify: NotifyMode = "followed"
        self.unhealthy_after_s = 5.0
        self.pooler = "none"
        self.retry_s = 0.5
        self._failing_since: float | None = None
        self._writing_since: float | None = None
        self.statements = 0
        """Write statements sent (tests count retries with it)."""
        self._metrics = metrics or Metrics()
        self._metrics.writer_healthy.set_function(lambda: float(self.healthy()))

    def configure(
        self,
        *,
        notify: NotifyMode | None = None,
        unhealthy_after_s: float | None = None,
        pooler: str | None = None,
        url: str | None = None,
        linger_s: float | None = None,
    ) -> None:
        """Settings from the composition root (``BOOKING_EVENTS_NOTIFY``,
        ``BOOKING_EVENT_WRITER_UNHEALTHY_S``, ``BOOKING_DATABASE_POOLER``,
        ``BOOKING_EVENT_WRITER_LINGER_MS`` and the pooled URL: the writer keeps no session
        state, so it may go through a transaction pooler)."""
        if url is not None:
            self._url = url
        if notify is not None:
            self.notify = notify
        if unhealthy_after_s is not None:
            self.unhealthy_after_s = unhealthy_after_s
        if pooler is not None:
            self.pooler = pooler
        if linger_s is not None:
            self.linger_s = linger_s

    def mark(self, live: LiveTurn, *, urgent: bool = True) -> None:
        """``live`` has parts to store. ``urgent`` is False for a delta continuing the one
        before it: with a linger, such parts wait up to ``linger_s`` for company (Kafka's
        ``linger.ms``); anything else (a turn's first text, a tool call, its end) is written
        at once and takes whatever is waiting with it."""
        if live.lost is None:
            self._dirty[live.turn_id] = live
            self._wakeup.set()
            if urgent:
                self._urgent.set()

    def followed(self, live: LiveTurn) -> None:
        """A follower in another process follows ``live``: announce its parts for a while, and
        once now (it may have read the log just before this process heard of it)."""
        live.followed_until = time.monotonic() + FOLLOWED_FOR_S
        self._pings[live.conversation_id] = live
        self._wakeup.set()

    def healthy(self) -> bool:
        """False while writes have failed, or one has been waiting, for longer than
        ``unhealthy_after_s`` (``/readyz`` answers 503 ``event_writer_failing``)."""
        now = time.monotonic()
        return all(
            since is None or now - since <= self.unhealthy_after_s
            for since in (self._failing_since, self._writing_since)
        )

    async def run(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                if self.linger_s and not self._urgent.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.linger_s):
                            await self._urgent.wait()
                self._wakeup.clear()
                self._urgent.clear()
                batch = [(live, len(live.parts)) for live in self._dirty.values()]
                self._dirty.clear()
                pings, self._pings = self._pings, {}
                self._writing_since = time.monotonic()
                try:
                    await self._write(batch, pings)
                except Exception:
                    self._failed(batch, pings)
                    await self._reset()
                    await asyncio.sleep(self.retry_s)
                    continue
                finally:
                    self._writing_since = None
                self._failing_since = None
        finally:
            await self._reset()

    def _failed(self, batch: list[tuple[LiveTurn, int]], pings: dict[str, LiveTurn]) -> None:
        """A write failed for a reason that may pass (the database restarting, a lock, a
        revoked grant): keep the turns that still run for the next try, and try again even
        when none does (readiness must come back once the database does)."""
        log.exception("writing turn events failed; retrying")
        self._metrics.writer_failures.inc()
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._resync = True
        for live, _ in batch:
            if not live.done and live.lost is None:
                self.mark(live)
        for conversation_id, live in pings.items():
            self._pings.setdefault(conversation_id, live)
        self._wakeup.set()

    async def _reset(self) -> None:
        if self._conn is not None:
            await _close_quietly(self._conn)
            self._conn = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await connect_raw(self._url, self.pooler)
        return self._conn

    async def _write(self, batch: list[tuple[LiveTurn, int]], pings: dict[str, LiveTurn]) -> None:
        if not any(upto > live.persisted for live, upto in batch) and not (self._resync or pings):
            return
        conn = await self._connection()
        if self._resync:
            await self._rewind(conn)
            self._resync = False
        refused: set[str] = set()
        try:
            written = await self._append(conn, batch)
        except PERMANENT:
            # One turn's rows poison the statement: find it, write the others.
            log.warning("a batch of turn events was refused; writing turn by turn", exc_info=True)
            written = {}
            for one in batch:
                try:
                    written.update(await self._append(conn, [one]))
                except PERMANENT as exc:
                    refused.add(one[0].turn_id)
                    self._refused(one[0], exc)
        # A follower elsewhere just said it follows: tell it once what is stored, unless this
        # batch's rows already did.
        pending = {
            conversation_channel(live.conversation_id): (
                f"{live.conversation_id}:{live.last_stored_seq}"
            )
            for live in pings.values()
            if live.lost is None and live.turn_id not in written
        }
        if pending:
            await notify_many(conn, pending)
            self._metrics.notifications.inc(len(pending))
        lost = []
        for live, upto in batch:
            if live.turn_id in written:
                live.stored(upto)
            elif upto > live.persisted and live.turn_id not in refused and live.lost is None:
                lost.append(live)
        if lost:
            await self._lose(conn, lost)

    async def _append(
        self, conn: psycopg.AsyncConnection[Any], batch: list[tuple[LiveTurn, int]]
    ) -> dict[str, int]:
        """Write ``batch``'s unstored rows; the turns whose rows were written (their new last
        seq). A turn with rows that is missing was not written: it is no longer ours."""
        rows = [
            (live.conversation_id, live.parts[i][0], live.turn_id, live.encoded[i])
            for live, upto in batch
            if live.lost is None
            for i in range(live.persisted, upto)
        ]
        if not rows:
            return {}
        now = time.monotonic()
        if self.notify == "all":
            notify = {live.conversation_id: EVENTS_CHANNEL for live, _ in batch}
        else:
            notify = {
                live.conversation_id: conversation_channel(live.conversation_id)
                for live, _ in batch
                if live.followed_until > now
            }
        self.statements += 1
        # Bounded: a connection hung without a TCP reset would otherwise keep the writer (and
        # /readyz) stuck until the kernel gives up; a timeout is a transient error (reconnect).
        written, notified = await asyncio.wait_for(
            append_events(conn, rows, owner=self.owner, notify=notify), WRITE_TIMEOUT_S
        )
        self._metrics.notifications.inc(notified)
        return written

    async def _lose(self, conn: psycopg.AsyncConnection[Any], lost: list[LiveTurn]) -> None:
        """Turns whose rows were not written because they are no longer ours: say why to their
        followers here, stop them, never write them again."""
        states = await turn_states(conn, [live.turn_id for live in lost])
        for live in lost:
            state = states.get(live.turn_id)
            if state is None:
                code, message, retryable = (
                    "conversation_deleted",
                    "This conversation was deleted while the reply was being written.",
                    False,
                )
            else:
                code, message, retryable = (
                    "turn_taken_over",
                    "Another server closed this reply while it was being written "
                    f"(it is {state[0]} now); send your message again.",
                    True,
                )
            log.error("turn %s lost (%s): its parts are no longer written", live.turn_id, code)
            self._metrics.writer_lost_turns.labels(reason=code).inc()
            live.lose(code, message, retryable)

    def _refused(self, live: LiveTurn, exc: Exception) -> None:
        """The database refuses ``live``'s rows for good: replace its unstored parts with an
        error the next write stores (if that is refused too, the turn is lost)."""
        log.error("turn %s: the database refused its parts (%s)", live.turn_id, exc)
        self._metrics.writer_lost_turns.labels(reason="event_rejected").inc()
        if live.refused:
            live.lose(
                "event_rejected", "This reply could not be stored; please send it again.", True
            )
            return
        live.refuse(
            "event_rejected", "Part of this reply could not be stored; please send it again.", True
        )
        self.mark(live)

    async def _rewind(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Set each live turn's ``persisted`` back to what the database really holds."""
        turns = {live.turn_id: live for live in self._live_turns() if live.lost is None}
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


async def _close_quietly(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
