"""The rules of a booking that need no database (``booking.domain.booking_rules``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from booking.domain.booking_rules import Policy, check_bookable, check_cabin, sold_out
from booking.errors import BookingClosed, SoldOut, UnknownCabin
from tests.conftest import TEST_NOW


class TestCheckCabin:
    def test_unknown_cabin_name(self) -> None:
        with pytest.raises(UnknownCabin):
            check_cabin("first")

    @pytest.mark.parametrize("cabin", ["economy", "business"])
    def test_known_cabins(self, cabin: str) -> None:
        assert check_cabin(cabin) == cabin


class TestCheckBookable:
    def test_closes_at_the_cutoff_before_departure(self) -> None:
        policy = Policy()
        closes = TEST_NOW + policy.cutoff

        def check(departs_at: datetime) -> None:
            check_bookable(
                flight_id=7,
                cabin="economy",
                departs_at=departs_at,
                seats_left=5,
                needed=1,
                now=TEST_NOW,
                policy=policy,
            )

        with pytest.raises(BookingClosed):
            check(closes)
        check(closes + timedelta(seconds=1))

    def test_needs_the_seats(self) -> None:
        with pytest.raises(SoldOut) as caught:
            check_bookable(
                flight_id=7,
                cabin="business",
                departs_at=TEST_NOW + timedelta(days=3),
                seats_left=2,
                needed=3,
                now=TEST_NOW,
                policy=Policy(),
            )
        assert caught.value.details == {"flight_id": 7, "cabin": "business", "seats_left": 2}


class TestSoldOut:
    def test_says_how_many_seats_are_left(self) -> None:
        refusal = sold_out(flight_id=7, cabin="economy", seats_left=2, needed=3)
        assert refusal.message == "Only 2 economy seat(s) left on this flight; 3 needed."
        assert refusal.code == "sold_out"

    def test_an_empty_cabin_is_sold_out(self) -> None:
        refusal = sold_out(flight_id=7, cabin="business", seats_left=0, needed=1)
        assert refusal.message == "The business cabin of this flight is sold out."
        assert refusal.details["seats_left"] == 0
