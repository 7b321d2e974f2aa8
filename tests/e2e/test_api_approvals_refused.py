"""The approval flow through the API, 3: forged, replayed, expired, retried and racing decisions
are refused and book at most once.

The model (the fake provider, scripted) asks to ``hold_booking`` a real flight and the reply
pauses for the traveller's decision (:mod:`tests.support.approvals` drives it). Every refused
decision must leave the seats and the bookings table as they were; the bookings each
conversation made are read from the database (the API has no "bookings of a conversation"
listing). Each test runs an app of its own in process, with the test's provider as its model.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any

import httpx2

from tests.support.api import MakeKey, assert_problem, chat_body, new_id, post_once, wait_idle
from tests.support.approvals import (
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
    usechat_body,
)
from tests.support.booking_requests import roomy_flight, seats_left
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import StartApp
from tests.support.sse import of_type
from tests.support.tools import call_chunks


class TestForgery:
    def test_forged_decisions_are_refused_and_book_nothing(
        self,
        start_app: StartApp,
        make_key: MakeKey,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
        approval_status: ApprovalStatus,
    ) -> None:
        server = start_app(**llm)
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
                problem = assert_problem(refused, 409, "approval_mismatch")
                assert problem["approval_id"] == paused.approval_id

            # The approval of one conversation used on another of the same tenant, both ways.
            crossed = f"/v1/conversations/{other_id}/approvals/{paused.approval_id}"
            assert_problem(client.post(crossed, json={"approved": True}), 404, "approval_not_found")
            crossed_back = f"/v1/conversations/{first_id}/approvals/{other.approval_id}"
            assert_problem(
                client.post(crossed_back, json={"approved": True}), 404, "approval_not_found"
            )
            # Another tenant, with the right conversation and approval ids.
            assert_problem(
                stranger.post(paused.path, json={"approved": True}), 404, "approval_not_found"
            )
            stolen = usechat_body(paused, {"id": paused.approval_id, "approved": True})
            assert_problem(stranger.post("/v1/chat", json=stolen), 404, "approval_not_found")
            # Made-up ids.
            for made_up in (f"apr_{uuid.uuid4().hex}", "apr_", "x"):
                assert_problem(
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
            flight = roomy_flight(client, "2026-06-18", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=DECLINED)
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
        problem = assert_problem(replayed, 409, "approval_decided")
        assert problem["approval_id"] == paused.approval_id
        assert problem["status"] == 409
        assert_problem(replayed_usechat, 409, "approval_decided")

    def test_an_expired_approval_is_refused(
        self,
        start_app: StartApp,
        key: str,
        provider: FakeProvider,
        llm: dict[str, Any],
        bookings_of: Bookings,
    ) -> None:
        server = start_app(approval_ttl_s=0.5, **llm)
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
                problem = assert_problem(response, 409, "approval_expired")
                assert problem["approval_id"] == paused.approval_id

            # The conversation goes on: a new message closes the expired call for the model.
            with client.stream(
                "POST", "/v1/chat", json=chat_body(conversation_id, "Tìm lại giúp tôi")
            ) as r:
                after = read_stream(r)
        assert after[-2].part == {"type": "finish", "finishReason": "stop"}
        roles = [m["role"] for m in sent_messages(provider)]
        assert roles == ["system", "user", "assistant", "tool", "user"]


class TestRetries:
    def test_a_retried_approval_books_once(
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
            flight = roomy_flight(client, "2026-06-24", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
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
        assert_problem(retried, 409, "approval_decided")
        assert_problem(retried_stream, 409, "approval_decided")

    def test_racing_approvals_book_once(
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
            flight = roomy_flight(client, "2026-06-25", origin="HAN", destination="SGN")
            queue_hold(provider, call, flight["flight_id"], then=HELD)
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
        assert sorted(r.status_code for r in responses) == [200, 409, 409], [
            r.text for r in responses
        ]
        for response in responses:
            if response.status_code == 409:
                assert_problem(response, 409, "approval_decided")
