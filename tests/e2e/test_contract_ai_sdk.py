"""Contract test with the real client library: the `ai` package (pinned 7.x in
tests/contract/package.json) parses and validates our stream with its own schema and builds the
UI message, as `useChat` does in a browser."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import RunningServer

CONTRACT = Path(__file__).resolve().parents[1] / "contract"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="requires node (the CI machine has it)"
)


def check(
    url: str, key: str, body: dict[str, Any] | None = None, method: str = "POST"
) -> dict[str, Any]:
    assert (CONTRACT / "node_modules" / "ai").exists(), (
        "run `npm ci` in tests/contract (make test does)"
    )
    command = [
        "node",
        str(CONTRACT / "check_stream.mjs"),
        "--url",
        url,
        "--method",
        method,
        "--header",
        f"authorization: Bearer {key}",
    ]
    if body is not None:
        command += ["--body", json.dumps(body)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def chat_body(chat_id: str, text: str) -> dict[str, Any]:
    return {
        "id": chat_id,
        "messages": [
            {
                "id": f"u-{uuid.uuid4().hex[:8]}",
                "role": "user",
                "parts": [{"type": "text", "text": text}],
            }
        ],
        "trigger": "submit-message",
    }


def test_use_chat_parses_a_turn_with_tools(live_server: RunningServer, key: str) -> None:
    chat_id = f"contract-{uuid.uuid4().hex}"
    message = check(
        f"{live_server.base_url}/v1/chat",
        key,
        chat_body(chat_id, "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"),
    )
    assert message["errors"] == []
    assert message["role"] == "assistant"
    assert message["finishReason"] == "stop"
    tools = {p["type"]: p for p in message["parts"] if p["type"].startswith("tool-")}
    assert tools["tool-search_flights"]["state"] == "output-available"
    assert tools["tool-search_flights"]["output"]["flights"]
    assert tools["tool-get_weather"]["state"] == "output-available"
    text = "".join(p["text"] for p in message["parts"] if p["type"] == "text")
    assert "°C" in text
    usage = message["metadata"]["usage"]
    assert usage["modelCalls"] == 2
    assert usage["ttftMs"] is not None


def test_use_chat_parses_a_resumed_stream_and_an_error(
    live_server: RunningServer, key: str
) -> None:
    chat_id = f"contract-{uuid.uuid4().hex}"
    check(f"{live_server.base_url}/v1/chat", key, chat_body(chat_id, "Đặt vé SGN → HAN ngày 15/6"))
    # Nothing running: the resume endpoint answers 204, which the client treats as nothing to do.
    idle = check(f"{live_server.base_url}/v1/chat/{chat_id}/stream", key, method="GET")
    assert idle["errors"] == []
    # A second turn in the same conversation (history from the server) parses cleanly too.
    follow_up = check(
        f"{live_server.base_url}/v1/chat", key, chat_body(chat_id, "còn ngày hôm sau thì sao?")
    )
    assert follow_up["errors"] == []
    assert any(p["type"] == "tool-search_flights" for p in follow_up["parts"])


def _user(text: str) -> dict[str, Any]:
    return {
        "id": f"u-{uuid.uuid4().hex[:8]}",
        "role": "user",
        "parts": [{"type": "text", "text": text}],
    }


def _ui(message: dict[str, Any]) -> dict[str, Any]:
    """The UI message as useChat keeps it (what check_stream printed, minus its diagnostics)."""
    return {k: message[k] for k in ("id", "role", "parts", "metadata") if k in message}


def test_use_chat_approval_round_trip(live_server: RunningServer, key: str) -> None:
    """Search, ask to book, approve the way `addToolApprovalResponse` does, and see the same
    assistant message continue to the confirmed booking (one decision books: hold and confirm
    in one server-side step), all parsed by the `ai` package."""
    url = f"{live_server.base_url}/v1/chat"
    chat_id = f"contract-{uuid.uuid4().hex}"
    first = _user("Tìm vé Hà Nội đi Đà Nẵng ngày 12/6")
    searched = check(url, key, {"id": chat_id, "messages": [first], "trigger": "submit-message"})
    assert any(p["type"] == "tool-search_flights" for p in searched["parts"])

    second = _user("Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567")
    history = [first, _ui(searched), second]
    asked = check(url, key, {"id": chat_id, "messages": history, "trigger": "submit-message"})
    assert asked["errors"] == []
    assert asked["finishReason"] == "tool-calls"
    (hold,) = [p for p in asked["parts"] if p["type"] == "tool-book_flight"]
    assert hold["state"] == "approval-requested"
    assert hold["approval"]["id"].startswith("apr_")
    assert hold["input"]["passengers"] == [{"full_name": "Nguyễn Văn An", "date_of_birth": None}]

    # What addToolApprovalResponse({id, approved: true}) leaves in the message.
    answered = _ui(asked)
    for part in answered["parts"]:
        if part.get("toolCallId") == hold["toolCallId"]:
            part["state"] = "approval-responded"
            part["approval"] = {**part["approval"], "approved": True}
    body = {
        "id": chat_id,
        "messages": [*history[:2], second, answered],
        "trigger": "submit-message",
    }
    continued = check(url, key, body)
    assert continued["errors"] == []
    assert continued["id"] == asked["id"], "the approval continues the same assistant message"
    assert continued["finishReason"] == "stop"
    (held,) = [p for p in continued["parts"] if p["type"] == "tool-book_flight"]
    assert held["state"] == "output-available"
    assert held["approval"]["approved"] is True
    booking = held["output"]["booking"]
    assert booking["status"] == "confirmed"
    # The card's data part, reconciled by the client under the booking's reference.
    cards = [p for p in continued["parts"] if p["type"] == "data-booking"]
    assert [c["id"] for c in cards] == [booking["reference"]]
    assert cards[0]["data"]["status"] == "confirmed"
    text = "".join(p["text"] for p in continued["parts"] if p["type"] == "text")
    assert booking["reference"] in text
