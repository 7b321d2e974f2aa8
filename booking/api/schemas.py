"""Request and response bodies. Not ORM classes, not domain types."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from booking.domain.types import MAX_PASSENGERS, BookingStatus, BookingView, Cabin

CONVERSATION_ID = r"^[A-Za-z0-9_-]{1,64}$"
#: What PostgreSQL text and JSONB cannot hold: NUL, and UTF-16 surrogates (valid in JSON as
#: escapes, not encodable in UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_at(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where in a parsed JSON body a string (or key) holds unstorable text, if anywhere."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return (*path, key)
            found = _unstorable_at(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_at(item, (*path, index))
            if found is not None:
                return found
    return None


class RequestBody(BaseModel):
    """Base of every request body: text the database cannot store (a NUL character, a lone
    surrogate) is refused anywhere in the body with a 422, before anything is written."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        where = _unstorable_at(data)
        if where is not None:
            raise PydanticCustomError(
                "unstorable_text",
                "text at {where} contains a NUL character or a lone surrogate",
                {"where": ".".join(map(str, where)) or "the body"},
            )
        return data


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


class ChatRequest(RequestBody):
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


class ConversationCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "Chuyến đi Hà Nội"}]}
    )
    id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    """Unique within your tenant (another tenant's ids are free); generated when absent."""
    title: str | None = Field(default=None, max_length=200)


class ConversationRead(BaseModel):
    id: str
    """The conversation's id within your tenant: the one you chose or were given."""
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


class MessageCreate(RequestBody):
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


class ApprovalDecisionIn(RequestBody):
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


class PassengerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str = Field(min_length=1, max_length=120)
    date_of_birth: str | None = Field(default=None, max_length=10)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)


class BookingCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "flight_id": 1234,
                    "passengers": [{"full_name": "Nguyễn Văn An"}],
                    "contact": {"phone": "0901234567"},
                }
            ]
        },
    )
    # The largest integer every JSON parser reads exactly (JavaScript's MAX_SAFE_INTEGER).
    flight_id: int = Field(ge=1, le=2**53 - 1)
    cabin: Cabin = "economy"
    # The 1-9 rule is the domain's (`invalid_passengers`); the 50 only bounds the body.
    passengers: list[PassengerIn] = Field(
        max_length=50, json_schema_extra={"minItems": 1, "maxItems": MAX_PASSENGERS}
    )
    contact: ContactIn


#: A moment written as Python's ``isoformat`` writes it (``+07:00``, never ``Z``): the same text
#: the agent's booking tools give the model.
Moment = Annotated[
    AwareDatetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class BookedFlightRead(BaseModel):
    flight_id: int
    flight_number: str
    airline_code: str
    airline_name: str
    origin: str
    destination: str
    departs_at: Moment
    """Local time at the origin."""
    arrives_at: Moment
    """Local time at the destination."""
    duration_minutes: int


class PassengerRead(BaseModel):
    full_name: str
    date_of_birth: date | None


class ContactRead(BaseModel):
    email: str | None
    phone: str | None


class BookingRead(BaseModel):
    """A booking; moments in Vietnam time unless said otherwise, amounts in VND."""

    reference: str
    status: BookingStatus
    flight: BookedFlightRead
    cabin: Cabin
    passengers: list[PassengerRead]
    contact: ContactRead
    price_per_passenger_vnd: int
    total_vnd: int
    currency: Literal["VND"]
    hold_expires_at: Moment | None
    """When the hold lapses, while the booking is held; null in every other status."""
    created_at: Moment
    confirmed_at: Moment | None
    cancelled_at: Moment | None
    expired_at: Moment | None

    @classmethod
    def from_view(cls, view: BookingView) -> BookingRead:
        return cls.model_validate(view.to_dict())


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
