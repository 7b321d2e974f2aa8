"""What configures one upstream model: its endpoint and protocol, timeouts and retry policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import httpx2

from booking.agent.models.base import Pricing


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    """Our name for it (the key in the model table)."""
    model: str
    """The provider's model id sent in requests."""
    base_url: str
    api_key: str
    pricing: Pricing | None = None
    fallbacks: tuple[str, ...] = ()
    transport: httpx2.AsyncBaseTransport | None = field(default=None, compare=False)
    """In-process transport (the offline model); ``None`` means real HTTP."""
    api: Literal["chat", "responses"] = "chat"
    """The upstream protocol: Chat Completions, or the Responses API
    (:mod:`booking.agent.models.openai_responses`)."""
    context_tokens: int | None = None
    """The largest prompt, in estimated tokens, this model is sent (its window less the room its
    answer needs); ``None``: the service default (:mod:`booking.agent.context_window`)."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 5.0
    first_chunk_s: float = 10.0
    """From sending the request to the first chunk."""
    stall_s: float = 15.0
    """Longest silence allowed between two chunks."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    """Attempts after the first, per model, before falling back."""
    initial_wait_s: float = 0.5
    max_wait_s: float = 8.0
