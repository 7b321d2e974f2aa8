"""One turn of the conversation, streamed as typed events.

The loop, bounded by ``max_model_calls``::

    model(history + tools) --stream--> text deltas, tool-call starts, argument deltas
       |-- no tool calls ------------> final answer: TurnDone
       '-- tool calls --> append the assistant message WITH its tool_calls
                          validate each call (bad JSON, bad arguments, unknown tool -> an error
                          result the model can act on; at most ``max_tool_errors`` per turn)
                          ask approval for tools that need it: with an in-process approver,
                          wait for its decision; without one, pause (TurnDone awaiting_approval)
                          and let ``resume`` act on the decisions in a later continuation
                          run the valid calls concurrently (own session, own timeout each),
                          emitting each result as soon as it finishes
                          append one ``tool`` message per call id, in call order
                          -> model again
    after max_model_calls without a final answer: say so, TurnDone(max_model_calls)

Before each model call the history is fitted to the model's context budget
(:mod:`booking.agent.context_window`): the oldest whole turns are left out past it, with a note
of the facts they held; the decision rides on the step's :class:`Usage` event.

A model failure before any output fails the turn with a typed, retryable-or-not error; a failure
after output has started keeps the partial answer (marked incomplete) and never replays blindly.
The orchestrator knows nothing of HTTP; cancelling the task that iterates it closes the upstream
stream and cancels running tools. How each call is checked, put up for approval and run is
:mod:`booking.agent.tool_calls`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from booking import telemetry
from booking.agent.assembler import (
    ArgumentsPiece,
    AssembledCall,
    CallStarted,
    ProviderStreamError,
    ReasoningPiece,
    TextPiece,
    ToolCallAssembler,
)
from booking.agent.context import ToolContext
from booking.agent.context_window import (
    DEFAULT_CONTEXT_TOKENS,
    ContextReport,
    estimate_message,
    fit,
)
from booking.agent.events import (
    ApprovalRequested,
    ReasoningDelta,
    StepFinished,
    StepStarted,
    TextDelta,
    ToolCallStarted,
    ToolError,
    ToolInputAvailable,
    ToolInputDelta,
    ToolInputError,
    ToolResult,
    TurnDone,
    TurnEvent,
    TurnFailed,
    TurnUsage,
    Usage,
)
from booking.agent.models.base import ModelClient, ModelError, OpenedStream
from booking.agent.prompts import system_prompt
from booking.agent.steps import FinalAnswer, decide
from booking.agent.tool_calls import (
    PreparedCall,
    approval_request,
    as_content,
    assistant_message,
    denied,
    prepare,
    run_tools,
)
from booking.agent.tools import ToolRegistry
from booking.i18n.language import conversation_language


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    approved: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedApproval:
    """A paused call the traveller decided on: run it with exactly these arguments, or not."""

    call_id: str
    name: str
    arguments: dict[str, Any]
    approved: bool
    reason: str | None = None


Approver = Callable[[ApprovalRequested], Awaitable[ApprovalDecision]]


@dataclass
class AgentTurn:
    """A running turn: iterate it for events; ``messages`` holds what it adds to the history."""

    orchestrator: Orchestrator
    history: list[dict[str, Any]]
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: TurnUsage = field(default_factory=TurnUsage)
    resolved: list[ResolvedApproval] = field(default_factory=list)
    """Decided approvals this turn starts by acting on (a continuation)."""
    pending: list[ApprovalRequested] = field(default_factory=list)
    """Calls left waiting for the traveller when the turn paused."""
    stored: int = 0
    """How many of ``messages`` the caller has already persisted (the user's message)."""

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self.orchestrator._run(self)


class Orchestrator:
    def __init__(
        self,
        model: ModelClient,
        registry: ToolRegistry,
        ctx: ToolContext,
        *,
        max_model_calls: int = 6,
        max_tool_errors: int = 2,
        approver: Approver | None = None,
        prompt: Callable[[date], str] = system_prompt,
        context_tokens: int | None = DEFAULT_CONTEXT_TOKENS,
    ) -> None:
        """``context_tokens``: the prompt budget (``None``: the whole history, unbounded)."""
        self.model = model
        self.registry = registry
        self.ctx = ctx
        self.max_model_calls = max_model_calls
        self.max_tool_errors = max_tool_errors
        self.approver = approver
        self.prompt = prompt
        self.context_tokens = context_tokens

    def start(self, history: list[dict[str, Any]], user_text: str) -> AgentTurn:
        """A turn answering ``user_text`` after ``history`` (Chat Completions messages, no system)."""
        turn = AgentTurn(self, list(history))
        turn.messages.append({"role": "user", "content": user_text})
        turn.stored = 1
        return turn

    def resume(self, history: list[dict[str, Any]], resolved: list[ResolvedApproval]) -> AgentTurn:
        """Continue a turn that paused for approval: act on the decisions, then carry on.

        ``history`` ends with the assistant message holding the paused calls (and the results of
        its other calls); the decided calls' results are added first."""
        return AgentTurn(self, list(history), resolved=list(resolved))

    async def _run(self, turn: AgentTurn) -> AsyncIterator[TurnEvent]:
        tools = self.registry.schemas()
        known_names = frozenset(self.registry.names())
        tool_errors = 0
        streamed_text: list[str] = []
        if turn.resolved:
            async for event in self._act_on_decisions(turn):
                yield event
        # The history does not change during the turn: estimate it once.
        history_costs = [estimate_message(m) for m in turn.history]
        for step in range(self.max_model_calls):
            prompt = self.prompt(self.ctx.today())
            report: ContextReport | None = None
            if self.context_tokens is None:
                messages = [{"role": "system", "content": prompt}, *turn.history, *turn.messages]
            else:
                fitted = fit(
                    prompt,
                    turn.history + turn.messages,
                    tools,
                    self.context_tokens,
                    costs=history_costs + [estimate_message(m) for m in turn.messages],
                )
                messages, report = fitted.messages, fitted.report
            try:
                stream = await self.model.open_stream(messages, tools)
            except ModelError as exc:
                yield self._failed(turn, exc.code, exc.message, exc.retryable, streamed_text)
                return
            yield StepStarted(step, stream.model)
            assembler = ToolCallAssembler(
                id_prefix=f"call_{len(turn.history) + len(turn.messages)}",
                known_names=known_names,
            )
            try:
                async for chunk in stream:
                    for piece in assembler.feed(chunk):
                        if isinstance(piece, TextPiece):
                            streamed_text.append(piece.text)
                            yield TextDelta(piece.text, step)
                        elif isinstance(piece, ReasoningPiece):
                            yield ReasoningDelta(piece.text, step)
                        elif isinstance(piece, CallStarted):
                            yield ToolCallStarted(piece.call_id, piece.name, step)
                        elif isinstance(piece, ArgumentsPiece):
                            yield ToolInputDelta(piece.call_id, piece.delta)
            except (ModelError, ProviderStreamError) as exc:
                code = exc.code if isinstance(exc, ModelError) else "upstream_error"
                message = exc.message if isinstance(exc, ModelError) else f"{stream.model}: {exc}"
                partial = assembler.finish().text
                if partial:
                    turn.messages.append({"role": "assistant", "content": partial})
                yield self._failed(turn, code, message, True, streamed_text)
                return
            finally:
                await stream.aclose()
            response = assembler.finish()
            yield self._usage(stream, response.usage, step, turn, report)
            yield StepFinished(step, response.finish_reason)

            decision = decide(response.text, response.calls, response.finish_reason)
            if isinstance(decision, FinalAnswer):
                turn.messages.append({"role": "assistant", "content": decision.text})
                if decision.truncated:
                    yield TurnDone("length", turn.usage, incomplete=True)
                elif decision.filtered:
                    yield TurnDone("content_filter", turn.usage, incomplete=True)
                else:
                    yield TurnDone("stop", turn.usage)
                return

            turn.messages.append(assistant_message(decision.text, decision.calls))
            prepared = [prepare(self.registry, call) for call in decision.calls]
            results: dict[str, str] = {}
            for item in prepared:
                if item.error is not None:
                    tool_errors += 1
                    results[item.call.call_id] = as_content({"error": item.error})
                    yield ToolInputError(
                        item.call.call_id, item.call.name, item.call.arguments, item.error
                    )
                else:
                    assert item.arguments is not None
                    yield ToolInputAvailable(item.call.call_id, item.call.name, item.arguments)
            runnable = []
            for item in prepared:
                if item.error is not None or item.tool is None:
                    continue
                if item.tool.requires_approval:
                    assert item.arguments is not None
                    language = conversation_language([*turn.history, *turn.messages])
                    asked = await approval_request(self.ctx, item, language)
                    if isinstance(asked, ToolError):
                        results[item.call.call_id] = as_content({"error": asked.error})
                        yield asked
                        continue
                    yield asked
                    if self.approver is None:
                        # Pause: the decision arrives later, maybe on another process.
                        turn.pending.append(asked)
                        continue
                    decision_ = await self.approver(asked)
                    if not decision_.approved:
                        results[item.call.call_id] = as_content({"error": denied(decision_.reason)})
                        yield ToolError(
                            item.call.call_id, item.tool.name, denied(decision_.reason), 0.0
                        )
                        continue
                runnable.append(item)
            async for event in self._run_tools(runnable, results):
                yield event
            turn.messages += [
                {"role": "tool", "tool_call_id": call.call_id, "content": results[call.call_id]}
                for call in decision.calls
                if call.call_id in results
            ]
            if turn.pending:
                yield TurnDone("awaiting_approval", turn.usage)
                return
            if tool_errors > self.max_tool_errors:
                yield self._failed(
                    turn,
                    "tool_call_errors",
                    f"The assistant made {tool_errors} invalid tool calls in this turn; stopping. "
                    "Please rephrase the request.",
                    True,
                    streamed_text,
                )
                return

        note = (
            f"\n\n(I stopped after {self.max_model_calls} model calls without reaching a final "
            "answer. Please narrow the request and ask again.)"
        )
        yield TextDelta(note, self.max_model_calls - 1)
        turn.messages.append({"role": "assistant", "content": "".join(streamed_text) + note})
        yield TurnDone("max_model_calls", turn.usage, incomplete=True)

    async def _act_on_decisions(self, turn: AgentTurn) -> AsyncIterator[TurnEvent]:
        """Run the approved calls with exactly their approved arguments; deny the others."""
        results: dict[str, str] = {}
        runnable: list[PreparedCall] = []
        for decided in turn.resolved:
            tool = self.registry.get(decided.name)
            if decided.approved and tool is not None:
                call = AssembledCall(decided.call_id, decided.name, json.dumps(decided.arguments))
                runnable.append(PreparedCall(call, tool, decided.arguments, None))
                continue
            error = (
                denied(decided.reason)
                if not decided.approved
                else {
                    "code": "unknown_tool",
                    "message": f"There is no tool named '{decided.name}'.",
                }
            )
            results[decided.call_id] = as_content({"error": error})
            yield ToolError(decided.call_id, decided.name, error, 0.0)
        async for event in self._run_tools(runnable, results):
            yield event
        turn.messages += [
            {"role": "tool", "tool_call_id": d.call_id, "content": results[d.call_id]}
            for d in turn.resolved
        ]

    async def _run_tools(
        self, runnable: list[PreparedCall], results: dict[str, str]
    ) -> AsyncIterator[TurnEvent]:
        """:func:`run_tools`, each call in an ``execute_tool`` span when tracing is on (started
        together, each ended as its outcome arrives: they run concurrently)."""
        if not telemetry.enabled():
            async for event in run_tools(self.ctx, runnable, results):
                yield event
            return
        spans = {
            item.call.call_id: telemetry.start_tool(
                item.call.name, item.call.call_id, item.arguments
            )
            for item in runnable
        }
        try:
            async for event in run_tools(self.ctx, runnable, results):
                span = spans.pop(getattr(event, "call_id", ""), None)
                if span is not None and isinstance(event, ToolResult):
                    telemetry.end_tool(span, None, event.output)
                elif span is not None and isinstance(event, ToolError):
                    telemetry.end_tool(span, str(event.error.get("code")), event.error)
                yield event
        finally:
            for span in spans.values():  # Cancelled before they finished.
                span.end()

    def _usage(
        self,
        stream: OpenedStream,
        usage: dict[str, Any] | None,
        step: int,
        turn: AgentTurn,
        context: ContextReport | None,
    ) -> Usage:
        prompt = int((usage or {}).get("prompt_tokens") or 0)
        completion = int((usage or {}).get("completion_tokens") or 0)
        event = Usage(
            model=stream.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=stream.pricing.cost(prompt, completion) if stream.pricing else None,
            ttft_ms=stream.ttft_ms,
            latency_ms=(time.perf_counter() - stream.started_at) * 1000,
            step=step,
            context=context,
        )
        turn.usage.add(event)
        return event

    @staticmethod
    def _failed(
        turn: AgentTurn, code: str, message: str, retryable: bool, text: list[str]
    ) -> TurnFailed:
        return TurnFailed(code, message, retryable, turn.usage, partial_text="".join(text))
