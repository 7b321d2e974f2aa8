"""Booking correctness from histories, Jepsen style: concurrent buyers, killed connections, a
crashed and restarted server, then a checker reading the history against the database.

CI-sized versions of ``python -m bench.jepsen_bench`` (the runner and checker live in ``bench/``).
Each buyer holds one seat with its own idempotency key and confirms it with another; every attempt
is recorded as invoke, then ok, fail or info (indeterminate). After the run every indeterminate key
is issued again and :func:`bench.history.check` must find nothing: confirmed seats == capacity,
every acknowledged booking in the database, one booking per key, no phantom, every buyer answered,
``inventory_drift`` empty. With killed connections a share of answers is also dropped after their
commit, so retries meet the ambiguous case (committed, but the buyer does not know) for sure. The first tests feed the checker hand-written histories, to show that it
does catch each anomaly it claims to.

These tests commit, so they run on a database of their own; the restart runs on an embedded
PostgreSQL started for this module (under a temporary folder), never on the shared server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.history import BookingRow, FareRow, History, Kind, Op, Phase, Snapshot, Verdict, check
from bench.jepsen_bench import Result, Scenario, run
from booking.db import migrate
from seed.load import SeedOptions, seed_database
from tests.conftest import TEST_NOW, TEST_TODAY, ScratchDatabases, own_embedded_server

POOL = 16
SEED = SeedOptions(seed=7, today=TEST_TODAY, days=10, scale=0.2)


# The checker, on histories written by hand -------------------------------------------------


@dataclass
class Story:
    """Buyers 0 and 1 want the two seats of flight 7, buyer 2 is refused; buyer 1's first hold
    lost its connection and was reconciled. Tests break it one way each."""

    history: History = field(default_factory=lambda: History(clock=itertools.count().__next__))
    bookings: list[BookingRow] = field(default_factory=list)
    fare: FareRow = FareRow(7, seats_available=0, seats_booked=2)
    drift: list[dict[str, int]] = field(default_factory=list)

    def op(self, buyer: int, op: Op, kind: Kind, value: str, phase: Phase = "run") -> None:
        self.history.complete(self.history.invoke(buyer, op, f"{op}-{buyer}", phase), kind, value)

    def check(self) -> Verdict:
        snapshot = Snapshot(self.bookings, {7: self.fare}, list(self.drift))
        return check(self.history, snapshot, {7: 2})


def _story(*, reconciled: bool = True, refused: bool = True) -> Story:
    story = Story()
    for buyer in range(3):
        story.history.add_buyer(buyer, 7)
    story.op(0, "hold", "ok", "AAAAAA")
    story.op(1, "hold", "info", "connection lost: OperationalError")
    story.op(0, "confirm", "ok", "AAAAAA")
    story.op(1, "hold", "fail", "unavailable")
    story.op(1, "hold", "ok", "CCCCCC")
    story.op(1, "confirm", "ok", "CCCCCC")
    if refused:
        story.op(2, "hold", "fail", "sold_out")
    if reconciled:
        story.op(1, "hold", "ok", "CCCCCC", "reconcile")
    story.bookings += [
        BookingRow("AAAAAA", 0, 7, "confirmed", 1),
        BookingRow("CCCCCC", 1, 7, "confirmed", 1),
    ]
    return story


def test_checker_accepts_a_consistent_history() -> None:
    verdict = _story().check()
    assert verdict.anomalies == {}
    assert (verdict.confirmed, verdict.capacity) == (2, 2)


def test_checker_finds_an_acknowledged_booking_missing() -> None:
    story = _story()
    story.bookings.pop()  # CCCCCC was acknowledged, then lost
    story.fare = FareRow(7, seats_available=1, seats_booked=1)
    anomalies = story.check().anomalies
    assert anomalies["acknowledged_missing"] == ["CCCCCC (key hold-1)"]
    assert "confirmed_not_capacity" in anomalies
    assert "history_disagrees" in anomalies


def test_checker_finds_a_second_booking_for_one_key() -> None:
    story = _story(reconciled=False)
    story.op(1, "hold", "ok", "DDDDDD", "reconcile")
    story.bookings.append(BookingRow("DDDDDD", 1, 7, "held", 1))
    anomalies = story.check().anomalies
    assert anomalies["key_two_bookings"] == ["hold-1: CCCCCC then DDDDDD"]
    assert anomalies["two_bookings_one_buyer"] == ["buyer 1: 2"]


def test_checker_finds_an_indeterminate_operation_never_reconciled() -> None:
    assert _story(reconciled=False).check().anomalies == {"unreconciled": ["hold-1"]}


def test_checker_finds_a_buyer_without_an_answer() -> None:
    story = _story(refused=False)
    story.op(2, "hold", "info", "timeout")
    anomalies = story.check().anomalies
    assert anomalies["unreconciled"] == ["hold-2"]
    assert anomalies["no_definite_answer"] == ["buyer 2: hold none, confirm none"]


def test_checker_finds_a_refused_buyer_holding_an_unacknowledged_booking() -> None:
    story = _story()
    story.bookings.append(BookingRow("EEEEEE", 2, 7, "confirmed", 1))
    story.fare = FareRow(7, seats_available=-1, seats_booked=3)
    story.drift.append({"flight_id": 7, "seats_booked": 3, "live_passengers": 2})
    anomalies = story.check().anomalies
    assert set(anomalies) == {
        "phantom_booking",
        "refused_but_booked",
        "negative_inventory",
        "confirmed_not_capacity",
        "history_disagrees",
        "inventory_drift",
    }


def test_checker_finds_a_refusal_after_an_acknowledgement() -> None:
    story = _story(reconciled=False)
    story.op(1, "hold", "fail", "sold_out", "reconcile")
    anomalies = story.check().anomalies
    assert anomalies["refused_after_ack"] == ["hold-1: ok CCCCCC, then sold_out"]
    assert set(anomalies) == {"refused_after_ack", "confirmed_other_booking"}


def test_checker_finds_an_unexpected_refusal_and_a_lost_confirmation() -> None:
    story = _story()
    story.op(2, "hold", "fail", "idempotency_key_reused", "reconcile")
    story.bookings[0] = BookingRow("AAAAAA", 0, 7, "held", 1)
    anomalies = story.check().anomalies
    assert anomalies["unexpected_refusal"] == ["hold-2: idempotency_key_reused"]
    assert anomalies["confirmation_lost"] == ["AAAAAA: held"]


# Real runs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history_url(scratch: ScratchDatabases) -> str:
    url = scratch.create()
    migrate.upgrade(url)
    seed_database(url, SEED)
    return url


@pytest.fixture(scope="module")
def own_server() -> Iterator[tuple[str, Path]]:
    """An embedded PostgreSQL of this module's own: the one we crash."""
    with own_embedded_server("jepsen", SEED) as server:
        yield server


def _assert_valid(result: Result) -> None:
    assert result.verdict.anomalies == {}, result.describe()
    assert result.verdict.confirmed == result.verdict.capacity
    # No attempt timed out or failed in a way we do not understand.
    assert set(result.summary.unknown) <= {"connection lost", "answer dropped"}


async def test_200_buyers_on_20_seats(history_url: str) -> None:
    result = await run(history_url, Scenario(200, 1, 20, connections=POOL), now=TEST_NOW)

    _assert_valid(result)
    summary = result.summary
    assert result.verdict.confirmed == 20
    assert (summary.n("hold", "ok"), summary.n("confirm", "ok")) == (20, 20)
    assert dict(summary.refusals) == {"sold_out": 180}
    assert summary.unknown == {}


async def test_200_buyers_on_20_seats_with_connections_killed(history_url: str) -> None:
    scenario = Scenario(
        200, 1, 20, fault="kill", connections=POOL, kill_every_s=(0.05, 0.2), drop_acks=0.1
    )
    result = await run(history_url, scenario, now=TEST_NOW)

    _assert_valid(result)
    assert result.verdict.confirmed == 20
    assert result.faults.kills > 0
    assert sum(result.summary.unknown.values()) > 0  # cut connections or dropped answers
    assert result.summary.reconciled > 0


async def test_1000_buyers_over_20_flights(history_url: str) -> None:
    result = await run(history_url, Scenario(1000, 20, 10, connections=POOL), now=TEST_NOW)

    _assert_valid(result)
    assert result.verdict.confirmed == 200
    assert dict(result.summary.refusals) == {"sold_out": 800}
    assert result.summary.unknown == {}


async def test_1000_buyers_over_20_flights_with_connections_killed(history_url: str) -> None:
    scenario = Scenario(1000, 20, 10, fault="kill", connections=POOL, drop_acks=0.05)
    result = await run(history_url, scenario, now=TEST_NOW)

    _assert_valid(result)
    assert result.verdict.confirmed == 200
    assert result.faults.kills > 0
    assert result.summary.unknown["connection lost"] > 0
    assert result.summary.reconciled > 0


async def test_1000_buyers_over_20_flights_with_postgres_crashed_and_restarted(
    own_server: tuple[str, Path],
) -> None:
    """Buyers give up after three attempts here, so many are left without an answer by the
    outage: the reconcile phase must finish their journeys through their keys."""
    url, pg_dir = own_server
    scenario = Scenario(
        1000, 20, 10, fault="restart", connections=POOL, restart_at=(0.3,), patience=3
    )
    result = await run(url, scenario, now=TEST_NOW, pg_dir=pg_dir)

    _assert_valid(result)
    assert result.verdict.confirmed == 200
    assert result.faults.restarts == 1
    assert result.summary.refusals["unavailable"] > 0  # the buyers saw the outage
    assert result.summary.finished_late > 0
