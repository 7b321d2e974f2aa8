"""Requests and assertions the API tests share: ids, request bodies, problem documents, and
reading a conversation back (as JSON, or as its stored events)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

import httpx2

from tests.support.sse import SSERecord, Stream
from tests.support.waits import DEADLINE_S, wait_for


class Server(Protocol):
    """What a test needs of an app it talks to, in process or on a socket."""

    def client(self, key: str | None = None, **kwargs: Any) -> httpx2.Client: ...


#: A message the offline model answers with a flight search.
BOOK = "Đặt vé SGN → HAN ngày 15/6"
#: ``make_key()`` stores a new API key for a tenant of its own and returns the key.
MakeKey = Callable[[], str]


def new_id() -> str:
    """A conversation id no other test (or run) uses."""
    return f"e2e-{uuid.uuid4().hex}"


def chat_body(conversation_id: str, text: str, message_id: str | None = None) -> dict[str, Any]:
    """The body ``useChat``'s ``DefaultChatTransport`` posts for a new user message."""
    return {
        "id": conversation_id,
        "messages": [
            {
                "id": message_id or f"u-{uuid.uuid4().hex[:8]}",
                "role": "user",
                "parts": [{"type": "text", "text": text}],
            }
        ],
        "trigger": "submit-message",
    }


def assert_problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with our stable ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    assert body["type"].endswith(f"/{code}")
    return body


def conversation(client: httpx2.Client, conversation_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_idle(
    client: httpx2.Client, conversation_id: str, timeout: float = DEADLINE_S
) -> dict[str, Any]:
    """Poll the conversation until no turn runs in it; return it."""

    def idle() -> dict[str, Any] | None:
        body = conversation(client, conversation_id)
        return body if body["running_turn_id"] is None else None

    return wait_for(idle, timeout)


def replay(
    client: httpx2.Client,
    conversation_id: str,
    *,
    after: int | None = 0,
    last_event_id: int | None = None,
) -> list[SSERecord]:
    """Every event of ``/events`` after a cursor, up to and including ``[DONE]``."""
    params = {"after": after} if after is not None else {}
    headers = {"last-event-id": str(last_event_id)} if last_event_id is not None else {}
    with client.stream(
        "GET", f"/v1/conversations/{conversation_id}/events", params=params, headers=headers
    ) as response:
        assert response.status_code == 200, response.read()
        return Stream(response).read_to_end()


def post_once(
    server: Server, key: str, path: str, body: dict[str, Any] | None = None, **headers: str
) -> httpx2.Response:
    """One request on a connection of its own (as a client retrying after an error would)."""
    with server.client(key) as client:
        response = client.post(path, json=body, headers=headers)
        response.read()
        return response
