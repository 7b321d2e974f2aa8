"""The one seam between the orchestrator and any model: open a stream, then read chunks.

Opening covers everything before the first chunk (where retries and fallbacks are safe);
reading covers the rest (where a failure is never replayed). Chunks are Chat Completions chunk
objects as plain dicts, so the assembler stays pure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from booking.errors import BookingError


class ModelError(BookingError):
    """A model call failed. ``code`` is stable; ``retryable`` tells the client it may try again."""

    code = "upstream_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        model: str,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, model=model)
        self.code = code  # type: ignore[misc]  # Instances refine the class-level code.
        self.retryable = retryable
        self.model = model
        self.status_code = status_code
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Pricing:
    input_per_million_usd: float
    output_per_million_usd: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million_usd
            + completion_tokens * self.output_per_million_usd
        ) / 1_000_000


class OpenedStream(Protocol):
    """A model stream whose first chunk has arrived."""

    model: str
    """The configured model name that is serving (after any fallback)."""
    pricing: Pricing | None
    started_at: float
    """``time.perf_counter()`` when the successful request was sent."""
    ttft_ms: float

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None:
        """Close the upstream connection (idempotent)."""


class ModelClient(Protocol):
    @property
    def name(self) -> str:
        """The primary model's configured name."""

    async def open_stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> OpenedStream:
        """Send the request; return once the first chunk is in. Raises :class:`ModelError`."""
