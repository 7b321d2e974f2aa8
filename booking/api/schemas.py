"""Request and response bodies. Not ORM classes, not domain types."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONVERSATION_ID = r"^[A-Za-z0-9_-]{1,64}$"


class UIMessagePart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class UIMessageIn(BaseModel):
    """A message as ``useChat`` sends it; only the new user message is used."""

    model_config = ConfigDict(extra="allow")
    id: str | None = Field(default=None, max_length=128)
    role: Literal["user", "assistant", "system"]
    parts: list[UIMessagePart] = []


class ChatRequest(BaseModel):
    """The body ``DefaultChatTransport`` posts."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern=CONVERSATION_ID)
    messages: list[UIMessageIn] = Field(min_length=1, max_length=1000)
    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"
    messageId: str | None = None


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    title: str | None = Field(default=None, max_length=200)


class ConversationRead(BaseModel):
    id: str
    title: str | None
    created_at: datetime
    updated_at: datetime
    last_event_id: int
    """The conversation's latest cursor: resume ``/events`` after it."""


class ConversationPage(BaseModel):
    items: list[ConversationRead]
    next_cursor: str | None


class ConversationDetail(ConversationRead):
    running_turn_id: str | None
    messages: list[dict[str, Any]]
    """The transcript as UI messages (``{id, role, parts, metadata}``)."""


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    """Limited to ``BOOKING_MAX_MESSAGE_CHARS`` (the route checks; the setting may change)."""
    id: str | None = Field(default=None, max_length=128)
    """Optional client id of the user message."""


class TurnResult(BaseModel):
    turn_id: str
    status: str
    message: dict[str, Any]
    """The assistant's UI message."""
    last_event_id: int


class ApprovalDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approved: bool
    reason: str | None = Field(default=None, max_length=500)
    arguments: dict[str, Any] | None = None
    """Optional: the arguments the client showed the traveller; refused if they differ."""


class ApprovalsPending(BaseModel):
    status: Literal["pending"] = "pending"
    pending_approval_ids: list[str]
    """Other approvals of the same reply still waiting; the reply continues once all are decided."""


class StopResult(BaseModel):
    stopped_turn_id: str | None


class ModelInfo(BaseModel):
    name: str
    model: str
    base_url: str
    primary: bool
