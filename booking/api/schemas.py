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

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "chat-1",
                    "messages": [
                        {
                            "id": "u1",
                            "role": "user",
                            "parts": [{"type": "text", "text": "Đặt vé SGN → HAN ngày 15/6"}],
                        }
                    ],
                    "trigger": "submit-message",
                }
            ]
        },
    )
    id: str = Field(pattern=CONVERSATION_ID)
    messages: list[UIMessageIn] = Field(min_length=1, max_length=1000)
    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"
    messageId: str | None = None


class ConversationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Chuyến đi Hà Nội"}]}
    )
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
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "thời tiết Huế ngày 15/6"}]}
    )
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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"approved": True}]})
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


class ValidationIssue(BaseModel):
    loc: list[str | int]
    """Where: ``["body", "messages", 0, "role"]``, ``["query", "limit"]``, ..."""
    msg: str
    type: str


class Problem(BaseModel):
    """An error (RFC 9457 problem details) with a stable ``code``; some codes add members
    (``running_turn_id``, ``seats_left``, ``suggestions``, ...)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ValidationIssue] = []
    """What was malformed, for ``validation_failed`` from the request's schema."""


class ModelInfo(BaseModel):
    name: str
    model: str
    base_url: str
    primary: bool
