"""A turn's start and its close as server-side functions: one round trip each instead of ten
and six.

``booking_start_turn`` does what ``booking.db.event_log.start_turn`` did in a transaction of
several statements (after a separate lookup of the client's conversation id): resolve the
conversation by internal id or by the tenant's public id, create it if asked (a concurrent
create of the same public id is joined, not an error), insert the turn (the unique index on
running turns says whether one is already running), move the conversation's activity time,
store the user's message and the stream's first part, and return the history before it. Every
new reply waits on this, so it is one statement on the wire (issue #17: the start transaction
and the lookup cost ~4 ms of the time to first token).

Outcomes: ``ok``; ``missing`` (no such conversation for this tenant, nothing created);
``running`` (a turn is running; nothing written); ``slow`` (the history ends with tool calls
still open, a reply paused for approval that the new message supersedes: nothing written, the
caller takes the multi-statement path that closes those calls, which needs the agent's rules).

``booking_close_turn`` does what ``booking.db.event_log.close_turn`` did in a transaction:
lock the conversation (before the turn, as a start does, so the two cannot deadlock), close the
turn if it is still running (false if another process closed it: nothing else is written), move
the conversation's cursor and activity time, append the messages the turn produced.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE FUNCTION booking_start_turn(
    p_tenant text,
    p_conversation_id text,
    p_public_id text,
    p_new_id text,
    p_title text,
    p_turn_id text,
    p_message_id text,
    p_owner text,
    p_lease_s double precision,
    p_user_payload jsonb,
    p_ui_message_id text,
    p_first_part jsonb
) RETURNS TABLE (o_outcome text, o_conversation_id text, o_first_seq bigint, o_history jsonb)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_id text;
    v_tenant text;
    v_last bigint;
    v_top bigint;
    v_first bigint;
    v_history jsonb := '[]'::jsonb;
    v_tail jsonb;
BEGIN
    -- By internal id (a continuation, or an id the caller resolved), or by the tenant's public
    -- id; p_new_id set means "create it under this internal id if the tenant lacks it".
    LOOP
        IF p_conversation_id IS NOT NULL THEN
            SELECT c.id, c.tenant, c.last_seq INTO v_id, v_tenant, v_last
            FROM conversations c WHERE c.id = p_conversation_id FOR UPDATE;
            IF v_id IS NOT NULL AND v_tenant <> p_tenant THEN
                v_id := NULL;
            END IF;
        ELSE
            SELECT c.id, c.last_seq INTO v_id, v_last
            FROM conversations c
            WHERE c.tenant = p_tenant AND c.public_id = p_public_id FOR UPDATE;
        END IF;
        EXIT WHEN v_id IS NOT NULL OR p_new_id IS NULL;
        INSERT INTO conversations (id, tenant, public_id, title)
        VALUES (p_new_id, p_tenant, coalesce(p_public_id, p_new_id), p_title)
        ON CONFLICT DO NOTHING
        RETURNING id, last_seq INTO v_id, v_last;
        EXIT WHEN v_id IS NOT NULL;
        -- Another request of the tenant created this public id meanwhile (its commit is what
        -- ON CONFLICT waited for): look it up again and continue that conversation.
        IF p_conversation_id IS NOT NULL THEN
            RETURN QUERY SELECT 'missing'::text, NULL::text, NULL::bigint, NULL::jsonb;
            RETURN;
        END IF;
        p_new_id := NULL;
    END LOOP;
    IF v_id IS NULL THEN
        RETURN QUERY SELECT 'missing'::text, NULL::text, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;

    SELECT coalesce(jsonb_agg(m.payload ORDER BY m.position), '[]'::jsonb)
    INTO v_history FROM messages m WHERE m.conversation_id = v_id;
    v_tail := v_history -> -1;
    IF p_user_payload IS NOT NULL AND v_tail IS NOT NULL AND (
        v_tail ->> 'role' = 'tool'
        OR (v_tail ->> 'role' = 'assistant'
            AND jsonb_typeof(v_tail -> 'tool_calls') = 'array'
            AND jsonb_array_length(v_tail -> 'tool_calls') > 0)
    ) THEN
        RETURN QUERY SELECT 'slow'::text, v_id, NULL::bigint, NULL::jsonb;
        RETURN;
    END IF;
    SELECT max(e.seq) INTO v_top FROM turn_events e WHERE e.conversation_id = v_id;
    v_first := greatest(v_last, coalesce(v_top, 0)) + 1;

    BEGIN
        INSERT INTO turns (id, conversation_id, message_id, first_seq, owner, lease_until)
        VALUES (p_turn_id, v_id, p_message_id, v_first, p_owner,
                now() + make_interval(secs => p_lease_s));
    EXCEPTION WHEN unique_violation THEN
        RETURN QUERY SELECT 'running'::text, v_id, NULL::bigint, NULL::jsonb;
        RETURN;
    END;
    UPDATE conversations SET updated_at = now() WHERE id = v_id;
    IF p_user_payload IS NOT NULL THEN
        INSERT INTO messages (conversation_id, position, turn_id, role, payload, ui_message_id)
        VALUES (v_id, jsonb_array_length(v_history), p_turn_id, 'user', p_user_payload,
                p_ui_message_id);
    END IF;
    INSERT INTO turn_events (conversation_id, seq, turn_id, part)
    VALUES (v_id, v_first, p_turn_id, p_first_part);
    RETURN QUERY SELECT 'ok'::text, v_id, v_first, v_history;
END
$fn$
"""

_CLOSE = """
CREATE FUNCTION booking_close_turn(
    p_conversation_id text,
    p_turn_id text,
    p_status text,
    p_error_code text,
    p_usage jsonb,
    p_last_seq bigint,
    p_messages jsonb
) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    v_id text;
BEGIN
    PERFORM 1 FROM conversations WHERE id = p_conversation_id FOR UPDATE;
    UPDATE turns SET status = p_status, error_code = p_error_code, usage = p_usage,
                     finished_at = now()
    WHERE id = p_turn_id AND status = 'running'
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE conversations SET last_seq = greatest(last_seq, p_last_seq), updated_at = now()
    WHERE id = p_conversation_id;
    INSERT INTO messages (conversation_id, position, turn_id, role, payload, ui_message_id)
    SELECT p_conversation_id, (m ->> 'position')::int, p_turn_id, m ->> 'role', m -> 'payload',
           m ->> 'ui_message_id'
    FROM jsonb_array_elements(coalesce(p_messages, '[]'::jsonb)) m;
    RETURN true;
END
$fn$
"""


def upgrade() -> None:
    op.execute(_FUNCTION)
    op.execute(_CLOSE)


def downgrade() -> None:
    op.execute("DROP FUNCTION booking_close_turn(text, text, text, text, jsonb, bigint, jsonb)")
    op.execute(
        "DROP FUNCTION booking_start_turn(text, text, text, text, text, text, text, text,"
        " double precision, jsonb, text, jsonb)"
    )
