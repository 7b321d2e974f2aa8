from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from booking.domain.dates import (
    FixedClock,
    check_travel_date,
    parse_time_of_day,
    parse_travel_date,
    today,
)
from booking.errors import DateBeyondHorizon, DateInPast, InvalidDate

TODAY = date(2026, 6, 1)


class TestToday:
    def test_is_the_date_in_vietnam_not_utc(self) -> None:
        # 20:00 UTC on 31 May is 03:00 on 1 June in Ho Chi Minh City.
        clock = FixedClock(datetime(2026, 5, 31, 20, 0, tzinfo=UTC))
        assert today(clock) == date(2026, 6, 1)


class TestParseTravelDate:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-06-15", date(2026, 6, 15)),
            ("15/6", date(2026, 6, 15)),
            ("15/06/2026", date(2026, 6, 15)),
            ("15-6-26", date(2026, 6, 15)),
            ("15.06", date(2026, 6, 15)),
            ("1/6", date(2026, 6, 1)),
        ],
    )
    def test_reads_the_forms_people_type(self, text: str, expected: date) -> None:
        assert parse_travel_date(text, TODAY) == expected

    def test_day_without_year_already_past_means_next_year(self) -> None:
        assert parse_travel_date("15/5", TODAY) == date(2027, 5, 15)

    def test_date_objects_pass_through(self) -> None:
        assert parse_travel_date(date(2026, 7, 1), TODAY) == date(2026, 7, 1)

    @pytest.mark.parametrize("text", ["tomorrow-ish", "31/2", "2026-13-01", ""])
    def test_unreadable_dates_raise(self, text: str) -> None:
        with pytest.raises(InvalidDate):
            parse_travel_date(text, TODAY)


class TestCheckTravelDate:
    def test_today_is_allowed(self) -> None:
        assert check_travel_date(TODAY, TODAY, 365) == TODAY

    def test_past_is_refused_with_code(self) -> None:
        with pytest.raises(DateInPast) as caught:
            check_travel_date(date(2026, 5, 31), TODAY, 365)
        assert caught.value.code == "date_in_past"

    def test_beyond_horizon_is_refused(self) -> None:
        with pytest.raises(DateBeyondHorizon):
            check_travel_date(date(2027, 6, 2), TODAY, 365)


class TestParseTimeOfDay:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("18:00", time(18, 0)), ("18h", time(18, 0)), ("18h30", time(18, 30)), ("7", time(7, 0))],
    )
    def test_reads_common_forms(self, text: str, expected: time) -> None:
        assert parse_time_of_day(text) == expected

    @pytest.mark.parametrize("text", ["25:00", "noon", "18:75"])
    def test_rejects_nonsense(self, text: str) -> None:
        with pytest.raises(InvalidDate):
            parse_time_of_day(text)


def test_days_ahead_from_today() -> None:
    # "+7d" in the README's examples works whatever day they are run.
    today = date(2026, 12, 5)
    assert parse_travel_date("+7d", today) == date(2026, 12, 12)
    assert parse_travel_date(" +30 ", today) == date(2027, 1, 4)
    assert parse_travel_date("+0d", today) == today
