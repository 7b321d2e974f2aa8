"""The approval flow as the API tests drive it: a scripted model asks to ``hold_booking`` a real
flight, the reply pauses with a ``tool-approval-request``, and the traveller decides through
``POST /v1/conversations/{id}/approvals/{approval_id}`` or ``useChat``'s way (``POST /v1/chat``
whose last message is the assistant's with an ``approval-responded`` tool part)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import psycopg

from booking.db.engine import libpq_url
from tests.support.api import chat_body, conversation, wait_idle
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.sse import SSERecord, Stream, of_type, types
from tests.support.tools import call_chunks

ASK = "Giữ chỗ chuyến này cho anh An và chị Bình nhé"
HELD = "Đã giữ chỗ cho hai hành khách; vui lòng xác nhận trong 15 phút."
DECLINED = "Được, tôi không giữ chỗ nữa."
SSE_HEADERS = {"x-vercel-ai-ui-message-stream": "v1", "cache-control": "no-cache"}

#: ``bookings_of(conversation_id)``: the bookings a conversation made, read from the database.
Bookings = Callable[[str], list[dict[str, Any]]]
#: ``approval_status(approval_id)``: an approval's stored status (``None`` if there is none).
ApprovalStatus = Callable[[str], str | None]


def hold_arguments(flight_id: int) -> dict[str, Any]:
    """What the scripted model sends (no ``phone``, no first ``date_of_birth``: the server fills
    defaults in, and the client sees and approves the filled-in version)."""
    return {
        "flight_id": flight_id,
        "passengers": [
            {"full_name": "Nguyễn Văn An"},
            {"full_name": "Trần Thị Bình", "date_of_birth": "1990-04-12"},
        ],
        "contact": {"email": "an.nguyen@example.vn"},
        "cabin": "economy",
    }


def queue_hold(
    provider: FakeProvider, call: str, flight_id: int, *, then: str, tool: str = "hold_booking"
) -> None:
    """The model asks to hold seats on ``flight_id`` (call ``call``; ``tool="book_flight"`` to
    book in one decision), then, once the decision is fed back, answers ``then``."""
    provider.queue(
        Script(events=call_chunks(call, tool, hold_arguments(flight_id))),
        Script(events=text_chunks(then)),
    )


def validated(flight_id: int) -> dict[str, Any]:
    """``hold_arguments`` as the server validated them (what it shows and stores)."""
    return {
        "flight_id": flight_id,
        "passengers": [
            {"full_name": "Nguyễn Văn An", "date_of_birth": None},
            {"full_name": "Trần Thị Bình", "date_of_birth": "1990-04-12"},
        ],
        "contact": {"email": "an.nguyen@example.vn", "phone": None},
        "cabin": "economy",
    }


def call_id() -> str:
    return f"call_{uuid.uuid4().hex[:10]}"


def assert_status(response: httpx2.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.read())


def read_stream(response: httpx2.Response) -> list[SSERecord]:
    assert_status(response, 200)
    assert response.headers["content-type"].startswith("text/event-stream")
    for name, value in SSE_HEADERS.items():
        assert response.headers[name] == value, (name, response.headers)
    return Stream(response).read_to_end()


@dataclass
class Paused:
    """A conversation whose reply paused for the approval of one ``hold_booking`` call."""

    conversation_id: str
    message_id: str
    call_id: str
    approval_id: str
    request: dict[str, Any]
    """The ``tool-approval-request`` part."""
    input: dict[str, Any]
    """The call's arguments as shown (``tool-input-available``)."""
    records: list[SSERecord]

    @property
    def path(self) -> str:
        return f"/v1/conversations/{self.conversation_id}/approvals/{self.approval_id}"


def wait_closed(client: httpx2.Client, conversation_id: str) -> dict[str, Any]:
    """Wait until the reply that paused is closed (no turn running); the conversation."""
    try:
        return wait_idle(client, conversation_id)
    except AssertionError:
        detail = conversation(client, conversation_id)
        raise AssertionError(
            "the reply ended ([DONE] sent) but its turn is still running "
            f"({detail['running_turn_id']}): it was never closed"
        ) from None


def pause(client: httpx2.Client, conversation_id: str, call: str) -> Paused:
    """Send the first message (the provider is scripted to answer with a ``hold_booking`` call);
    return once the paused reply is closed."""
    with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, ASK)) as response:
        records = read_stream(response)
    wait_closed(client, conversation_id)
    requests = of_type(records, "tool-approval-request")
    assert len(requests) == 1, types(records)
    request = requests[0]
    assert request["toolCallId"] == call
    shown = of_type(records, "tool-input-available")
    assert [p["toolCallId"] for p in shown] == [call]
    return Paused(
        conversation_id=conversation_id,
        message_id=records[0].part["messageId"],
        call_id=call,
        approval_id=request["approvalId"],
        request=request,
        input=shown[0]["input"],
        records=records,
    )


def usechat_body(paused: Paused, approval: dict[str, Any], **tool: Any) -> dict[str, Any]:
    """What ``useChat`` posts after ``addToolApprovalResponse``: the whole conversation, the
    last message the assistant's, its tool part ``approval-responded``."""
    part = {
        "type": "tool-hold_booking",
        "toolCallId": paused.call_id,
        "state": "approval-responded",
        "input": paused.input,
        "approval": approval,
        **tool,
    }
    return {
        "id": paused.conversation_id,
        "messages": [
            {"id": "u-1", "role": "user", "parts": [{"type": "text", "text": ASK}]},
            {
                "id": paused.message_id,
                "role": "assistant",
                "parts": [{"type": "step-start"}, part],
            },
        ],
        "trigger": "submit-message",
    }


def sent_messages(provider: FakeProvider, index: int = -1) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = provider.requests[index]["json"]["messages"]
    return messages


def read_bookings(url: str, conversation_id: str) -> list[dict[str, Any]]:
    """The bookings a conversation made (the API has no "bookings of a conversation" listing)."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT reference, status, flight_id, passenger_count FROM bookings "
            "WHERE conversation_id = %s ORDER BY created_at, reference",
            (conversation_id,),
        ).fetchall()
    keys = ("reference", "status", "flight_id", "passenger_count")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def read_approval_status(url: str, approval_id: str) -> str | None:
    """An approval's stored status (``None`` when there is no such approval)."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT status FROM approvals WHERE id = %s", (approval_id,)).fetchone()
    return str(row[0]) if row else None
