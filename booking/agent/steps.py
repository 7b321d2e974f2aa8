"""What one model call decided, as types: run tools, or answer."""

from __future__ import annotations

from dataclasses import dataclass

from booking.agent.assembler import AssembledCall


@dataclass(frozen=True, slots=True)
class RunTools:
    """The model asked for tools; their results go back to it for another call."""

    text: str
    calls: list[AssembledCall]


@dataclass(frozen=True, slots=True)
class FinalAnswer:
    text: str
    truncated: bool
    """The provider stopped for length: the answer is incomplete."""
    filtered: bool = False
    """The provider's content filter ended the answer (Azure's ``content_filter``)."""


Step = RunTools | FinalAnswer


def decide(text: str, calls: list[AssembledCall], finish_reason: str | None) -> Step:
    """Tool calls decide whatever ``finish_reason`` says (providers send ``stop`` or nothing
    although calls were made), except when the answer was cut: after ``length`` or
    ``content_filter`` a call may be half written, so nothing of that response runs."""
    if finish_reason == "length":
        return FinalAnswer(text, truncated=True)
    if finish_reason == "content_filter":
        return FinalAnswer(text, truncated=False, filtered=True)
    if calls:
        return RunTools(text, calls)
    return FinalAnswer(text, truncated=False)
