"""The fixed statements of the booking hot paths, run on the session's psycopg connection.

A hold is two statements (claim the key and read the flight; then take the seats and write the
booking, its passengers, its audit row and the stored response), a confirm or a cancel one.
Building, compiling and executing ORM statements cost more client CPU than PostgreSQL spent on
the whole operation, and every round trip costs both sides CPU, so each of these does in one
statement what took several. psycopg prepares each of them after a few runs on a connection
(unless ``prepare_threshold`` is off for a transaction pooler).

Sub-statements of one ``WITH`` do not see each other's writes, so a statement never writes a row
twice: the idempotency key of a confirm or cancel is inserted with its response, in the same
statement that decides the change, and the booking it returns is its locked row as changed
(``nb``: the updated row, else the row as it was).

Confirm and cancel return the booking as JSON built here (:data:`_BOOKING_JSON`), the very
document stored for an idempotent replay, so the first answer and every replay are one document.
It is :meth:`booking.domain.types.BookingView.to_dict` written in SQL (moments as Python's
``isoformat()`` writes them, in the airport's or the service's zone);
``tests/integration/test_booking_statements.py`` holds the two equal for every status.
"""

from __future__ import annotations

from typing import Final

from booking.settings import SERVICE_TZ


def _iso(moment: str, zone: str) -> str:
    """SQL writing timestamptz ``moment`` in ``zone`` as ``datetime.isoformat()`` does (NULL
    stays NULL): microseconds only when there are some, the offset as ``+HH:MM``."""
    local = f"({moment} AT TIME ZONE {zone})"
    offset = f"extract(epoch FROM {local} - ({moment} AT TIME ZONE 'UTC'))::int"
    return (
        f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN mod(extract(microseconds FROM {local})::bigint, 1000000) = 0 THEN ''"
        f" ELSE to_char({local}, '.US') END"
        f" || CASE WHEN {offset} < 0 THEN '-' ELSE '+' END"
        f" || to_char(make_interval(secs => abs({offset})), 'HH24:MI')"
    )


_SERVICE_ZONE = f"'{SERVICE_TZ.key}'"

#: The booking in CTE ``nb`` as JSON (``BookingView.to_dict``), with its status, as CTE ``v``.
_BOOKING_JSON = f"""
v AS (
  SELECT nb.status, jsonb_build_object(
    'reference', nb.reference,
    'status', nb.status,
    'flight', jsonb_build_object(
      'flight_id', f.id, 'flight_number', f.flight_number, 'airline_code', f.airline_code,
      'airline_name', a.name, 'origin', f.origin, 'destination', f.destination,
      'departs_at', {_iso("f.departs_at", "o.timezone")},
      'arrives_at', {_iso("f.arrives_at", "d.timezone")},
      'duration_minutes', floor(extract(epoch FROM f.arrives_at - f.departs_at) / 60)::bigint),
    'cabin', nb.cabin,
    'passengers', (
      SELECT coalesce(jsonb_agg(jsonb_build_object(
        'full_name', p.full_name, 'date_of_birth', p.date_of_birth) ORDER BY p.position),
        '[]'::jsonb)
      FROM booking_passengers p WHERE p.reference = nb.reference),
    'contact', jsonb_build_object('email', nb.contact_email, 'phone', nb.contact_phone),
    'price_per_passenger_vnd', nb.price_per_passenger_vnd,
    'total_vnd', nb.total_vnd,
    'currency', 'VND',
    'hold_expires_at',
      CASE WHEN nb.status = 'held' THEN {_iso("nb.hold_expires_at", _SERVICE_ZONE)} END,
    'created_at', {_iso("nb.created_at", _SERVICE_ZONE)},
    'confirmed_at', {_iso("nb.confirmed_at", _SERVICE_ZONE)},
    'cancelled_at', {_iso("nb.cancelled_at", _SERVICE_ZONE)},
    'expired_at', {_iso("nb.expired_at", _SERVICE_ZONE)}
  ) AS doc
  FROM nb JOIN flights f ON f.id = nb.flight_id
  JOIN airlines a ON a.code = f.airline_code
  JOIN airports o ON o.iata = f.origin JOIN airports d ON d.iata = f.destination
)"""

#: A key seen committed already means a replay: nothing is locked or changed, the caller reads
#: the earlier response (:data:`EARLIER`). Otherwise the booking is locked (``FOR UPDATE``: a
#: concurrent change is waited for and its result read) and the key inserted with the response
#: (``{}`` when the change is refused: the caller raises, so it is rolled back). A concurrent
#: request with the same key waits on that insert and, once it commits, is told the key was not
#: claimed: it then changed nothing (same key and request: same booking, found changed) or
#: raises :class:`~booking.errors.IdempotencyKeyReused`.
_LOCK = """
seen AS (
  SELECT 1 FROM idempotency_keys WHERE tenant = %(tenant)s AND key = %(key)s
), cur AS (
  SELECT b.* FROM bookings b
  WHERE b.reference = %(reference)s AND b.tenant = %(tenant)s AND NOT EXISTS (SELECT 1 FROM seen)
  FOR UPDATE
)"""


def _claim(operation: str, done: str) -> str:
    """The key's insert, its response the booking's JSON when it reached status ``done``."""
    return f"""
k AS (
  INSERT INTO idempotency_keys (tenant, key, operation, request_hash, response)
  SELECT %(tenant)s, %(key)s, '{operation}', %(request_hash)s,
    coalesce((SELECT doc FROM v WHERE v.status = '{done}'), '{{}}'::jsonb)
  WHERE CAST(%(key)s AS text) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM seen)
  ON CONFLICT (tenant, key) DO NOTHING RETURNING 1
)"""


#: Confirm: (key claimed, status before, hold end before, departed (NULL), booking JSON).
CONFIRM: Final = f"""
WITH {_LOCK}, ch AS (
  UPDATE bookings b SET status = 'confirmed', confirmed_at = %(now)s FROM cur
  WHERE b.reference = cur.reference AND cur.status = 'held' AND cur.hold_expires_at > %(now)s
  RETURNING b.*
), ev AS (
  INSERT INTO booking_events (reference, from_status, to_status, actor, at)
  SELECT reference, 'held', 'confirmed', %(actor)s, %(now)s FROM ch
), nb AS (
  SELECT * FROM ch UNION ALL SELECT * FROM cur WHERE NOT EXISTS (SELECT 1 FROM ch)
), {_BOOKING_JSON}, {_claim("confirm", "confirmed")}
SELECT CAST(%(key)s AS text) IS NULL OR EXISTS (SELECT 1 FROM k), cur.status, cur.hold_expires_at, CAST(NULL AS boolean), v.doc
FROM (SELECT 1) one LEFT JOIN cur ON true LEFT JOIN v ON true
"""

#: Cancel, seats given back in the same statement: same columns as :data:`CONFIRM`.
CANCEL: Final = f"""
WITH {_LOCK}, gone AS (
  SELECT f.departs_at <= %(now)s AS departed
  FROM cur JOIN flights f ON f.id = cur.flight_id
  JOIN fares x ON x.flight_id = f.id AND x.cabin = cur.cabin
), ch AS (
  UPDATE bookings b SET status = 'cancelled', cancelled_at = %(now)s FROM cur
  WHERE b.reference = cur.reference AND cur.status IN ('held', 'confirmed')
    AND NOT coalesce((SELECT departed FROM gone), false)
  RETURNING b.*
), released AS (
  UPDATE fares x SET seats_available = x.seats_available + ch.passenger_count,
    seats_booked = x.seats_booked - ch.passenger_count
  FROM ch WHERE x.flight_id = ch.flight_id AND x.cabin = ch.cabin
), ev AS (
  INSERT INTO booking_events (reference, from_status, to_status, actor, at)
  SELECT ch.reference, cur.status, 'cancelled', %(actor)s, %(now)s FROM ch, cur
), nb AS (
  SELECT * FROM ch UNION ALL SELECT * FROM cur WHERE NOT EXISTS (SELECT 1 FROM ch)
), {_BOOKING_JSON}, {_claim("cancel", "cancelled")}
SELECT CAST(%(key)s AS text) IS NULL OR EXISTS (SELECT 1 FROM k), cur.status, cur.hold_expires_at,
  (SELECT departed FROM gone), v.doc
FROM (SELECT 1) one LEFT JOIN cur ON true LEFT JOIN v ON true
"""

#: The record of a key another request claimed.
EARLIER: Final = (
    "SELECT operation, request_hash, response FROM idempotency_keys"
    " WHERE tenant = %(tenant)s AND key = %(key)s"
)

#: Hold, first statement: claim the key, and read the flight with the cabin's price and seats
#: (NULLs when either is missing): (claimed, flight columns..., price, seats left).
HOLD_START: Final = """
WITH k AS (
  INSERT INTO idempotency_keys (tenant, key, operation, request_hash, response)
  VALUES (%(tenant)s, %(key)s, %(operation)s, %(request_hash)s, '{}')
  ON CONFLICT (tenant, key) DO NOTHING RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM k), f.flight_number, f.airline_code, a.name, f.origin,
  f.destination, f.departs_at, f.arrives_at, o.timezone, d.timezone, x.price_vnd,
  x.seats_available
FROM (SELECT 1) one LEFT JOIN (
  flights f JOIN fares x ON x.flight_id = f.id AND x.cabin = %(cabin)s
  JOIN airlines a ON a.code = f.airline_code
  JOIN airports o ON o.iata = f.origin JOIN airports d ON d.iata = f.destination
) ON f.id = %(flight_id)s
"""

#: Hold, second statement: take the seats (the conditional UPDATE: concurrent holds serialize on
#: the fare row, none takes a seat that is gone) and, when they were taken at the price the
#: booking was priced at, write the booking (held, or confirmed when booked in one decision),
#: its passengers, its first audit row and the stored response. The fare row stays locked from
#: here to the commit only. Returns (price the seats were taken at or NULL, booking written):
#: seats taken at that price but nothing written means the reference was taken.
HOLD_WRITE: Final = """
WITH s AS (
  UPDATE fares SET seats_available = seats_available - %(passenger_count)s,
    seats_booked = seats_booked + %(passenger_count)s
  WHERE flight_id = %(flight_id)s AND cabin = %(cabin)s
    AND seats_available >= %(passenger_count)s
  RETURNING price_vnd
), b AS (
  INSERT INTO bookings (reference, tenant, flight_id, cabin, status, passenger_count,
    price_per_passenger_vnd, total_vnd, contact_email, contact_phone, conversation_id,
    hold_expires_at, created_at, confirmed_at)
  SELECT %(reference)s, %(tenant)s, %(flight_id)s, %(cabin)s, %(status)s, %(passenger_count)s,
    %(price_per_passenger_vnd)s, %(total_vnd)s, %(contact_email)s, %(contact_phone)s,
    %(conversation_id)s, %(hold_expires_at)s, %(created_at)s,
    CAST(%(confirmed_at)s AS timestamptz)
  FROM s WHERE s.price_vnd = %(price_per_passenger_vnd)s
  ON CONFLICT (reference) DO NOTHING RETURNING reference
), p AS (
  INSERT INTO booking_passengers (reference, position, full_name, date_of_birth)
  SELECT b.reference, t.position, t.full_name, t.date_of_birth FROM b,
    unnest(CAST(%(names)s AS text[]), CAST(%(births)s AS date[])) WITH ORDINALITY
      AS t(full_name, date_of_birth, position)
), e AS (
  INSERT INTO booking_events (reference, from_status, to_status, actor, at)
  SELECT reference, NULL, %(status)s, %(actor)s, %(created_at)s FROM b
), k AS (
  UPDATE idempotency_keys SET response = CAST(%(response)s AS jsonb)
  WHERE tenant = %(tenant)s AND key = %(key)s AND EXISTS (SELECT 1 FROM b)
)
SELECT (SELECT price_vnd FROM s), EXISTS (SELECT 1 FROM b)
"""

#: Give ``passenger_count`` seats back (a hold whose reference was taken draws another).
RELEASE_SEATS: Final = """
UPDATE fares SET seats_available = seats_available + %(passenger_count)s,
  seats_booked = seats_booked - %(passenger_count)s
WHERE flight_id = %(flight_id)s AND cabin = %(cabin)s
"""
