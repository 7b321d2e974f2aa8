"""Running one turn: the agent's events become stream parts, stored before anyone sees them;
the turn is closed (status, usage, the messages it produced) before its stream ends."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from opentelemetry import trace
from opentelemetry.context import Context
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from booking import logs, telemetry
from booking.agent.events import (
    ApprovalRequested,
    StepFinished,
    StepStarted,
    TextDelta,
    ToolError,
    ToolResult,
    TurnDone,
    TurnFailed,
    TurnUsage,
    Usage,
)
from booking.agent.history import close_open_tool_calls, incomplete_answer
from booking.agent.orchestrator import AgentTurn
from booking.agent.tool_calls import as_content
from booking.db.approval_repository import ApprovalRepository
from booking.db.engine import driver_connection
from booking.db.event_log import close_turn, last_seqs
from booking.db.hot_pool import HotPool
from booking.domain.tool_approvals import arguments_hash
from booking.turns.leases import INTERRUPTED_MESSAGE, INTERRUPTED_NOTE
from booking.turns.live import LiveTurn
from booking.turns.metrics import Metrics
from booking.turns.ui_stream import Part, UIStreamEncoder
from booking.turns.writer import EventWriter

log = logging.getLogger(__name__)
#: How long a finished turn keeps trying to close while the database is unreachable.
CLOSE_RETRY_S = 10.0
#: What the model reads at the end of an answer cut short, by the turn's status.
INCOMPLETE_NOTES = {
    "interrupted": INTERRUPTED_NOTE,
    "cancelled": "[answer interrupted: the traveller stopped it]",
    "failed": "[answer interrupted: an error ended it]",
}
INTERNAL_ERROR_MESSAGE = (
    "Something went wrong on our side and this reply stopped. What you saw is kept; "
    "please send your message again."
)


@dataclasses.dataclass
class _Progress:
    """What a turn showed that its ``messages`` may not hold yet, for when it is cut short:
    the text of the model call in progress, and the tool results already out."""

    step_open: bool = False
    step_start: int = 0
    """``len(turn.messages)`` when the model call in progress began."""
    text: list[str] = dataclasses.field(default_factory=list)
    outputs: dict[str, str] = dataclasses.field(default_factory=dict)

    def see(self, event: object, messages: list[dict[str, Any]]) -> None:
        if isinstance(event, StepStarted):
            self.step_open, self.step_start, self.text = True, len(messages), []
        elif isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, StepFinished):
            self.step_open = False
        elif isinstance(event, ToolResult):
            self.outputs[event.call_id] = as_content(event.output)
        elif isinstance(event, ToolError):
            self.outputs[event.call_id] = as_content({"error": event.error})

    def history(
        self, messages: list[dict[str, Any]], stored: int, note: str
    ) -> list[dict[str, Any]]:
        """The messages the cut-short turn adds: complete model calls as the turn recorded
        them, the call in progress as far as it streamed, ending with ``note``."""
        kept = messages[stored:]
        if self.step_open:
            # The model had not finished: its text so far (the orchestrator may have recorded
            # it already, on a stream failure; this replaces that copy).
            kept = messages[stored : max(stored, self.step_start)]
            if "".join(self.text):
                kept.append({"role": "assistant", "content": "".join(self.text)})
        return incomplete_answer(kept, self.outputs, note)


class TurnRunner:
    """Runs turns as tasks of this process; ``finished`` is told when each one is closed."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: EventWriter,
        metrics: Metrics,
        *,
        approval_ttl: timedelta,
        finished: Callable[[LiveTurn], None],
        hot: HotPool | None = None,
    ) -> None:
        self._engine = engine
        self._hot = hot
        """Autocommit connections for the turn's close, one round trip (else the engine's)."""
        self._sessionmaker = sessionmaker
        self.writer = writer
        self.metrics = metrics
        self._approval_ttl = approval_ttl
        self._finished = finished

    async def run(
        self, live: LiveTurn, turn: AgentTurn, position: int, *, parent: Context | None = None
    ) -> None:
        """Run the turn in its ``invoke_agent`` span, a child of ``parent`` (the context of the
        request that began it: the turn's task may outlive that request)."""
        if not telemetry.enabled():
            await self._run(live, turn, position)
            return
        span = telemetry.start_turn(live.conversation_id, live.turn_id, parent)
        status: str = "failed"
        error_code: str | None = "internal_error"
        usage: dict[str, Any] | None = None
        try:
            # Current for the whole run: model calls and tool calls become its children.
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                status, error_code, usage = await self._run(live, turn, position)
        finally:
            telemetry.end_turn(span, status, error_code, usage)

    async def _run(
        self, live: LiveTurn, turn: AgentTurn, position: int
    ) -> tuple[str, str | None, dict[str, Any] | None]:
        """Run the turn; its status, error code and usage as stored on its row."""
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
        progress = _Progress()
        try:
            async for event in turn:
                progress.see(event, turn.messages)
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
            elif live.lost is not None:
                # The writer gave the turn up (its conversation was deleted, or another process
                # closed it): nothing more can be stored, its followers already got the reason.
                status, error_code = "failed", live.lost.code
            else:
                status, error_code = "cancelled", "cancelled"
                emit(encoder.abort("stopped by the client"))
        except Exception:
            log.exception("turn %s failed", live.turn_id)
            status, error_code = "failed", "internal_error"
            emit(encoder.close() + encoder.failure("internal_error", INTERNAL_ERROR_MESSAGE, True))
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
            elif status in INCOMPLETE_NOTES:
                # What the traveller saw stays in what the model reads next, marked incomplete.
                new_messages = progress.history(
                    turn.messages, turn.stored, INCOMPLETE_NOTES[status]
                )
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
                self.metrics.turns.labels(status=status).inc()
                self.metrics.active_turns.dec()
                self._finished(live)
        return status, error_code, usage

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
            self.metrics.tool_calls.labels(tool=event.name, outcome=outcome).inc()
            self.metrics.tool_latency.labels(tool=event.name).observe(event.duration_ms / 1000)
        elif isinstance(event, Usage) and event.ttft_ms is not None:
            self.metrics.ttft.observe(event.ttft_ms / 1000)
        elif isinstance(event, TurnFailed) and event.code.startswith("upstream_"):
            self.metrics.upstream_errors.labels(code=event.code).inc()

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
                    async with driver_connection(self._engine) as driver:
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
        connection = self._hot.connection() if self._hot else driver_connection(self._engine)
        async with connection as driver:
            closed = await close_turn(
                driver,
                conversation_id=live.conversation_id,
                last_seq=live.last_seq,
                turn_id=live.turn_id,
                status=status,
                error_code=error_code,
                usage=usage,
                messages=rows,
            )
        if not closed:
            log.warning("turn %s was closed by another process before it finished", live.turn_id)


def _usage_json(usage: TurnUsage) -> dict[str, Any]:
    """The turn's usage as stored on its row (every field of :class:`TurnUsage`)."""
    return dataclasses.asdict(usage)
