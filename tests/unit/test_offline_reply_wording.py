"""How the offline model's answers are worded: one language per answer, money, plurals, weekdays,
why no flight matched, the planner's notes and places without an airport."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

import pytest

from booking.domain.wording import format_duration
from booking.offline_model import compose_answer, reply
from booking.offline_model.outcomes import Outcome
from tests.support.answer_language import assert_english, assert_vietnamese
from tests.support.offline_answers import (
    SAPA,
    SEARCH,
    SGN,
    conversation,
    flights_result,
    forecast,
    no_flights,
    place,
    query,
)

# One language per answer ---------------------------------------------------------------------

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
        # CLDR's formats, as the page's Intl writes them (a no-break space before "₫").
        assert "1.024.000\u00a0₫/khách (tổng 2.048.000\u00a0₫)" in vi
        assert "₫1,024,000 per person (total ₫2,048,000)" in en
        assert "000đ" not in vi
        assert "000 ₫" not in vi  # Never an ordinary space: one format.
        assert "VND" not in vi
        assert "VND" not in en
        assert "₫ " not in en

    def test_price_filter(self) -> None:
        result = flights_result(max_price_vnd=1_500_000)
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert "Bộ lọc: giá dưới 1.500.000\u00a0₫." in compose_answer(messages, "vi")
        assert "Filters: under ₫1,500,000." in compose_answer(messages, "en")


class TestPlurals:
    @pytest.mark.parametrize(
        ("seats", "en", "vi"), [(1, "1 seat left", "còn 1 chỗ"), (2, "2 seats left", "còn 2 chỗ")]
    )
    def test_one_and_two_seats_left(self, seats: int, en: str, vi: str) -> None:
        result = flights_result()
        result["flights"][0]["seats_left"] = seats  # The cheapest: the answer names it.
        messages = conversation("SGN HAN 15/6", ("search_flights", SEARCH, result))
        assert f"({en})" in compose_answer(messages, "en")
        assert f"({vi})" in compose_answer(messages, "vi")

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
        # The answer leaves durations to the card; the shared wording still writes them.
        assert format_duration(130, "en") == "2h 10m"
        assert format_duration(130, "vi") == "2h10"


class TestWeekdays:
    FRIDAY: ClassVar[dict[str, Any]] = {**query(), "date": "2026-06-12"}

    def test_flight_answers_state_the_weekday(self) -> None:
        result = {**flights_result(), "query": self.FRIDAY}
        messages = conversation("SGN HAN thứ 6", ("search_flights", SEARCH, result))
        assert "· Thứ Sáu, 12/6/2026 ·" in compose_answer(messages, "vi")
        assert "· Fri 12 Jun 2026 ·" in compose_answer(messages, "en")

    def test_weather_answers_state_the_weekday(self) -> None:
        messages = conversation(
            "thời tiết Đà Nẵng thứ 6",
            ("get_weather", {"city": "DAD"}, {**forecast(), "day": "2026-06-12"}),
        )
        assert "**Thời tiết Đà Nẵng** · Thứ Sáu, 12/6/2026" in compose_answer(messages, "vi")
        assert "**Weather in Da Nang** · Fri 12 Jun 2026" in compose_answer(messages, "en")


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
        assert "Ngày gần nhất còn chỗ: Thứ Ba, 16/6/2026. Bạn có muốn xem ngày này không?" in vi
        assert "All flights" in en
        assert "are full." in en
        assert "The nearest date with seats is Tue 16 Jun 2026. Shall I look at it?" in en

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
                "không chuyến nào có giá dưới 900.000\u00a0₫. Bạn thử điều chỉnh mức giá nhé.",
                "but none under ₫900,000. Try changing the price limit.",
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
                "không chuyến nào có giá dưới 900.000\u00a0₫ và còn đủ 4 chỗ. "
                "Bạn thử điều chỉnh mức giá hoặc số khách nhé.",
                "but none under ₫900,000 and with 4 seats left. "
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
        assert "giá dưới 900.000\u00a0₫." not in vi.split("Bộ lọc")[-1].split("\n", 1)[-1]
        assert "Try changing the departure time." in en

    def test_the_asked_day_is_not_offered_back(self) -> None:
        result = no_flights("no_match_filters", ["2026-06-15", "2026-06-16", "2026-06-17"])
        vi, _ = self._answers(result)
        assert "Những ngày gần nhất còn chỗ: Thứ Ba, 16/6/2026; Thứ Tư, 17/6/2026." in vi


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
        assert "50,00\u00a0US$ ≈ 1.300.000\u00a0₫ (tỷ giá 26.000\u00a0₫/USD)" in vi
        en = self._answer(monkeypatch, "en", converted=converted)
        assert "$50.00 ≈ ₫1,300,000 at ₫26,000 per USD" in en
        assert_vietnamese(vi)

    def test_notes_come_before_the_closing_question(self, monkeypatch: pytest.MonkeyPatch) -> None:
        text = self._answer(monkeypatch, "vi", infants=1, converted=(50.0, "USD", 1_300_000))
        assert text.index("em bé") < text.index("tỷ giá") < text.index("Chọn một chuyến")

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
