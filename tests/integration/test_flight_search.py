"""search_flights against the seeded PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Fare, Flight
from booking.domain.flights import cabin_named, search_flights, sort_named
from booking.domain.places import Gazetteer
from booking.domain.search_request import SearchRequest
from booking.errors import (
    DateBeyondHorizon,
    DateInPast,
    InvalidPassengers,
    InvalidSort,
    SameOriginDestination,
    UnknownCabin,
    UnknownPlace,
)
from tests.conftest import TEST_SEED, TEST_TODAY

DAY = TEST_TODAY + timedelta(days=14)


def _request(*, checked: bool = True, **kwargs: Any) -> SearchRequest:
    """SGN to Hà Nội on DAY with ``kwargs`` changed. ``checked=False`` skips the model's own
    validation, so that the domain's checks are the ones that refuse."""
    args: dict[str, Any] = {"from_city": "SGN", "to_city": "Hà Nội", "date": DAY.isoformat()}
    args.update(kwargs)
    return SearchRequest.model_validate(args) if checked else SearchRequest.model_construct(**args)


async def _search(session: AsyncSession, places: Gazetteer, **kwargs: Any):  # type: ignore[no-untyped-def]
    return await search_flights(session, places, TEST_TODAY, _request(**kwargs))


class TestSearchFlights:
    async def test_finds_flights_on_the_busiest_route(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer)
        assert result.reason is None
        assert len(result.offers) == 10
        assert result.total_matches > 10
        assert result.query.origin.city.airports == ("SGN",)
        assert {o.origin for o in result.offers} == {"SGN"}
        assert {o.destination for o in result.offers} == {"HAN"}

    async def test_sorted_by_price_then_departure(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        offers = (await _search(session, gazetteer)).offers
        assert [o.price_vnd for o in offers] == sorted(o.price_vnd for o in offers)

    async def test_sort_by_departure(self, session: AsyncSession, gazetteer: Gazetteer) -> None:
        offers = (await _search(session, gazetteer, sort="departure", limit=50)).offers
        assert [o.departs_at for o in offers] == sorted(o.departs_at for o in offers)

    async def test_times_are_local_to_each_airport(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        offer = (await _search(session, gazetteer)).offers[0]
        assert offer.departs_at.utcoffset() == timedelta(hours=7)
        assert offer.departs_at.date() == DAY
        assert offer.duration_minutes == (offer.arrives_at - offer.departs_at).total_seconds() // 60

    async def test_international_arrival_in_destination_zone(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, from_city="Hà Nội", to_city="Seoul")
        assert result.offers, result.message
        assert result.offers[0].arrives_at.utcoffset() == timedelta(hours=9)

    async def test_total_is_price_times_passengers(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        offers = (await _search(session, gazetteer, passengers=3)).offers
        assert all(o.total_vnd == 3 * o.price_vnd and o.seats_left >= 3 for o in offers)

    async def test_prices_are_whole_vnd(self, session: AsyncSession, gazetteer: Gazetteer) -> None:
        offers = (await _search(session, gazetteer)).offers
        assert all(isinstance(o.price_vnd, int) and o.price_vnd % 1000 == 0 for o in offers)

    async def test_business_costs_more_than_economy(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        eco = (await _search(session, gazetteer, airline="VN", sort="departure")).offers[0]
        biz = (
            await _search(session, gazetteer, airline="VN", cabin="business", sort="departure")
        ).offers[0]
        assert eco.flight_id == biz.flight_id
        assert biz.price_vnd > eco.price_vnd

    async def test_filters_price_time_and_airline(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        cap = 2_000_000
        result = await _search(
            session,
            gazetteer,
            max_price=cap,
            depart_after="12:00",
            depart_before="20h",
            airline="vietjet",
        )
        assert result.offers
        for o in result.offers:
            assert o.price_vnd <= cap
            assert o.airline_code == "VJ"
            assert 12 <= o.departs_at.hour <= 20

    async def test_passenger_count_outside_1_to_9_is_refused(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        with pytest.raises(ValidationError):
            _request(passengers=10)
        with pytest.raises(InvalidPassengers):
            await search_flights(
                session, gazetteer, TEST_TODAY, _request(checked=False, passengers=10)
            )

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"date": (TEST_TODAY - timedelta(days=1)).isoformat()}, DateInPast),
            ({"date": (TEST_TODAY + timedelta(days=400)).isoformat()}, DateBeyondHorizon),
            ({"to_city": "Saigon"}, SameOriginDestination),
            ({"cabin": "first"}, UnknownCabin),
            ({"to_city": "Atlantis"}, UnknownPlace),
        ],
    )
    async def test_bad_input_raises_typed_error(
        self,
        session: AsyncSession,
        gazetteer: Gazetteer,
        kwargs: dict[str, object],
        error: type[Exception],
    ) -> None:
        with pytest.raises(error):
            await search_flights(session, gazetteer, TEST_TODAY, _request(checked=False, **kwargs))

    def test_cabins_and_sorts_by_name(self) -> None:
        assert cabin_named(" Thương gia ") == cabin_named("business") == "business"
        assert cabin_named("eco") == cabin_named("phổ thông") == "economy"
        assert sort_named("departure") == "departure"
        with pytest.raises(UnknownCabin):
            cabin_named("first")
        with pytest.raises(InvalidSort):
            sort_named("cheapest")


class TestNothingMatches:
    async def test_sold_out_day_names_nearest_dates(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        day_flights = (
            await session.scalars(
                Flight.__table__.select()
                .with_only_columns(Flight.id)
                .where(
                    Flight.origin == "VCS", Flight.destination == "SGN", Flight.service_date == DAY
                )
            )
        ).all()
        assert day_flights
        await session.execute(
            update(Fare).where(Fare.flight_id.in_(day_flights)).values(seats_available=0)
        )
        result = await _search(session, gazetteer, from_city="Côn Đảo", to_city="SGN")
        assert result.offers == ()
        assert result.reason == "sold_out"
        assert result.nearest_dates
        assert abs((result.nearest_dates[0] - DAY).days) == 1

    async def test_nearest_dates_satisfy_the_same_price_and_time(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        # The day asked has nothing under the cap; the days offered instead must each have a
        # flight the traveller would take: under the cap and inside the window.
        cheap = await _search(session, gazetteer, depart_after="12:00", depart_before="18:00")
        cap = min(o.price_vnd for o in cheap.offers) - 1
        result = await _search(
            session, gazetteer, max_price=cap, depart_after="12:00", depart_before="18:00"
        )
        assert result.offers == ()
        assert result.nearest_dates
        for day in result.nearest_dates:
            there = await _search(
                session,
                gazetteer,
                date=day.isoformat(),
                max_price=cap,
                depart_after="12:00",
                depart_before="18:00",
            )
            assert there.offers, f"{day} was offered but has no flight under {cap} at 12-18"

    async def test_filters_that_exclude_everything_say_so(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, max_price=1000)
        assert result.reason == "no_match_filters"

    async def test_beyond_published_schedule(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(
            session, gazetteer, date=(TEST_TODAY + timedelta(days=200)).isoformat()
        )
        # Why nothing matched, with the schedule's last day named (the seed holds 45 days).
        last = TEST_TODAY + timedelta(days=TEST_SEED.days - 1)
        assert result.reason == "beyond_schedule"
        assert result.schedule_ends == last
        assert result.message is not None
        assert result.message.endswith(f"the schedule on sale ends on {last.isoformat()}.")
        assert result.to_dict()["schedule_ends"] == last.isoformat()
        assert result.nearest_dates == ()

    async def test_route_nobody_flies(self, session: AsyncSession, gazetteer: Gazetteer) -> None:
        result = await _search(session, gazetteer, from_city="Côn Đảo", to_city="Điện Biên")
        assert result.reason == "no_route"
