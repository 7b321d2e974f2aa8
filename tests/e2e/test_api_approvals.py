"""The approval flow over real HTTP, with the fake provider scripting the model.

The model asks to ``hold_booking`` a real flight; the reply pauses with a
``tool-approval-request``; the traveller decides through ``POST
/v1/conversations/{id}/approvals/{approval_id}`` or ``useChat``'s way (``POST /v1/chat`` whose
last message is the assistant's with an ``approval-responded`` tool part); the reply continues as
the same assistant message. Every refused decision must leave the seats and the bookings table
as they were. The bookings each conversation made are read from the database (the API has no
"bookings of a conversation" listing).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import psycopg
import pytest

from booking.db.engine import libpq_url
from tests.e2e.conftest import MakeKey, StartServer
from tests.e2e.test_api_bookings import assert_refused, post_once, roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider, Script, text_chunks, tool_calls_chunks
from tests.support.server import (
    RunningServer,
    SSERecord,
    Stream,
    assert_contiguous,
    call_chunks,
    chat_body,
    conversation,
    new_id,
    wait_idle,
)

ASK = "Giữ chỗ chuyến này cho anh An và chị Bình nhé"
HELD = "Đã giữ chỗ cho hai hành khách; vui lòng xác nhận trong 15 phút."
DECLINED = "Được, tôi không giữ chỗ nữa."
SSE_HEADERS = {"x-vercel-ai-ui-message-stream": "v1", "cache-control": "no-cache"}

Bookings = Callable[[str], list[dict[str, Any]]]
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


def types(records: list[SSERecord]) -> list[str | None]:
    return [r.type for r in records if r.data is not None and not r.is_done]


def of_type(records: list[SSERecord], kind: str) -> list[dict[str, Any]]:
    return [r.part for r in records if r.type == kind]


def text_of(records: list[SSERecord]) -> str:
    return "".join(r.part["delta"] for r in records if r.type == "text-delta")


def assert_status(response: httpx2.Response, status: int) -> None:
    if response.status_code >= 500:
        time.sleep(0.5)  # see assert_refused
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


@pytest.fixture
def bookings_of(seeded_url: str) -> Bookings:
    """The bookings a conversation made, read from the database."""

    def read(conversation_id: str) -> list[dict[str, Any]]:
        with psycopg.connect(libpq_url(seeded_url)) as conn:
            rows = conn.execute(
                "SELECT reference, status, flight_id, passenger_count FROM bookings "
                "WHERE conversation_id = %s ORDER BY created_at, reference",
                (conversation_id,),
            ).fetchall()
        keys = ("reference", "status", "flight_id", "passenger_count")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    return read


@pytest.fixture
def approval_status(seeded_url: str) -> ApprovalStatus:
    """An approval's stored status (``None`` when there is no such approval)."""

    def read(approval_id: str) -> str | None:
        with psycopg.connect(libpq_url(seeded_url)) as conn:
            row = conn.execute(
                "SELECT status FROM approvals WHERE id = %s", (approval_id,)
            ).fetchone()
        return str(row[0]) if row else None

    return read


class TestPause:
    def test_a_hold_pauses_the_reply_for_approval(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-12", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            after = seats_left(client, flight)
            detail = wait_closed(client, conversation_id)

        records = paused.records
        assert_contiguous(records)
        kinds = types(records)
        assert kinds[0] == "start"
        assert (
            kinds.index("tool-input-start")
            < kinds.index("tool-input-available")
            < kinds.index("tool-approval-request")
            < kinds.index("finish")
        )
        assert "tool-output-available" not in kinds
        assert "tool-output-error" not in kinds
        assert records[-2].part == {"type": "finish", "finishReason": "tool-calls"}
        assert records[-1].is_done
        assert paused.input == validated(flight["flight_id"])

        request = paused.request
        assert request["approvalId"].startswith("apr_")
        assert len(request["approvalId"]) > len("apr_") + 16
        descriptor = request["approvalDescriptor"]
        assert descriptor["action"] == "hold"
        assert descriptor["flight"]["flight_id"] == flight["flight_id"]
        assert descriptor["flight"]["flight_number"] == flight["flight_number"]
        assert descriptor["flight"]["departs_at"] == flight["departs_at"]
        assert [p["full_name"] for p in descriptor["passengers"]] == [
            "Nguyễn Văn An",
            "Trần Thị Bình",
        ]
        assert descriptor["price_per_passenger_vnd"] == flight["price_vnd"]
        assert descriptor["total_vnd"] == flight["price_vnd"] * 2
        assert descriptor["currency"] == "VND"
        reason = request["reason"]
        assert isinstance(reason, str)
        assert flight["flight_number"] in reason
        assert "Nguyễn Văn An" in reason
        assert f"{flight['price_vnd'] * 2:,}" in reason

        # Nothing is booked before the traveller decides.
        assert after == before
        assert bookings_of(conversation_id) == []
        assert approval_status(paused.approval_id) == "pending"
        assert len(provider.requests) == 1

        # The transcript shows the call waiting for the traveller.
        assert detail["running_turn_id"] is None
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
        assistant = detail["messages"][1]
        assert assistant["id"] == paused.message_id
        tool = next(p for p in assistant["parts"] if p["type"] == "tool-hold_booking")
        assert tool["toolCallId"] == call
        assert tool["state"] == "approval-requested"
        assert tool["approval"]["id"] == paused.approval_id
        assert "approved" not in tool["approval"]
        assert tool["input"] == paused.input
        assert assistant["metadata"]["finishReason"] == "tool-calls"

    def test_the_json_reply_says_it_awaits_approval(
        self, start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-12", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            assert client.post("/v1/conversations", json={"id": conversation_id}).status_code == 201
            response = client.post(
                f"/v1/conversations/{conversation_id}/messages",
                json={"text": ASK},
                headers={"accept": "application/json"},
            )
        assert_status(response, 200)
        result = response.json()
        assert result["status"] == "awaiting_approval"
        tool = next(p for p in result["message"]["parts"] if p["type"] == "tool-hold_booking")
        assert tool["state"] == "approval-requested"
        assert tool["approval"]["id"].startswith("apr_")
        assert result["message"]["metadata"]["finishReason"] == "tool-calls"


class TestDecide:
    def test_approve_runs_the_hold_and_continues_the_same_message(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-13", origin="HAN", destination="SGN")
            arguments = hold_arguments(flight["flight_id"])
            provider.queue(
                Script(events=call_chunks(call, "hold_booking", arguments)),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            with client.stream("POST", paused.path, json={"approved": True}) as response:
                records = read_stream(response)
            after = seats_left(client, flight)
            detail = wait_idle(client, conversation_id)
            booking_output = of_type(records, "tool-output-available")
            reference = (
                booking_output[0]["output"]["booking"]["reference"] if booking_output else None
            )
            by_rest = client.get(f"/v1/bookings/{reference}") if reference else None

        # The continuation: the same message, right after the paused reply's last part.
        assert_contiguous(records)
        assert records[0].part == {"type": "start", "messageId": paused.message_id}
        assert records[0].seq == paused.records[-2].seq + 1
        kinds = types(records)
        assert kinds.count("start") == 1
        assert kinds.index("tool-output-available") < kinds.index("text-delta")
        assert "tool-approval-request" not in kinds
        assert len(booking_output) == 1
        output = booking_output[0]
        assert output["toolCallId"] == call
        booking = output["output"]["booking"]
        assert booking["status"] == "held"
        assert booking["flight"]["flight_id"] == flight["flight_id"]
        assert booking["passengers"] == validated(flight["flight_id"])["passengers"]
        assert booking["contact"] == {"email": "an.nguyen@example.vn", "phone": None}
        assert booking["total_vnd"] == flight["price_vnd"] * 2
        assert text_of(records) == HELD
        assert records[-2].part == {"type": "finish", "finishReason": "stop"}
        assert records[-1].is_done

        # Booked once, for this conversation and the key's tenant.
        assert after == before - 2
        stored = bookings_of(conversation_id)
        assert [(b["reference"], b["status"], b["passenger_count"]) for b in stored] == [
            (booking["reference"], "held", 2)
        ]
        assert by_rest is not None
        assert by_rest.status_code == 200, by_rest.text
        assert by_rest.json()["reference"] == booking["reference"]
        assert approval_status(paused.approval_id) == "approved"

        # The model got the assistant's tool call, then its result, in that order.
        assert len(provider.requests) == 2
        messages = sent_messages(provider)
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
        assert messages[1]["content"] == ASK
        (tool_call,) = messages[2]["tool_calls"]
        assert tool_call["id"] == call
        assert tool_call["function"]["name"] == "hold_booking"
        assert json.loads(tool_call["function"]["arguments"]) == arguments
        assert messages[3]["tool_call_id"] == call
        result = json.loads(messages[3]["content"])
        assert result["booking"]["reference"] == booking["reference"]
        assert result["booking"]["status"] == "held"

        # The transcript holds one assistant message with the call's outcome and the answer.
        assert detail["running_turn_id"] is None
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant"], detail
        assistant = detail["messages"][1]
        assert assistant["id"] == paused.message_id
        tool = next(p for p in assistant["parts"] if p["type"] == "tool-hold_booking")
        assert tool["state"] == "output-available", tool
        assert tool["approval"]["id"] == paused.approval_id
        assert tool["approval"]["approved"] is True
        assert tool["output"]["booking"]["reference"] == booking["reference"]
        assert [p["text"] for p in assistant["parts"] if p["type"] == "text"] == [HELD]
        assert assistant["metadata"]["finishReason"] == "stop"

    def test_deny_tells_the_model_and_books_nothing(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-14", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(DECLINED)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            with client.stream(
                "POST", paused.path, json={"approved": False, "reason": "Tôi muốn đổi ngày bay"}
            ) as response:
                records = read_stream(response)
            after = seats_left(client, flight)
            detail = wait_idle(client, conversation_id)

        assert_contiguous(records)
        assert records[0].part == {"type": "start", "messageId": paused.message_id}
        assert of_type(records, "tool-output-denied") == [
            {"type": "tool-output-denied", "toolCallId": call}
        ]
        kinds = types(records)
        assert "tool-output-available" not in kinds
        assert kinds.index("tool-output-denied") < kinds.index("text-delta")
        assert text_of(records) == DECLINED
        assert records[-2].part == {"type": "finish", "finishReason": "stop"}

        assert after == before
        assert bookings_of(conversation_id) == []
        assert approval_status(paused.approval_id) == "denied"

        messages = sent_messages(provider)
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
        assert messages[3]["tool_call_id"] == call
        error = json.loads(messages[3]["content"])["error"]
        assert error["code"] == "approval_denied"
        assert "Tôi muốn đổi ngày bay" in error["message"]

        assistant = detail["messages"][-1]
        assert assistant["id"] == paused.message_id
        tool = next(p for p in assistant["parts"] if p["type"] == "tool-hold_booking")
        assert tool["state"] == "output-denied", tool
        assert tool["approval"] == {
            "id": paused.approval_id,
            "descriptor": paused.request["approvalDescriptor"],
            "approved": False,
        }

    def test_approve_as_json_returns_the_continued_message(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-15", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            paused = pause(client, conversation_id, call)
            response = client.post(
                paused.path,
                json={"approved": True, "arguments": paused.input},
                headers={"accept": "application/json"},
            )
            detail = conversation(client, conversation_id)

        assert_status(response, 200)
        result = response.json()
        assert result["status"] == "done"
        assert result["last_event_id"] == detail["last_event_id"]
        message = result["message"]
        assert message["id"] == paused.message_id
        assert [p["text"] for p in message["parts"] if p["type"] == "text"] == [HELD]
        (stored,) = bookings_of(conversation_id)
        # The assistant's message, as the client should now show it: with the call's outcome.
        tool = next((p for p in message["parts"] if p["type"] == "tool-hold_booking"), None)
        assert tool is not None, message
        assert tool["state"] == "output-available"
        assert tool["output"]["booking"]["reference"] == stored["reference"]

    def test_all_approvals_of_a_reply_are_needed_before_it_continues(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        first_call, second_call = call_id(), call_id()
        with server.client(key) as client:
            outbound = roomy_flight(client, "2026-06-16", origin="HAN", destination="SGN")
            inbound = roomy_flight(client, "2026-06-20", origin="SGN", destination="HAN")
            provider.queue(
                Script(
                    events=tool_calls_chunks(
                        (first_call, "hold_booking", hold_arguments(outbound["flight_id"])),
                        (second_call, "hold_booking", hold_arguments(inbound["flight_id"])),
                    )
                ),
                Script(events=text_chunks(HELD)),
            )
            out_before, in_before = seats_left(client, outbound), seats_left(client, inbound)
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, ASK)) as r:
                paused = read_stream(r)
            wait_closed(client, conversation_id)
            asked = {
                p["toolCallId"]: p["approvalId"] for p in of_type(paused, "tool-approval-request")
            }
            assert set(asked) == {first_call, second_call}
            assert paused[-2].part == {"type": "finish", "finishReason": "tool-calls"}
            base = f"/v1/conversations/{conversation_id}/approvals"

            waiting = client.post(f"{base}/{asked[first_call]}", json={"approved": True})
            assert_status(waiting, 202)
            assert waiting.json() == {
                "status": "pending",
                "pending_approval_ids": [asked[second_call]],
            }
            # Nothing runs until the reply can continue.
            assert bookings_of(conversation_id) == []
            assert seats_left(client, outbound) == out_before
            assert len(provider.requests) == 1

            with client.stream(
                "POST", f"{base}/{asked[second_call]}", json={"approved": False}
            ) as r:
                records = read_stream(r)
            out_after, in_after = seats_left(client, outbound), seats_left(client, inbound)

        assert records[0].part == {"type": "start", "messageId": paused[0].part["messageId"]}
        assert [p["toolCallId"] for p in of_type(records, "tool-output-available")] == [first_call]
        assert [p["toolCallId"] for p in of_type(records, "tool-output-denied")] == [second_call]
        assert text_of(records) == HELD
        assert out_after == out_before - 2
        assert in_after == in_before
        assert [(b["flight_id"], b["status"]) for b in bookings_of(conversation_id)] == [
            (outbound["flight_id"], "held")
        ]
        messages = sent_messages(provider)
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
        assert [m["tool_call_id"] for m in messages[3:]] == [first_call, second_call]
        assert json.loads(messages[4]["content"])["error"]["code"] == "approval_denied"


class TestForgery:
    def test_forged_decisions_are_refused_and_book_nothing(
        self,
        start: StartServer,
        make_key: MakeKey,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        key, stranger_key = make_key(), make_key()
        first_id, other_id = new_id(), new_id()
        first_call, other_call = call_id(), call_id()
        with server.client(key) as client, server.client(stranger_key) as stranger:
            flight = roomy_flight(client, "2026-06-17", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(
                        first_call, "hold_booking", hold_arguments(flight["flight_id"])
                    )
                ),
                Script(
                    events=call_chunks(
                        other_call, "hold_booking", hold_arguments(flight["flight_id"])
                    )
                ),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, first_id, first_call)
            other = pause(client, other_id, other_call)

            # Other arguments than those asked about (each a plausible tampering).
            tampered_name = copy.deepcopy(paused.input)
            tampered_name["passengers"][0]["full_name"] = "Kẻ Mạo Danh"
            tampered_flight = {**paused.input, "flight_id": flight["flight_id"] + 1}
            tampered_cabin = {**paused.input, "cabin": "business"}
            one_passenger = {**paused.input, "passengers": paused.input["passengers"][:1]}
            for arguments in (tampered_name, tampered_flight, tampered_cabin, one_passenger, {}):
                refused = client.post(paused.path, json={"approved": True, "arguments": arguments})
                problem = assert_refused(refused, 409, "approval_mismatch")
                assert problem["approval_id"] == paused.approval_id

            # The approval of one conversation used on another of the same tenant, both ways.
            crossed = f"/v1/conversations/{other_id}/approvals/{paused.approval_id}"
            assert_refused(client.post(crossed, json={"approved": True}), 404, "approval_not_found")
            crossed_back = f"/v1/conversations/{first_id}/approvals/{other.approval_id}"
            assert_refused(
                client.post(crossed_back, json={"approved": True}), 404, "approval_not_found"
            )
            # Another tenant, with the right conversation and approval ids.
            assert_refused(
                stranger.post(paused.path, json={"approved": True}), 404, "approval_not_found"
            )
            stolen = usechat_body(paused, {"id": paused.approval_id, "approved": True})
            assert_refused(stranger.post("/v1/chat", json=stolen), 404, "approval_not_found")
            # Made-up ids.
            for made_up in (f"apr_{uuid.uuid4().hex}", "apr_", "x"):
                assert_refused(
                    client.post(
                        f"/v1/conversations/{first_id}/approvals/{made_up}", json={"approved": True}
                    ),
                    404,
                    "approval_not_found",
                )

            assert seats_left(client, flight) == before
            assert approval_status(paused.approval_id) == "pending"
            assert approval_status(other.approval_id) == "pending"
            assert bookings_of(first_id) == []
            assert bookings_of(other_id) == []
            assert len(provider.requests) == 2  # the two first messages; no continuation ran

            # The refusals consumed nothing: the owner can still decide, with the true arguments.
            with client.stream(
                "POST", paused.path, json={"approved": True, "arguments": paused.input}
            ) as r:
                records = read_stream(r)
            assert of_type(records, "tool-output-available")
            assert seats_left(client, flight) == before - 2
        assert len(bookings_of(first_id)) == 1
        assert bookings_of(other_id) == []

    def test_a_denied_approval_cannot_be_replayed_as_approved(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-18", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(DECLINED)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            denied = client.post(
                paused.path, json={"approved": False}, headers={"accept": "application/json"}
            )
            assert_status(denied, 200)
            replayed = post_once(server, key, paused.path, {"approved": True})
            replayed_usechat = post_once(
                server,
                key,
                "/v1/chat",
                usechat_body(paused, {"id": paused.approval_id, "approved": True}),
            )
            after = seats_left(client, flight)
        assert after == before
        assert bookings_of(conversation_id) == []
        assert len(provider.requests) == 2
        problem = assert_refused(replayed, 409, "approval_decided")
        assert problem["approval_id"] == paused.approval_id
        assert problem["status"] == 409
        assert_refused(replayed_usechat, 409, "approval_decided")

    def test_an_expired_approval_is_refused(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(approval_ttl_s=0.5, **llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-19", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks("Được, ta tìm lại nhé.")),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            time.sleep(1.0)
            expired = client.post(paused.path, json={"approved": True})
            expired_usechat = client.post(
                "/v1/chat", json=usechat_body(paused, {"id": paused.approval_id, "approved": True})
            )
            assert seats_left(client, flight) == before
            assert bookings_of(conversation_id) == []
            for response in (expired, expired_usechat):
                problem = assert_refused(response, 409, "approval_expired")
                assert problem["approval_id"] == paused.approval_id

            # The conversation goes on: a new message closes the expired call for the model.
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Tìm lại giúp tôi")
            ) as r:
                after = read_stream(r)
        assert after[-2].part == {"type": "finish", "finishReason": "stop"}
        roles = [m["role"] for m in sent_messages(provider)]
        assert roles == ["system", "user", "assistant", "tool", "user"]


class TestUseChat:
    def test_usechat_approval_response_continues_the_reply(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-21", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            approval = {"id": paused.approval_id, "approved": True}

            # The tool input edited in the browser: refused, nothing consumed.
            tampered = copy.deepcopy(paused.input)
            tampered["contact"]["email"] = "attacker@example.com"
            refused = client.post("/v1/chat", json=usechat_body(paused, approval, input=tampered))
            problem = assert_refused(refused, 409, "approval_mismatch")
            assert problem["approval_id"] == paused.approval_id
            assert approval_status(paused.approval_id) == "pending"
            assert bookings_of(conversation_id) == []
            assert seats_left(client, flight) == before

            with client.stream("POST", "/v1/chat", json=usechat_body(paused, approval)) as r:
                records = read_stream(r)
            after = seats_left(client, flight)

        assert_contiguous(records)
        assert records[0].part == {"type": "start", "messageId": paused.message_id}
        (output,) = of_type(records, "tool-output-available")
        assert output["toolCallId"] == call
        booking = output["output"]["booking"]
        assert booking["status"] == "held"
        assert booking["contact"]["email"] == "an.nguyen@example.vn"
        assert text_of(records) == HELD
        assert records[-2].part == {"type": "finish", "finishReason": "stop"}
        assert after == before - 2
        assert [b["reference"] for b in bookings_of(conversation_id)] == [booking["reference"]]
        assert approval_status(paused.approval_id) == "approved"

    def test_usechat_denial(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-22", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(DECLINED)),
            )
            paused = pause(client, conversation_id, call)
            approval = {"id": paused.approval_id, "approved": False, "reason": "Đắt quá"}
            with client.stream("POST", "/v1/chat", json=usechat_body(paused, approval)) as r:
                records = read_stream(r)
        assert of_type(records, "tool-output-denied") == [
            {"type": "tool-output-denied", "toolCallId": call}
        ]
        assert bookings_of(conversation_id) == []
        error = json.loads(sent_messages(provider)[3]["content"])["error"]
        assert error["code"] == "approval_denied"
        assert "Đắt quá" in error["message"]

    def test_usechat_answers_every_approval_of_the_reply_at_once(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        first_call, second_call = call_id(), call_id()
        with server.client(key) as client:
            outbound = roomy_flight(client, "2026-06-26", origin="HAN", destination="SGN")
            inbound = roomy_flight(client, "2026-06-29", origin="SGN", destination="HAN")
            provider.queue(
                Script(
                    events=tool_calls_chunks(
                        (first_call, "hold_booking", hold_arguments(outbound["flight_id"])),
                        (second_call, "hold_booking", hold_arguments(inbound["flight_id"])),
                    )
                ),
                Script(events=text_chunks(HELD)),
            )
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, ASK)) as r:
                paused = read_stream(r)
            wait_closed(client, conversation_id)
            asked = {
                p["toolCallId"]: p["approvalId"] for p in of_type(paused, "tool-approval-request")
            }
            shown = {p["toolCallId"]: p["input"] for p in of_type(paused, "tool-input-available")}

            def part(call: str, approved: bool) -> dict[str, Any]:
                return {
                    "type": "tool-hold_booking",
                    "toolCallId": call,
                    "state": "approval-responded",
                    "input": shown[call],
                    "approval": {"id": asked[call], "approved": approved},
                }

            def body(*parts: dict[str, Any]) -> dict[str, Any]:
                return {
                    "id": conversation_id,
                    "messages": [
                        {"id": "u-1", "role": "user", "parts": [{"type": "text", "text": ASK}]},
                        {
                            "id": paused[0].part["messageId"],
                            "role": "assistant",
                            "parts": [{"type": "step-start"}, *parts],
                        },
                    ],
                    "trigger": "submit-message",
                }

            # Only one of the two answered: refused, and the request has no effect.
            partial = client.post("/v1/chat", json=body(part(first_call, True)))
            problem = assert_refused(partial, 422, "validation_failed")
            assert problem["pending_approval_ids"] == [asked[second_call]]
            assert approval_status(asked[first_call]) == "pending"
            assert bookings_of(conversation_id) == []

            # Both answered: the reply continues.
            both = body(part(first_call, True), part(second_call, False))
            with client.stream("POST", "/v1/chat", json=both) as r:
                records = read_stream(r)
        assert [p["toolCallId"] for p in of_type(records, "tool-output-available")] == [first_call]
        assert [p["toolCallId"] for p in of_type(records, "tool-output-denied")] == [second_call]
        assert [b["flight_id"] for b in bookings_of(conversation_id)] == [outbound["flight_id"]]


class TestMovingOn:
    def test_a_new_message_supersedes_the_pending_approval(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        moved_on = "Khoan, cho tôi xem chuyến buổi chiều"
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-23", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks("Vâng, đây là các chuyến buổi chiều.")),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, moved_on)) as r:
                records = read_stream(r)
            detail = wait_idle(client, conversation_id)
            superseded = approval_status(paused.approval_id)
            late = post_once(server, key, paused.path, {"approved": True})
            late_usechat = post_once(
                server,
                key,
                "/v1/chat",
                usechat_body(paused, {"id": paused.approval_id, "approved": True}),
            )
            after = seats_left(client, flight)

        assert records[-2].part == {"type": "finish", "finishReason": "stop"}
        assert records[0].part["messageId"] != paused.message_id
        assert superseded == "superseded"
        # The model's history stays valid: the paused call has a result before the new message.
        messages = sent_messages(provider)
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "user"]
        assert messages[2]["tool_calls"][0]["id"] == call
        assert messages[3]["tool_call_id"] == call
        assert "error" in json.loads(messages[3]["content"])
        assert messages[4]["content"] == moved_on
        assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]

        # The old approval can no longer be used.
        assert after == before
        assert bookings_of(conversation_id) == []
        assert len(provider.requests) == 2
        problem = assert_refused(late, 409, "approval_decided")
        assert problem["approval_id"] == paused.approval_id
        assert_refused(late_usechat, 409, "approval_decided")


class TestRetries:
    def test_a_retried_approval_books_once(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-24", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            first = client.post(
                paused.path, json={"approved": True}, headers={"accept": "application/json"}
            )
            assert_status(first, 200)
            retried = post_once(server, key, paused.path, {"approved": True})
            retried_stream = post_once(
                server, key, paused.path, {"approved": True}, accept="text/event-stream"
            )
            after = seats_left(client, flight)

        assert after == before - 2
        stored = bookings_of(conversation_id)
        assert [(b["status"], b["passenger_count"]) for b in stored] == [("held", 2)]
        assert len(provider.requests) == 2
        assert_refused(retried, 409, "approval_decided")
        assert_refused(retried_stream, 409, "approval_decided")

    def test_racing_approvals_book_once(
        self,
        start: StartServer,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-25", origin="HAN", destination="SGN")
            provider.queue(
                Script(
                    events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))
                ),
                Script(events=text_chunks(HELD)),
            )
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)

        responses: list[httpx2.Response] = []
        barrier = threading.Barrier(3)

        def decide() -> None:
            with server.client(key) as racer:
                barrier.wait(5)
                responses.append(
                    racer.post(
                        paused.path,
                        json={"approved": True},
                        headers={"accept": "application/json"},
                    )
                )

        threads = [threading.Thread(target=decide) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with server.client(key) as client:
            wait_idle(client, conversation_id)
            after = seats_left(client, flight)

        assert after == before - 2
        assert len(bookings_of(conversation_id)) == 1
        assert len(provider.requests) == 2
        if any(r.status_code >= 500 for r in responses):
            time.sleep(0.5)  # see assert_refused
        assert sorted(r.status_code for r in responses) == [200, 409, 409], [
            r.text for r in responses
        ]
        for response in responses:
            if response.status_code == 409:
                assert_refused(response, 409, "approval_decided")


def test_deciding_needs_a_key(server: RunningServer) -> None:
    with server.client() as client:
        response = client.post(
            f"/v1/conversations/{new_id()}/approvals/apr_{uuid.uuid4().hex}",
            json={"approved": True},
        )
    assert_refused(response, 401, "unauthorized")


def test_a_decision_body_is_validated(server: RunningServer, key: str) -> None:
    path = f"/v1/conversations/{new_id()}/approvals/apr_{uuid.uuid4().hex}"
    with server.client(key) as client:
        for body in ({}, {"approved": "yes please"}, {"approved": True, "extra": 1}):
            assert_refused(client.post(path, json=body), 422, "validation_failed")
