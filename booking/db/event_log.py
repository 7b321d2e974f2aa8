"""The hot path of the event log on a plain psycopg connection: a turn starts (conversation
locked or created, turn and user message inserted, first part stored), its parts are appended in
groups, it closes (status and the messages it produced). Each is one transaction of a few
statements; the ORM's per-statement overhead cost more CPU than the turns themselves at a few
thousand parts a second."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


async def append_events(
    conn: psycopg.AsyncConnection[Any],
    rows: Sequence[tuple[str, int, str, str]],
    channel: str,
) -> None:
    """Append (conversation id, seq, turn id, part JSON) rows and notify listeners: one
    statement, one round trip (the connection is in autocommit). The conversation row is not
    touched per batch: its cursor and activity time move when turns start and end, so a busy
    conversation does not rewrite its row hundreds of times a second."""
    # One JSON document rather than four arrays: psycopg builds array parameters element by
    # element in Python, which cost more CPU than the statement itself at a few thousand parts
    # a second; the parts are already JSON text, so the document is a string join.
    document = (
        "["
        + ",".join(
            f"[{json.dumps(conversation_id)},{seq},{json.dumps(turn_id)},{part}]"
            for conversation_id, seq, turn_id, part in rows
        )
        + "]"
    )
    await conn.execute(
        "WITH ins AS ("
        "  INSERT INTO turn_events (conversation_id, seq, turn_id, part)"
        "  SELECT r->>0, (r->>1)::bigint, r->>2, r->3 FROM jsonb_array_elements(%s::jsonb) r"
        "  RETURNING conversation_id, seq"
        ") SELECT pg_notify(%s, conversation_id || ':' || max(seq)) FROM ins GROUP BY conversation_id",
        [document, channel],
    )


async def last_seqs(
    conn: psycopg.AsyncConnection[Any], turn_ids: Sequence[str]
) -> list[tuple[str, int]]:
    """(turn id, its highest stored seq) for those of ``turn_ids`` with stored events."""
    cursor = await conn.execute(
        "SELECT turn_id, max(seq) FROM turn_events WHERE turn_id = ANY(%s) GROUP BY turn_id",
        [list(turn_ids)],
    )
    return [(turn_id, int(seq)) for turn_id, seq in await cursor.fetchall()]


class ConversationMissing(Exception):
    """No such conversation for this tenant (or the id belongs to another tenant)."""


class TurnAlreadyRunning(Exception):
    """The conversation has a running turn (the unique index said so)."""


async def start_turn(
    conn: psycopg.AsyncConnection[Any],
    *,
    tenant: str,
    conversation_id: str,
    create: bool,
    title: str | None = None,
    turn: dict[str, Any],
    user_message: dict[str, Any] | None,
    lease_s: float,
    first_part: str,
    answer_open_calls: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Lock or create the conversation, insert the turn and the user's message; return the turn's
    first cursor and the history before it. One transaction, three or four statements on a
    plain connection: this is the path every new reply waits on.

    A conversation created here gets ``title``. A continuation (``user_message`` None) only
    inserts the turn. A new user message after a turn
    that paused for approval supersedes the pending approvals: ``answer_open_calls`` gives the
    tool results that close the paused calls, stored before the user's message."""
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT tenant, last_seq FROM conversations WHERE id = %s FOR UPDATE",
                [conversation_id],
            )
        ).fetchone()
        history: list[dict[str, Any]] = []
        if row is None:
            created = None
            if create:
                created = await (
                    await conn.execute(
                        "INSERT INTO conversations (id, tenant, title) VALUES (%s, %s, %s) "
                        "ON CONFLICT (id) DO NOTHING RETURNING last_seq",
                        [conversation_id, tenant, title],
                    )
                ).fetchone()
            if created is None:
                raise ConversationMissing(conversation_id)
            first_seq = 1
        elif row[0] != tenant:
            raise ConversationMissing(conversation_id)
        else:
            cursor = await conn.execute(
                "SELECT payload FROM messages WHERE conversation_id = %s ORDER BY position",
                [conversation_id],
            )
            history = [payload for (payload,) in await cursor.fetchall()]
            top = await (
                await conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM turn_events WHERE conversation_id = %s",
                    [conversation_id],
                )
            ).fetchone()
            first_seq = max(int(row[1]), int(top[0]) if top else 0) + 1
            await conn.execute(
                "UPDATE conversations SET updated_at = now() WHERE id = %s", [conversation_id]
            )
            answers = answer_open_calls(history) if user_message and answer_open_calls else []
            if answers:
                await _supersede_approvals(conn, conversation_id, history, answers)
        try:
            async with conn.transaction():  # A savepoint, so the error leaves the outer one usable.
                await conn.execute(
                    "INSERT INTO turns (id, conversation_id, message_id, first_seq, owner, lease_until) "
                    "VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
                    [
                        turn["id"],
                        conversation_id,
                        turn["message_id"],
                        first_seq,
                        turn["owner"],
                        lease_s,
                    ],
                )
        except psycopg.errors.UniqueViolation:
            raise TurnAlreadyRunning(conversation_id) from None
        if user_message is not None:
            await conn.execute(
                "INSERT INTO messages (conversation_id, position, turn_id, role, payload, ui_message_id) "
                "VALUES (%s, %s, %s, 'user', %s, %s)",
                [
                    conversation_id,
                    len(history),
                    turn["id"],
                    Jsonb(user_message["payload"]),
                    user_message.get("ui_message_id"),
                ],
            )
        # The stream's first part, stored with the turn, so it can go out with the headers.
        await conn.execute(
            "INSERT INTO turn_events (conversation_id, seq, turn_id, part) VALUES (%s, %s, %s, %s)",
            [conversation_id, first_seq, turn["id"], first_part],
        )
    return first_seq, history


async def _supersede_approvals(
    conn: psycopg.AsyncConnection[Any],
    conversation_id: str,
    history: list[dict[str, Any]],
    answers: list[dict[str, Any]],
) -> None:
    """Close the calls a paused turn left open (the traveller moved on) and retire their
    approvals, so no later decision can run them."""
    await conn.execute(
        "UPDATE approvals SET status = 'superseded', decided_at = now() "
        "WHERE conversation_id = %s AND status = 'pending'",
        [conversation_id],
    )
    last = await (
        await conn.execute(
            "SELECT turn_id FROM messages WHERE conversation_id = %s ORDER BY position DESC LIMIT 1",
            [conversation_id],
        )
    ).fetchone()
    assert last is not None, "open calls imply an assistant message"
    for answer in answers:
        await conn.execute(
            "INSERT INTO messages (conversation_id, position, turn_id, role, payload) "
            "VALUES (%s, %s, %s, 'tool', %s)",
            [conversation_id, len(history), last[0], Jsonb(answer)],
        )
        history.append(answer)


async def close_turn(
    conn: psycopg.AsyncConnection[Any],
    *,
    conversation_id: str,
    last_seq: int,
    turn_id: str,
    status: str,
    error_code: str | None,
    usage: dict[str, Any] | None,
    messages: Sequence[dict[str, Any]],
) -> bool:
    """Close a running turn and append the messages it produced, in one transaction; False when
    another process had already closed it (then nothing is written)."""
    async with conn.transaction():
        closed = await (
            await conn.execute(
                "UPDATE turns SET status = %s, error_code = %s, usage = %s, finished_at = now() "
                "WHERE id = %s AND status = 'running' RETURNING id",
                [status, error_code, Jsonb(usage) if usage is not None else None, turn_id],
            )
        ).fetchone()
        if closed is None:
            return False
        await conn.execute(
            "UPDATE conversations SET last_seq = greatest(last_seq, %s), updated_at = now() WHERE id = %s",
            [last_seq, conversation_id],
        )
        if messages:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO messages (conversation_id, position, turn_id, role, payload, ui_message_id) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (
                            m["conversation_id"],
                            m["position"],
                            m["turn_id"],
                            m["role"],
                            Jsonb(m["payload"]),
                            m["ui_message_id"],
                        )
                        for m in messages
                    ],
                )
    return True
