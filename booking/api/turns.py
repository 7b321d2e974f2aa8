"""Turns run in background tasks owned by the server, not by the HTTP request.

A client that disconnects does not cancel its turn: the turn completes, every part is persisted
(append-only ``turn_events``, keyed by the conversation's cursor) and can be replayed from any
cursor, by any process. Only ``stop`` cancels. Live following inside the process reads the turn's
in-memory buffer; across processes it uses PostgreSQL ``LISTEN/NOTIFY`` (no other broker).

Each running turn holds a lease that its process renews; a turn whose process died is found by
any process's sweeper when the lease runs out and is closed with a retryable error, never left
"running". On shutdown, turns still running after the grace period are closed the same way.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from booking.agent.events import (
    ApprovalRequested,
    ToolError,
    ToolResult,
    TurnDone,
    TurnFailed,
    Usage,
)
from booking.agent.history import close_open_tool_calls, unanswered_calls
from booking.agent.orchestrator import AgentTurn, Orchestrator, ResolvedApproval
from booking.api import logs
from booking.api.approvals import arguments_hash
from booking.api.metrics import Metrics
from booking.api.sse import Part, UIStreamEncoder, encode_part, is_terminal
from booking.db.booking_repository import ApprovalRepository
from booking.db.conversation_repository import (
    ConversationMissing,
    ConversationRepository,
    TurnAlreadyRunning,
    TurnEventRepository,
    TurnRepository,
    append_events,
    close_turn,
    last_seqs,
    start_turn,
)
from booking.db.models import TurnRow
from booking.errors import BookingError, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)
#: How long a finished turn keeps trying to close while the database is unreachable.
CLOSE_RETRY_S = 10.0
EVENTS_CHANNEL = "booking_turn_events"
Followed = tuple[int, Part, str]
"""A part as followers get it: (cursor, part, its compact JSON)."""
CANCEL_CHANNEL = "booking_turn_cancel"
SUPERSEDED = "The traveller sent a new message instead of answering the approval request."
INTERRUPTED_MESSAGE = (
    "The server stopped while answering. Nothing was lost: send the message again or resume."
)


class Draining(Exception):
    """The server is shutting down: followers end now and their clients resume elsewhere."""


class TurnRunning(BookingError):
    code = "turn_running"
    status = 409


class ConversationExists(BookingError):
    code = "conversation_exists"
    status = 409


class ServerBusy(ServiceUnavailable):
    code = "server_busy"


class ShuttingDown(ServiceUnavailable):
    code = "shutting_down"


@dataclass
class LiveTurn:
    """A turn running in this process: its parts so far, and a way to wait for more.

    Followers see a part only once it is stored: a client never holds an id the database does
    not, so a resume after a crash continues exactly where the client stopped.
    """

    turn_id: str
    conversation_id: str
    message_id: str
    first_seq: int
    tenant: str = ""
    parts: list[tuple[int, Part]] = field(default_factory=list)
    encoded: list[str] = field(default_factory=list)
    """Each part's compact JSON, made once for the database and every follower."""
    done: bool = False
    task: asyncio.Task[None] | None = None
    persisted: int = 0
    """How many of ``parts`` are in the database."""
    shutdown: bool = False
    closing: bool = False
    """The turn has ended and is being stored; cancelling it now would leave it "running"."""
    writer: EventWriter | None = None
    draining: bool = False
    """The server is shutting down: followers stop (the turn itself runs on in its grace)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _flushed: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, seq: int, part: Part) -> None:
        self.parts.append((seq, part))
        self.encoded.append(encode_part(part))
        if self.writer is not None:
            self.writer.mark(self)

    def stored(self, upto: int) -> None:
        """The writer stored ``parts[:upto]``: release them to followers."""
        self.persisted = max(self.persisted, upto)
        self._flushed.set()
        self._wake()

    async def flushed(self) -> None:
        """Wait until every part appended so far is in the database."""
        target = len(self.parts)
        while self.persisted < target:
            self._flushed.clear()
            if self.writer is not None:
                self.writer.mark(self)
            await self._flushed.wait()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def drain(self) -> None:
        self.draining = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after: int) -> AsyncIterator[list[Followed]]:
        """Stored parts after ``after``, in batches (whatever one group commit released)."""
        index = bisect.bisect_right(self.parts, after, key=lambda item: item[0])
        while True:
            upto = self.persisted
            if index < upto:
                yield [
                    (self.parts[i][0], self.parts[i][1], self.encoded[i])
                    for i in range(index, upto)
                ]
                index = upto
                continue
            if self.done and index >= len(self.parts):
                return
            if self.draining:
                raise Draining
            await self._changed.wait()


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


class TurnManager:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        orchestrator_for: Callable[[str, str], Orchestrator],
        *,
        listen_url: str,
        metrics: Metrics,
        max_running: int = 256,
        lease_s: float = 15.0,
        approval_ttl_s: float = 900.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        engine = sessionmaker.kw.get("bind")
        assert isinstance(engine, AsyncEngine), "the sessionmaker must be bound to an AsyncEngine"
        self._engine = engine
        self._orchestrator_for = orchestrator_for
        self._listen_url = listen_url
        self._metrics = metrics
        self._max_running = max_running
        self._lease = timedelta(seconds=lease_s)
        self._approval_ttl = timedelta(seconds=approval_ttl_s)
        self.owner = f"proc-{uuid.uuid4().hex[:12]}"
        self.live: dict[str, LiveTurn] = {}
        self.closing = False
        self.draining = False
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._background: list[asyncio.Task[None]] = []
        self.writer = EventWriter(listen_url, lambda: list(self.live.values()))

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        """The event loop the turns run on (diagnostics and tests read it)."""
        self._background = [
            asyncio.create_task(self._listen(), name="turns-listen"),
            asyncio.create_task(self._keep_leases(), name="turns-leases"),
            asyncio.create_task(self.writer.run(), name="turns-writer"),
        ]

    async def close(self, grace_s: float) -> None:
        """Stop taking turns; let running ones finish within ``grace_s``; interrupt the rest."""
        self.closing = True
        running = [live.task for live in self.live.values() if live.task]
        if running:
            await asyncio.wait(running, timeout=grace_s)
        for live in list(self.live.values()):
            if live.task and not live.task.done() and not live.closing:
                live.shutdown = True
                live.task.cancel()
        remaining = [live.task for live in self.live.values() if live.task]
        if remaining:
            await asyncio.wait(remaining, timeout=5)
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # Starting and stopping turns ---------------------------------------------------------

    async def begin(
        self,
        tenant: str,
        conversation_id: str,
        text: str,
        *,
        ui_message_id: str | None = None,
        create: bool = False,
    ) -> LiveTurn:
        """Start a turn answering the user's new message."""
        orchestrator = self._orchestrator_for(conversation_id, tenant)
        live, history = await self._open(
            tenant,
            conversation_id,
            f"msg_{uuid.uuid4().hex}",
            user_message={
                "payload": {"role": "user", "content": text},
                "ui_message_id": ui_message_id,
            },
            create=create,
        )
        turn = orchestrator.start(history, text)
        self._launch(live, turn, len(history) + 1)
        return live

    async def resume_after_approval(
        self,
        tenant: str,
        conversation_id: str,
        message_id: str,
        resolved: list[ResolvedApproval],
    ) -> LiveTurn:
        """Continue a turn that paused for approval, as the same assistant message."""
        orchestrator = self._orchestrator_for(conversation_id, tenant)
        live, history = await self._open(tenant, conversation_id, message_id, user_message=None)
        turn = orchestrator.resume(history, resolved)
        self._launch(live, turn, len(history))
        return live

    def check_capacity(self) -> None:
        """Raise the 503 a new turn would get now (before side effects such as a decision)."""
        if self.closing:
            raise ShuttingDown("The server is restarting; try again in a moment.", retry_after=2)
        if len(self.live) >= self._max_running:
            self._metrics.rejected_turns.inc()
            raise ServerBusy("Too many conversations right now; try again shortly.", retry_after=1)

    async def _open(
        self,
        tenant: str,
        conversation_id: str,
        message_id: str,
        *,
        user_message: dict[str, Any] | None,
        create: bool = False,
    ) -> tuple[LiveTurn, list[dict[str, Any]]]:
        self.check_capacity()
        turn_id = uuid.uuid4().hex
        start_part = UIStreamEncoder(message_id).start()[0]
        try:
            async with self._driver() as driver:
                first_seq, history = await start_turn(
                    driver,
                    tenant=tenant,
                    conversation_id=conversation_id,
                    create=create,
                    turn={"id": turn_id, "message_id": message_id, "owner": self.owner},
                    user_message=user_message,
                    lease_s=self._lease.total_seconds(),
                    first_part=encode_part(start_part),
                    answer_open_calls=lambda h: unanswered_calls(h, SUPERSEDED),
                )
        except ConversationMissing:
            raise NotFound(
                f"No conversation {conversation_id}.", conversation_id=conversation_id
            ) from None
        except TurnAlreadyRunning:
            async with self._sessionmaker() as session:
                running = await TurnRepository(session).running(conversation_id)
            raise TurnRunning(
                "A reply is still being written in this conversation; join its stream or stop it.",
                running_turn_id=running.id if running else None,
            ) from None
        live = LiveTurn(
            turn_id,
            conversation_id,
            message_id,
            first_seq,
            tenant=tenant,
            writer=self.writer,
            draining=self.draining,
        )
        live.append(first_seq, start_part)
        live.stored(1)  # Written with the turn itself.
        return live, history

    def _launch(self, live: LiveTurn, turn: AgentTurn, position: int) -> None:
        self.live[live.conversation_id] = live
        live.task = asyncio.create_task(self._run(live, turn, position))
        self._metrics.active_turns.inc()

    async def stop(self, tenant: str, conversation_id: str) -> str | None:
        """Cancel the running turn, wherever it runs; return its id (None if none ran). Idempotent."""
        async with self._sessionmaker() as session:
            if await ConversationRepository(session).get(tenant, conversation_id) is None:
                raise NotFound(
                    f"No conversation {conversation_id}.", conversation_id=conversation_id
                )
            running = await TurnRepository(session).running(conversation_id)
        if running is None:
            return None
        live = self.live.get(conversation_id)
        if live is not None and live.task is not None:
            if not live.closing:
                live.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([live.task], timeout=5)
        else:
            async with self._sessionmaker() as session, session.begin():
                await TurnEventRepository(session).notify(CANCEL_CHANNEL, conversation_id)
        return running.id

    @contextlib.asynccontextmanager
    async def _driver(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection's psycopg connection, for the hot paths that skip the ORM."""
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            yield raw.driver_connection  # type: ignore[misc]

    # Reading -----------------------------------------------------------------------------

    async def running_turn(self, tenant: str, conversation_id: str) -> TurnRow | None:
        async with self._sessionmaker() as session:
            if await ConversationRepository(session).get(tenant, conversation_id) is None:
                raise NotFound(
                    f"No conversation {conversation_id}.", conversation_id=conversation_id
                )
            return await TurnRepository(session).running(conversation_id)

    def begin_drain(self) -> None:
        """The server got SIGTERM: refuse new turns and end every follower now (with a part
        telling its client to resume elsewhere); running turns go on for their grace period."""
        if self.draining:
            return
        self.draining = self.closing = True
        for live in self.live.values():
            live.drain()
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    async def follow(self, conversation_id: str, after: int) -> AsyncIterator[list[Followed]]:
        """Every part after the cursor, then the running turn's parts live until it ends, in
        batches of (cursor, part, its JSON). Raises :class:`Draining` when the server begins to
        shut down before the turn ends."""
        live = self.live.get(conversation_id)
        if live is None or after < live.first_seq - 1:
            async for seq, part in self._replay(conversation_id, after):
                after = seq
                yield [(seq, part, encode_part(part))]
            live = self.live.get(conversation_id)
        if live is not None and after >= live.first_seq - 1:
            async for batch in live.follow(after):
                yield batch
            return
        async for seq, part in self._follow_remote(conversation_id, after):
            yield [(seq, part, encode_part(part))]

    async def _replay(self, conversation_id: str, after: int) -> AsyncIterator[tuple[int, Part]]:
        while True:
            async with self._sessionmaker() as session:
                rows = await TurnEventRepository(session).after(conversation_id, after)
            for row in rows:
                after = row.seq
                yield row.seq, row.part
            if len(rows) < 1000:
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

    # Running a turn ----------------------------------------------------------------------

    async def _run(self, live: LiveTurn, turn: AgentTurn, position: int) -> None:
        logs.conversation_id.set(live.conversation_id)
        logs.turn_id.set(live.turn_id)
        encoder = UIStreamEncoder(live.message_id)
        seq = live.first_seq + 1  # The start part went in with the turn.

        def emit(parts: list[Part]) -> None:
            nonlocal seq
            for part in parts:
                live.append(seq, part)
                seq += 1

        status, error_code, usage = "done", None, None
        try:
            async for event in turn:
                if isinstance(event, ApprovalRequested):
                    # Stored before the traveller sees it: a decision can arrive at once.
                    await self._save_approval(live, event)
                emit(encoder.encode(event))
                self._observe(event)
                if isinstance(event, TurnDone):
                    usage = _usage_json(event.usage)
                    if event.reason == "awaiting_approval":
                        status = "awaiting_approval"
                elif isinstance(event, TurnFailed):
                    status, error_code, usage = "failed", event.code, _usage_json(event.usage)
        except asyncio.CancelledError:
            if live.shutdown:
                status, error_code = "interrupted", "turn_interrupted"
                emit(
                    encoder.close() + encoder.failure("turn_interrupted", INTERRUPTED_MESSAGE, True)
                )
            else:
                status, error_code = "cancelled", "cancelled"
                emit(encoder.abort("stopped by the client"))
        except Exception:
            log.exception("turn %s failed", live.turn_id)
            status, error_code = "failed", "internal_error"
            emit(
                encoder.close()
                + encoder.failure(
                    "internal_error", "Something went wrong on our side; please try again.", True
                )
            )
        finally:
            live.closing = True
            # Stored and closed before the stream ends: once a client sees [DONE], its next
            # message is accepted and the transcript has the whole answer.
            try:
                await asyncio.wait_for(asyncio.shield(live.flushed()), 30)
            except TimeoutError:
                log.error("turn %s: events not persisted after 30 s", live.turn_id)
            if status == "awaiting_approval":
                new_messages = turn.messages[turn.stored :]
            else:
                new_messages = close_open_tool_calls(
                    turn.messages[turn.stored :], f"the turn was {status}"
                )
            try:
                await asyncio.shield(
                    self._close_turn_retrying(
                        live, status, error_code, usage, new_messages, position
                    )
                )
            except Exception:
                # Its lease is no longer renewed (it leaves ``live``), so a sweeper closes it.
                log.exception("turn %s could not be closed", live.turn_id)
            finally:
                live.finish()
                self._metrics.turns.labels(status=status).inc()
                self._metrics.active_turns.dec()
                if self.live.get(live.conversation_id) is live:
                    del self.live[live.conversation_id]

    async def _save_approval(self, live: LiveTurn, event: ApprovalRequested) -> None:
        now = datetime.now(UTC)
        async with self._sessionmaker() as session, session.begin():
            await ApprovalRepository(session).add(
                {
                    "id": event.approval_id,
                    "tenant": live.tenant,
                    "conversation_id": live.conversation_id,
                    "turn_id": live.turn_id,
                    "message_id": live.message_id,
                    "tool_call_id": event.call_id,
                    "tool_name": event.name,
                    "arguments": event.arguments,
                    "arguments_hash": arguments_hash(event.arguments),
                    "summary": event.summary,
                    "created_at": now,
                    "expires_at": now + self._approval_ttl,
                }
            )

    def _observe(self, event: object) -> None:
        if isinstance(event, ToolResult | ToolError):
            outcome = "ok" if isinstance(event, ToolResult) else str(event.error.get("code"))
            self._metrics.tool_calls.labels(tool=event.name, outcome=outcome).inc()
            self._metrics.tool_latency.labels(tool=event.name).observe(event.duration_ms / 1000)
        elif isinstance(event, Usage) and event.ttft_ms is not None:
            self._metrics.ttft.observe(event.ttft_ms / 1000)
        elif isinstance(event, TurnFailed) and event.code.startswith("upstream_"):
            self._metrics.upstream_errors.labels(code=event.code).inc()

    async def _close_turn_retrying(self, live: LiveTurn, *args: Any) -> None:
        """Close the turn; while the database is unreachable (restarting), keep trying for a
        few seconds, so a short outage does not leave the conversation blocked until a sweeper
        reclaims the turn's lease."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((sa_exc.OperationalError, psycopg.OperationalError)),
            stop=stop_after_delay(CLOSE_RETRY_S),
            wait=wait_exponential_jitter(multiplier=0.2, max=1.0),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    # The database went away after the turn's last write: a crash may have
                    # taken parts the writer thought stored. Check, and have them written again.
                    async with self._driver() as driver:
                        stored = dict(await last_seqs(driver, [live.turn_id]))
                    self.writer.rewind(live, stored.get(live.turn_id, live.first_seq))
                await asyncio.wait_for(live.flushed(), CLOSE_RETRY_S)
                await self._close_turn(live, *args)

    async def _close_turn(
        self,
        live: LiveTurn,
        status: str,
        error_code: str | None,
        usage: dict[str, Any] | None,
        messages: list[dict[str, Any]],
        position: int,
    ) -> None:
        rows = [
            {
                "conversation_id": live.conversation_id,
                "position": position + i,
                "turn_id": live.turn_id,
                "role": m["role"],
                "payload": m,
                "ui_message_id": live.message_id if m["role"] == "assistant" else None,
            }
            for i, m in enumerate(messages)
        ]
        async with self._driver() as driver:
            closed = await close_turn(
                driver,
                conversation_id=live.conversation_id,
                last_seq=live.parts[-1][0] if live.parts else live.first_seq - 1,
                turn_id=live.turn_id,
                status=status,
                error_code=error_code,
                usage=usage,
                messages=rows,
            )
        if not closed:
            log.warning("turn %s was closed by another process before it finished", live.turn_id)

    # Background: leases, orphans, cross-process signals ------------------------------------

    async def _keep_leases(self) -> None:
        period = max(0.5, self._lease.total_seconds() / 3)
        while True:
            try:
                async with self._sessionmaker() as session, session.begin():
                    await TurnRepository(session).renew_leases(
                        self.owner, self._lease, [live.turn_id for live in self.live.values()]
                    )
                await self._close_orphans()
            except Exception:
                log.exception("lease upkeep failed; retrying")
            await asyncio.sleep(period)

    async def _close_orphans(self) -> None:
        """Turns whose process died: close them with a retryable error part, once."""
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

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._listen_url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
                    await conn.execute(f"LISTEN {CANCEL_CHANNEL}")
                    async for note in conn.notifies():
                        self._dispatch(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1)

    def _dispatch(self, channel: str, payload: str) -> None:
        if channel == CANCEL_CHANNEL:
            live = self.live.get(payload)
            if live is not None and live.task is not None and not live.closing:
                live.task.cancel()
            return
        conversation_id = payload.rsplit(":", 1)[0]
        for waiter in self._waiters.get(conversation_id, ()):
            waiter.set()


def _usage_json(usage: Any) -> dict[str, Any]:
    return {
        "model_calls": usage.model_calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "ttft_ms": usage.ttft_ms,
        "models": usage.models,
    }
