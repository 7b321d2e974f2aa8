"""Places without an airport over HTTP: search through the nearest airport, their own weather,
autocomplete, and problem+json errors with stable codes."""

from __future__ import annotations

import pytest

from tests.support.api import assert_problem
from tests.support.in_process import InProcessApp

SEARCH = "/v1/flights/search"
DATE = "2026-06-15"


class TestSearch:
    def test_to_a_place_without_an_airport(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get(
                SEARCH, params={"from_city": "SGN", "to_city": "Sa Pa", "date": DATE}
            )
        assert response.status_code == 200, response.text
        body = response.json()
        to = body["query"]["to"]
        assert to["city"] == "Sa Pa"
        assert to["via"]["airport"] == "HAN"
        assert to["via"]["road_km"] == 315
        assert to["via"]["road_hours"] == 5.0
        assert body["query"]["from"]["via"] is None
        assert body["flights"]
        assert all(f["destination"] == "HAN" for f in body["flights"])

    def test_from_a_place_without_an_airport(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get(
                SEARCH, params={"from_city": "Hoi An", "to_city": "Hà Nội", "date": DATE}
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["query"]["from"]["via"]["airport"] == "DAD"
        assert all(f["origin"] == "DAD" for f in body["flights"])

    def test_same_place_is_a_problem(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            problem = assert_problem(
                client.get(
                    SEARCH, params={"from_city": "Hội An", "to_city": "Đà Nẵng", "date": DATE}
                ),
                422,
                "same_place",
            )
        assert problem["airports"] == ["DAD"]

    def test_unknown_place_suggests_only_close_places(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            problem = assert_problem(
                client.get(SEARCH, params={"from_city": "SGN", "to_city": "Xapa", "date": DATE}),
                422,
                "unknown_place",
            )
        assert problem["suggestions"] == ["Sa Pa (near HAN)"]


class TestBounds:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("max_price", "10000000000000000000000"),
            ("max_price", "1000000001"),
            ("max_price", "0"),
            ("passengers", "10"),
            ("passengers", "0"),
            ("limit", "51"),
        ],
    )
    def test_numbers_out_of_bounds_are_422(
        self, server: InProcessApp, key: str, name: str, value: str
    ) -> None:
        params = {"from_city": "SGN", "to_city": "Sa Pa", "date": DATE, name: value}
        with server.client(key) as client:
            problem = assert_problem(client.get(SEARCH, params=params), 422, "validation_failed")
        assert [e["loc"][-1] for e in problem["errors"]] == [name]

    def test_the_highest_max_price_is_accepted(self, server: InProcessApp, key: str) -> None:
        params = {"from_city": "SGN", "to_city": "Sa Pa", "date": DATE, "max_price": "1000000000"}
        with server.client(key) as client:
            response = client.get(SEARCH, params=params)
        assert response.status_code == 200, response.text


class TestWeather:
    def test_a_place_without_an_airport_has_its_own(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            sapa = client.get("/v1/weather", params={"city": "Sa Pa", "date": "2027-01-15"})
            hanoi = client.get("/v1/weather", params={"city": "Hà Nội", "date": "2027-01-15"})
        assert sapa.status_code == 200, sapa.text
        body = sapa.json()
        assert body["place"]["city"] == "Sa Pa"
        assert body["place"]["airports"] == []
        assert body["is_climate_normal"] is True
        assert body["temp_max_c"] <= 15
        assert body["temp_max_c"] < hanoi.json()["temp_max_c"]


class TestPlaces:
    def test_autocomplete_lists_the_nearest_airport(self, server: InProcessApp, key: str) -> None:
        with server.client(key) as client:
            response = client.get("/v1/places", params={"q": "sapa"})
        assert response.status_code == 200, response.text
        sapa = next(item for item in response.json()["items"] if item["city"] == "Sa Pa")
        assert sapa["airports"] == []
        assert [a["iata"] for a in sapa["nearest_airports"]] == ["HAN"]
