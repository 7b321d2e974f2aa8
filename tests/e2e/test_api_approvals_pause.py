"""The approval flow through the API, 1: a hold pauses the reply, and deciding is guarded.

The model (the fake provider, scripted) asks to ``hold_booking`` a real flight and the reply
pauses for the traveller's decision (:mod:`tests.support.approvals` drives it). Every refused
decision must leave the seats and the bookings table as they were; the bookings each
conversation made are read from the database (the API has no "bookings of a conversation"
listing). Each test runs an app of its own in process, with the test's provider as its model.
"""

from __future__ import annotations

import uuid
from typing import Any

from booking.i18n.format import money
from tests.support.api import assert_problem, new_id
from tests.support.approvals import (
    ASK,
    HELD,
    ApprovalStatus,
    Bookings,
    assert_status,
    call_id,
    pause,
    queue_hold,
    validated,
    wait_closed,
)
from tests.support.booking_requests import roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider
from tests.support.in_process import InProcessApp, StartApp
from tests.support.sse import assert_contiguous, types


class TestPause:
    def test_a_hold_pauses_the_reply_for_approval(
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
            flight = roomy_flight(client, "2026-06-12", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
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
        # The conversation is Vietnamese: so is the summary, with its money format.
        assert money(flight["price_vnd"] * 2, "vi") in reason

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
        self, start_app: StartApp, key: str, provider: FakeProvider, llm: dict[str, Any]
    ) -> None:
        server = start_app(**llm)
        conversation_id = new_id()
        call = call_id()
        with server.client(key) as client:
            flight = roomy_flight(client, "2026-06-12", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
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


def test_deciding_needs_a_key(server: InProcessApp) -> None:
    with server.client() as client:
        response = client.post(
            f"/v1/conversations/{new_id()}/approvals/apr_{uuid.uuid4().hex}",
            json={"approved": True},
        )
    assert_problem(response, 401, "unauthorized")


def test_a_decision_body_is_validated(server: InProcessApp, key: str) -> None:
    path = f"/v1/conversations/{new_id()}/approvals/apr_{uuid.uuid4().hex}"
    with server.client(key) as client:
        for body in ({}, {"approved": "yes please"}, {"approved": True, "extra": 1}):
            assert_problem(client.post(path, json=body), 422, "validation_failed")
