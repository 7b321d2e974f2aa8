"""The approval flow through the API, 4: ``useChat``'s way of answering (``POST /v1/chat`` whose
last message is the assistant's with an ``approval-responded`` tool part), and a new message
instead of an answer.

The model (the fake provider, scripted) asks to ``hold_booking`` a real flight and the reply
pauses for the traveller's decision (:mod:`tests.support.approvals` drives it). Every refused
decision must leave the seats and the bookings table as they were; the bookings each
conversation made are read from the database (the API has no "bookings of a conversation"
listing). Each test runs an app of its own in process, with the test's provider as its model.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.api import assert_problem, chat_body, new_id, post_once, wait_idle
from tests.support.approvals import (
    ASK,
    DECLINED,
    HELD,
    ApprovalStatus,
    Bookings,
    call_id,
    hold_arguments,
    pause,
    queue_hold,
    read_stream,
    sent_messages,
    usechat_body,
    wait_closed,
)
from tests.support.booking_requests import roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider, Script, text_chunks, tool_calls_chunks
from tests.support.in_process import StartApp
from tests.support.sse import assert_contiguous, of_type, text_of
from tests.support.tools import call_chunks


class TestUseChat:
    def test_usechat_approval_response_continues_the_reply(
        self,
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start_app(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-21", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
            before = seats_left(client, flight)
            paused = pause(client, conversation_id, call)
            approval = {"id": paused.approval_id, "approved": True}

            # The tool input edited in the browser: refused, nothing consumed.
            tampered = copy.deepcopy(paused.input)
            tampered["contact"]["email"] = "attacker@example.com"
            refused = client.post("/v1/chat", json=usechat_body(paused, approval, input=tampered))
            problem = assert_problem(refused, 409, "approval_mismatch")
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
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start_app(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-22", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=DECLINED)
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
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start_app(**llm)
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
            problem = assert_problem(partial, 422, "validation_failed")
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
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start_app(**llm)
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
        problem = assert_problem(late, 409, "approval_decided")
        assert problem["approval_id"] == paused.approval_id
        assert_problem(late_usechat, 409, "approval_decided")
