"""Jepsen-style histories of booking buyers, and the checker that judges them. Pure: no I/O.

A buyer is one sequential process with two idempotency keys, one for ``hold`` and one for
``confirm``. Every attempt it makes is two events: ``invoke``, then one completion:

- ``ok``: acknowledged (committed); the value is the booking reference;
- ``fail``: a definite refusal, nothing was done; the value is the error code (``sold_out``, or
  ``unavailable`` when no connection could be had, so no statement was sent);
- ``info``: indeterminate; the connection was lost or timed out after the request may have
  reached the server, so it may or may not have taken effect.

A buyer retries ``info`` and ``unavailable`` with the same key. After the run, once the faults
have healed, every key that ever got ``info`` is issued again (phase ``reconcile``), and buyers
still without an answer finish their journey. :func:`check` then reads the whole history against
a :class:`Snapshot` of the database and lists every anomaly it finds; :func:`summarize` counts.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Op = Literal["hold", "confirm"]
Kind = Literal["invoke", "ok", "fail", "info"]
Phase = Literal["run", "reconcile"]

#: A definite "not done", but not an answer: the buyer asks again.
UNAVAILABLE = "unavailable"
LIVE = ("held", "confirmed")


@dataclass(frozen=True, slots=True)
class Event:
    index: int
    at: float
    """Seconds since the history started."""
    buyer: int
    op: Op
    key: str
    kind: Kind
    value: str | None = None
    """ok: the booking reference; fail: the error code; info: why it is unknown."""
    phase: Phase = "run"

    @property
    def is_answer(self) -> bool:
        """ok, or a refusal the buyer takes as final (not ``unavailable``)."""
        return self.kind == "ok" or (self.kind == "fail" and self.value != UNAVAILABLE)


class History:
    """Appends events; each buyer has at most one operation open at a time."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.events: list[Event] = []
        self.fare_of: dict[int, int] = {}
        """The flight each buyer wants one seat on."""
        self._clock = clock
        self._started = clock()
        self._open: dict[int, Event] = {}

    def add_buyer(self, buyer: int, flight_id: int) -> None:
        self.fare_of[buyer] = flight_id

    def invoke(self, buyer: int, op: Op, key: str, phase: Phase = "run") -> Event:
        if buyer in self._open:
            raise RuntimeError(f"buyer {buyer} invoked {op} with {self._open[buyer]} still open")
        event = self._append(buyer, op, key, "invoke", None, phase)
        self._open[buyer] = event
        return event

    def complete(self, invocation: Event, kind: Kind, value: str | None) -> Event:
        if self._open.get(invocation.buyer) is not invocation:
            raise RuntimeError(f"{invocation} is not the open operation of its buyer")
        del self._open[invocation.buyer]
        return self._append(
            invocation.buyer, invocation.op, invocation.key, kind, value, invocation.phase
        )

    def pairs(self) -> list[tuple[Event, Event | None]]:
        """Each invocation with its completion (None if it never completed)."""
        pending: dict[int, Event] = {}
        out: list[tuple[Event, Event | None]] = []
        slot: dict[int, int] = {}
        for event in self.events:
            if event.kind == "invoke":
                pending[event.buyer] = event
                slot[event.buyer] = len(out)
                out.append((event, None))
            else:
                out[slot[event.buyer]] = (pending.pop(event.buyer), event)
        return out

    def _append(
        self, buyer: int, op: Op, key: str, kind: Kind, value: str | None, phase: Phase
    ) -> Event:
        event = Event(len(self.events), self._clock() - self._started, buyer, op, key, kind, value, phase)  # fmt: skip
        self.events.append(event)
        return event


@dataclass(frozen=True, slots=True)
class BookingRow:
    reference: str
    buyer: int
    """Who booked it, read back from the booking's contact."""
    flight_id: int
    status: str
    passengers: int


@dataclass(frozen=True, slots=True)
class FareRow:
    flight_id: int
    seats_available: int
    seats_booked: int


@dataclass(frozen=True)
class Snapshot:
    """The database after the run: the run's bookings, its fares, ``inventory_drift``."""

    bookings: list[BookingRow]
    fares: dict[int, FareRow]
    drift: list[dict[str, Any]]


@dataclass
class Verdict:
    anomalies: dict[str, list[str]]
    """Kind -> examples; empty when the history and the database are consistent."""
    confirmed: int
    """Seats confirmed in the database."""
    capacity: int

    @property
    def valid(self) -> bool:
        return not self.anomalies

    def describe(self, limit: int = 3) -> str:
        if self.valid:
            return (
                f"valid: {self.confirmed:,} confirmed == {self.capacity:,} seats (min of capacity "
                "and demand per fare), every acknowledgement in the database, one booking per "
                "key, no phantom, every buyer answered, inventory drift empty"
            )
        parts = [
            f"{kind} ({len(items)}): {'; '.join(items[:limit])}"
            for kind, items in sorted(self.anomalies.items())
        ]
        return "INVALID: " + " | ".join(parts)


def _brief(event: Event | None) -> str:
    return "none" if event is None else f"{event.kind} {event.value} ({event.phase})"


def _final(completions: list[Event]) -> Event | None:
    answers = [c for c in completions if c.is_answer]
    return answers[-1] if answers else None


def check(
    history: History,
    snapshot: Snapshot,
    capacity: Mapping[int, int],
    *,
    refusals: Iterable[str] = ("sold_out",),
) -> Verdict:
    """Every anomaly of ``history`` against ``snapshot``.

    Args:
        history: the run and reconcile phases.
        snapshot: the database once everything was reconciled.
        capacity: free seats of each fare before the run (no one else sells them meanwhile).
        refusals: the error codes a buyer may be refused with; any other is an anomaly.
    """
    found: dict[str, list[str]] = defaultdict(list)
    allowed = {*refusals, UNAVAILABLE}
    by_key: dict[str, list[Event]] = defaultdict(list)
    owner: dict[str, int] = {}
    for invocation, completion in history.pairs():
        if completion is None:
            found["never_completed"].append(f"{invocation}")
            continue
        by_key[invocation.key].append(completion)
        if owner.setdefault(invocation.key, invocation.buyer) != invocation.buyer:
            found["key_shared_by_buyers"].append(invocation.key)
        if completion.kind == "fail" and completion.value not in allowed:
            found["unexpected_refusal"].append(f"{completion.key}: {completion.value}")

    # Per key: one booking at most, never refused once acknowledged, every unknown reconciled.
    acknowledged: dict[str, str] = {}  # reference -> key
    for key, completions in by_key.items():
        first_ok: Event | None = None
        for c in completions:
            if c.kind == "ok":
                assert c.value is not None
                if first_ok is None:
                    first_ok = c
                    acknowledged.setdefault(c.value, key)
                elif c.value != first_ok.value:
                    found["key_two_bookings"].append(f"{key}: {first_ok.value} then {c.value}")
            elif c.kind == "fail" and c.is_answer and first_ok is not None:
                found["refused_after_ack"].append(f"{key}: ok {first_ok.value}, then {c.value}")
        if any(c.kind == "info" and c.phase == "run" for c in completions) and not any(
            c.phase == "reconcile" and c.is_answer for c in completions
        ):
            found["unreconciled"].append(key)

    # Per buyer: a definite final answer, a confirmation of its own hold.
    confirmed_ref: dict[int, str] = {}
    refused: set[int] = set()
    keys_of: dict[int, dict[Op, list[Event]]] = defaultdict(lambda: {"hold": [], "confirm": []})
    for key, completions in by_key.items():
        keys_of[owner[key]][completions[0].op].extend(completions)
    for buyer in history.fare_of:
        held, confirmed = _final(keys_of[buyer]["hold"]), _final(keys_of[buyer]["confirm"])
        if confirmed is not None and confirmed.kind == "ok":
            assert confirmed.value is not None
            confirmed_ref[buyer] = confirmed.value
            if held is None or held.kind != "ok" or held.value != confirmed.value:
                found["confirmed_other_booking"].append(
                    f"buyer {buyer}: hold {_brief(held)}, confirm {_brief(confirmed)}"
                )
        elif held is not None and held.kind == "fail":
            refused.add(buyer)
        elif held is not None and confirmed is not None:
            found["held_not_confirmed"].append(f"buyer {buyer}: confirm {confirmed.value}")
        else:
            found["no_definite_answer"].append(
                f"buyer {buyer}: hold {_brief(held)}, confirm {_brief(confirmed)}"
            )

    # Against the database.
    rows = {b.reference: b for b in snapshot.bookings}
    per_buyer = Counter(b.buyer for b in snapshot.bookings)
    found["two_bookings_one_buyer"] += [f"buyer {b}: {n}" for b, n in per_buyer.items() if n > 1]
    for reference, key in acknowledged.items():
        row = rows.get(reference)
        if row is None:
            found["acknowledged_missing"].append(f"{reference} (key {key})")
        elif row.buyer != owner[key] or row.flight_id != history.fare_of[owner[key]]:
            found["wrong_owner"].append(f"{reference}: {row} for key {key}")
    for reference in confirmed_ref.values():
        if reference in rows and rows[reference].status != "confirmed":
            found["confirmation_lost"].append(f"{reference}: {rows[reference].status}")
    found["phantom_booking"] += [f"{r}: {row}" for r, row in rows.items() if r not in acknowledged]
    found["refused_but_booked"] += [
        f"buyer {b.buyer}: {b.reference} {b.status}"
        for b in snapshot.bookings
        if b.buyer in refused and b.status in LIVE
    ]

    demand = Counter(history.fare_of.values())
    confirmed_db: Counter[int] = Counter()
    for b in snapshot.bookings:
        if b.status == "confirmed":
            confirmed_db[b.flight_id] += b.passengers
    confirmed_history = Counter(history.fare_of[b] for b in confirmed_ref)
    expected_total = 0
    for flight_id, seats in capacity.items():
        fare = snapshot.fares.get(flight_id)
        expected = min(seats, demand[flight_id])
        expected_total += expected
        if fare is None:
            found["fare_missing"].append(f"{flight_id}")
            continue
        if fare.seats_available < 0:
            found["negative_inventory"].append(f"{flight_id}: {fare.seats_available}")
        if fare.seats_available + fare.seats_booked != seats:
            found["seats_not_conserved"].append(
                f"{flight_id}: {fare.seats_available} free + {fare.seats_booked} booked != {seats}"
            )
        if confirmed_db[flight_id] != expected:
            found["confirmed_not_capacity"].append(
                f"{flight_id}: {confirmed_db[flight_id]} confirmed, expected {expected}"
            )
        if fare.seats_booked != confirmed_db[flight_id]:
            found["seats_booked_not_confirmed"].append(
                f"{flight_id}: {fare.seats_booked} booked, {confirmed_db[flight_id]} confirmed"
            )
        if confirmed_history[flight_id] != confirmed_db[flight_id]:
            found["history_disagrees"].append(
                f"{flight_id}: {confirmed_history[flight_id]} buyers told confirmed, "
                f"{confirmed_db[flight_id]} in the database"
            )
    found["inventory_drift"] += [str(d) for d in snapshot.drift]
    return Verdict(
        anomalies={k: v for k, v in found.items() if v},
        confirmed=sum(confirmed_db.values()),
        capacity=expected_total,
    )


@dataclass
class Summary:
    seconds: float
    """Wall time of the run phase: first invocation to last completion."""
    counts: dict[tuple[Phase, Op, Kind], int] = field(default_factory=dict)
    sent: Counter[Op] = field(default_factory=Counter)
    """Attempts of the run phase that reached the server (all but ``unavailable``)."""
    refusals: Counter[str] = field(default_factory=Counter)
    """Refusals of the run phase by code, ``unavailable`` included."""
    unknown: Counter[str] = field(default_factory=Counter)
    """Indeterminate outcomes of the run phase by reason (``connection lost``, ``timeout``,
    ``unexpected``)."""
    reconciled: int = 0
    """Keys that got ``info`` in the run and a definite answer when issued again."""
    finished_late: int = 0
    """Buyers whose journey ended in the reconcile phase (they gave up during the run)."""
    latency_ms: list[float] = field(default_factory=list)
    """Of each attempt sent in the run phase, from the request to its answer."""

    def n(self, op: Op, kind: Kind, phase: Phase = "run") -> int:
        return self.counts.get((phase, op, kind), 0)

    def per_second(self, count: int) -> float:
        return count / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        qs = statistics.quantiles(self.latency_ms or [0.0], n=100, method="inclusive")
        ops = "; ".join(
            f"{op} ok {self.n(op, 'ok'):,} / fail {self.n(op, 'fail'):,} / info {self.n(op, 'info'):,}"
            for op in ("hold", "confirm")
        )
        late = self.n("hold", "invoke", "reconcile") + self.n("confirm", "invoke", "reconcile")
        return (
            f"run {self.seconds:.2f} s: {self.per_second(self.sent['hold']):,.0f} hold attempts/s, "
            f"{self.per_second(self.n('hold', 'ok')):,.0f} holds/s, "
            f"{self.per_second(self.n('confirm', 'ok')):,.0f} confirms/s "
            f"({self.per_second(sum(self.sent.values())):,.0f} transactions/s); "
            f"latency p50 {qs[49]:.1f} / p99 {qs[98]:.1f} ms\n"
            f"    {ops}; refusals {dict(self.refusals)}; indeterminate {dict(self.unknown)}; "
            f"reconciled {self.reconciled:,} keys ({late:,} operations after the run, "
            f"{self.finished_late:,} journeys finished late)"
        )


def summarize(history: History) -> Summary:
    pairs = history.pairs()
    run = [(i, c) for i, c in pairs if i.phase == "run" and c is not None]
    seconds = max(c.at for _, c in run) - min(i.at for i, _ in run) if run else 0.0
    summary = Summary(seconds=seconds)
    counts: Counter[tuple[Phase, Op, Kind]] = Counter()
    unknown: set[str] = set()
    answered_late: set[str] = set()
    done: dict[int, Phase] = {}  # buyer -> the phase of its final answer
    for invocation, completion in pairs:
        counts[(invocation.phase, invocation.op, "invoke")] += 1
        if completion is None:
            continue
        counts[(completion.phase, completion.op, completion.kind)] += 1
        if completion.phase == "run":
            if completion.kind == "fail":
                summary.refusals[completion.value or "?"] += 1
            if completion.kind == "info":
                unknown.add(completion.key)
                summary.unknown[(completion.value or "?").split(":")[0]] += 1
            if completion.value != UNAVAILABLE:
                summary.sent[completion.op] += 1
                summary.latency_ms.append((completion.at - invocation.at) * 1000)
        elif completion.is_answer:
            answered_late.add(completion.key)
        final = completion.op == "confirm" and completion.kind == "ok"
        if final or (
            completion.op == "hold" and completion.kind == "fail" and completion.is_answer
        ):
            done.setdefault(completion.buyer, completion.phase)
    summary.counts = dict(counts)
    summary.reconciled = len(unknown & answered_late)
    summary.finished_late = sum(1 for phase in done.values() if phase == "reconcile")
    return summary
