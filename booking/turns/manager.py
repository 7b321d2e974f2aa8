"""The turn runtime's front door: admission, start, resume after approval, stop, follow.

Turns run in background tasks owned by the server, not by the HTTP request. A client that
disconnects does not cancel its turn: the turn completes, every part is persisted (append-only
``turn_events``, keyed by the conversation's cursor) and can be replayed from any cursor, by any
process. Only ``stop`` cancels. The pieces: :mod:`~booking.turns.runner` runs a turn,
:mod:`~booking.turns.writer` stores parts in group commits, :mod:`~booking.turns.follower`
replays and follows (``LISTEN/NOTIFY`` across processes), :mod:`~booking.turns.leases` renews
this process's leases and closes turns whose process died. On shutdown, turns still running
after the grace period are closed as interrupted (retryable).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry import context as otel_context
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.agent.history import unanswered_calls
from booking.agent.orchestrator import AgentTurn, Orchestrator, ResolvedApproval
from booking.db.engine import libpq_url
from booking.db.event_log import ConversationMissing, TurnAlreadyRunning, start_turn
from booking.db.hot_pool import HotPool
from booking.db.turn_repository import TurnEventRepository, TurnRepository
from booking.domain import conversations
from booking.errors import ServerBusy, ShuttingDown, TurnRunning
from booking.i18n.language import evidence
from booking.turns.follower import CANCEL_CHANNEL, Follower
from booking.turns.leases import LeaseKeeper
from booking.turns.live import Followed, LiveTurn
from booking.turns.metrics import Metrics
from booking.turns.runner import TurnRunner
from booking.turns.transcript import fold_parts
from booking.turns.ui_stream import UIStreamEncoder, encode_part
from booking.turns.writer import EventWriter


@dataclass(frozen=True, slots=True)
class RunningTurn:
    id: str
    first_seq: int
    """Cursor of its first part: following from ``first_seq - 1`` replays it whole."""


@dataclass(frozen=True, slots=True)
class StopOutcome:
    turn_id: str | None
    """The turn that was running (None: none was; nothing to stop)."""
    closed: bool
    """Whether it has ended (False: its process was asked to stop it and has not yet; it is
    alive, so it will, or its lease lapses and a sweeper closes it)."""


#: How long a stop waits for another process to close the turn before it answers.
STOP_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class FinishedReply:
    turn_id: str
    status: str
    message: dict[str, Any]
    """The assistant's UI message, folded from its stored parts."""
    last_event_id: int


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
        pooler: str = "none",
    ) -> None:
        self._sessionmaker = sessionmaker
        engine = sessionmaker.kw.get("bind")
        assert isinstance(engine, AsyncEngine), "the sessionmaker must be bound to an AsyncEngine"
        self._engine = engine
        self._starts = HotPool(
            libpq_url(engine.url.render_as_string(hide_password=False)), pooler=pooler
        )
        """Autocommit connections for the turn's start, one round trip each (``HotPool``)."""
        self._orchestrator_for = orchestrator_for
        self._metrics = metrics
        self._max_running = max_running
        self.owner = f"proc-{uuid.uuid4().hex[:12]}"
        self.live: dict[str, LiveTurn] = {}
        """The turns this process runs, by conversation."""
        self.closing = False
        self.draining = False
        self._background: list[asyncio.Task[None]] = []
        self.writer = EventWriter(
            listen_url, lambda: list(self.live.values()), owner=self.owner, metrics=metrics
        )
        self.follower = Follower(
            sessionmaker, listen_url, self.live, self._cancel_local, owner=self.owner
        )
        self.leases = LeaseKeeper(
            sessionmaker,
            self.owner,
            timedelta(seconds=lease_s),
            lambda: [live.turn_id for live in self.live.values()],
        )
        self.runner = TurnRunner(
            engine,
            sessionmaker,
            self.writer,
            metrics,
            approval_ttl=timedelta(seconds=approval_ttl_s),
            finished=self._forget,
            hot=self._starts,
        )

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        """The event loop the turns run on (diagnostics and tests read it)."""
        await self._starts.open()
        self._background = [
            asyncio.create_task(self.follower.listen(), name="turns-listen"),
            asyncio.create_task(self.leases.run(), name="turns-leases"),
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
        await self._starts.close()

    # Starting and stopping turns ---------------------------------------------------------

    async def begin(
        self,
        tenant: str,
        conversation_id: str | None,
        text: str,
        *,
        ui_message_id: str | None = None,
        create: bool = False,
        public_id: str | None = None,
    ) -> LiveTurn:
        """Start a turn answering the user's new message.

        ``conversation_id`` is the internal id, or None to find the conversation by the
        client's ``public_id`` in the same statement that starts the turn (one round trip).
        With ``create``, a conversation the tenant lacks is created (under ``conversation_id``
        or a new internal id), named ``public_id`` (default: the internal id); if another
        request of the tenant created ``public_id`` meanwhile, the turn goes into that one."""
        live, history = await self._open(
            tenant,
            conversation_id,
            f"msg_{uuid.uuid4().hex}",
            user_message={
                "payload": {"role": "user", "content": text},
                "ui_message_id": ui_message_id,
            },
            create=create,
            public_id=public_id,
        )
        turn = self._orchestrator_for(live.conversation_id, tenant).start(history, text)
        self._launch(live, turn, len(history) + 1)
        return live

    async def resume_after_approval(
        self,
        tenant: str,
        conversation_id: str,
        message_id: str,
        resolved: list[ResolvedApproval],
        *,
        public_id: str | None = None,
    ) -> LiveTurn:
        """Continue a turn that paused for approval, as the same assistant message.
        ``conversation_id`` is the internal id; ``public_id`` names it in a 404."""
        orchestrator = self._orchestrator_for(conversation_id, tenant)
        live, history = await self._open(
            tenant, conversation_id, message_id, user_message=None, public_id=public_id
        )
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
        conversation_id: str | None,
        message_id: str,
        *,
        user_message: dict[str, Any] | None,
        create: bool = False,
        public_id: str | None = None,
    ) -> tuple[LiveTurn, list[dict[str, Any]]]:
        text = user_message["payload"]["content"] if user_message else None
        self.check_capacity()
        turn_id = uuid.uuid4().hex
        language = evidence(text) if text is not None else None
        start_part = UIStreamEncoder(message_id).start(language)[0]
        try:
            async with self._starts.connection() as conn:
                conversation_id, first_seq, history = await start_turn(
                    conn,
                    tenant=tenant,
                    conversation_id=conversation_id,
                    create=create,
                    public_id=public_id,
                    new_id=conversations.new_internal_id() if conversation_id is None else None,
                    title=conversations.title_for(text) if text is not None else None,
                    turn={"id": turn_id, "message_id": message_id, "owner": self.owner},
                    user_message=user_message,
                    lease_s=self.leases.lease.total_seconds(),
                    first_part=encode_part(start_part),
                    answer_open_calls=lambda h: unanswered_calls(h, conversations.SUPERSEDED),
                )
        except ConversationMissing:
            if create and public_id is not None and conversation_id is not None:
                async with self._sessionmaker() as session:
                    existing = await conversations.find(session, tenant, public_id)
                if existing is not None and existing != conversation_id:
                    # Another request of the tenant created it first: continue that one.
                    return await self._open(tenant, existing, message_id, user_message=user_message)
            raise conversations.not_found(public_id or conversation_id or "") from None
        except TurnAlreadyRunning as running:
            async with self._sessionmaker() as session:
                turn = await TurnRepository(session).running(running.args[0])
            raise TurnRunning(
                "A reply is still being written in this conversation; join its stream or stop it.",
                running_turn_id=turn.id if turn else None,
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
        # The trace context of the request beginning the turn (its HTTP server span), captured
        # now: the turn's span is its child although the turn may outlive the request.
        parent = otel_context.get_current()
        live.task = asyncio.create_task(self.runner.run(live, turn, position, parent=parent))
        self._metrics.active_turns.inc()

    async def stop(self, tenant: str, conversation_id: str) -> str | None:
        """Stop the running turn, wherever it runs; return its id (None if none ran). Idempotent.
        See :meth:`stop_turn` for whether it is closed yet."""
        return (await self.stop_turn(tenant, conversation_id)).turn_id

    async def stop_turn(
        self, tenant: str, conversation_id: str, *, wait_s: float = STOP_WAIT_S
    ) -> StopOutcome:
        """Stop the running turn, wherever it runs, and say truly whether it has ended.

        Here: cancel its task. Elsewhere: ask its process (a NOTIFY on the cancel channel) and
        wait up to ``wait_s`` for the turn to be closed. A turn whose process is gone (lease
        lapsed, or its connection absent) is closed here at once, interrupted, as the sweeper
        would, so a new message is accepted right after. Idempotent: with no running turn the
        outcome names none."""
        async with self._sessionmaker() as session:
            await conversations.require(session, tenant, conversation_id)
            running = await TurnRepository(session).running(conversation_id)
        if running is None:
            return StopOutcome(None, closed=True)
        live = self.live.get(conversation_id)
        if live is not None and live.turn_id == running.id and live.task is not None:
            if not live.closing:
                live.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([live.task], timeout=wait_s)
            return StopOutcome(running.id, closed=live.task.done())
        if await self.leases.close_if_orphaned(running.id, running.owner):
            return StopOutcome(running.id, closed=True)
        async with self._sessionmaker() as session, session.begin():
            await TurnEventRepository(session).notify(CANCEL_CHANNEL, conversation_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        pause = 0.05
        while loop.time() < deadline:
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 0.25)
            async with self._sessionmaker() as session:
                turn = await TurnRepository(session).get(running.id)
            if turn is None or turn.status != "running":
                return StopOutcome(running.id, closed=True)
            # Its process may have died since: then nobody else would close it for a while.
            if await self.leases.close_if_orphaned(running.id, running.owner):
                return StopOutcome(running.id, closed=True)
        return StopOutcome(running.id, closed=False)

    # Reading -----------------------------------------------------------------------------

    async def running_turn(self, tenant: str, conversation_id: str) -> RunningTurn | None:
        """The conversation's running turn, wherever it runs (None when it is at rest)."""
        async with self._sessionmaker() as session:
            await conversations.require(session, tenant, conversation_id)
            running = await TurnRepository(session).running(conversation_id)
        return RunningTurn(running.id, running.first_seq) if running is not None else None

    async def reply(self, live: LiveTurn) -> FinishedReply:
        """Wait for the turn to end; its status and its message as the transcript shows it.

        Shielded: a caller that goes away must not cancel the turn (only stop does)."""
        assert live.task is not None
        await asyncio.shield(live.task)
        async with self._sessionmaker() as session:
            turn = await TurnRepository(session).get(live.turn_id)
            parts = await conversations.message_parts(
                session, live.conversation_id, live.message_id
            )
        return FinishedReply(
            turn_id=live.turn_id,
            status=turn.status if turn else "done",
            message=fold_parts(p.part for p in parts),
            last_event_id=live.last_seq,
        )

    def begin_drain(self) -> None:
        """The server got SIGTERM: refuse new turns and end every follower now (with a part
        telling its client to resume elsewhere); running turns go on for their grace period."""
        if self.draining:
            return
        self.draining = self.closing = True
        for live in self.live.values():
            live.drain()
        self.follower.drain()

    async def follow(self, conversation_id: str, after: int) -> AsyncIterator[list[Followed]]:
        """Every part after the cursor, then the running turn's parts live until it ends (see
        :meth:`Follower.follow`)."""
        async for batch in self.follower.follow(conversation_id, after):
            yield batch

    def _cancel_local(self, conversation_id: str) -> None:
        """A stop request from another process, for a turn this one may run."""
        live = self.live.get(conversation_id)
        if live is not None and live.task is not None and not live.closing:
            live.task.cancel()

    def _forget(self, live: LiveTurn) -> None:
        if self.live.get(live.conversation_id) is live:
            del self.live[live.conversation_id]
