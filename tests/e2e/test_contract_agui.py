"""Contract test with the official AG-UI client: ``@ag-ui/client`` 1.0's ``HttpAgent`` (pinned in
tests/contract/package.json) runs against our server and validates every event with its own
verifier (run lifecycle, open messages and tool calls, steps, interrupts) as CopilotKit does.

``HttpAgent`` has no way to resume a stream after a dropped connection (it ignores SSE ids and
always starts a new run), so the resume is tested from Python (tests/e2e/test_agui.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_provider import FakeProvider, Script
from tests.support.server import RunningServer, StartServer

CONTRACT = Path(__file__).resolve().parents[1] / "contract"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None, reason="requires node (the CI machine has it)"
)


def check(url: str, key: str, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert (CONTRACT / "node_modules" / "@ag-ui" / "client").exists(), (
        "run `npm ci` in tests/contract (make test does)"
    )
    command = [
        "node",
        str(CONTRACT / "check_agui.mjs"),
        "--url",
        f"{url}/v1/agui",
        "--header",
        f"authorization: Bearer {key}",
        "--thread",
        f"agui-contract-{uuid.uuid4().hex}",
        "--plan",
        json.dumps(plan),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # The client warns on stderr about anything it had to strip or translate: nothing.
    assert done.stderr == "", done.stderr
    runs: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    return runs


def test_http_agent_runs_text_and_parallel_tools(live_server: RunningServer, key: str) -> None:
    text, tools = check(
        live_server.base_url,
        key,
        [
            {"message": "xin chào"},
            {"message": "Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày 12/6"},
        ],
    )
    for run in (text, tools):
        assert run["errors"] == []
        assert run["outcome"] == "success"
        assert run["runId"] == run["sentRunId"]
        assert run["events"][0] == "RUN_STARTED"
        assert run["events"][-1] == "RUN_FINISHED"
        assert run["usage"][0]["inputTokens"] > 0
    assert [m["role"] for m in text["newMessages"]] == ["assistant"]
    assert text["newMessages"][0]["content"]
    assert {c["name"] for c in tools["toolCalls"]} == {"get_weather", "search_flights"}
    (calls,) = [m for m in tools["newMessages"] if m["toolCalls"]]
    assert sorted(calls["toolCalls"]) == ["get_weather", "search_flights"]
    assert len([m for m in tools["newMessages"] if m["role"] == "tool"]) == 2
    assert "STEP_STARTED" in tools["events"]


def test_http_agent_approval_round_trip(live_server: RunningServer, key: str) -> None:
    search, asked, approved = check(
        live_server.base_url,
        key,
        [
            {"message": "Tìm vé Hà Nội đi Đà Nẵng ngày 12/6"},
            {"message": "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567"},
            {"resume": "approve"},
        ],
    )
    assert search["errors"] == []
    assert search["outcome"] == "success"
    assert asked["errors"] == []
    assert asked["outcome"] == "interrupt"
    (interrupt,) = asked["interrupts"]
    assert interrupt["id"].startswith("apr_")
    assert interrupt["expiresAt"]
    assert asked["pendingInterrupts"][0]["id"] == interrupt["id"]
    assert approved["errors"] == []
    assert approved["outcome"] == "success"
    assert approved["pendingInterrupts"] == []
    assert any(m["role"] == "tool" for m in approved["newMessages"])


def test_http_agent_sees_a_run_error(
    start: StartServer, key: str, provider: FakeProvider, llm: dict[str, Any]
) -> None:
    server = start(**llm)
    provider.queue(Script(status=401))
    (run,) = check(server.base_url, key, [{"message": "xin chào"}])
    assert run["runError"]["code"] == "upstream_auth"
    assert run["runError"]["metadata"] == {"retryable": False}
    assert run["events"][-1] == "RUN_ERROR"
