"""The hand-kept destinations without an airport (``booking/reference/data/destinations.json``)
and place resolution over them, without a database.

``vietnam-provinces`` names the provinces and their wards but has no capitals, coordinates, road
distances or climate: those are hand-kept in the data file. Province capitals are listed here by
hand too (the package has no capitals), keyed by the package's province codename, so a province it
adds or renames fails the test.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from vietnam_provinces import Province, Ward

from booking.domain.places import Gazetteer, alias_key, fold
from booking.domain.types import AirportRef, CityRef, NearestAirportRef
from booking.errors import UnknownPlace
from booking.reference import load_network
from booking.reference.network import DATA_DIR

NETWORK = load_network()
DESTINATIONS = NETWORK.destinations
RAW_CITIES: list[dict[str, Any]] = json.loads((DATA_DIR / "cities.json").read_text("utf-8"))
CITY_AIRPORTS = {code: c["slug"] for c in RAW_CITIES for code in c["airports"]}
CONDITIONS = {c["code"] for c in NETWORK.conditions}
PROVINCES = {p.codename: unicodedata.normalize("NFC", p.name) for p in Province.iter_all()}

#: The capital (administrative centre) of every province since the 2025 merger, as the place's
#: slug in our data (a city with an airport or a destination) and the name travellers type.
CAPITALS: dict[str, tuple[str, str]] = {
    "ha_noi": ("hanoi", "Hà Nội"),
    "cao_bang": ("cao-bang", "Cao Bằng"),
    "tuyen_quang": ("tuyen-quang", "Tuyên Quang"),
    "dien_bien": ("dien-bien-phu", "Điện Biên Phủ"),
    "lai_chau": ("lai-chau", "Lai Châu"),
    "son_la": ("son-la", "Sơn La"),
    "lao_cai": ("yen-bai", "Yên Bái"),
    "thai_nguyen": ("thai-nguyen", "Thái Nguyên"),
    "lang_son": ("lang-son", "Lạng Sơn"),
    "quang_ninh": ("ha-long", "Hạ Long"),
    "bac_ninh": ("bac-giang", "Bắc Giang"),
    "phu_tho": ("viet-tri", "Việt Trì"),
    "hai_phong": ("hai-phong", "Hải Phòng"),
    "hung_yen": ("hung-yen", "Hưng Yên"),
    "ninh_binh": ("ninh-binh", "Ninh Bình"),
    "thanh_hoa": ("thanh-hoa", "Thanh Hóa"),
    "nghe_an": ("vinh", "Vinh"),
    "ha_tinh": ("ha-tinh", "Hà Tĩnh"),
    "quang_tri": ("dong-hoi", "Đồng Hới"),
    "hue": ("hue", "Huế"),
    "da_nang": ("da-nang", "Đà Nẵng"),
    "quang_ngai": ("quang-ngai", "Quảng Ngãi"),
    "gia_lai": ("quy-nhon", "Quy Nhơn"),
    "khanh_hoa": ("nha-trang", "Nha Trang"),
    "dak_lak": ("buon-ma-thuot", "Buôn Ma Thuột"),
    "lam_dong": ("da-lat", "Đà Lạt"),
    "dong_nai": ("bien-hoa", "Biên Hòa"),
    "ho_chi_minh": ("ho-chi-minh-city", "Hồ Chí Minh"),
    "tay_ninh": ("tan-an", "Tân An"),
    "dong_thap": ("my-tho", "Mỹ Tho"),
    "vinh_long": ("vinh-long", "Vĩnh Long"),
    "an_giang": ("rach-gia", "Rạch Giá"),
    "can_tho": ("can-tho", "Cần Thơ"),
    "ca_mau": ("ca-mau", "Cà Mau"),
}

#: Province capitals before the merger that have no airport: each must be a destination.
FORMER_CAPITALS = (
    "Bắc Ninh", "Hải Dương", "Nam Định", "Thái Bình", "Phủ Lý", "Hưng Yên", "Vĩnh Yên",
    "Việt Trì", "Bắc Giang", "Lạng Sơn", "Cao Bằng", "Bắc Kạn", "Tuyên Quang", "Yên Bái",
    "Lào Cai", "Hà Giang", "Lai Châu", "Sơn La", "Hòa Bình", "Thái Nguyên", "Ninh Bình",
    "Hạ Long", "Hà Tĩnh", "Đông Hà", "Tam Kỳ", "Quảng Ngãi", "Kon Tum", "Gia Nghĩa",
    "Phan Rang", "Phan Thiết", "Biên Hòa", "Thủ Dầu Một", "Đồng Xoài", "Tây Ninh", "Bà Rịa",
    "Tân An", "Mỹ Tho", "Bến Tre", "Trà Vinh", "Vĩnh Long", "Cao Lãnh", "Long Xuyên",
    "Sóc Trăng", "Bạc Liêu", "Vị Thanh",
)  # fmt: skip
#: Places travellers name that have no airport.
TOURIST_PLACES = (
    "Sa Pa", "Hội An", "Hạ Long", "Mũi Né", "Phan Thiết", "Vũng Tàu", "Ninh Bình", "Hà Giang",
    "Mộc Châu", "Tam Đảo", "Mai Châu", "Lý Sơn", "Tây Ninh", "Bảo Lộc", "Châu Đốc",
)  # fmt: skip


def _gazetteer(cities: list[dict[str, Any]], destinations: list[dict[str, Any]]) -> Gazetteer:
    """A gazetteer over the data files, built the way the database rows would build it."""
    refs = [
        CityRef(c["slug"], c["name_vi"], c["name_en"], c["country"], c["timezone"],
                tuple(c["airports"]))
        for c in cities
    ] + [
        CityRef(
            d["slug"], d["name_vi"], d["name_en"], "VN", "Asia/Ho_Chi_Minh", (),
            tuple(
                NearestAirportRef(n["airport"], n["road_km"], round(n["road_hours"] * 60), rank)
                for rank, n in enumerate(d["nearest"], start=1)
            ),
            d["province"],
        )
        for d in destinations
    ]  # fmt: skip
    airports = [
        AirportRef(code, code, c["slug"], c["timezone"]) for c in cities for code in c["airports"]
    ]
    aliases = [(a, c["slug"]) for c in cities for a in c["aliases"]]
    aliases += [(a, d["slug"]) for d in destinations for a in d["aliases"]]
    return Gazetteer.build(refs, airports, aliases)


@pytest.fixture(scope="module")
def places() -> Gazetteer:
    return _gazetteer(NETWORK.cities, DESTINATIONS)


def _spellings(place: dict[str, Any]) -> list[str]:
    return [place["name_vi"], place["name_en"], *place["aliases"]]


class TestDataFile:
    def test_slugs_are_unique_and_not_cities(self) -> None:
        slugs = [d["slug"] for d in DESTINATIONS]
        assert len(slugs) == len(set(slugs))
        assert not set(slugs) & {c["slug"] for c in RAW_CITIES}
        assert all(re.fullmatch(r"[a-z0-9-]{2,64}", s) for s in slugs)

    @pytest.mark.parametrize("place", DESTINATIONS, ids=lambda d: d["slug"])
    def test_twelve_sane_climate_rows_with_a_source(self, place: dict[str, Any]) -> None:
        assert len(place["climate"]) == 12
        for tmin, tmax, humidity, precip, wind, condition in place["climate"]:
            assert -5 <= tmin <= tmax <= 40
            assert 0 <= humidity <= 100
            assert 0 <= precip <= 100
            assert 0 <= wind <= 60
            assert condition in CONDITIONS
        assert "station" in place["climate_source"]
        assert "1991–2020" in place["climate_source"]

    @pytest.mark.parametrize("place", DESTINATIONS, ids=lambda d: d["slug"])
    def test_nearest_airports_exist_with_realistic_roads(self, place: dict[str, Any]) -> None:
        nearest = place["nearest"]
        assert 1 <= len(nearest) <= 2
        assert len({n["airport"] for n in nearest}) == len(nearest)
        for near in nearest:
            assert near["airport"] in CITY_AIRPORTS
            # Between 15 and 80 km/h on average: Vietnamese roads, mountains to expressways.
            assert 0 < near["road_km"] <= 400
            assert 15 <= near["road_km"] / near["road_hours"] <= 80

    @pytest.mark.parametrize("place", DESTINATIONS, ids=lambda d: d["slug"])
    def test_in_vietnam_and_in_a_current_province(self, place: dict[str, Any]) -> None:
        assert 8.0 <= place["latitude"] <= 23.5
        assert 102.0 <= place["longitude"] <= 110.0
        assert place["province"] in PROVINCES.values()

    def test_province_agrees_with_the_package_wards_of_the_same_name(self) -> None:
        # Since July 2025 many places are wards or communes of the same name ("Phường Sa Pa").
        # Tuyên Quang city's wards were renamed; the only "Tuyên Quang" left is a commune of the
        # same name in Lâm Đồng.
        homonyms = {"tuyen-quang"}
        wards: dict[str, set[str]] = {}
        names = {p.code: unicodedata.normalize("NFC", p.name) for p in Province.iter_all()}
        for ward in Ward.iter_all():
            name = re.sub(r"^(Phường|Xã|Đặc khu)\s+", "", unicodedata.normalize("NFC", ward.name))
            wards.setdefault(fold(name), set()).add(names[ward.province_code])
        checked = 0
        for place in DESTINATIONS:
            provinces = wards.get(fold(place["name_vi"]))
            if provinces and place["slug"] not in homonyms:
                checked += 1
                assert place["province"] in provinces, place["slug"]
        assert checked >= 30

    def test_highland_places_are_cold_in_winter(self) -> None:
        by_slug = {d["slug"]: d for d in DESTINATIONS}
        hanoi = next(c for c in RAW_CITIES if c["slug"] == "hanoi")
        for slug in ("sa-pa", "tam-dao", "moc-chau"):
            january = by_slug[slug]["climate"][0]
            assert january[1] <= 17, slug
            assert january[0] < hanoi["climate"][0][0] - 4, slug


class TestSpellings:
    def test_no_spelling_means_two_places(self) -> None:
        owners: dict[str, str] = {}
        for place in [*NETWORK.cities, *DESTINATIONS]:
            for text in _spellings(place):
                key = alias_key(text)
                assert owners.setdefault(key, place["slug"]) == place["slug"], (text, owners[key])

    def test_no_short_or_airport_code_aliases(self) -> None:
        for place in DESTINATIONS:
            for text in _spellings(place):
                key = alias_key(text)
                assert len(key) > 3, text
                assert key.upper() not in CITY_AIRPORTS, text

    def test_only_stand_ins_are_handed_over_from_cities(self) -> None:
        # A spelling cities.json kept under the city whose airport serves the place ("Hội An"
        # under Đà Nẵng) moves to the destination; no other city loses one.
        claimed = {alias_key(t): d for d in DESTINATIONS for t in _spellings(d)}
        kept = {c["slug"]: c["aliases"] for c in NETWORK.cities}
        moved = 0
        for city in RAW_CITIES:
            for alias in city["aliases"]:
                if alias in kept[city["slug"]]:
                    continue
                place = claimed[alias_key(alias)]
                serving = {CITY_AIRPORTS[n["airport"]] for n in place["nearest"]}
                assert city["slug"] in serving, (alias, city["slug"], place["slug"])
                moved += 1
        assert moved >= 5


class TestCoverage:
    def test_capitals_cover_every_current_province(self) -> None:
        assert set(CAPITALS) == set(PROVINCES)

    @pytest.mark.parametrize("codename", sorted(CAPITALS))
    def test_every_province_capital_is_a_place(self, places: Gazetteer, codename: str) -> None:
        slug, name = CAPITALS[codename]
        assert places.resolve(name).city.slug == slug
        place = next((d for d in DESTINATIONS if d["slug"] == slug), None)
        if place is not None:
            assert place["province"] == PROVINCES[codename]

    @pytest.mark.parametrize("name", FORMER_CAPITALS + TOURIST_PLACES)
    def test_former_capitals_and_tourist_places_are_destinations(
        self, places: Gazetteer, name: str
    ) -> None:
        place = places.resolve(name)
        assert place.airports == ()
        assert place.city.nearest

    def test_con_son_is_the_con_dao_airport(self, places: Gazetteer) -> None:
        assert places.resolve("Côn Sơn").city.airports == ("VCS",)


class TestResolution:
    @pytest.mark.parametrize(
        ("typed", "slug"),
        [
            ("Sa Pa", "sa-pa"),
            ("sapa", "sa-pa"),
            ("SAPA", "sa-pa"),
            ("Sa-pa", "sa-pa"),
            ("thị xã Sa Pa", "sa-pa"),
            ("Hội An", "hoi-an"),
            ("hoian", "hoi-an"),
            ("Hoi An Ancient Town", "hoi-an"),
            ("Halong Bay", "ha-long"),
            ("vịnh Hạ Long", "ha-long"),
            ("vung tau", "vung-tau"),
            ("Vungtau", "vung-tau"),
            ("thành phố Vũng Tàu", "vung-tau"),
            ("Mui Ne", "mui-ne"),
            ("Ninh Binh", "ninh-binh"),
            ("Tràng An", "ninh-binh"),
            ("Ly Son", "ly-son"),
        ],
    )
    def test_every_way_people_type_a_destination(
        self, places: Gazetteer, typed: str, slug: str
    ) -> None:
        place = places.resolve(typed)
        assert place.city.slug == slug
        assert place.airports == ()
        assert place.via is None

    def test_the_airport_city_keeps_its_own_names(self, places: Gazetteer) -> None:
        assert places.resolve("Đà Nẵng").city.airports == ("DAD",)
        assert places.resolve("Bà Nà").city.airports == ("DAD",)
        assert places.resolve("Vân Đồn").city.airports == ("VDO",)

    def test_airport_options_are_the_nearest_airports_by_rank(self, places: Gazetteer) -> None:
        options = places.airport_options(places.resolve("Hạ Long"))
        assert [o.airports[0].iata for o in options] == ["VDO", "HPH"]
        via = options[0].via
        assert via is not None
        assert (via.place_vi, via.airport.iata, via.road_km) == ("Hạ Long", "VDO", 50)

    def test_a_city_with_an_airport_is_its_own_option(self, places: Gazetteer) -> None:
        hanoi = places.resolve("Hà Nội")
        assert places.airport_options(hanoi) == [hanoi]

    def test_suggestions_name_the_nearest_airport(self, places: Gazetteer) -> None:
        with pytest.raises(UnknownPlace) as caught:
            places.resolve("Sapaland")
        assert caught.value.details["suggestions"] == ["Sa Pa (near HAN)"]


class TestSuggestions:
    def test_an_unrelated_city_is_not_suggested(self) -> None:
        # Before destinations, "Sapa" suggested Osaka (score 67, another first letter).
        osaka_only = _gazetteer([c for c in NETWORK.cities if c["slug"] == "osaka"], [])
        with pytest.raises(UnknownPlace) as caught:
            osaka_only.resolve("Sapa")
        assert caught.value.details["suggestions"] == []

    def test_a_close_spelling_with_another_first_letter_is_suggested(
        self, places: Gazetteer
    ) -> None:
        with pytest.raises(UnknownPlace) as caught:
            places.resolve("Xapa")
        assert caught.value.details["suggestions"] == ["Sa Pa (near HAN)"]

    def test_a_weaker_match_sharing_the_first_letter_is_suggested(self, places: Gazetteer) -> None:
        with pytest.raises(UnknownPlace) as caught:
            places.resolve("Mui")
        assert caught.value.details["suggestions"] == ["Mũi Né (near SGN, CXR)"]

    def test_nothing_close_suggests_nothing(self, places: Gazetteer) -> None:
        with pytest.raises(UnknownPlace) as caught:
            places.resolve("Atlantis")
        assert caught.value.details["suggestions"] == []
