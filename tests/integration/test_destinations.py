"""Destinations without an airport against the seeded PostgreSQL: rows, search through the nearest
airport, their own weather, and the errors around them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.tools import InvalidToolArguments
from booking.db.models import City, ClimateNormal, NearestAirport, PlaceAlias, WeatherDaily
from booking.domain.dates import FixedClock
from booking.domain.flights import search_flights
from booking.domain.places import Gazetteer
from booking.domain.search_request import SearchRequest
from booking.domain.types import SearchResult
from booking.domain.weather import get_weather
from booking.errors import SameOriginDestination, SamePlace, UnknownPlace, ValidationFailed
from booking.reference import load_network
from tests.conftest import TEST_NOW, TEST_SEED, TEST_TODAY

DAY = TEST_TODAY + timedelta(days=14)
JANUARY = date(TEST_TODAY.year + 1, 1, 15)


async def _search(
    session: AsyncSession, places: Gazetteer, from_city: str, to_city: str, **kwargs: Any
) -> SearchResult:
    # Not validated by the model: these tests are about the domain, and its checks are the ones
    # that refuse (a huge max_price, say).
    request = SearchRequest.model_construct(
        from_city=from_city, to_city=to_city, date=DAY.isoformat(), **kwargs
    )
    return await search_flights(session, places, TEST_TODAY, request)


class TestSeeded:
    async def test_every_destination_is_a_city_with_nearest_airports(
        self, session: AsyncSession
    ) -> None:
        destinations = load_network().destinations
        rows = (
            await session.execute(
                select(City.slug, func.count(NearestAirport.airport_iata))
                .join(NearestAirport, NearestAirport.city_slug == City.slug)
                .group_by(City.slug)
            )
        ).all()
        assert dict(rows) == {d["slug"]: len(d["nearest"]) for d in destinations}

    async def test_sa_pa_row(self, session: AsyncSession) -> None:
        sapa = await session.get(City, "sa-pa")
        assert sapa is not None
        assert (sapa.name_vi, sapa.province, sapa.country) == ("Sa Pa", "Lào Cai", "VN")
        assert sapa.latitude is not None
        assert 22 < sapa.latitude < 23
        nearest = (
            await session.scalars(select(NearestAirport).where(NearestAirport.city_slug == "sa-pa"))
        ).all()
        assert [(n.airport_iata, n.rank, n.road_km, n.road_minutes) for n in nearest] == [
            ("HAN", 1, 315, 300)
        ]

    async def test_climate_normals_aliases_and_daily_weather(self, session: AsyncSession) -> None:
        months = await session.scalar(
            select(func.count()).where(ClimateNormal.city_slug == "tam-dao")
        )
        days = await session.scalar(select(func.count()).where(WeatherDaily.city_slug == "tam-dao"))
        spellings = set(
            (
                await session.scalars(
                    select(PlaceAlias.key).where(PlaceAlias.city_slug == "hoi-an")
                )
            ).all()
        )
        assert months == 12
        assert days == TEST_SEED.days
        assert {"hoian", "hoianancienttown"} <= spellings

    async def test_the_airport_city_no_longer_claims_the_destination(
        self, session: AsyncSession
    ) -> None:
        owners = (
            await session.scalars(select(PlaceAlias.city_slug).where(PlaceAlias.key == "hoian"))
        ).all()
        assert owners == ["hoi-an"]


class TestSearchThroughNearestAirport:
    async def test_to_sa_pa_flies_to_hanoi(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "SGN", "Sa Pa")
        assert result.offers, result.message
        assert {o.destination for o in result.offers} == {"HAN"}
        to = result.to_dict()["query"]["to"]
        assert to["city"] == "Sa Pa"
        assert [a["iata"] for a in to["airports"]] == ["HAN"]
        assert to["via"] == {
            "place_vi": "Sa Pa",
            "place_en": "Sa Pa",
            "airport": "HAN",
            "airport_city": "Hà Nội",
            "airport_city_en": "Hanoi",
            "road_km": 315,
            "road_hours": 5.0,
        }
        assert result.to_dict()["query"]["from"]["via"] is None

    async def test_from_sa_pa_flies_from_hanoi(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "sapa", "Sài Gòn")
        assert {o.origin for o in result.offers} == {"HAN"}
        assert {o.destination for o in result.offers} == {"SGN"}
        assert result.query.origin.via is not None
        assert result.query.origin.via.airport.iata == "HAN"
        assert result.query.destination.via is None

    async def test_to_hoi_an_flies_to_da_nang(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "Hà Nội", "Hội An")
        assert result.offers, result.message
        assert {(o.origin, o.destination) for o in result.offers} == {("HAN", "DAD")}
        via = result.to_dict()["query"]["to"]["via"]
        assert (via["airport"], via["road_km"]) == ("DAD", 30)

    async def test_both_ends_without_an_airport(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "Sa Pa", "Mũi Né")
        assert {(o.origin, o.destination) for o in result.offers} == {("HAN", "SGN")}
        query = result.to_dict()["query"]
        assert query["from"]["via"]["airport"] == "HAN"
        assert query["to"]["via"]["airport"] == "SGN"

    async def test_rank_one_airport_first(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "SGN", "Hạ Long")
        assert {o.destination for o in result.offers} == {"VDO"}

    async def test_falls_back_to_the_next_airport_with_flights(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        # Nobody flies Đà Nẵng - Vân Đồn; Hạ Long's second airport, Hải Phòng, has flights.
        result = await _search(session, gazetteer, "Đà Nẵng", "Hạ Long")
        assert result.offers, result.message
        assert {o.destination for o in result.offers} == {"HPH"}
        assert result.to_dict()["query"]["to"]["via"]["airport"] == "HPH"

    async def test_no_route_names_the_airports_tried_and_the_drive(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "Sài Gòn", "Trà Vinh")
        assert result.reason == "no_route"
        assert result.message is not None
        assert "Trà Vinh (via VCA)" in result.message
        assert "by road from Thành phố Hồ Chí Minh (SGN)" in result.message

    async def test_filters_apply_through_the_nearest_airport(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "SGN", "Sa Pa", max_price=1000)
        assert result.reason == "no_match_filters"
        assert result.query.destination.via is not None
        assert "Sa Pa (via HAN)" in (result.message or "")


class TestSamePlace:
    @pytest.mark.parametrize(
        ("origin", "destination"),
        [("Hội An", "Đà Nẵng"), ("Đà Nẵng", "Hoi An"), ("Sa Pa", "Lào Cai"), ("HAN", "Ninh Bình")],
    )
    async def test_places_sharing_their_airport_are_refused(
        self, session: AsyncSession, gazetteer: Gazetteer, origin: str, destination: str
    ) -> None:
        with pytest.raises(SamePlace) as caught:
            await _search(session, gazetteer, origin, destination)
        assert caught.value.code == "same_place"
        assert caught.value.status == 422
        assert "no flight" in caught.value.message

    async def test_the_very_same_city_keeps_its_code(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        with pytest.raises(SameOriginDestination) as caught:
            await _search(session, gazetteer, "Sa Pa", "sapa")
        assert caught.value.code == "same_origin_destination"


class TestWeather:
    async def test_sa_pa_has_its_own_weather(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        day = (TEST_TODAY + timedelta(days=3)).isoformat()
        sapa = await get_weather(session, gazetteer, TEST_TODAY, city="Sa Pa", date=day)
        hanoi = await get_weather(session, gazetteer, TEST_TODAY, city="Hà Nội", date=day)
        assert sapa.place.city.slug == "sa-pa"
        assert sapa.place.airports == ()
        assert not sapa.is_climate_normal
        # June in the mountains is far cooler than in the delta.
        assert sapa.temp_max_c < hanoi.temp_max_c - 4

    async def test_sa_pa_is_cold_in_january(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        sapa = await get_weather(
            session, gazetteer, TEST_TODAY, city="Sa Pa", date=JANUARY.isoformat()
        )
        hanoi = await get_weather(
            session, gazetteer, TEST_TODAY, city="Hà Nội", date=JANUARY.isoformat()
        )
        assert sapa.is_climate_normal
        assert sapa.temp_max_c <= 15
        assert sapa.temp_min_c <= 8
        assert sapa.temp_max_c < hanoi.temp_max_c

    async def test_hoi_an_is_not_da_nang(self, session: AsyncSession, gazetteer: Gazetteer) -> None:
        forecast = await get_weather(session, gazetteer, TEST_TODAY, city="Hoi An")
        assert forecast.place.city.name_vi == "Hội An"
        assert forecast.to_dict()["place"]["via"] is None


class TestUnknownPlaces:
    @pytest.mark.parametrize(
        ("typed", "suggestions"),
        [
            ("Xapa", ["Sa Pa (near HAN)"]),
            ("Mui", ["Mũi Né (near SGN, CXR)"]),
            ("Atlantis", []),
        ],
    )
    async def test_suggestions_are_only_close_ones(
        self, session: AsyncSession, gazetteer: Gazetteer, typed: str, suggestions: list[str]
    ) -> None:
        with pytest.raises(UnknownPlace) as caught:
            await _search(session, gazetteer, "SGN", typed)
        assert caught.value.details["suggestions"] == suggestions

    async def test_sa_pa_is_no_longer_taken_for_osaka(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        result = await _search(session, gazetteer, "SGN", "Sa Pa")
        assert result.query.destination.city.slug == "sa-pa"


class TestBounds:
    async def test_huge_max_price_is_refused_by_the_domain(
        self, session: AsyncSession, gazetteer: Gazetteer
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            await _search(session, gazetteer, "SGN", "HAN", max_price=10**19)
        assert caught.value.code == "validation_failed"


@pytest.fixture
def ctx(engine: AsyncEngine, gazetteer: Gazetteer) -> ToolContext:
    return ToolContext(
        async_sessionmaker(engine, expire_on_commit=False), gazetteer, FixedClock(TEST_NOW)
    )


class TestTools:
    @pytest.mark.parametrize(
        ("argument", "value"),
        [("max_price", 10**19), ("max_price", 0), ("passengers", 10), ("limit", 51)],
    )
    def test_out_of_bounds_numbers_are_validation_errors(self, argument: str, value: int) -> None:
        tool = default_registry().get("search_flights")
        assert tool is not None
        arguments = {"from_city": "SGN", "to_city": "HAN", "date": DAY.isoformat(), argument: value}
        with pytest.raises(InvalidToolArguments) as caught:
            tool.validate(arguments)
        assert [e["loc"][0] for e in caught.value.errors] == [argument]

    def test_schema_states_the_bounds(self) -> None:
        tool = default_registry().get("search_flights")
        assert tool is not None
        props = tool.schema()["function"]["parameters"]["properties"]
        assert (props["passengers"]["minimum"], props["passengers"]["maximum"]) == (1, 9)
        assert (props["limit"]["minimum"], props["limit"]["maximum"]) == (1, 50)
        assert props["max_price"]["anyOf"][0]["maximum"] == 1_000_000_000
        assert "without an airport" in tool.description

    async def test_tool_searches_a_place_without_an_airport(self, ctx: ToolContext) -> None:
        tool = default_registry().get("search_flights")
        assert tool is not None
        arguments = tool.validate(
            {"from_city": "Sài Gòn", "to_city": "Hội An", "date": DAY.isoformat(), "limit": 3}
        )
        result = await tool.invoke(ctx, arguments)
        assert result["query"]["to"]["via"]["airport"] == "DAD"
        assert result["flights"]
        assert all(f["destination"] == "DAD" for f in result["flights"])

    async def test_weather_tool_answers_for_the_place(self, ctx: ToolContext) -> None:
        tool = default_registry().get("get_weather")
        assert tool is not None
        result = await tool.invoke(ctx, tool.validate({"city": "Tam Đảo"}))
        assert result["place"]["city"] == "Tam Đảo"
        assert result["place"]["airports"] == []
