"""Security through the API, 1: tenant isolation, swept over every operation of the OpenAPI
document that has a path parameter. Another tenant using tenant A's ids (a finished
conversation, one paused on an approval, one whose reply is running, a held booking) gets
exactly what it gets for ids that do not exist (a 404 problem with the route's stable code; 204
from the resume endpoint), so nothing leaks, not even existence; and nothing of A's changes,
nothing is created for B by probing. Ids are scoped per tenant: B creating one of A's ids gets
its own conversation, as for a fresh id. Through the real app, in process, on the run's real
PostgreSQL.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
from fastapi import FastAPI

from booking.domain.bookings import REFERENCE_ALPHABET
from tests.support.api import MakeKey, assert_problem, chat_body, conversation, new_id, wait_idle
from tests.support.approvals import HELD, Paused, call_id, hold_arguments, pause, read_stream
from tests.support.booking_requests import hold, hold_body, idem, roomy_flight
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.in_process import InProcessApp, StartApp
from tests.support.queries import (
    PROBLEM,
    approval_status,
    rows_of_tenant,
    tenant_of,
)
from tests.support.sse import Stream, of_type
from tests.support.tools import call_chunks

#: Another tenant's answer, by the resource the path names last. Every 404 is what an unknown id
#: gets; the resume endpoint answers 204 ("no reply running"), as for an id it never saw, because
#: ``useChat`` calls it on mount with whatever id it has.
EXPECTED = {
    "conversation_id": (404, "not_found"),
    "approval_id": (404, "approval_not_found"),
    "reference": (404, "booking_not_found"),
    "chat_id": (204, None),
    "thread_id": (404, "not_found"),
}
#: The operations there were when this test was written (new ones are swept too).
KNOWN_OPERATIONS = {
    "GET /v1/chat/{chat_id}/stream",
    "GET /v1/conversations/{conversation_id}",
    "DELETE /v1/conversations/{conversation_id}",
    "POST /v1/conversations/{conversation_id}/messages",
    "POST /v1/conversations/{conversation_id}/approvals/{approval_id}",
    "GET /v1/conversations/{conversation_id}/events",
    "POST /v1/conversations/{conversation_id}/stop",
    "GET /v1/bookings/{reference}",
    "POST /v1/bookings/{reference}/confirm",
    "POST /v1/bookings/{reference}/cancel",
}
#: A valid body for each request schema an operation with a path parameter takes.
BODIES: dict[str, dict[str, Any]] = {
    "MessageCreate": {"text": "Cho tôi xem hội thoại này"},
    "ApprovalDecisionIn": {"approved": True},
}
FINISHED = "Chào anh, tôi có thể giúp gì?"


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document that names a resource in its path."""

    method: str
    path: str
    params: tuple[str, ...]
    """Its path parameters, in path order."""
    body: dict[str, Any] | None
    headers: dict[str, str]
    query: dict[str, str]
    """A value for each required query parameter (AG-UI's resume names its run)."""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations_with_path_parameters(app: FastAPI) -> list[Operation]:
    operations = []
    for path, item in app.openapi()["paths"].items():
        for method, spec in item.items():
            parameters = spec.get("parameters", [])
            params = tuple(p["name"] for p in parameters if p["in"] == "path")
            if not params:
                continue
            if "401" not in spec.get("responses", {}):
                continue  # Public (no key, so no tenant's data): nothing to isolate.
            body = None
            if "requestBody" in spec:
                ref = spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = ref.rsplit("/", 1)[-1]
                assert schema in BODIES, f"{method.upper()} {path}: add a valid {schema} to BODIES"
                body = BODIES[schema]
            headers = {}
            if any(p["in"] == "header" and p["name"] == "idempotency-key" for p in parameters):
                # A first-time key: nothing may be stored under it for the other tenant either.
                headers = idem()
            query = {
                p["name"]: "probe" for p in parameters if p["in"] == "query" and p.get("required")
            }
            operations.append(Operation(method.upper(), path, params, body, headers, query))
    return operations


def unknown_id(param: str) -> str:
    """An id of the same shape as A's that nobody has."""
    if param == "approval_id":
        return f"apr_{uuid.uuid4().hex}"
    if param == "reference":
        return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return new_id()


@dataclass(frozen=True)
class Answer:
    """What a client learns from a response: status, media type and body, with the ids it
    sent masked (``{conversation_id}``), so answers for different ids compare equal."""

    status: int
    media_type: str
    body: Any


def ask(client: httpx2.Client, operation: Operation, ids: dict[str, str]) -> Answer:
    path = operation.path.format(**ids)
    with client.stream(
        operation.method,
        path,
        json=operation.body,
        headers=operation.headers,
        params=operation.query,
    ) as response:
        media_type = response.headers.get("content-type", "").split(";")[0]
        if media_type == "text/event-stream":
            # Another tenant's reply would be streaming: never read it to its end.
            return Answer(response.status_code, media_type, None)
        raw = response.read().decode()
    for name, value in ids.items():
        raw = raw.replace(value, "{" + name + "}")
    return Answer(response.status_code, media_type, json.loads(raw) if raw else None)


@dataclass
class TenantA:
    """What tenant A owns while tenant B probes."""

    finished: str
    paused: Paused
    running: str
    reference: str

    def ids(self) -> dict[str, list[str]]:
        """A's ids for each path parameter. An operation with several parameters uses the first
        id of each (the paused conversation and its approval belong together)."""
        return {
            "conversation_id": [self.paused.conversation_id, self.finished, self.running],
            "approval_id": [self.paused.approval_id],
            "chat_id": [self.running, self.paused.conversation_id, self.finished],
            "thread_id": [self.running, self.paused.conversation_id, self.finished],
            "reference": [self.reference],
        }


def test_another_tenant_gets_for_every_id_of_a_what_it_gets_for_unknown_ids(
    start_app: StartApp,
    make_key: MakeKey,
    provider: FakeProvider,
    llm: dict[str, Any],
    seeded_url: str,
) -> None:
    server = start_app(**llm)
    key_a, key_b = make_key(), make_key()
    finished, running, call = new_id(), new_id(), call_id()
    with server.client(key_a) as a, server.client(key_b) as b:
        flight = roomy_flight(a, "2026-07-02", origin="HAN", destination="SGN")
        provider.queue(
            Script(events=text_chunks(FINISHED)),
            Script(events=call_chunks(call, "hold_booking", hold_arguments(flight["flight_id"]))),
            # Long enough to still run when B is done; A stops it.
            Script(events=text_chunks(" ".join(["chữ"] * 400)), delay_s=0.05),
            Script(events=text_chunks(HELD)),
        )
        with a.stream("POST", "/v1/chat", json=chat_body(finished, "Xin chào")) as response:
            read_stream(response)
        wait_idle(a, finished)
        paused = pause(a, new_id(), call)
        booking = hold(a, hold_body(flight["flight_id"], "Nguyễn Văn An"))
        assert booking["status"] == "held"
        owned = TenantA(finished, paused, running, booking["reference"])
        transcripts = {c: conversation(a, c) for c in (finished, paused.conversation_id)}

        with a.stream("POST", "/v1/chat", json=chat_body(running, "Kể chuyện đi")) as reply:
            stream = Stream(reply)
            stream.read_type("text-delta")
            running_turn = conversation(a, running)["running_turn_id"]
            assert running_turn

            probe_every_operation(server, b, owned)
            listed = b.get("/v1/conversations", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            assert listed.json()["items"] == []
            created = probe_body_ids(b, owned)
            listed = b.get("/v1/conversations", params={"limit": 100})
            assert sorted(c["id"] for c in listed.json()["items"]) == sorted(created)

            # A's reply ran on through all of it: A can still join it (where B got 204) and
            # stop it.
            assert conversation(a, running)["running_turn_id"] == running_turn
            with a.stream("GET", f"/v1/chat/{running}/stream") as joined:
                assert joined.status_code == 200
            stopped = a.post(f"/v1/conversations/{running}/stop")
            assert stopped.json() == {"stopped_turn_id": running_turn}, stopped.text
            records = stream.read_to_end()
        assert records[-2].type == "abort"

        # Nothing of A's changed, and the paused reply still continues when A approves.
        for conversation_id, before in transcripts.items():
            assert conversation(a, conversation_id) == before
        after = a.get(f"/v1/bookings/{owned.reference}")
        assert after.status_code == 200, after.text
        assert after.json() == booking
        assert approval_status(seeded_url, paused.approval_id) == "pending"
        with a.stream("POST", paused.path, json={"approved": True}) as response:
            continued = read_stream(response)
        (output,) = of_type(continued, "tool-output-available")
        assert output["toolCallId"] == call
        assert output["output"]["booking"]["status"] == "held"
        assert continued[-2].part == {"type": "finish", "finishReason": "stop"}

    assert rows_of_tenant(seeded_url, tenant_of(seeded_url, key_b)) == {
        "conversations": 6,  # Its own: A's three ids and three fresh ones (probe_body_ids).
        "bookings": 0,
        "approvals": 0,
        "idempotency_keys": 0,
    }


def probe_every_operation(server: InProcessApp, b: httpx2.Client, owned: TenantA) -> None:
    """B calls every operation with a path parameter with A's ids, then with unknown ones."""
    operations = operations_with_path_parameters(server.app)
    ids = owned.ids()
    unknown = {p for op in operations for p in op.params} - ids.keys()
    assert not unknown, f"path parameters this test does not know: {unknown}"
    assert KNOWN_OPERATIONS <= {str(op) for op in operations}, [str(op) for op in operations]
    for operation in operations:
        status, code = EXPECTED[operation.params[-1]]
        # zip: the first id of each parameter, then the second ... (see TenantA.ids).
        for values in zip(*(ids[p] for p in operation.params), strict=False):
            theirs = ask(b, operation, dict(zip(operation.params, values, strict=True)))
            nobodys = ask(b, operation, {p: unknown_id(p) for p in operation.params})
            where = f"{operation} with {values}"
            assert theirs.status == status, (where, theirs)
            if code is not None:
                assert theirs.media_type == PROBLEM, (where, theirs)
                assert theirs.body["code"] == code, (where, theirs)
            assert theirs == nobodys, (where, theirs, nobodys)


def probe_body_ids(b: httpx2.Client, owned: TenantA) -> list[str]:
    """The operations that take a conversation id in the body instead of the path; returns the
    ids B created.

    Conversation ids are scoped per tenant, so A's ids are free for B: creating one gets exactly
    what creating a fresh id gets (B's own empty conversation; a second create is B's own 409),
    and A's conversations are untouched (the caller checks their transcripts). Chatting in
    another tenant's id is tested in ``test_tenant_ids`` (this test's model is scripted)."""
    created = []
    for theirs in (owned.finished, owned.paused.conversation_id, owned.running):
        answers = []
        for conversation_id in (theirs, new_id()):
            response = b.post("/v1/conversations", json={"id": conversation_id})
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["id"] == conversation_id
            created.append(conversation_id)
            detail = conversation(b, conversation_id)
            assert (detail["messages"], detail["running_turn_id"]) == ([], None)
            again = b.post("/v1/conversations", json={"id": conversation_id})
            assert assert_problem(again, 409, "conversation_exists")["conversation_id"] == (
                conversation_id
            )
            answers.append((sorted(body), body["title"], body["last_event_id"]))
        assert answers[0] == answers[1], answers
    # B now has a conversation of that id, but not A's approval in it.
    paused = owned.paused
    approval = {
        "id": paused.conversation_id,
        "messages": [
            {
                "id": paused.message_id,
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool-hold_booking",
                        "toolCallId": paused.call_id,
                        "state": "approval-responded",
                        "input": paused.input,
                        "approval": {"id": paused.approval_id, "approved": True},
                    }
                ],
            }
        ],
        "trigger": "submit-message",
    }
    assert_problem(b.post("/v1/chat", json=approval), 404, "approval_not_found")
    return created
