"""The offline model's one entry point: messages in, text or tool calls out. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from booking.offline_model.message_language import conversation_language, detect_language
from booking.offline_model.planned import PlannedCall
from booking.offline_model.prices import DEFAULT_USD_VND_RATE
from booking.offline_model.reply import compose_answer
from booking.offline_model.understand import understand

__all__ = ["Response", "detect_language", "respond"]


@dataclass(frozen=True, slots=True)
class Response:
    """What the model says this turn: a text, or tool calls to run first."""

    text: str | None
    calls: tuple[PlannedCall, ...]


def respond(
    messages: Sequence[Mapping[str, Any]], today: date, *, usd_rate: int = DEFAULT_USD_VND_RATE
) -> Response:
    """Answer from tool results when they just came in, else plan the next step.

    Args:
        messages: OpenAI Chat Completions messages.
        today: the date in Asia/Ho_Chi_Minh.
        usd_rate: VND per US dollar, for prices said in dollars.
    """
    if messages and messages[-1].get("role") == "tool":
        return Response(compose_answer(messages, conversation_language(messages)), ())
    plan = understand(messages, today, usd_rate=usd_rate)
    return Response(plan.reply, plan.calls)
