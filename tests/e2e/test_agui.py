"""``POST /v1/agui`` over a live server: AG-UI events on the wire, as ``HttpAgent`` reads them
(``data:`` JSON, one event each), parsed back with ``ag_ui.core``'s own models; ids, resume
after a dropped connection, approvals through the interrupt outcome, errors."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
from ag_ui.core import Event
from pydantic import TypeAdapter

from tests.support.api import assert_problem
from tests.support.fake_provider import FakeProvider, Script
from tests.support.server import RunningServer, StartServer
from tests.support.sse import SSERecord, read_sse

EVENTS: TypeAdapter[Any] = TypeAdapter(Event)
PARALLEL = "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"


def body(thread_id: str, text: str | None, **extra: Any) -> dict[str, Any]:
    messages = (
        [{"id": f"u-{uuid.uuid4().hex[:8]}", "role": "user", "content": text}] if text else []
    )
    return {
        "threadId": thread_id,
        "runId": f"run-{uuid.uuid4().hex[:8]}",
        "messages": messages,
        "tools": [],
        "context": [],
        "state": {},
        "forwardedProps": {},
        **extra,
    }


def events_of(records: list[SSERecord]) -> list[dict[str, Any]]:
    """Each data record as an AG-UI event (validated), with its SSE id under ``_id``."""
    out = []
    for record in records:
        if record.data is None:
            continue
        event = json.loads(record.data)
        EVENTS.validate_python(event)
        out.append({**event, "_id": record.id})
    return out


def post(client: httpx2.Client, payload: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    with client.stream("POST", "/v1/agui", json=payload, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "x-vercel-ai-ui-message-stream" not in response.headers
        return events_of(list(read_sse(response.iter_lines())))


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_a_text_answer(live_server: RunningServer, key: str) -> None:
    thread = f"agui-{uuid.uuid4().hex}"
    payload = body(thread, "xin chào")
    with live_server.client(key) as client:
        events = post(client, payload)
    assert events[0]["type"] == "RUN_STARTED"
    assert (events[0]["threadId"], events[0]["runId"]) == (thread, payload["runId"])
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["runId"] == payload["runId"]
    assert events[-1]["outcome"] == {"type": "success"}
    assert events[-1]["usage"][0]["inputTokens"] > 0
    assert "TEXT_MESSAGE_CONTENT" in kinds(events)
    assert kinds(events).count("STEP_STARTED") == kinds(events).count("STEP_FINISHED") >= 1
    # Ids only on the last event of each stored part, strictly increasing.
    ids = [int(e["_id"]) for e in events if e["_id"] is not None]
    assert ids == sorted(set(ids))
    assert events[-1]["_id"] is not None


def test_parallel_tools(live_server: RunningServer, key: str) -> None:
    thread = f"agui-{uuid.uuid4().hex}"
    with live_server.client(key) as client:
        events = post(client, body(thread, PARALLEL))
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert {e["toolCallName"] for e in starts} == {"get_weather", "search_flights"}
    assert len({e["parentMessageId"] for e in starts}) == 1, "one model call, one message"
    results = {
        e["toolCallId"]: json.loads(e["content"]) for e in events if e["type"] == "TOOL_CALL_RESULT"
    }
    assert set(results) == {e["toolCallId"] for e in starts}
    flights = next(e for e in starts if e["toolCallName"] == "search_flights")
    assert results[flights["toolCallId"]]["flights"]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert "°C" in text
    assert events[-1]["type"] == "RUN_FINISHED"


def test_approval_round_trip(live_server: RunningServer, key: str) -> None:
    """Search, ask to book: the run ends with an interrupt; resume it approved and the booking
    is made; the same approval cannot be used twice."""
    thread = f"agui-{uuid.uuid4().hex}"
    with live_server.client(key) as client:
        post(client, body(thread, "Tìm vé Hà Nội đi Đà Nẵng ngày 12/6"))
        asked = post(client, body(thread, "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"))
        finished = asked[-1]
        assert finished["type"] == "RUN_FINISHED"
        assert finished["outcome"]["type"] == "interrupt"
        (interrupt,) = finished["outcome"]["interrupts"]
        assert interrupt["id"].startswith("apr_")
        assert interrupt["reason"] == "tool_approval"
        assert interrupt["expiresAt"]
        assert interrupt["metadata"]["summary"]
        call = next(e for e in asked if e["type"] == "TOOL_CALL_START")
        assert interrupt["toolCallId"] == call["toolCallId"]

        resume = [
            {"interruptId": interrupt["id"], "status": "resolved", "payload": {"approved": True}}
        ]
        done = post(client, body(thread, None, resume=resume))
        assert done[0]["type"] == "RUN_STARTED"
        assert done[-1]["type"] == "RUN_FINISHED"
        assert done[-1]["outcome"] == {"type": "success"}
        (result,) = [e for e in done if e["type"] == "TOOL_CALL_RESULT"]
        assert result["toolCallId"] == interrupt["toolCallId"]
        assert json.loads(result["content"])["booking"]["reference"]
        assert any(e["type"] == "CUSTOM" and e["name"] == "data-booking" for e in done)

        again = client.post("/v1/agui", json=body(thread, None, resume=resume))
        assert_problem(again, 409, "approval_decided")


def test_bad_input_is_a_422_problem(live_server: RunningServer, key: str) -> None:
    with live_server.client(key) as client:
        bad_thread = client.post("/v1/agui", json=body("no spaces allowed", "hi"))
        assert_problem(bad_thread, 422, "validation_failed")
        no_run = client.post("/v1/agui", json={"threadId": "t", "messages": []})
        assert_problem(no_run, 422, "validation_failed")
        not_user = body(f"agui-{uuid.uuid4().hex}", None)
        not_user["messages"] = [{"id": "a1", "role": "assistant", "content": "hello"}]
        assert_problem(client.post("/v1/agui", json=not_user), 422, "validation_failed")
        payload = body(
            f"agui-{uuid.uuid4().hex}", None, resume=[{"interruptId": "x", "status": "resolved"}]
        )
        assert_problem(client.post("/v1/agui", json=payload), 422, "validation_failed")
        unknown = body(
            f"agui-{uuid.uuid4().hex}",
            None,
            resume=[
                {
                    "interruptId": "apr_" + "0" * 32,
                    "status": "resolved",
                    "payload": {"approved": True},
                }
            ],
        )
        assert_problem(client.post("/v1/agui", json=unknown), 404, "approval_not_found")
    with httpx2.Client(base_url=live_server.base_url) as anonymous:
        assert_problem(anonymous.post("/v1/agui", json=body("t", "hi")), 401, "unauthorized")


def test_a_model_failure_is_a_run_error(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    server = start(**llm)
    provider.queue(Script(status=401))
    with server.client(key) as client:
        events = post(client, body(f"agui-{uuid.uuid4().hex}", "xin chào"))
    assert events[0]["type"] == "RUN_STARTED"
    assert events[-1]["type"] == "RUN_ERROR"
    assert events[-1]["code"] == "upstream_auth"
    assert events[-1]["metadata"] == {"retryable": False}
    assert events[-1]["_id"] is not None
    assert "RUN_FINISHED" not in kinds(events)


def test_resume_after_a_dropped_connection(live_server: RunningServer, key: str) -> None:
    """Drop the stream after a few events; the same POST with Last-Event-ID (and the GET) give
    exactly the events the first stream had not sent, with the same ids."""
    thread = f"agui-{uuid.uuid4().hex}"
    payload = body(thread, PARALLEL)
    seen: list[SSERecord] = []
    with live_server.client(key) as client:
        with client.stream("POST", "/v1/agui", json=payload) as response:
            for record in read_sse(response.iter_lines()):
                seen.append(record)
                if len([r for r in seen if r.id]) == 3:
                    break  # The connection is dropped here; the turn runs on in the server.
        first = events_of(seen)
        cursor = int(next(r.id for r in reversed(seen) if r.id))
        start = int(first[0]["_id"])
        # The whole run, replayed from its start (once the turn has ended).
        params = {"runId": payload["runId"], "after": start - 1}
        with client.stream("GET", f"/v1/agui/{thread}/events", params=params) as response:
            assert response.status_code == 200
            whole = events_of(list(read_sse(response.iter_lines())))
        assert whole[-1]["type"] == "RUN_FINISHED"
        assert whole[: len(first)] == first

        resumed = post(client, payload, **{"last-event-id": str(cursor)})
        position = next(i for i, e in enumerate(whole) if e["_id"] == str(cursor))
        assert resumed == whole[position + 1 :]
        assert resumed[-1]["runId"] == payload["runId"]

        with client.stream(
            "GET",
            f"/v1/agui/{thread}/events",
            params={"runId": payload["runId"]},
            headers={"last-event-id": str(cursor)},
        ) as response:
            assert events_of(list(read_sse(response.iter_lines()))) == resumed

        missing = client.get(f"/v1/agui/nobody-{uuid.uuid4().hex}/events", params={"runId": "r"})
        assert_problem(missing, 404, "not_found")


def test_the_next_message_right_after_a_run_is_taken(live_server: RunningServer, key: str) -> None:
    """A client (HttpAgent's ``runAgent`` in a loop) sends its next message the moment a run
    ends: the body ends only once the turn is closed, so the next run never finds it running."""
    thread = f"agui-{uuid.uuid4().hex}"
    texts = ["xin chào", "thời tiết Huế", "vé Hà Nội đi Đà Nẵng ngày 12/6", "cảm ơn", "hello"]
    with live_server.client(key) as client:
        runs = [post(client, body(thread, text)) for text in texts]
    assert [run[-1]["type"] for run in runs] == ["RUN_FINISHED"] * len(texts)
    # Each run's events are its own: one RUN_STARTED, ids growing from one run to the next.
    assert all(kinds(run).count("RUN_STARTED") == 1 for run in runs)
    last_ids = [int(run[-1]["_id"]) for run in runs]
    assert last_ids == sorted(set(last_ids))
