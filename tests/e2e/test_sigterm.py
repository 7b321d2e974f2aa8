"""SIGTERM with many open streams: every stream gets a terminal part telling its client to
resume, the process exits within its grace period, and a fresh process replays the stored
parts with nothing lost and nothing twice.

uvicorn waits for open connections before the app's lifespan shutdown runs and no longer ends
streaming responses itself, so the app notices the exit flag and ends its followers
(``watch_for_shutdown``); the turns themselves get ``BOOKING_SHUTDOWN_GRACE_S`` and are then
closed as interrupted, resumable.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import httpx2
import psycopg

from booking.db.engine import libpq_url
from tests.support.api import MakeKey, chat_body, new_id, replay
from tests.support.fake_provider import FakeProvider, Script, text_chunks
from tests.support.server import SpawnServer
from tests.support.sse import read_sse, wire

STREAMS = 100
GRACE_S = 1.0


async def _open(client: httpx2.AsyncClient, conversation_id: str, opened: asyncio.Event) -> Any:
    """Stream a reply; return (records before and after SIGTERM, when each arrived)."""
    records = []
    async with client.stream("POST", "/v1/chat", json=chat_body(conversation_id, "kể đi")) as r:
        assert r.status_code == 200
        lines: list[str] = []
        async for line in r.aiter_lines():
            lines.append(line)
            if line == "":
                records += list(read_sse(iter(lines)))
                lines = []
                if any(rec.type == "text-delta" for rec in records):
                    opened.set()
        records += list(read_sse(iter(lines)))
    return records


def test_sigterm_ends_every_stream_then_a_fresh_process_resumes_them_exactly(
    spawn: SpawnServer, make_key: MakeKey, provider: FakeProvider, seeded_url: str
) -> None:
    # Each reply would take ~10 s; the grace period is 1 s.
    provider.queue(Script(events=text_chunks(" ".join(["từng chữ"] * 50)), delay_s=0.1))
    llm = {"llm_base_url": provider.base_url, "llm_model": "m", "llm_api_key": "k"}
    settings = {**llm, "shutdown_grace_s": GRACE_S, "db_pool_size": 10}
    first = spawn(**settings)
    key = make_key()
    conversations = [new_id() for _ in range(STREAMS)]

    async def main() -> tuple[list[Any], float]:
        limits = httpx2.Limits(max_connections=STREAMS + 10)
        headers = {"authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(
            base_url=first.base_url, headers=headers, limits=limits, timeout=30
        ) as client:
            opened = [asyncio.Event() for _ in conversations]
            tasks = [
                asyncio.create_task(_open(client, c, e))
                for c, e in zip(conversations, opened, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 60)
            sent = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        return results, sent

    results, sent = asyncio.run(main())
    # uvicorn re-raises the signal once its graceful shutdown is done.
    assert first.process.wait(GRACE_S + 10) == -signal.SIGTERM
    exited = time.monotonic() - sent
    # The lifespan's shutdown ran: the process itself closed its turns as interrupted (none was
    # left running for another process's sweeper).
    with psycopg.connect(libpq_url(seeded_url)) as conn:
        statuses = conn.execute(
            "SELECT t.status, count(*) FROM turns t JOIN conversations c ON c.id = t.conversation_id"
            " WHERE c.public_id = ANY(%s) GROUP BY t.status",
            [conversations],
        ).fetchall()
    assert statuses == [("interrupted", STREAMS)]
    assert exited < GRACE_S + 5.0

    ended_after = []
    for records in results:
        parts = [r for r in records if r.data is not None]
        assert not any(r.is_done for r in parts), "a cut stream must not claim to be complete"
        farewell_meta, farewell = parts[-2].part, parts[-1].part
        assert farewell["type"] == "error"
        error = farewell_meta["messageMetadata"]["error"]
        assert error["code"] == "server_restarting"
        assert error["retryable"] is True
        stored = [r for r in parts if r.id is not None]
        assert error["lastEventId"] == stored[-1].seq
        assert parts[-2].id is None
        assert parts[-1].id is None
        ended_after.append(parts[-1].at - sent)
    # Every stream ended promptly, not after the grace period or uvicorn's own timeout.
    assert max(ended_after) < GRACE_S + 2.0, sorted(ended_after)[-5:]

    second = spawn(**settings)
    with second.client(key) as client:
        for conversation_id, records in zip(conversations, results, strict=True):
            seen = [r for r in records if r.id is not None]
            resumed = replay(client, conversation_id, after=None, last_event_id=seen[-1].seq)
            full = replay(client, conversation_id)
            assert wire(seen) + wire(resumed) == wire(full)
            last = json.loads(full[-2].data or "{}")
            # Interrupted when the grace period ran out: closed with a retryable error, stored.
            assert last == {"type": "error", "errorText": last["errorText"]}
            assert full[-1].is_done
