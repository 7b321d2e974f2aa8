"""The approval flow through the API, 2: approving or denying continues the same assistant
message, as a stream or as JSON, once every approval of the reply is answered.

The model (the fake provider, scripted) asks to ``hold_booking`` a real flight and the reply
pauses for the traveller's decision (:mod:`tests.support.approvals` drives it). Every refused
decision must leave the seats and the bookings table as they were; the bookings each
conversation made are read from the database (the API has no "bookings of a conversation"
listing). Each test runs an app of its own in process, with the test's provider as its model.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.api import chat_body, conversation, new_id, wait_idle
from tests.support.approvals import (
    ASK,
    DECLINED,
    HELD,
    ApprovalStatus,
    Bookings,
    assert_status,
    call_id,
    hold_arguments,
    pause,
    queue_hold,
    read_stream,
    sent_messages,
    validated,
    wait_closed,
)
from tests.support.booking_requests import roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider, Script, text_chunks, tool_calls_chunks
from tests.support.in_process import StartApp
from tests.support.sse import assert_contiguous, of_type, text_of, types
from tests.support.tools import call_chunks


class TestDecide:
    def test_approve_runs_the_hold_and_continues_the_same_message(
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
            flight = roomy_flight(client, "2026-06-14", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=DECLINED)
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
            flight = roomy_flight(client, "2026-06-15", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
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
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start_app(**llm)
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
