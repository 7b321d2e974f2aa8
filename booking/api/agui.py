"""Stored UI message stream parts -> AG-UI 1.0 events (``docs/interop.md``, "AG-UI").

The turn runtime stores one protocol, the Vercel AI SDK's UI message stream
(:mod:`booking.turns.ui_stream`); a client speaking AG-UI gets the same stored parts translated
here, at the edge, so a turn never knows which protocol its listeners speak and an AG-UI stream
resumes from the same cursors. :class:`AguiEncoder` is pure: parts in, ``ag_ui.core`` event
models out (the route frames them with ``ag_ui.encoder.EventEncoder``).

Ids are derived from what is stored, never from counters a resumed stream could not rebuild:
an assistant message per model call is ``{messageId}-{seq of the turn's start}-{step}`` (its
text and the tool calls it made share it, as AG-UI's ``AssistantMessage`` holds both), a step is
``model-call-{n}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import (
    PROTOCOL_VERSION,
    BaseEvent,
    CustomEvent,
    Interrupt,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunFinishedSuccessOutcome,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

Part = dict[str, Any]

#: ``Interrupt.reason`` of a paused side effect (hold, confirm, cancel a booking).
APPROVAL_REASON = "tool_approval"
#: The answer an approval interrupt expects (``ResumeEntry.payload``), for a client to build
#: its form from. ``arguments``, when sent, must be exactly the ones asked about.
APPROVAL_RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["approved"],
    "properties": {
        "approved": {"type": "boolean"},
        "reason": {"type": "string", "maxLength": 500},
        "arguments": {"type": "object"},
    },
}


def _json(value: Any) -> str:
    """Keys sorted: a part read back from PostgreSQL (JSONB orders keys its own way) encodes
    exactly as the same part did live (a resumed stream repeats the first one)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


@dataclass
class _Call:
    name: str
    args_sent: bool = False
    open: bool = True


@dataclass
class AguiEncoder:
    """Stateful, one per response: feed it every part of a turn from its ``start`` (a resumed
    stream replays the turn's earlier parts into it and drops their events), in order."""

    thread_id: str
    """The conversation's public id (AG-UI ``threadId``)."""
    run_id: str
    """The client's run id, echoed on ``RUN_STARTED`` and ``RUN_FINISHED``."""
    _prefix: str = "msg"
    _step: int = 0
    _step_open: bool = False
    _segment: int = 0
    _texts: dict[str, str] = field(default_factory=dict)
    _reasoning: dict[str, str] = field(default_factory=dict)
    _calls: dict[str, _Call] = field(default_factory=dict)
    _interrupts: list[Interrupt] = field(default_factory=list)
    _per_model: dict[str, list[int]] = field(default_factory=dict)
    _usage: dict[str, Any] | None = None
    _error: dict[str, Any] | None = None
    _notice: dict[str, Any] | None = None

    def encode(self, seq: int, part: Part) -> list[BaseEvent]:
        """The AG-UI events of one stored part (often none or one; never split across parts)."""
        kind = part.get("type")
        if kind == "start":
            return self._start(seq, part)
        if kind == "start-step":
            events = self._close_step()
            self._step += 1
            self._segment = 0
            self._step_open = True
            return [*events, StepStartedEvent(step_name=self._step_name())]
        if kind == "finish-step":
            return self._close_step()
        if kind == "text-start":
            message_id = self._assistant_id(new_segment=True)
            self._texts[str(part["id"])] = message_id
            return [TextMessageStartEvent(message_id=message_id, role="assistant")]
        if kind == "text-delta":
            open_text = self._texts.get(str(part["id"]))
            if open_text is None:  # Not expected: the runtime opens every text it writes.
                return []
            return [TextMessageContentEvent(message_id=open_text, delta=str(part["delta"]))]
        if kind == "text-end":
            closed = self._texts.pop(str(part["id"]), None)
            return [TextMessageEndEvent(message_id=closed)] if closed else []
        if kind == "reasoning-start":
            message_id = f"{self._assistant_id()}-reasoning-{part['id']}"
            self._reasoning[str(part["id"])] = message_id
            return [
                ReasoningStartEvent(message_id=message_id),
                ReasoningMessageStartEvent(message_id=message_id),
            ]
        if kind == "reasoning-delta":
            open_reasoning = self._reasoning.get(str(part["id"]))
            if open_reasoning is None:
                return []
            return [
                ReasoningMessageContentEvent(message_id=open_reasoning, delta=str(part["delta"]))
            ]
        if kind == "reasoning-end":
            return self._end_reasoning(str(part["id"]))
        if kind == "tool-input-start":
            return self._open_call(str(part["toolCallId"]), str(part["toolName"]))
        if kind == "tool-input-delta":
            call = self._calls.get(str(part["toolCallId"]))
            if call is None or not call.open:
                return []
            call.args_sent = True
            return [
                ToolCallArgsEvent(
                    tool_call_id=str(part["toolCallId"]), delta=str(part["inputTextDelta"])
                )
            ]
        if kind in ("tool-input-available", "tool-input-error"):
            call_id = str(part["toolCallId"])
            events = []
            if call_id not in self._calls:
                events += self._open_call(call_id, str(part.get("toolName", "")))
            events += self._end_call(call_id, part.get("input"))
            if kind == "tool-input-error":
                events.append(self._result(call_id, {"error": {"message": part["errorText"]}}))
            return events
        if kind == "tool-output-available":
            return [self._result(str(part["toolCallId"]), part.get("output"))]
        if kind == "tool-output-error":
            error = {"error": {"message": part.get("errorText")}}
            return [self._result(str(part["toolCallId"]), error)]
        if kind == "tool-output-denied":
            denied = {"error": {"code": "approval_denied", "message": "The traveller declined."}}
            return [self._result(str(part["toolCallId"]), denied)]
        if kind == "tool-approval-request":
            self._interrupts.append(self._interrupt(part))
            return []  # Told once the run ends: RUN_FINISHED's interrupt outcome.
        if kind == "message-metadata":
            self._metadata(part.get("messageMetadata") or {})
            return []
        if isinstance(kind, str) and kind.startswith("data-"):
            return [CustomEvent(name=kind, value={"id": part.get("id"), "data": part.get("data")})]
        if kind == "finish":
            outcome: Any = RunFinishedSuccessOutcome()
            if self._interrupts:
                outcome = RunFinishedInterruptOutcome(interrupts=list(self._interrupts))
            metadata: dict[str, Any] = {"finishReason": part.get("finishReason")}
            if self._usage is not None:
                metadata["usage"] = self._usage
            if self._notice is not None:
                metadata["notice"] = self._notice
            return [
                *self._close_all(),
                RunFinishedEvent(
                    thread_id=self.thread_id,
                    run_id=self.run_id,
                    outcome=outcome,
                    usage=self._token_usage(),
                    metadata=metadata,
                ),
            ]
        if kind == "abort":
            return [
                *self._close_all(),
                RunFinishedEvent(
                    thread_id=self.thread_id,
                    run_id=self.run_id,
                    outcome=RunFinishedCancelledOutcome(),
                    usage=self._token_usage(),
                    metadata={"reason": part.get("reason")},
                ),
            ]
        if kind == "error":
            error = self._error or {"code": "internal_error", "retryable": True}
            return [
                RunErrorEvent(
                    message=str(part.get("errorText") or "The reply failed."),
                    code=str(error.get("code")),
                    usage=self._token_usage(),
                    metadata={"retryable": bool(error.get("retryable"))},
                )
            ]
        return []  # A part AG-UI has no place for.

    @staticmethod
    def farewell(last_event_id: int) -> RunErrorEvent:
        """What a follower gets when the server shuts down mid-turn (not stored, so sent without
        an id): resume after ``lastEventId`` on any server."""
        return RunErrorEvent(
            message="The server is restarting. Reconnecting continues the answer.",
            code="server_restarting",
            metadata={"retryable": True, "lastEventId": last_event_id},
        )

    # --- run-level state -------------------------------------------------------------------

    def _start(self, seq: int, part: Part) -> list[BaseEvent]:
        # A new turn (a continuation after approval too): everything per run starts afresh.
        self._step, self._step_open, self._segment = 0, False, 0
        self._texts, self._reasoning, self._calls = {}, {}, {}
        self._interrupts, self._per_model = [], {}
        self._usage = self._error = self._notice = None
        self._prefix = f"{part.get('messageId') or 'msg'}-{seq}"
        language = (part.get("messageMetadata") or {}).get("language")
        return [
            RunStartedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                protocol_version=PROTOCOL_VERSION,
                metadata={"language": language} if language else None,
            )
        ]

    def _metadata(self, metadata: dict[str, Any]) -> None:
        if isinstance(metadata.get("error"), dict):
            self._error = metadata["error"]
        if isinstance(metadata.get("usage"), dict):
            self._usage = metadata["usage"]
        if isinstance(metadata.get("notice"), dict):
            self._notice = metadata["notice"]
        model = metadata.get("model")
        if isinstance(model, str) and "promptTokens" in metadata:
            counts = self._per_model.setdefault(model, [0, 0])
            counts[0] += int(metadata.get("promptTokens") or 0)
            counts[1] += int(metadata.get("completionTokens") or 0)

    def _token_usage(self) -> list[TokenUsage] | None:
        """One entry per model (from each model call's metadata); when those do not add up to
        the turn's totals (a model call's metadata missing), one entry with the totals."""
        entries = [
            TokenUsage(model=m, input_tokens=i, output_tokens=o, total_tokens=i + o)
            for m, (i, o) in self._per_model.items()
        ]
        if self._usage is None:
            return entries or None
        prompt = int(self._usage.get("promptTokens") or 0)
        completion = int(self._usage.get("completionTokens") or 0)
        if (
            sum(e.input_tokens or 0 for e in entries),
            sum(e.output_tokens or 0 for e in entries),
        ) == (
            prompt,
            completion,
        ) and entries:
            return entries
        models = self._usage.get("models") or []
        return [
            TokenUsage(
                model=models[0] if len(models) == 1 else None,
                input_tokens=prompt,
                output_tokens=completion,
                total_tokens=prompt + completion,
            )
        ]

    # --- messages, steps, tool calls -------------------------------------------------------

    def _step_name(self) -> str:
        return f"model-call-{self._step}"

    def _assistant_id(self, *, new_segment: bool = False) -> str:
        """The assistant message of the current model call; a second text in the same call
        (after its tool calls) is a message of its own."""
        if new_segment:
            self._segment += 1
        base = f"{self._prefix}-{self._step}"
        return base if self._segment <= 1 else f"{base}-{self._segment}"

    def _open_call(self, call_id: str, name: str) -> list[BaseEvent]:
        self._calls[call_id] = _Call(name)
        return [
            ToolCallStartEvent(
                tool_call_id=call_id,
                tool_call_name=name,
                parent_message_id=self._assistant_id(),
            )
        ]

    def _end_call(self, call_id: str, arguments: Any) -> list[BaseEvent]:
        call = self._calls[call_id]
        if not call.open:
            return []
        events: list[BaseEvent] = []
        if not call.args_sent and arguments is not None:
            text = arguments if isinstance(arguments, str) else _json(arguments)
            events.append(ToolCallArgsEvent(tool_call_id=call_id, delta=text))
            call.args_sent = True
        call.open = False
        events.append(ToolCallEndEvent(tool_call_id=call_id))
        return events

    def _result(self, call_id: str, content: Any) -> ToolCallResultEvent:
        return ToolCallResultEvent(
            message_id=f"{self._prefix}-result-{call_id}",
            tool_call_id=call_id,
            content=content if isinstance(content, str) else _json(content),
            role="tool",
        )

    def _interrupt(self, part: Part) -> Interrupt:
        call_id = str(part["toolCallId"])
        call = self._calls.get(call_id)
        metadata: dict[str, Any] = {"summary": part.get("approvalDescriptor")}
        if call is not None:
            metadata["toolName"] = call.name
        return Interrupt(
            id=str(part["approvalId"]),
            reason=APPROVAL_REASON,
            message=part.get("reason"),
            tool_call_id=call_id,
            response_schema=APPROVAL_RESPONSE_SCHEMA,
            metadata=metadata,
        )

    def _end_reasoning(self, reasoning_id: str) -> list[BaseEvent]:
        message_id = self._reasoning.pop(reasoning_id, None)
        if message_id is None:
            return []
        return [
            ReasoningMessageEndEvent(message_id=message_id),
            ReasoningEndEvent(message_id=message_id),
        ]

    def _close_step(self) -> list[BaseEvent]:
        events: list[BaseEvent] = [TextMessageEndEvent(message_id=m) for m in self._texts.values()]
        self._texts.clear()
        for reasoning_id in list(self._reasoning):
            events += self._end_reasoning(reasoning_id)
        if self._step_open:
            self._step_open = False
            events.append(StepFinishedEvent(step_name=self._step_name()))
        return events

    def _close_all(self) -> list[BaseEvent]:
        """Whatever is still open before the run ends (AG-UI refuses RUN_FINISHED otherwise): a
        stopped turn may leave a tool call's arguments half written."""
        events = self._close_step()
        for call_id, call in self._calls.items():
            if call.open:
                call.open = False
                events.append(ToolCallEndEvent(tool_call_id=call_id))
        return events
