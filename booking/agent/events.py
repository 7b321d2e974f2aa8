"""What a turn emits, as small tagged dataclasses. The API layer encodes them on the wire.

One event type per thing a frontend shows: text as it streams, a tool card as soon as the tool's
name is known, its input when complete, its result or error as soon as it finishes, usage, and
exactly one terminal event (:class:`TurnDone` or :class:`TurnFailed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from booking.agent.context_window import ContextReport

FinishReason: TypeAlias = Literal[
    "stop", "length", "max_model_calls", "cancelled", "content_filter", "awaiting_approval"
]


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A model call begins."""

    step: int
    """0-based index of the model call in this turn."""
    model: str
    kind: Literal["step-started"] = "step-started"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    """The next piece of the assistant's answer."""
    step: int
    kind: Literal["text-delta"] = "text-delta"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str
    """Reasoning text some providers stream (``reasoning_content``); never part of the answer."""
    step: int
    kind: Literal["reasoning-delta"] = "reasoning-delta"


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    call_id: str
    """Stable id of the call within the turn (the provider's, or one we assign)."""
    name: str
    step: int
    kind: Literal["tool-call-started"] = "tool-call-started"


@dataclass(frozen=True, slots=True)
class ToolInputDelta:
    call_id: str
    delta: str
    """The next piece of the call's JSON arguments, as streamed."""
    kind: Literal["tool-input-delta"] = "tool-input-delta"


@dataclass(frozen=True, slots=True)
class ToolInputAvailable:
    call_id: str
    name: str
    arguments: dict[str, Any]
    """Validated arguments the tool will run with."""
    kind: Literal["tool-input-available"] = "tool-input-available"


@dataclass(frozen=True, slots=True)
class ToolInputError:
    call_id: str
    name: str
    raw_arguments: str
    """The arguments exactly as the model sent them."""
    error: dict[str, Any]
    """``{"code", "message", ...}`` also sent back to the model as the tool result."""
    kind: Literal["tool-input-error"] = "tool-input-error"


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    name: str
    output: Any
    """The tool's JSON-able output, exactly as the model receives it."""
    duration_ms: float
    kind: Literal["tool-result"] = "tool-result"


@dataclass(frozen=True, slots=True)
class ToolError:
    call_id: str
    name: str
    error: dict[str, Any]
    """``{"code", "message", ...}``; the model receives ``{"error": error}``."""
    duration_ms: float
    kind: Literal["tool-error"] = "tool-error"


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    approval_id: str
    call_id: str
    name: str
    arguments: dict[str, Any]
    """Exactly the arguments that run if the traveller approves."""
    summary: dict[str, Any]
    """What the traveller is asked to approve (flight, times, passengers, total in VND)."""
    text: str
    """The same in words."""
    kind: Literal["approval-requested"] = "approval-requested"


@dataclass(frozen=True, slots=True)
class Usage:
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """From the model's price table; ``None`` when no prices are configured."""
    ttft_ms: float | None
    """Time from the request to the first chunk."""
    latency_ms: float
    """Time from the request to the end of the stream."""
    step: int
    context: ContextReport | None = None
    """How the request was fitted to the model's context budget (``None``: not bounded)."""
    kind: Literal["usage"] = "usage"


@dataclass(frozen=True, slots=True)
class StepFinished:
    step: int
    finish_reason: str | None
    """As the provider reported it (``stop``, ``tool_calls``, ``length``...), or ``None``."""
    kind: Literal["step-finished"] = "step-finished"


@dataclass(frozen=True, slots=True)
class TurnDone:
    reason: FinishReason
    usage: TurnUsage
    incomplete: bool = False
    """True when the answer was cut short (``length``, ``max_model_calls``, ``cancelled``)."""
    kind: Literal["turn-done"] = "turn-done"


@dataclass(frozen=True, slots=True)
class TurnFailed:
    code: str
    """Stable machine code, e.g. ``upstream_unavailable``, ``upstream_auth``, ``upstream_stalled``."""
    message: str
    """Safe to show the traveller."""
    retryable: bool
    usage: TurnUsage
    partial_text: str = ""
    """Answer text streamed before the failure; kept and marked incomplete."""
    kind: Literal["turn-failed"] = "turn-failed"


@dataclass(slots=True)
class TurnUsage:
    """Totals over every model call of a turn."""

    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    ttft_ms: float | None = None
    """Time to the first chunk of the turn's first model call."""
    models: list[str] = field(default_factory=list)
    context: ContextReport | None = None
    """How the turn's latest model call was fitted to the context budget."""

    def add(self, usage: Usage) -> None:
        self.model_calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + usage.cost_usd
        if self.ttft_ms is None:
            self.ttft_ms = usage.ttft_ms
        if usage.model not in self.models:
            self.models.append(usage.model)
        if usage.context is not None:
            self.context = usage.context


TurnEvent: TypeAlias = (
    StepStarted
    | TextDelta
    | ReasoningDelta
    | ToolCallStarted
    | ToolInputDelta
    | ToolInputAvailable
    | ToolInputError
    | ToolResult
    | ToolError
    | ApprovalRequested
    | Usage
    | StepFinished
    | TurnDone
    | TurnFailed
)
