"""Turn events -> Vercel AI SDK UI message stream parts (``docs/ui-message-stream.md``).

Encoding lives here only; the SSE framing (ids, heartbeats, ``[DONE]``) is the API's
(:mod:`booking.api.sse`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

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

TERMINAL_TYPES = frozenset({"finish", "error", "abort"})
Part = dict[str, Any]

#: Our finish reasons -> the AI SDK's ``finishReason`` values.
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "max_model_calls": "other",
    "cancelled": "other",
    "awaiting_approval": "tool-calls",
}


#: What the traveller is told when an answer was cut short by the model, by finish reason.
NOTICES: dict[str, dict[str, str]] = {
    "length": {
        "code": "output_tokens_exhausted",
        "message": "The model ran out of output tokens: this answer is incomplete.",
    },
    "content_filter": {
        "code": "content_filtered",
        "message": "The model's provider filtered this answer: it is incomplete.",
    },
}


def usage_metadata(usage: TurnUsage) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "modelCalls": usage.model_calls,
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "costUsd": usage.cost_usd,
        "ttftMs": round(usage.ttft_ms, 2) if usage.ttft_ms is not None else None,
        "models": list(usage.models),
    }
    if usage.context is not None:
        metadata["context"] = usage.context.to_metadata()
    return metadata


@dataclass
class UIStreamEncoder:
    """Stateful: opens and closes text, reasoning and step parts around the events."""

    message_id: str
    _text_id: str | None = None
    _reasoning_id: str | None = None
    _step_open: bool = False
    _counter: int = 0
    _tool_names: dict[str, str] = field(default_factory=dict)

    def start(self, language: str | None = None) -> list[Part]:
        """The message's first part; ``language`` (the traveller's, when their words show one)
        travels as ``messageMetadata.language`` so a client draws the answer's cards in it."""
        part: Part = {"type": "start", "messageId": self.message_id}
        if language is not None:
            part["messageMetadata"] = {"language": language}
        return [part]

    def encode(self, event: TurnEvent) -> list[Part]:
        parts: list[Part] = []
        if isinstance(event, StepStarted):
            parts += self._close_step()
            self._step_open = True
            parts.append({"type": "start-step"})
        elif isinstance(event, TextDelta):
            parts += self._close_reasoning()
            if self._text_id is None:
                self._text_id = self._next_id("text")
                parts.append({"type": "text-start", "id": self._text_id})
            parts.append({"type": "text-delta", "id": self._text_id, "delta": event.text})
        elif isinstance(event, ReasoningDelta):
            parts += self._close_text()
            if self._reasoning_id is None:
                self._reasoning_id = self._next_id("reasoning")
                parts.append({"type": "reasoning-start", "id": self._reasoning_id})
            parts.append({"type": "reasoning-delta", "id": self._reasoning_id, "delta": event.text})
        elif isinstance(event, ToolCallStarted):
            parts += self._close_text() + self._close_reasoning()
            self._tool_names[event.call_id] = event.name
            parts.append(
                {"type": "tool-input-start", "toolCallId": event.call_id, "toolName": event.name}
            )
        elif isinstance(event, ToolInputDelta):
            parts.append(
                {
                    "type": "tool-input-delta",
                    "toolCallId": event.call_id,
                    "inputTextDelta": event.delta,
                }
            )
        elif isinstance(event, ToolInputAvailable):
            parts.append(
                {
                    "type": "tool-input-available",
                    "toolCallId": event.call_id,
                    "toolName": event.name,
                    "input": event.arguments,
                }
            )
        elif isinstance(event, ToolInputError):
            parts.append(
                {
                    "type": "tool-input-error",
                    "toolCallId": event.call_id,
                    "toolName": event.name,
                    "input": event.raw_arguments,
                    "errorText": _error_text(event.error),
                }
            )
        elif isinstance(event, ToolResult):
            parts.append(
                {
                    "type": "tool-output-available",
                    "toolCallId": event.call_id,
                    "output": event.output,
                }
            )
            parts += booking_parts(event.output)
        elif isinstance(event, ToolError):
            if event.error.get("code") == "approval_denied":
                parts.append({"type": "tool-output-denied", "toolCallId": event.call_id})
            else:
                parts.append(
                    {
                        "type": "tool-output-error",
                        "toolCallId": event.call_id,
                        "errorText": _error_text(event.error),
                    }
                )
        elif isinstance(event, ApprovalRequested):
            parts.append(
                {
                    "type": "tool-approval-request",
                    "approvalId": event.approval_id,
                    "toolCallId": event.call_id,
                    "approvalDescriptor": event.summary,
                    "reason": event.text,
                }
            )
        elif isinstance(event, Usage):
            step_metadata: dict[str, Any] = {
                "model": event.model,
                "step": event.step,
                "promptTokens": event.prompt_tokens,
                "completionTokens": event.completion_tokens,
                "costUsd": event.cost_usd,
                "ttftMs": round(event.ttft_ms, 2) if event.ttft_ms is not None else None,
                "latencyMs": round(event.latency_ms, 2),
            }
            if event.context is not None:
                # What of the history the model saw: the budget, the estimate, what was left out.
                step_metadata["context"] = event.context.to_metadata()
            parts.append({"type": "message-metadata", "messageMetadata": step_metadata})
        elif isinstance(event, StepFinished):
            parts += self._close_text() + self._close_reasoning()
        elif isinstance(event, TurnDone):
            parts += self._close_step()
            metadata = {**usage_metadata(event.usage), "incomplete": event.incomplete}
            extra: dict[str, Any] = {"usage": metadata}
            if event.reason in NOTICES:
                # Why the answer stopped, for any client to show: an ``error`` part here would
                # end the resumable stream before its ``finish``.
                extra["notice"] = NOTICES[event.reason]
            parts.append({"type": "message-metadata", "messageMetadata": extra})
            parts.append(
                {"type": "finish", "finishReason": FINISH_REASONS.get(event.reason, "other")}
            )
        elif isinstance(event, TurnFailed):
            parts += self._close_step()
            parts += self.failure(event.code, event.message, event.retryable, usage=event.usage)
        return parts

    def failure(
        self, code: str, message: str, retryable: bool, *, usage: TurnUsage | None = None
    ) -> list[Part]:
        """The terminal parts of a failed turn: metadata with the code, then ``error``."""
        metadata: dict[str, Any] = {"error": {"code": code, "retryable": retryable}}
        if usage is not None:
            metadata["usage"] = usage_metadata(usage)
        return [
            {"type": "message-metadata", "messageMetadata": metadata},
            {"type": "error", "errorText": message},
        ]

    def close(self) -> list[Part]:
        """End whatever text, reasoning or step is open (before a failure part)."""
        return self._close_step()

    def abort(self, reason: str) -> list[Part]:
        return [*self._close_step(), {"type": "abort", "reason": reason}]

    def _next_id(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}-{self._counter}"

    def _close_text(self) -> list[Part]:
        if self._text_id is None:
            return []
        part = {"type": "text-end", "id": self._text_id}
        self._text_id = None
        return [part]

    def _close_reasoning(self) -> list[Part]:
        if self._reasoning_id is None:
            return []
        part = {"type": "reasoning-end", "id": self._reasoning_id}
        self._reasoning_id = None
        return [part]

    def _close_step(self) -> list[Part]:
        parts = self._close_text() + self._close_reasoning()
        if self._step_open:
            self._step_open = False
            parts.append({"type": "finish-step"})
        return parts


def booking_parts(output: Any) -> list[Part]:
    """A ``data-booking`` part for a tool result that carries a booking (book, hold, confirm,
    cancel, look up): ``id`` is the reference, so a client keeps one card per booking and the
    AI SDK replaces it in place when a later part says the status changed."""
    booking = output.get("booking") if isinstance(output, dict) else None
    if not isinstance(booking, dict) or not booking.get("reference"):
        return []
    return [booking_part(booking)]


def booking_part(booking: dict[str, Any]) -> Part:
    """The ``data-booking`` part of one booking view (:meth:`BookingView.to_dict`)."""
    return {"type": "data-booking", "id": str(booking["reference"]), "data": booking}


def _error_text(error: dict[str, Any]) -> str:
    return str(error.get("message") or error.get("code") or "tool failed")


def encode_part(part: Part) -> str:
    """Compact JSON, as the AI SDK sends it."""
    return json.dumps(part, ensure_ascii=False, separators=(",", ":"), default=str)


def is_terminal(part: Part) -> bool:
    return part.get("type") in TERMINAL_TYPES
