"""The hot path of the event log on a plain psycopg connection: a turn starts (conversation
locked or created, turn and user message inserted, first part stored), its parts are appended in
groups, it closes (status and the messages it produced). Each is one transaction of a few
statements; the ORM's per-statement overhead cost more CPU than the turns themselves at a few
thousand parts a second."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

APPEND_EVENTS_SQL = (
    "WITH cfg AS (SELECT set_config('synchronous_commit', 'off', true)),"
    " r AS ("
    "  SELECT e->>0 AS conversation_id, (e->>1)::bigint AS seq, e->>2 AS turn_id, e->3 AS part"
    "  FROM jsonb_array_elements(%(rows)s::jsonb) e"
    # Each conversation and turn is found by its key, one after another in key order
    # (LATERAL): the planner cannot know how many rows the JSON holds (it guesses 100) and
    # otherwise scanned every conversation, and every running turn, for each batch.
    "), c AS ("
    "  SELECT l.id FROM (SELECT DISTINCT conversation_id FROM r ORDER BY 1) k,"
    "  LATERAL (SELECT id FROM conversations WHERE id = k.conversation_id FOR KEY SHARE) l"
    "), t AS ("
    "  SELECT l.id, l.conversation_id FROM (SELECT DISTINCT turn_id FROM r ORDER BY 1) k,"
    "  LATERAL (SELECT id, conversation_id FROM turns WHERE id = k.turn_id"
    "    AND status = 'running' AND owner = %(owner)s"
    "    AND conversation_id IN (SELECT id FROM c) FOR SHARE) l"
    "), ins AS ("
    "  INSERT INTO turn_events (conversation_id, seq, turn_id, part)"
    "  SELECT r.conversation_id, r.seq, r.turn_id, r.part"
    "  FROM r JOIN t ON t.id = r.turn_id AND t.conversation_id = r.conversation_id CROSS JOIN cfg"
    "  RETURNING conversation_id, turn_id, seq"
    "), w AS (SELECT conversation_id, turn_id, max(seq) AS seq FROM ins GROUP BY 1, 2)"
    " SELECT w.turn_id, w.seq, CASE WHEN n.channel IS NULL THEN false"
    "  ELSE pg_notify(n.channel, w.conversation_id || ':' || w.seq) IS NOT NULL END"
    " FROM w LEFT JOIN jsonb_each_text(%(notify)s::jsonb) n(conversation_id, channel)"
    "  ON n.conversation_id = w.conversation_id"
)
"""The statement of :func:`append_events` (its plan is checked by a test: key lookups only)."""


async def append_events(
    conn: psycopg.AsyncConnection[Any],
    rows: Sequence[tuple[str, int, str, str]],
    *,
    owner: str,
    notify: Mapping[str, str] | None = None,
) -> tuple[dict[str, int], int]:
    """Append (conversation id, seq, turn id, part JSON) rows of turns ``owner`` runs: one
    statement, one round trip (the connection is in autocommit). Returns the highest seq written
    per turn, and how many notifications went out.

    Rows are written only for turns that still exist, are ``running`` and are owned by
    ``owner``; those ``turns`` rows are locked ``FOR SHARE`` (their conversations ``FOR KEY
    SHARE``, first, in the order a delete cascades) until the commit, so another process closing
    or deleting one waits for this batch and the next batch sees it is no longer ours. A turn
    absent from the result was not written: the caller learns why with :func:`turn_states`.
    One turn's rows never fail the others' with a foreign key violation.

    ``notify`` maps a conversation id to the channel told about its new parts (payload
    ``conversation_id:last seq``); conversations not in it are not announced. The commit does
    not wait for the WAL flush (``synchronous_commit`` off for this transaction only, so the
    connection carries no session state and may go through a transaction pooler).

    The conversation row is not touched per batch: its cursor and activity time move when turns
    start and end, so a busy conversation does not rewrite its row hundreds of times a second."""
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
    cursor = await conn.execute(
        APPEND_EVENTS_SQL,
        {"rows": document, "owner": owner, "notify": json.dumps(dict(notify or {}))},
    )
    written: dict[str, int] = {}
    notified = 0
    for turn_id, seq, sent in await cursor.fetchall():
        written[turn_id] = int(seq)
        notified += bool(sent)
    return written, notified


async def notify_many(conn: psycopg.AsyncConnection[Any], notes: Mapping[str, str]) -> None:
    """Send ``pg_notify(channel, payload)`` for each (channel, payload), in one statement."""
    if notes:
        await conn.execute(
            "SELECT pg_notify(key, value) FROM jsonb_each_text(%s::jsonb)",
            [json.dumps(dict(notes))],
        )


async def turn_states(
    conn: psycopg.AsyncConnection[Any], turn_ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """(status, owner) of those of ``turn_ids`` that still exist (a deleted conversation takes
    its turns with it)."""
    cursor = await conn.execute(
        "SELECT id, status, owner FROM turns WHERE id = ANY(%s)", [list(turn_ids)]
    )
    return {turn_id: (status, owner) for turn_id, status, owner in await cursor.fetchall()}


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
    conversation_id: str | None,
    create: bool,
    public_id: str | None = None,
    new_id: str | None = None,
    title: str | None = None,
    turn: dict[str, Any],
    user_message: dict[str, Any] | None,
    lease_s: float,
    first_part: str,
    answer_open_calls: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> tuple[str, int, list[dict[str, Any]]]:
    """Find or create the conversation, insert the turn, the user's message and the stream's
    first part; return the conversation's internal id, the turn's first cursor and the history
    before it. One statement, one round trip (``booking_start_turn``, migration 0007), on an
    autocommit connection: this is what every new reply waits on.

    The conversation is ``conversation_id`` (internal) or, when that is None, the tenant's
    ``public_id``. With ``create``, a conversation the tenant lacks is created (under
    ``new_id``, default ``conversation_id``); a concurrent create of the same public id is
    joined. A new user message after a turn that paused for approval supersedes its pending
    approvals (``answer_open_calls`` gives the results that close the paused calls): that rarer
    case takes :func:`_start_turn_slow`, several statements in one transaction.

    Raises :class:`ConversationMissing` and :class:`TurnAlreadyRunning`."""
    # On an autocommit connection the call is its own transaction; on another, commit it here.
    async with contextlib.nullcontext() if conn.autocommit else conn.transaction():
        row = await (
            await conn.execute(
                "SELECT o_outcome, o_conversation_id, o_first_seq, o_history FROM booking_start_turn("
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
                [
                    tenant,
                    conversation_id,
                    public_id,
                    (new_id or conversation_id) if create else None,
                    title,
                    turn["id"],
                    turn["message_id"],
                    turn["owner"],
                    lease_s,
                    Jsonb(user_message["payload"]) if user_message is not None else None,
                    user_message.get("ui_message_id") if user_message is not None else None,
                    first_part,
                ],
            )
        ).fetchone()
    assert row is not None, "booking_start_turn returns one row"
    outcome, found, first_seq, history = row
    if outcome == "ok":
        return found, int(first_seq), history
    if outcome == "running":
        raise TurnAlreadyRunning(found)
    if outcome == "slow":
        first_seq, history = await _start_turn_slow(
            conn,
            tenant=tenant,
            conversation_id=found,
            turn=turn,
            user_message=user_message,
            lease_s=lease_s,
            first_part=first_part,
            answer_open_calls=answer_open_calls,
        )
        return found, first_seq, history
    raise ConversationMissing(conversation_id or public_id or "")


async def _start_turn_slow(
    conn: psycopg.AsyncConnection[Any],
    *,
    tenant: str,
    conversation_id: str,
    turn: dict[str, Any],
    user_message: dict[str, Any] | None,
    lease_s: float,
    first_part: str,
    answer_open_calls: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """:func:`start_turn` as a transaction of several statements, for a conversation whose
    history ends with calls still open (they are closed first, by the agent's rules)."""
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT tenant, last_seq FROM conversations WHERE id = %s FOR UPDATE",
                [conversation_id],
            )
        ).fetchone()
        if row is None or row[0] != tenant:
            raise ConversationMissing(conversation_id)  # Deleted since the first look.
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
    another process had already closed it (then nothing is written).

    The conversation row is locked first, as a turn's start locks it: a new message starting
    while this turn closes would otherwise wait on this turn's row while holding the
    conversation, and this transaction on the conversation (a deadlock)."""
    # One function call (``booking_close_turn``, migration 0007): on an autocommit connection
    # it is its own transaction; on another, commit it here.
    payloads = [
        {
            "position": m["position"],
            "role": m["role"],
            "payload": m["payload"],
            "ui_message_id": m["ui_message_id"],
        }
        for m in messages
    ]
    async with contextlib.nullcontext() if conn.autocommit else conn.transaction():
        row = await (
            await conn.execute(
                "SELECT booking_close_turn(%s, %s, %s, %s, %s, %s, %s)",
                [
                    conversation_id,
                    turn_id,
                    status,
                    error_code,
                    Jsonb(usage) if usage is not None else None,
                    last_seq,
                    Jsonb(payloads),
                ],
            )
        ).fetchone()
    return bool(row and row[0])
