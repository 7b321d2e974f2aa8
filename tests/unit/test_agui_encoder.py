"""The AG-UI encoder on hand-built part sequences: the events each stored part becomes, checked
against the ``ag_ui.core`` models (every event is parsed back through the protocol's union)."""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import BaseEvent, Event
from pydantic import TypeAdapter

from booking.api.agui import APPROVAL_REASON, AguiEncoder

EVENTS: TypeAdapter[Any] = TypeAdapter(Event)


def run(parts: list[dict[str, Any]], first_seq: int = 10) -> list[tuple[int, BaseEvent]]:
    encoder = AguiEncoder("chat-1", "run-1")
    out = []
    for seq, part in enumerate(parts, start=first_seq):
        for event in encoder.encode(seq, part):
            # The wire form, parsed back by the protocol's own discriminated union.
            wire = json.loads(event.model_dump_json(by_alias=True))
            out.append((seq, EVENTS.validate_python(wire)))
    return out


def types(events: list[tuple[int, BaseEvent]]) -> list[str]:
    return [e.type.value for _, e in events]


def dumped(events: list[tuple[int, BaseEvent]], kind: str) -> list[dict[str, Any]]:
    return [e.model_dump(by_alias=True) for _, e in events if e.type.value == kind]


TEXT: list[dict[str, Any]] = [
    {"type": "start", "messageId": "msg_1"},
    {"type": "start-step"},
    {"type": "text-start", "id": "text-1"},
    {"type": "text-delta", "id": "text-1", "delta": "Xin "},
    {"type": "text-delta", "id": "text-1", "delta": "chào"},
    {"type": "text-end", "id": "text-1"},
    {
        "type": "message-metadata",
        "messageMetadata": {
            "model": "offline",
            "step": 1,
            "promptTokens": 12,
            "completionTokens": 3,
        },
    },
    {"type": "finish-step"},
    {
        "type": "message-metadata",
        "messageMetadata": {
            "usage": {
                "modelCalls": 1,
                "promptTokens": 12,
                "completionTokens": 3,
                "costUsd": 0.0,
                "ttftMs": 1.5,
                "models": ["offline"],
            },
            "incomplete": False,
        },
    },
    {"type": "finish", "finishReason": "stop"},
]


def test_a_text_answer() -> None:
    events = run(TEXT)
    assert types(events) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    (started,) = dumped(events, "RUN_STARTED")
    assert (started["threadId"], started["runId"], started["protocolVersion"]) == (
        "chat-1",
        "run-1",
        "1.0",
    )
    (opened,) = dumped(events, "TEXT_MESSAGE_START")
    assert opened["messageId"] == "msg_1-10-1"
    assert opened["role"] == "assistant"
    assert "".join(e["delta"] for e in dumped(events, "TEXT_MESSAGE_CONTENT")) == "Xin chào"
    assert [e["stepName"] for e in dumped(events, "STEP_STARTED")] == ["model-call-1"]
    assert [e["stepName"] for e in dumped(events, "STEP_FINISHED")] == ["model-call-1"]
    (finished,) = dumped(events, "RUN_FINISHED")
    assert finished["runId"] == "run-1"
    assert finished["outcome"] == {"type": "success"}
    assert finished["usage"] == [
        {"model": "offline", "inputTokens": 12, "outputTokens": 3, "totalTokens": 15}
    ]
    assert finished["metadata"]["usage"]["costUsd"] == 0.0
    # Each event says which stored part it came from: the seq of the part.
    assert [seq for seq, _ in events] == [10, 11, 12, 13, 14, 15, 17, 19]


def _call(call_id: str, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "tool-input-start", "toolCallId": call_id, "toolName": name},
        {"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": json.dumps(args)},
        {"type": "tool-input-available", "toolCallId": call_id, "toolName": name, "input": args},
    ]


def test_parallel_tool_calls_belong_to_one_assistant_message() -> None:
    weather = {"city": "Đà Nẵng"}
    flights = {"from_city": "SGN", "to_city": "DAD"}
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageId": "msg_2"},
        {"type": "start-step"},
        *_call("c1", "get_weather", weather),
        *_call("c2", "search_flights", flights),
        {"type": "tool-output-available", "toolCallId": "c2", "output": {"flights": [1]}},
        {"type": "tool-output-error", "toolCallId": "c1", "errorText": "no forecast"},
        {"type": "finish-step"},
        {"type": "start-step"},
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "OK"},
        {"type": "text-end", "id": "text-1"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
    ]
    events = run(parts, first_seq=1)
    assert types(events) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "TOOL_CALL_RESULT",
        "STEP_FINISHED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    starts = dumped(events, "TOOL_CALL_START")
    assert [(s["toolCallId"], s["toolCallName"]) for s in starts] == [
        ("c1", "get_weather"),
        ("c2", "search_flights"),
    ]
    assert {s["parentMessageId"] for s in starts} == {"msg_2-1-1"}
    args = {e["toolCallId"]: json.loads(e["delta"]) for e in dumped(events, "TOOL_CALL_ARGS")}
    assert args == {"c1": weather, "c2": flights}
    results = {e["toolCallId"]: e for e in dumped(events, "TOOL_CALL_RESULT")}
    assert json.loads(results["c2"]["content"]) == {"flights": [1]}
    assert json.loads(results["c1"]["content"]) == {"error": {"message": "no forecast"}}
    assert results["c1"]["messageId"] != results["c2"]["messageId"]
    (text,) = dumped(events, "TEXT_MESSAGE_START")
    assert text["messageId"] == "msg_2-1-2"
    assert [e["stepName"] for e in dumped(events, "STEP_STARTED")] == [
        "model-call-1",
        "model-call-2",
    ]


def test_input_without_deltas_sends_the_whole_arguments_once() -> None:
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageId": "m"},
        {"type": "start-step"},
        {"type": "tool-input-available", "toolCallId": "c", "toolName": "t", "input": {"a": 1}},
    ]
    events = run(parts)
    assert types(events) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
    ]
    # Three events from one part: all carry its seq, the route puts its id on the last only.
    assert {seq for seq, _ in events[2:]} == {12}


def test_a_failure_is_a_run_error_with_our_code_and_retryable_flag() -> None:
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageId": "m"},
        {"type": "start-step"},
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Để tôi xem. "},
        {"type": "text-end", "id": "text-1"},
        {"type": "finish-step"},
        {
            "type": "message-metadata",
            "messageMetadata": {
                "error": {"code": "upstream_unavailable", "retryable": True},
                "usage": {"promptTokens": 5, "completionTokens": 2, "models": ["m1"]},
            },
        },
        {"type": "error", "errorText": "The model provider is unavailable."},
    ]
    events = run(parts)
    assert types(events)[-1] == "RUN_ERROR"
    assert "RUN_FINISHED" not in types(events)
    (error,) = dumped(events, "RUN_ERROR")
    assert error["code"] == "upstream_unavailable"
    assert error["message"] == "The model provider is unavailable."
    assert error["metadata"] == {"retryable": True}
    assert error["usage"] == [
        {"model": "m1", "inputTokens": 5, "outputTokens": 2, "totalTokens": 7}
    ]


def test_an_approval_pause_ends_the_run_with_an_interrupt() -> None:
    hold = {"flight_id": "F1", "passengers": [{"full_name": "Nguyễn Văn An"}]}
    summary = {"flight": "VN 123", "total_vnd": 2_400_000}
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageId": "msg_3"},
        {"type": "start-step"},
        *_call("c9", "book_flight", hold),
        {
            "type": "tool-approval-request",
            "approvalId": "apr_" + "0" * 32,
            "toolCallId": "c9",
            "approvalDescriptor": summary,
            "reason": "Giữ chỗ VN 123?",
        },
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "tool-calls"},
    ]
    events = run(parts)
    assert types(events) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    (finished,) = dumped(events, "RUN_FINISHED")
    (interrupt,) = finished["outcome"]["interrupts"]
    assert finished["outcome"]["type"] == "interrupt"
    assert interrupt["id"] == "apr_" + "0" * 32
    assert interrupt["reason"] == APPROVAL_REASON
    assert interrupt["toolCallId"] == "c9"
    assert interrupt["message"] == "Giữ chỗ VN 123?"
    assert interrupt["metadata"] == {"summary": summary, "toolName": "book_flight"}
    assert interrupt["responseSchema"]["required"] == ["approved"]


def test_a_continuation_is_a_new_run_with_new_ids() -> None:
    """After the approval, the same assistant message continues in a new turn: its first
    text is a message of its own (the turn's start seq is in the id), the denial a result."""
    encoder = AguiEncoder("chat-1", "run-2")
    first = encoder.encode(5, {"type": "start", "messageId": "msg_3"})
    encoder.encode(6, {"type": "start-step"})
    (a,) = encoder.encode(7, {"type": "text-start", "id": "text-1"})
    encoder.encode(8, {"type": "text-end", "id": "text-1"})
    encoder.encode(9, {"type": "finish-step"})
    encoder.encode(10, {"type": "finish", "finishReason": "tool-calls"})
    encoder.encode(20, {"type": "start", "messageId": "msg_3"})
    (denied,) = encoder.encode(21, {"type": "tool-output-denied", "toolCallId": "c9"})
    encoder.encode(22, {"type": "start-step"})
    (b,) = encoder.encode(23, {"type": "text-start", "id": "text-1"})
    assert first[0].type.value == "RUN_STARTED"
    assert a.model_dump()["message_id"] != b.model_dump()["message_id"]
    assert json.loads(denied.model_dump()["content"])["error"]["code"] == "approval_denied"


def test_a_stop_closes_what_is_open_and_cancels_the_run() -> None:
    parts: list[dict[str, Any]] = [
        {"type": "start", "messageId": "m"},
        {"type": "start-step"},
        {"type": "tool-input-start", "toolCallId": "c", "toolName": "t"},
        {"type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": '{"a":'},
        {"type": "abort", "reason": "stopped"},
    ]
    events = run(parts)
    assert types(events)[-3:] == ["STEP_FINISHED", "TOOL_CALL_END", "RUN_FINISHED"]
    (finished,) = dumped(events, "RUN_FINISHED")
    assert finished["outcome"] == {"type": "cancelled"}


def test_booking_cards_are_custom_events_and_unknown_parts_are_dropped() -> None:
    booking = {"reference": "BK1", "status": "held"}
    cards: list[dict[str, Any]] = [
        {"type": "start", "messageId": "m"},
        {"type": "data-booking", "id": "BK1", "data": booking},
        {"type": "something-new"},
    ]
    events = run(cards)
    assert types(events) == ["RUN_STARTED", "CUSTOM"]
    (custom,) = dumped(events, "CUSTOM")
    assert custom["name"] == "data-booking"
    assert custom["value"] == {"id": "BK1", "data": booking}


def test_resuming_mid_message_continues_with_the_same_ids() -> None:
    """What a resumed stream sends: the turn's parts re-encoded from its start and the events
    up to the cursor dropped, equal to the tail of the first stream."""
    full = run(TEXT)
    cursor = 13
    again = [(s, e) for s, e in run(TEXT) if s > cursor]
    assert [e.model_dump() for _, e in again] == [e.model_dump() for s, e in full if s > cursor]
    assert again[0][1].type.value == "TEXT_MESSAGE_CONTENT"


def test_farewell_is_a_retryable_run_error_naming_the_cursor() -> None:
    event = AguiEncoder.farewell(42)
    wire = json.loads(event.model_dump_json(by_alias=True))
    EVENTS.validate_python(wire)
    assert wire["code"] == "server_restarting"
    assert wire["metadata"] == {"retryable": True, "lastEventId": 42}
