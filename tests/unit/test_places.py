"""Place resolution over the real hand-kept place data, without a database."""

from __future__ import annotations

import pytest

from booking.domain.places import AirlineRef, Gazetteer, alias_key, fold
from booking.domain.types import AirportRef, CityRef
from booking.errors import AmbiguousPlace, UnknownAirline, UnknownPlace
from booking.reference import load_network


@pytest.fixture(scope="module")
def places() -> Gazetteer:
    network = load_network()
    cities = [
        CityRef(
            c["slug"], c["name_vi"], c["name_en"], c["country"], c["timezone"], tuple(c["airports"])
        )
        for c in network.cities
    ]
    airports = [
        AirportRef(iata, iata, c["slug"], c["timezone"])
        for c in network.cities
        for iata in c["airports"]
    ]
    aliases = [(alias, c["slug"]) for c in network.cities for alias in c["aliases"]]
    airlines = [AirlineRef(a["code"], a["name"]) for a in network.airlines]
    return Gazetteer.build(cities, airports, aliases, airlines)


class TestFold:
    def test_drops_diacritics_and_d_stroke(self) -> None:
        assert fold("Đà Nẵng") == "da nang"

    def test_punctuation_becomes_single_spaces(self) -> None:
        assert fold("  TP.HCM ") == "tp hcm"

    def test_alias_key_ignores_spacing(self) -> None:
        assert alias_key("Hà Nội") == alias_key("hanoi") == alias_key("HA  NOI")


@pytest.mark.parametrize(
    ("typed", "city_code"),
    [
        ("Sài Gòn", "SGN"),
        ("sai gon", "SGN"),
        ("Saigon", "SGN"),
        ("TP.HCM", "SGN"),
        ("TP HCM", "SGN"),
        ("HCM", "SGN"),
        ("Ho Chi Minh City", "SGN"),
        ("thành phố Hồ Chí Minh", "SGN"),
        ("Hà Nội", "HAN"),
        ("Ha Noi", "HAN"),
        ("hanoi", "HAN"),
        ("HANOI", "HAN"),
        ("Đà Nẵng", "DAD"),
        ("Da Nang", "DAD"),
        ("danang", "DAD"),
        ("Phú Quốc", "PQC"),
        ("phu quoc", "PQC"),
        ("Nha Trang", "CXR"),
        ("Huế", "HUI"),
        ("hue", "HUI"),
        ("Đà Lạt", "DLI"),
        ("Bangkok", "BKK"),
        ("Singapore", "SIN"),
        ("Seoul", "ICN"),
    ],
)
def test_resolves_the_ways_people_type_cities(
    places: Gazetteer, typed: str, city_code: str
) -> None:
    place = places.resolve(typed)
    assert city_code in place.city.airports
    assert city_code in [a.iata for a in place.airports]


def test_upper_case_iata_code_means_that_airport_only(places: Gazetteer) -> None:
    place = places.resolve("DMK")
    assert [a.iata for a in place.airports] == ["DMK"]
    assert place.matched_by == "iata"


def test_lower_case_iata_code_resolves_too(places: Gazetteer) -> None:
    assert places.resolve("sgn").city.airports == ("SGN",)


def test_city_with_two_airports_searches_both(places: Gazetteer) -> None:
    assert {a.iata for a in places.resolve("Tokyo").airports} == {"NRT", "HND"}


def test_filler_words_are_ignored(places: Gazetteer) -> None:
    assert places.resolve("sân bay Đà Nẵng").city.airports == ("DAD",)


@pytest.mark.parametrize("typo", ["Ha Nooi", "Da Nangg", "Sai Gonn", "Phu Quocc"])
def test_small_typos_resolve_by_fuzzy_match(places: Gazetteer, typo: str) -> None:
    place = places.resolve(typo)
    assert place.matched_by == "fuzzy"
    assert place.confidence >= 0.86


def test_unknown_place_raises_with_suggestions(places: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as caught:
        places.resolve("Hanoy City Xyz")
    assert caught.value.code == "unknown_place"
    assert "suggestions" in caught.value.details


def test_gibberish_has_no_suggestions(places: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as caught:
        places.resolve("qqqqqqqqzz")
    assert caught.value.details["suggestions"] == []


def test_empty_input_is_unknown(places: Gazetteer) -> None:
    with pytest.raises(UnknownPlace):
        places.resolve("   ")


def test_alias_shared_by_two_cities_is_ambiguous() -> None:
    cities = [
        CityRef("a", "Alpha", "Alpha", "VN", "Asia/Ho_Chi_Minh", ("AAA",)),
        CityRef("b", "Beta", "Beta", "VN", "Asia/Ho_Chi_Minh", ("BBB",)),
    ]
    airports = [
        AirportRef("AAA", "A", "a", "Asia/Ho_Chi_Minh"),
        AirportRef("BBB", "B", "b", "Asia/Ho_Chi_Minh"),
    ]
    places = Gazetteer.build(cities, airports, [("Twin", "a"), ("Twin", "b")])
    with pytest.raises(AmbiguousPlace) as caught:
        places.resolve("twin")
    assert len(caught.value.details["candidates"]) == 2


def test_sql_looking_text_is_just_an_unknown_place(places: Gazetteer) -> None:
    with pytest.raises(UnknownPlace):
        places.resolve("'; DROP TABLE flights; --")


class TestAirlines:
    @pytest.mark.parametrize(
        ("typed", "code"), [("VJ", "VJ"), ("vietjet", "VJ"), ("Vietnam Airlines", "VN")]
    )
    def test_resolves_code_or_name(self, places: Gazetteer, typed: str, code: str) -> None:
        assert places.resolve_airline(typed).code == code

    def test_unknown_airline_lists_known_ones(self, places: Gazetteer) -> None:
        with pytest.raises(UnknownAirline) as caught:
            places.resolve_airline("Pan Am")
        assert "VN" in caught.value.message
