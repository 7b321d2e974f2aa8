"""Security of API keys, over real HTTP: only a hash is stored, ``booking keys create`` prints the
key once, and a key never reaches the server's log (``booking serve`` as deployed, in a process
of its own, with its JSON logging at INFO, uvicorn's access log and ``BOOKING_DB_ECHO``),
whether it is valid, wrong, or sent where it does not belong (query string, ``X-API-Key``, no
scheme).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx2
import pytest

from booking.domain.api_keys import KEY_PREFIX, hash_key
from tests.support.api import MakeKey, assert_problem, chat_body, new_id
from tests.support.queries import (
    query,
    tables_containing,
)
from tests.support.server import ROOT, ServerProcess, SpawnServer
from tests.support.sse import Stream


@pytest.fixture
def served(spawn: SpawnServer) -> ServerProcess:
    """``booking serve`` as deployed, with every SQL statement logged too."""
    return spawn(deployed=True, db_echo="true")


def create_key_with_cli(seeded_url: str) -> tuple[str, str]:
    """``booking keys create``: the key, and everything the command wrote."""
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update(BOOKING_DATABASE_URL=seeded_url, BOOKING_ENVIRONMENT="test", BOOKING_DB_ECHO="true")
    done = subprocess.run(
        [sys.executable, "-m", "booking", "keys", "create", "--name", "e2e", "--tenant", tenant],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [line for line in done.stdout.splitlines() if line.startswith(KEY_PREFIX)]
    assert len(printed) == 1, done.stdout
    return printed[0], done.stdout + done.stderr


def stopped_log(served: ServerProcess) -> str:
    """The process's whole log, once it has exited cleanly (every line flushed)."""
    served.process.terminate()
    served.process.wait(30)
    log = served.log_path.read_text()
    # The verbose log: uvicorn's access lines and SQL statements are in it.
    assert '"logger": "uvicorn.access"' in log, log[-2000:]
    assert '"logger": "sqlalchemy.engine.Engine"' in log, log[-2000:]
    return log


def test_keys_are_stored_hashed_and_never_logged(served: ServerProcess, seeded_url: str) -> None:
    key, cli_output = create_key_with_cli(seeded_url)
    secret = key.removeprefix(KEY_PREFIX)
    # The command shows the key once, on its own line, and nowhere else in what it wrote.
    assert cli_output.count(secret) == 1, cli_output

    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    conversation_id = new_id()
    with httpx2.Client(base_url=served.base_url, timeout=10.0) as client:
        bearer = {"authorization": f"Bearer {key}"}
        assert client.get("/v1/conversations", headers=bearer).status_code == 200
        with client.stream(
            "POST", "/v1/chat", json=chat_body(conversation_id, "Thời tiết Huế"), headers=bearer
        ) as response:
            assert response.status_code == 200
            assert Stream(response).read_to_end()[-2].type == "finish"
        refused = [
            client.get("/v1/conversations", headers={"authorization": f"Bearer {wrong}"}),
            client.get("/v1/conversations", headers={"authorization": key}),
            client.get("/v1/conversations", headers={"x-api-key": key}),
        ]
    for response in refused:
        assert_problem(response, 401, "unauthorized")
        assert secret not in response.text
    log = stopped_log(served)
    assert "POST /v1/chat HTTP/1.1" in log
    assert "FROM api_keys" in log
    # No line holds the key, nor even its first 16 secret characters.
    assert [line for line in log.splitlines() if secret[:16] in line] == []

    # The key's row, every column as PostgreSQL renders it, holds only the hash ...
    ((stored,),) = query(
        seeded_url, "SELECT k::text FROM api_keys k WHERE key_hash = %s", hash_key(key)
    )
    assert hash_key(key) in stored
    assert secret[:16] not in stored
    # ... and a display prefix ("bk_" and 7 of the 43 characters), to tell keys apart ...
    prefixes = query(seeded_url, "SELECT prefix FROM api_keys WHERE key_hash = %s", hash_key(key))
    assert prefixes == [(key[:10],)]
    # ... and no row of any table holds more of the key.
    assert tables_containing(seeded_url, secret[:16]) == []


def test_a_key_sent_in_the_query_string_is_not_logged(
    served: ServerProcess, make_key: MakeKey
) -> None:
    """Keys are only read from the Authorization header, so a client that puts its key in the
    URL (as an EventSource, which cannot set headers, might) is refused; the key it sent must
    not end up in the log with the request line."""
    key = make_key()
    secret = key.removeprefix(KEY_PREFIX)
    with httpx2.Client(base_url=served.base_url, timeout=10.0) as client:
        for path in ("/v1/conversations", f"/v1/chat/{new_id()}/stream"):
            assert_problem(client.get(path, params={"api_key": key}), 401, "unauthorized")
    log = stopped_log(served)
    assert [line for line in log.splitlines() if secret in line] == []
