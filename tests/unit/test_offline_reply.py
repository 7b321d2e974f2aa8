"""The offline model's answers written from tool results, in Vietnamese and English."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, ClassVar

import pytest

from booking.offline_model import compose_answer, reply
from booking.offline_model.brain import respond
from booking.offline_model.understand import Outcome
from tests.unit.test_answer_language import assert_english, assert_vietnamese

TODAY = date(2026, 6, 1)


def place(code: str, name_vi: str, name_en: str) -> dict[str, Any]:
    return {
        "query": code,
        "city": name_vi,
        "city_en": name_en,
        "country": "VN",
        "airports": [{"iata": code, "name": f"{name_en} airport"}],
        "matched_by": "iata",
    }


SGN = place("SGN", "Thành phố Hồ Chí Minh", "Ho Chi Minh City")
HAN = place("HAN", "Hà Nội", "Hanoi")
DAD = place("DAD", "Đà Nẵng", "Da Nang")


def flight(
    number: str,
    departs: str,
    arrives: str,
    price: int,
    *,
    passengers: int = 1,
    seats: int = 44,
    minutes: int = 130,
) -> dict[str, Any]:
    return {
        "flight_id": 1,
        "flight_number": number,
        "airline_code": number[:2],
        "airline_name": {"VJ": "VietJet Air", "VN": "Vietnam Airlines"}.get(number[:2], "Bamboo"),
        "origin": "SGN",
        "destination": "HAN",
        "departs_at": f"2026-06-15T{departs}:00+07:00",
        "arrives_at": arrives if "T" in arrives else f"2026-06-15T{arrives}:00+07:00",
        "duration_minutes": minutes,
        "aircraft": "A321neo",
        "cabin": "economy",
        "price_vnd": price,
        "total_vnd": price * passengers,
        "seats_left": seats,
    }


def query(passengers: int = 1, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "from": SGN,
        "to": HAN,
        "date": "2026-06-15",
        "passengers": passengers,
        "cabin": "economy",
        "max_price_vnd": None,
        "depart_after": None,
        "depart_before": None,
        "airline": None,
        "sort": "price",
    }
    return {**base, **extra}


def flights_result(passengers: int = 1, **query_extra: Any) -> dict[str, Any]:
    return {
        "query": query(passengers, **query_extra),
        "flights": [
            flight("VJ123", "06:40", "08:50", 1_024_000, passengers=passengers),
            flight(
                "VN7",
                "23:10",
                "2026-06-16T01:20:00+07:00",
                1_500_000,
                passengers=passengers,
                seats=3,
            ),
        ],
        "total_matches": 55,
        "currency": "VND",
        "reason": None,
        "message": None,
        "nearest_dates": [],
    }


def no_flights(reason: str, nearest: list[str]) -> dict[str, Any]:
    return {
        "query": query(),
        "flights": [],
        "total_matches": 0,
        "currency": "VND",
        "reason": reason,
        "message": "No flights.",
        "nearest_dates": nearest,
    }


def forecast(*, normal: bool = False) -> dict[str, Any]:
    return {
        "place": DAD,
        "day": "2026-06-15",
        "condition_code": "showers",
        "condition_vi": "Mưa rào",
        "condition_en": "Showers",
        "temp_min_c": 24.5,
        "temp_max_c": 31.0,
        "humidity_pct": 80,
        "precip_prob_pct": 60,
        "wind_kph": 14.0,
        "is_climate_normal": normal,
        "note": "beyond the forecast horizon" if normal else None,
    }


def conversation(
    text: str, *results: tuple[str, dict[str, Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    """A user message, the assistant's tool calls and one tool message per call."""
    calls = [
        {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args, _) in enumerate(results)
    ]
    return [
        {"role": "user", "content": text},
        {"role": "assistant", "content": None, "tool_calls": calls},
        *(
            {"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps(content)}
            for i, (_, _, content) in enumerate(results)
        ),
    ]


SEARCH = {"from_city": "SGN", "to_city": "HAN", "date": "2026-06-15"}


class TestFlights:
    def test_vietnamese_answer_lists_flights_with_local_prices(self) -> None:
        messages = conversation(
            "vé SGN HAN 15/6 cho 2 người", ("search_flights", SEARCH, flights_result(2))
        )
        text = compose_answer(messages, "vi")
        assert "Thành phố Hồ Chí Minh (SGN) → Hà Nội (HAN)" in text
        assert "Thứ Hai, 15/06/2026" in text
        assert "2 khách" in text
        assert "hạng phổ thông" in text
        assert "**VJ123** VietJet Air · 06:40–08:50 · 2h10 · 1.024.000 ₫/khách" in text
        assert "tổng 2.048.000 ₫" in text
        assert "23:10–01:20 (+1)" in text
        assert "còn 3 chỗ" in text
        assert "Có 55 chuyến phù hợp" in text
        assert text.endswith("?")

    def test_english_answer(self) -> None:
        messages = conversation(
            "flights SGN to HAN June 15 for 2", ("search_flights", SEARCH, flights_result(2))
        )
        text = compose_answer(messages, "en")
        assert "Ho Chi Minh City (SGN) → Hanoi (HAN)" in text
        assert "Monday 15 June 2026" in text
        assert "2 passengers" in text
        assert "VND 1,024,000 per person (total VND 2,048,000)" in text
        assert "23:10–01:20 (+1)" in text
        assert "3 seats left" in text
        assert "55 flights match; here are the 2 cheapest." in text

    def test_one_passenger_shows_no_total_and_plenty_of_seats_no_warning(self) -> None:
        text = compose_answer(
            conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result(1))), "vi"
        )
        line = next(line for line in text.splitlines() if "VJ123" in line)
        assert line.endswith("1.024.000 ₫")
        assert "tổng" not in text

    def test_at_most_five_flights_are_listed(self) -> None:
        result = flights_result()
        result["flights"] = [
            flight(f"QH{n}", f"{6 + n:02d}:00", f"{8 + n:02d}:00", 900_000 + n * 1000)
            for n in range(8)
        ]
        text = compose_answer(
            conversation("SGN HAN 15/6", ("search_flights", SEARCH, result)), "en"
        )
        assert sum(line.startswith("- ") for line in text.splitlines()) == 5
        assert "here are the 5 cheapest" in text

    def test_sort_and_filters_are_described(self) -> None:
        result = flights_result(
            sort="departure", max_price_vnd=1_500_000, depart_after="05:00", depart_before="12:00"
        )
        text = compose_answer(conversation("SGN HAN", ("search_flights", SEARCH, result)), "vi")
        assert "trên đây là 2 chuyến sớm nhất." in text
        assert "Bộ lọc: giá dưới 1.500.000 ₫, khởi hành 05:00–12:00." in text

    def test_round_trip_has_both_legs(self) -> None:
        back = flights_result()
        back["query"] = {**query(), "from": HAN, "to": SGN, "date": "2026-06-20"}
        messages = conversation(
            "khứ hồi SGN HAN 15/6 về 20/6",
            ("search_flights", SEARCH, flights_result()),
            ("search_flights", {"from_city": "HAN", "to_city": "SGN", "date": "2026-06-20"}, back),
        )
        text = compose_answer(messages, "vi")
        assert "**Chiều đi:** Thành phố Hồ Chí Minh (SGN) → Hà Nội (HAN)" in text
        assert (
            "**Chiều về:** Hà Nội (HAN) → Thành phố Hồ Chí Minh (SGN) · Thứ Bảy, 20/06/2026" in text
        )
        assert text.count("Bạn muốn lọc thêm") == 1


class TestNoFlights:
    @pytest.mark.parametrize(
        ("reason", "vi", "en"),
        [
            ("no_route", "chưa có hãng nào khai thác", "No airline in our schedule flies"),
            ("no_flights_on_date", "Không có chuyến bay", "There are no flights"),
            ("sold_out", "đều đã hết chỗ", "are full"),
            ("no_match_filters", "không chuyến nào khớp", "none match"),
        ],
    )
    def test_reason_is_explained(self, reason: str, vi: str, en: str) -> None:
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, no_flights(reason, [])))
        assert vi in compose_answer(messages, "vi")
        assert en in compose_answer(messages, "en")

    def test_nearest_dates_are_offered(self) -> None:
        result = no_flights("sold_out", ["2026-06-16", "2026-06-17"])
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert "Thứ Ba, 16/06/2026; Thứ Tư, 17/06/2026" in compose_answer(messages, "vi")
        assert "Tuesday 16 June 2026; Wednesday 17 June 2026" in compose_answer(messages, "en")


class TestWeather:
    def test_forecast_in_vietnamese(self) -> None:
        messages = conversation(
            "thời tiết Đà Nẵng 15/6", ("get_weather", {"city": "DAD"}, forecast())
        )
        text = compose_answer(messages, "vi")
        assert "**Thời tiết Đà Nẵng** · Thứ Hai, 15/06/2026" in text
        assert "Mưa rào, 24–31°C." in text
        assert "Khả năng mưa 60%, độ ẩm 80%, gió 14 km/h." in text
        assert "không phải dự báo" not in text

    def test_forecast_in_english(self) -> None:
        messages = conversation(
            "weather in Da Nang June 15", ("get_weather", {"city": "DAD"}, forecast())
        )
        text = compose_answer(messages, "en")
        assert "**Weather in Da Nang** · Monday 15 June 2026" in text
        assert "Showers, 24–31°C. 60% chance of rain, humidity 80%, wind 14 km/h." in text

    def test_climate_normal_is_not_called_a_forecast(self) -> None:
        messages = conversation("weather", ("get_weather", {"city": "DAD"}, forecast(normal=True)))
        assert "thời tiết thường gặp của tháng 6" in compose_answer(messages, "vi")
        assert "không phải dự báo" in compose_answer(messages, "vi")
        assert "usual weather for June (climate normal), not a forecast" in compose_answer(
            messages, "en"
        )


class TestErrors:
    UNKNOWN: ClassVar[dict[str, Any]] = {
        "error": {
            "code": "unknown_place",
            "message": "I don't know a place called 'Atlantis'. Did you mean: Đà Lạt (DLI)?",
            "query": "Atlantis",
            "suggestions": ["Đà Lạt (DLI)"],
        }
    }

    def test_unknown_place_offers_suggestions_in_vietnamese(self) -> None:
        messages = conversation(
            "vé từ Atlantis đi Hà Nội mai",
            ("search_flights", {"from_city": "Atlantis"}, self.UNKNOWN),
        )
        text = compose_answer(messages, "vi")
        assert "Mình không tìm thấy địa điểm nào tên “Atlantis”." in text
        assert "Có phải bạn muốn nói: Đà Lạt (DLI)?" in text

    def test_unknown_place_in_english_names_places_in_english(self) -> None:
        messages = conversation(
            "from Atlantis to Hanoi", ("search_flights", {"from_city": "Atlantis"}, self.UNKNOWN)
        )
        assert compose_answer(messages, "en") == (
            "I couldn't find a place called “Atlantis”. Did you mean: Da Lat (DLI)?"
        )

    def test_ambiguous_place_lists_candidates(self) -> None:
        error = {
            "error": {
                "code": "ambiguous_place",
                "message": "'Sai' could mean several places.",
                "query": "Sai",
                "candidates": ["Thành phố Hồ Chí Minh (SGN)", "Xiêm Riệp (SAI)"],
            }
        }
        messages = conversation("vé đi Sai", ("search_flights", {"to_city": "Sai"}, error))
        text = compose_answer(messages, "vi")
        assert "Thành phố Hồ Chí Minh (SGN); Xiêm Riệp (SAI)" in text
        assert "Bạn muốn nói nơi nào?" in text
        assert "could be several places: Ho Chi Minh City (SGN); Siem Reap (SAI)." in (
            compose_answer(messages, "en")
        )

    def test_date_in_past(self) -> None:
        error = {
            "error": {
                "code": "date_in_past",
                "message": "2026-05-01 is in the past (today is 2026-06-01). Pick today or later.",
                "date": "2026-05-01",
                "today": "2026-06-01",
            }
        }
        messages = conversation("vé SGN HAN 1/5/2026", ("search_flights", SEARCH, error))
        assert compose_answer(messages, "vi") == (
            "Thứ Sáu, 01/05/2026 đã qua rồi (hôm nay là Thứ Hai, 01/06/2026). "
            "Bạn chọn một ngày từ hôm nay trở đi nhé."
        )
        assert compose_answer(messages, "en") == (
            "Friday 1 May 2026 has already passed (today is Monday 1 June 2026). "
            "Please pick today or a later date."
        )

    def test_tool_messages_never_reach_a_vietnamese_answer(self) -> None:
        error = {
            "error": {
                "code": "invalid_arguments",
                "message": "limit must be at most 50.",
                "errors": [{"loc": ["limit"], "msg": "at most 50", "type": "less_than_equal"}],
            }
        }
        messages = conversation("SGN HAN", ("search_flights", SEARCH, error))
        text = compose_answer(messages, "vi")
        assert "limit must be at most 50." not in text
        assert "số chuyến cần xem" in text
        assert_vietnamese(text)

    def test_unreadable_result_is_a_failure(self) -> None:
        messages = conversation("SGN HAN", ("search_flights", SEARCH, {}))
        messages[-1]["content"] = "Internal Server Error"
        assert "lỗi" in compose_answer(messages, "vi")


class TestCombined:
    def test_weather_and_flights_in_one_answer(self) -> None:
        messages = conversation(
            "thời tiết Đà Nẵng và vé từ Hà Nội đi đó 15/6",
            ("search_flights", {"from_city": "HAN", "to_city": "DAD"}, flights_result()),
            ("get_weather", {"city": "DAD", "date": "2026-06-15"}, forecast()),
        )
        text = compose_answer(messages, "vi")
        assert "VJ123" in text
        assert "**Thời tiết Đà Nẵng**" in text
        assert text.index("VJ123") < text.index("Thời tiết")
        assert text.endswith("chọn chuyến nào không?")

    def test_weather_answer_asks_for_the_missing_origin(self) -> None:
        messages = conversation(
            "weather in Da Nang and flights there next Friday",
            ("get_weather", {"city": "DAD", "date": "2026-06-12"}, forecast()),
        )
        text = compose_answer(messages, "en")
        assert text.startswith("**Weather in Da Nang**")
        assert text.endswith("I'll look for flights to Da Nang. Where are you flying from?")

    def test_only_the_latest_turn_is_answered(self) -> None:
        earlier = conversation("thời tiết Đà Nẵng", ("get_weather", {"city": "DAD"}, forecast()))
        earlier.append({"role": "assistant", "content": "Mưa rào."})
        latest = conversation("vé SGN HAN 15/6", ("search_flights", SEARCH, flights_result()))
        text = compose_answer([*earlier, *latest], "vi")
        assert "VJ123" in text
        assert "Thời tiết" not in text


def test_respond_answers_when_tool_results_arrive() -> None:
    messages = conversation("vé SGN HAN 15/6", ("search_flights", SEARCH, flights_result()))
    response = respond(messages, TODAY)
    assert response.calls == ()
    assert response.text is not None
    assert "1.024.000 ₫" in response.text


def test_answer_language_follows_the_user() -> None:
    messages = conversation(
        "flights SGN to HAN June 15", ("search_flights", SEARCH, flights_result())
    )
    response = respond(messages, TODAY)
    assert response.text is not None
    assert "VND 1,024,000" in response.text


# One language per answer ---------------------------------------------------------------------


def _via(place_vi: str, place_en: str, airport: str, city_vi: str, city_en: str) -> dict[str, Any]:
    return {
        "place_vi": place_vi,
        "place_en": place_en,
        "airport": airport,
        "airport_city": city_vi,
        "airport_city_en": city_en,
        "road_km": 315,
        "road_hours": 5.0,
    }


SAPA = {
    **place("HAN", "Sa Pa", "Sa Pa"),
    "query": "Sa Pa",
    "via": _via("Sa Pa", "Sa Pa", "HAN", "Hà Nội", "Hanoi"),
}

#: One answer of each kind, to be read in both languages.
SCENARIOS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "flights for two": ("search_flights", SEARCH, flights_result(2)),
    "flights for one, filtered": (
        "search_flights",
        SEARCH,
        flights_result(1, max_price_vnd=1_600_000, depart_after="05:00", airline="VJ"),
    ),
    "business class": ("search_flights", SEARCH, flights_result(1, cabin="business")),
    "no route": ("search_flights", SEARCH, no_flights("no_route", [])),
    "no flights that day": ("search_flights", SEARCH, no_flights("no_flights_on_date", [])),
    "sold out": ("search_flights", SEARCH, no_flights("sold_out", ["2026-06-16"])),
    "filtered out": (
        "search_flights",
        SEARCH,
        {
            **no_flights("no_match_filters", ["2026-06-16", "2026-06-17"]),
            "query": query(3, cabin="business", max_price_vnd=900_000, depart_before="09:00"),
        },
    ),
    "via a nearby airport": (
        "search_flights",
        SEARCH,
        {**flights_result(), "query": {**query(), "to": SAPA}},
    ),
    "weather": ("get_weather", {"city": "DAD"}, forecast()),
    "climate normal": ("get_weather", {"city": "DAD"}, forecast(normal=True)),
    "weather without a Vietnamese condition": (
        "get_weather",
        {"city": "DAD"},
        {**forecast(), "condition_vi": None},
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_answer_is_in_one_language(scenario: str) -> None:
    messages = conversation("SGN HAN 15/6", SCENARIOS[scenario])
    assert_vietnamese(compose_answer(messages, "vi"))
    assert_english(compose_answer(messages, "en"))


class TestMoney:
    def test_prices_in_both_languages(self) -> None:
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result(2)))
        vi, en = compose_answer(messages, "vi"), compose_answer(messages, "en")
        assert "1.024.000 ₫/khách (tổng 2.048.000 ₫)" in vi
        assert "VND 1,024,000 per person (total VND 2,048,000)" in en
        assert "000đ" not in vi
        assert " VND" not in vi
        assert "₫" not in en

    def test_price_filter(self) -> None:
        result = flights_result(max_price_vnd=1_500_000)
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert "Bộ lọc: giá dưới 1.500.000 ₫." in compose_answer(messages, "vi")
        assert "Filters: under VND 1,500,000." in compose_answer(messages, "en")


class TestPlurals:
    def test_one_and_two_seats_left(self) -> None:
        result = flights_result()
        result["flights"][0]["seats_left"] = 1
        result["flights"][1]["seats_left"] = 2
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        english = compose_answer(messages, "en")
        assert "1 seat left" in english
        assert "2 seats left" in english
        vietnamese = compose_answer(messages, "vi")
        assert "còn 1 chỗ" in vietnamese
        assert "còn 2 chỗ" in vietnamese

    def test_one_passenger_and_one_flight(self) -> None:
        result = flights_result()
        result["flights"] = result["flights"][:1]
        result["total_matches"] = 1
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        english = compose_answer(messages, "en")
        assert "· 1 passenger ·" in english
        assert "1 flight matches." in english
        assert "Có 1 chuyến phù hợp." in compose_answer(messages, "vi")

    def test_english_durations_read_as_hours_and_minutes(self) -> None:
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result()))
        assert "· 2h 10m ·" in compose_answer(messages, "en")
        assert "· 2h10 ·" in compose_answer(messages, "vi")


class TestWeekdays:
    FRIDAY: ClassVar[dict[str, Any]] = {**query(), "date": "2026-06-12"}

    def test_flight_answers_state_the_weekday(self) -> None:
        result = {**flights_result(), "query": self.FRIDAY}
        messages = conversation("SGN HAN thứ 6", ("search_flights", SEARCH, result))
        assert "· Thứ Sáu, 12/06/2026 ·" in compose_answer(messages, "vi")
        assert "· Friday 12 June 2026 ·" in compose_answer(messages, "en")

    def test_weather_answers_state_the_weekday(self) -> None:
        messages = conversation(
            "thời tiết Đà Nẵng thứ 6",
            ("get_weather", {"city": "DAD"}, {**forecast(), "day": "2026-06-12"}),
        )
        assert "**Thời tiết Đà Nẵng** · Thứ Sáu, 12/06/2026" in compose_answer(messages, "vi")
        assert "**Weather in Da Nang** · Friday 12 June 2026" in compose_answer(messages, "en")


class TestNoFlightsSayWhy:
    @staticmethod
    def _answers(result: dict[str, Any]) -> tuple[str, str]:
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        return compose_answer(messages, "vi"), compose_answer(messages, "en")

    def test_no_route(self) -> None:
        vi, en = self._answers(no_flights("no_route", []))
        assert "chưa có hãng nào khai thác chặng" in vi
        assert "No airline in our schedule flies Ho Chi Minh City (SGN) → Hanoi (HAN)." in en
        assert "No flights." not in en  # The tool's message is not the answer.

    def test_sold_out_offers_the_nearest_date(self) -> None:
        vi, en = self._answers(no_flights("sold_out", ["2026-06-16"]))
        assert "đều đã hết chỗ" in vi
        assert "Ngày gần nhất còn chỗ: Thứ Ba, 16/06/2026. Bạn có muốn xem ngày này không?" in vi
        assert "All flights" in en
        assert "are full." in en
        assert "The nearest date with seats is Tuesday 16 June 2026. Shall I look at it?" in en

    def test_beyond_the_schedule(self) -> None:
        vi, en = self._answers(no_flights("beyond_schedule", []))
        assert "chưa được mở bán" in vi
        assert "not on sale yet" in en

    def test_a_day_without_flights_says_the_days_around_are_full_too(self) -> None:
        vi, en = self._answers(no_flights("no_flights_on_date", []))
        assert "Không có chuyến bay" in vi
        assert "Những ngày lân cận cũng không còn chỗ." in vi
        assert "The days around it have no seats either." in en

    @pytest.mark.parametrize(
        ("extra", "vi", "en"),
        [
            (
                {"max_price_vnd": 900_000},
                "không chuyến nào có giá dưới 900.000 ₫. Bạn thử điều chỉnh mức giá nhé.",
                "but none under VND 900,000. Try changing the price limit.",
            ),
            (
                {"depart_after": "18:00"},
                "không chuyến nào khởi hành sau 18:00. Bạn thử điều chỉnh giờ bay nhé.",
                "but none leaving after 18:00. Try changing the departure time.",
            ),
            (
                {"airline": "VJ"},
                "không chuyến nào của hãng VietJet Air. Bạn thử điều chỉnh hãng bay nhé.",
                "but none with VietJet Air. Try changing the airline.",
            ),
            (
                {"cabin": "business"},
                "không chuyến nào còn chỗ hạng thương gia.",
                "but none with business class seats left.",
            ),
            (
                {"passengers": 4, "max_price_vnd": 900_000},
                "không chuyến nào có giá dưới 900.000 ₫ và còn đủ 4 chỗ. "
                "Bạn thử điều chỉnh mức giá hoặc số khách nhé.",
                "but none under VND 900,000 and with 4 seats left. "
                "Try changing the price limit or the number of passengers.",
            ),
        ],
    )
    def test_filters_are_named(self, extra: dict[str, Any], vi: str, en: str) -> None:
        result = {**no_flights("no_match_filters", []), "query": query(**extra)}
        answers = self._answers(result)
        assert vi in answers[0]
        assert en in answers[1]

    def test_the_filter_the_tool_names_wins(self) -> None:
        result = {
            **no_flights("no_match_filters", []),
            "query": query(max_price_vnd=900_000, depart_after="18:00"),
            "filtered_by": ["time"],
        }
        vi, en = self._answers(result)
        assert "không chuyến nào khởi hành sau 18:00." in vi
        assert "giá dưới 900.000 ₫." not in vi.split("Bộ lọc")[-1].split("\n", 1)[-1]
        assert "Try changing the departure time." in en

    def test_the_asked_day_is_not_offered_back(self) -> None:
        result = no_flights("no_match_filters", ["2026-06-15", "2026-06-16", "2026-06-17"])
        vi, _ = self._answers(result)
        assert "Những ngày gần nhất còn chỗ: Thứ Ba, 16/06/2026; Thứ Tư, 17/06/2026." in vi


class TestPlannerNotes:
    @staticmethod
    def _answer(monkeypatch: pytest.MonkeyPatch, language: str, **fields: Any) -> str:
        def analyse(messages: Any, today: date) -> Outcome:
            return Outcome(language, **fields)  # type: ignore[arg-type]

        monkeypatch.setattr(reply, "analyse", analyse)
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result()))
        return compose_answer(messages, language)  # type: ignore[arg-type]

    def test_an_infant_is_noted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        vi = self._answer(monkeypatch, "vi", infants=1)
        assert "Mình đã ghi nhận 1 em bé đi cùng (ngồi lòng người lớn, không cần ghế riêng)." in vi
        en = self._answer(monkeypatch, "en", infants=1)
        assert (
            "I've noted the infant: infants under two fly on an adult's lap, "
            "so no seat was searched for them." in en
        )
        assert "I've noted the 2 infants:" in self._answer(monkeypatch, "en", infants=2)
        assert_english(en)

    def test_a_converted_budget_is_shown_with_its_rate(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        converted = (50.0, "USD", 1_300_000)
        vi = self._answer(monkeypatch, "vi", converted=converted)
        assert "50 USD ≈ 1.300.000 ₫ (tỷ giá 26.000 ₫/USD)" in vi
        en = self._answer(monkeypatch, "en", converted=converted)
        assert "USD 50 ≈ VND 1,300,000 at 26,000 VND per USD" in en
        assert_vietnamese(vi)

    def test_notes_come_before_the_closing_question(self, monkeypatch: pytest.MonkeyPatch) -> None:
        text = self._answer(monkeypatch, "vi", infants=1, converted=(50.0, "USD", 1_300_000))
        assert text.index("em bé") < text.index("tỷ giá") < text.index("Bạn muốn lọc thêm")

    def test_nothing_is_noted_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        text = self._answer(monkeypatch, "vi")
        assert "em bé" not in text
        assert "tỷ giá" not in text


class TestPlaceWithoutAirport:
    def test_the_nearest_airport_and_the_road_are_named(self) -> None:
        result = {**flights_result(), "query": {**query(), "to": SAPA}}
        messages = conversation("vé SGN đi Sa Pa 15/6", ("search_flights", SEARCH, result))
        vi = compose_answer(messages, "vi")
        assert "Thành phố Hồ Chí Minh (SGN) → Hà Nội (HAN)" in vi
        assert (
            "Sa Pa không có sân bay; sân bay gần nhất là Hà Nội (HAN), khoảng 5 giờ đi đường bộ"
            in vi
        )
        en = compose_answer(messages, "en")
        assert "Sa Pa has no airport; the nearest is Hanoi (HAN), about 5 h by road" in en

    def test_a_round_trip_says_it_once(self) -> None:
        out = {**flights_result(), "query": {**query(), "to": SAPA}}
        back = {**flights_result(), "query": {**query(), "from": SAPA, "to": SGN}}
        messages = conversation(
            "khứ hồi SGN Sa Pa",
            ("search_flights", {"from_city": "SGN", "to_city": "Sa Pa"}, out),
            ("search_flights", {"from_city": "Sa Pa", "to_city": "SGN"}, back),
        )
        assert compose_answer(messages, "vi").count("Sa Pa không có sân bay") == 1

    def test_an_airport_named_by_the_tool_is_used(self) -> None:
        via = {**SAPA["via"], "airport": {"iata": "HAN", "name_vi": "Nội Bài", "name_en": "Hanoi"}}
        result = {**flights_result(), "query": {**query(), "to": {**SAPA, "via": via}}}
        messages = conversation("vé SGN đi Sa Pa 15/6", ("search_flights", SEARCH, result))
        assert "sân bay gần nhất là Nội Bài (HAN), khoảng 5 giờ" in compose_answer(messages, "vi")

    def test_without_via_nothing_is_said(self) -> None:
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result()))
        assert "sân bay gần nhất" not in compose_answer(messages, "vi")

    def test_weather_names_the_place(self) -> None:
        sapa = {**place("HAN", "Hà Nội", "Hanoi"), "via": SAPA["via"]}
        messages = conversation(
            "thời tiết Sa Pa", ("get_weather", {"city": "Sa Pa"}, {**forecast(), "place": sapa})
        )
        assert compose_answer(messages, "vi").startswith("**Thời tiết Sa Pa** ·")
        assert compose_answer(messages, "en").startswith("**Weather in Sa Pa** ·")
