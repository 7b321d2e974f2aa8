"""The offline model's answers written from tool results, in Vietnamese and English: flights,
no flights, weather, errors, and several results in one answer."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from booking.offline_model import compose_answer
from booking.offline_model.brain import respond
from tests.support.answer_language import assert_vietnamese
from tests.support.offline_answers import (
    HAN,
    SEARCH,
    SGN,
    TODAY,
    conversation,
    flight,
    flights_result,
    forecast,
    no_flights,
    query,
)


class TestFlights:
    """The card shows the flights; the answer sums them up (how many, the cheapest and the
    earliest, what to do next) and never lists them again."""

    def test_vietnamese_answer_sums_up_flights_with_local_prices(self) -> None:
        messages = conversation(
            "vé SGN HAN 15/6 cho 2 người", ("search_flights", SEARCH, flights_result(2))
        )
        text = compose_answer(messages, "vi")
        assert "Thành phố Hồ Chí Minh (SGN) → Hà Nội (HAN)" in text
        assert "Thứ Hai, 15/6/2026" in text
        assert "2 khách" in text
        assert "hạng phổ thông" in text
        # The card's total, and how many of them the table shows.
        assert "Có 55 chuyến phù hợp; bảng hiển thị 2 chuyến rẻ nhất." in text
        # Of a part of the results, the cheapest is only said to be the earliest in the table.
        assert (
            "Vừa rẻ nhất vừa sớm nhất trong bảng: **VJ123** VietJet Air, cất cánh 06:40, "
            "1.024.000\u00a0₫/khách (tổng 2.048.000\u00a0₫)."
        ) in text
        assert "VN7" not in text  # The table lists the others: the text does not repeat them.
        assert not any(line.startswith("- ") for line in text.splitlines())
        assert text.endswith(
            "Chọn một chuyến trong bảng để đặt vé, hoặc bảo mình lọc theo giờ bay, hãng hay hạng ghế."
        )
        assert_vietnamese(text)

    def test_english_answer(self) -> None:
        messages = conversation(
            "flights SGN to HAN June 15 for 2", ("search_flights", SEARCH, flights_result(2))
        )
        text = compose_answer(messages, "en")
        assert "Ho Chi Minh City (SGN) → Hanoi (HAN)" in text
        assert "Mon 15 Jun 2026" in text
        assert "2 passengers" in text
        assert "55 flights match; the table shows the 2 cheapest." in text
        assert (
            "Cheapest and earliest in the table: **VJ123** VietJet Air, departing 06:40, "
            "₫1,024,000 per person (total ₫2,048,000)."
        ) in text
        assert "VN7" not in text
        assert text.endswith(
            "Pick a flight in the table to book it, or ask me to narrow it down by time, "
            "airline or cabin."
        )

    def test_one_passenger_shows_no_total_and_plenty_of_seats_no_warning(self) -> None:
        text = compose_answer(
            conversation("SGN HAN 15/6", ("search_flights", SEARCH, flights_result(1))), "vi"
        )
        line = next(line for line in text.splitlines() if "VJ123" in line)
        assert line.endswith("cất cánh 06:40, 1.024.000\u00a0₫.")
        assert "tổng" not in text
        assert "chỗ)" not in text

    def test_few_seats_left_on_a_named_flight_are_a_warning(self) -> None:
        result = flights_result()
        result["flights"][0]["seats_left"] = 3
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert "cất cánh 06:40, 1.024.000\u00a0₫ (còn 3 chỗ)." in compose_answer(messages, "vi")
        assert "departing 06:40, ₫1,024,000 (3 seats left)." in compose_answer(messages, "en")
        result["flights"][0]["seats_left"] = 1
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert "departing 06:40, ₫1,024,000 (1 seat left)." in compose_answer(messages, "en")

    def test_the_cheapest_and_the_earliest_are_named_not_every_flight(self) -> None:
        result = flights_result()
        result["flights"] = [
            flight(f"QH{n}", f"{6 + n:02d}:00", f"{8 + n:02d}:00", 900_000 - n * 1000)
            for n in range(8)
        ]
        text = compose_answer(
            conversation("SGN HAN 15/6", ("search_flights", SEARCH, result)), "en"
        )
        assert "55 flights match; the table shows the 8 cheapest." in text
        # Sorted by price, the cheapest shown is the cheapest of all 55; the earliest is not.
        assert "Cheapest: **QH7** Bamboo, departing 13:00, ₫893,000." in text
        assert "Earliest in the table: **QH0** Bamboo, departing 06:00, ₫900,000." in text
        assert not any(f"QH{n}" in text for n in range(1, 7))

    def test_all_results_shown_need_no_qualifier(self) -> None:
        result = flights_result()
        result["total_matches"] = 2
        text = compose_answer(
            conversation("SGN HAN 15/6", ("search_flights", SEARCH, result)), "vi"
        )
        assert "Có 2 chuyến phù hợp. Vừa rẻ nhất vừa sớm nhất: **VJ123**" in text
        assert "trong bảng:" not in text

    def test_sort_and_filters_are_described(self) -> None:
        result = flights_result(
            sort="departure", max_price_vnd=1_500_000, depart_after="05:00", depart_before="12:00"
        )
        text = compose_answer(conversation("SGN HAN", ("search_flights", SEARCH, result)), "vi")
        assert "Có 55 chuyến phù hợp; bảng hiển thị 2 chuyến sớm nhất." in text
        assert "Bộ lọc: giá dưới 1.500.000\u00a0₫, khởi hành 05:00–12:00." in text

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
            "**Chiều về:** Hà Nội (HAN) → Thành phố Hồ Chí Minh (SGN) · Thứ Bảy, 20/6/2026" in text
        )
        assert text.count("Có 55 chuyến phù hợp") == 2
        assert text.count("Chọn một chuyến trong bảng") == 1


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
        assert "Thứ Ba, 16/6/2026; Thứ Tư, 17/6/2026" in compose_answer(messages, "vi")
        assert "Tue 16 Jun 2026; Wed 17 Jun 2026" in compose_answer(messages, "en")


class TestWeather:
    def test_forecast_in_vietnamese(self) -> None:
        messages = conversation(
            "thời tiết Đà Nẵng 15/6", ("get_weather", {"city": "DAD"}, forecast())
        )
        text = compose_answer(messages, "vi")
        assert "**Thời tiết Đà Nẵng** · Thứ Hai, 15/6/2026" in text
        # 24.5 °C reads 25, rounded half up as the card's Math.round does.
        assert "Mưa rào, 25–31°C." in text
        assert "Khả năng mưa 60%, độ ẩm 80%, gió 14 km/h." in text
        assert "không phải dự báo" not in text

    def test_forecast_in_english(self) -> None:
        messages = conversation(
            "weather in Da Nang June 15", ("get_weather", {"city": "DAD"}, forecast())
        )
        text = compose_answer(messages, "en")
        assert "**Weather in Da Nang** · Mon 15 Jun 2026" in text
        assert "Showers, 25–31°C. 60% chance of rain, humidity 80%, wind 14 km/h." in text

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
            "Thứ Sáu, 1/5/2026 đã qua rồi (hôm nay là Thứ Hai, 1/6/2026). "
            "Bạn chọn một ngày từ hôm nay trở đi nhé."
        )
        assert compose_answer(messages, "en") == (
            "Fri 1 May 2026 has already passed (today is Mon 1 Jun 2026). "
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
        assert text.endswith("lọc theo giờ bay, hãng hay hạng ghế.")

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
    assert "1.024.000\u00a0₫" in response.text


def test_answer_language_follows_the_user() -> None:
    messages = conversation(
        "flights SGN to HAN June 15", ("search_flights", SEARCH, flights_result())
    )
    response = respond(messages, TODAY)
    assert response.text is not None
    assert "₫1,024,000" in response.text
