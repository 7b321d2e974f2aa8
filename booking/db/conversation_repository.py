"""Queries for API keys, conversations, turns, messages and turn events."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import ApiKey, Conversation, Message, TurnEventRow, TurnRow


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        return await self.session.scalar(stmt)

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, tenant: str, conversation_id: str, *, lock: bool = False
    ) -> Conversation | None:
        stmt = select(Conversation).where(
            Conversation.id == conversation_id, Conversation.tenant == tenant
        )
        if lock:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def exists_anywhere(self, conversation_id: str) -> bool:
        stmt = select(select(Conversation.id).where(Conversation.id == conversation_id).exists())
        return bool(await self.session.scalar(stmt))

    async def add(self, conversation: Conversation) -> None:
        self.session.add(conversation)
        await self.session.flush()

    async def page(
        self, tenant: str, limit: int, before: tuple[datetime, str] | None
    ) -> Sequence[Conversation]:
        """Newest first, keyset-paginated on (updated_at, id)."""
        stmt = select(Conversation).where(Conversation.tenant == tenant)
        if before is not None:
            stmt = stmt.where(
                func.row(Conversation.updated_at, Conversation.id) < func.row(*before)
            )
        stmt = stmt.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)
        return (await self.session.scalars(stmt)).all()

    async def delete(self, conversation_id: str) -> None:
        await self.session.execute(delete(Conversation).where(Conversation.id == conversation_id))

    async def allocate_seqs(self, conversation_id: str, count: int) -> int:
        """Take ``count`` cursors after every stored part; return the first (locks the row)."""
        stored = select(func.coalesce(func.max(TurnEventRow.seq), 0)).where(
            TurnEventRow.conversation_id == conversation_id
        )
        stmt = (
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(
                last_seq=func.greatest(Conversation.last_seq, stored.scalar_subquery()) + count,
                updated_at=func.now(),
            )
            .returning(Conversation.last_seq)
        )
        last = (await self.session.execute(stmt)).scalar_one()
        return int(last) - count + 1

    async def messages(self, conversation_id: str) -> Sequence[Message]:
        stmt = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.position)
        )
        return (await self.session.scalars(stmt)).all()


class TurnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def running(self, conversation_id: str) -> TurnRow | None:
        stmt = select(TurnRow).where(
            TurnRow.conversation_id == conversation_id, TurnRow.status == "running"
        )
        return await self.session.scalar(stmt)

    async def get(self, turn_id: str) -> TurnRow | None:
        return await self.session.get(TurnRow, turn_id)

    async def renew_leases(self, owner: str, lease: timedelta, turn_ids: Sequence[str]) -> None:
        """Renew the leases of the turns this process still runs (only those: a turn it failed
        to close must lapse, so a sweeper closes it)."""
        if not turn_ids:
            return
        stmt = (
            update(TurnRow)
            .where(TurnRow.owner == owner, TurnRow.status == "running", TurnRow.id.in_(turn_ids))
            .values(lease_until=func.now() + lease)
        )
        await self.session.execute(stmt)

    async def claim_expired(self, limit: int = 100) -> Sequence[TurnRow]:
        """Running turns whose owner stopped renewing: mark them interrupted, return them."""
        expired = (
            select(TurnRow.id)
            .where(TurnRow.status == "running", TurnRow.lease_until < func.now())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(TurnRow)
            .where(TurnRow.id.in_(expired))
            .values(status="interrupted", error_code="turn_interrupted", finished_at=func.now())
            .returning(TurnRow)
        )
        return (await self.session.scalars(stmt)).all()


class TurnEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(TurnEventRow), list(rows))

    async def after(
        self, conversation_id: str, seq: int, limit: int = 1000
    ) -> Sequence[TurnEventRow]:
        stmt = (
            select(TurnEventRow)
            .where(TurnEventRow.conversation_id == conversation_id, TurnEventRow.seq > seq)
            .order_by(TurnEventRow.seq)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def last_seqs(self, conversation_ids: Sequence[str]) -> dict[str, int]:
        """The newest stored cursor of each conversation."""
        if not conversation_ids:
            return {}
        stmt = (
            select(TurnEventRow.conversation_id, func.max(TurnEventRow.seq))
            .where(TurnEventRow.conversation_id.in_(conversation_ids))
            .group_by(TurnEventRow.conversation_id)
        )
        return {cid: int(seq) for cid, seq in (await self.session.execute(stmt)).all()}

    async def for_conversation(self, conversation_id: str) -> Sequence[TurnEventRow]:
        stmt = (
            select(TurnEventRow)
            .where(TurnEventRow.conversation_id == conversation_id)
            .order_by(TurnEventRow.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def for_message(self, conversation_id: str, message_id: str) -> Sequence[TurnEventRow]:
        """Every part of one assistant message, across the turns that wrote it (a reply that
        paused for approval continues in another turn)."""
        turns = select(TurnRow.id).where(
            TurnRow.conversation_id == conversation_id, TurnRow.message_id == message_id
        )
        stmt = (
            select(TurnEventRow)
            .where(
                TurnEventRow.conversation_id == conversation_id,
                TurnEventRow.turn_id.in_(turns),
            )
            .order_by(TurnEventRow.seq)
        )
        return (await self.session.scalars(stmt)).all()

    async def notify(self, channel: str, payload: str) -> None:
        await self.session.execute(text("SELECT pg_notify(:c, :p)"), {"c": channel, "p": payload})


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
    turn: dict[str, Any],
    user_message: dict[str, Any] | None,
    lease_s: float,
    first_part: str,
    answer_open_calls: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Lock or create the conversation, insert the turn and the user's message; return the turn's
    first cursor and the history before it. One transaction, three or four statements on a
    plain connection: this is the path every new reply waits on.

    A continuation (``user_message`` None) only inserts the turn. A new user message after a turn
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
                        [
                            conversation_id,
                            tenant,
                            user_message["payload"]["content"][:80] if user_message else None,
                        ],
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
