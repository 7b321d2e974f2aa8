"""The offline model's reading of requests: utterances to tool calls or clarifying questions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from booking.offline_model import Plan, PlannedCall, understand
from booking.offline_model.brain import detect_language, respond

#: A Monday.
TODAY = date(2026, 6, 1)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def search(**arguments: Any) -> PlannedCall:
    return PlannedCall("search_flights", arguments)


def weather(**arguments: Any) -> PlannedCall:
    return PlannedCall("get_weather", arguments)


def route(origin: str, destination: str, day: str, **extra: Any) -> PlannedCall:
    return search(from_city=origin, to_city=destination, date=day, **extra)


@dataclass(frozen=True)
class Ask:
    """A reply instead of calls, in ``language``, containing every one of ``words``."""

    language: str
    words: tuple[str, ...]


MORNING = {"depart_after": "05:00", "depart_before": "12:00"}
EVENING = {"depart_after": "18:00", "depart_before": "23:59"}
CAPABILITIES_VI = "tìm chuyến bay"
CAPABILITIES_EN = "search flights"

UTTERANCES: list[tuple[str, tuple[PlannedCall, ...] | Ask]] = [
    # The tutorial's example and plain routes, with and without diacritics.
    ("Đặt vé SGN → HAN ngày 15/6", (route("SGN", "HAN", "2026-06-15"),)),
    ("Dat ve SGN -> HAN ngay 15/6", (route("SGN", "HAN", "2026-06-15"),)),
    ("sgn-han 15/06", (route("SGN", "HAN", "2026-06-15"),)),
    ("từ sgn đến han ngày 15/6", (route("SGN", "HAN", "2026-06-15"),)),
    ("SGN - HAN 15/06/2026", (route("SGN", "HAN", "2026-06-15"),)),
    ("vé Sài Gòn Hà Nội 15-6", (route("SGN", "HAN", "2026-06-15"),)),
    ("ve may bay ha noi sai gon ngay 15/6", (route("HAN", "SGN", "2026-06-15"),)),
    ("Hà Nội đi Đà Nẵng ngày 15 tháng 6", (route("HAN", "DAD", "2026-06-15"),)),
    ("ve tu ha noi di da nang ngay 15 thang 6", (route("HAN", "DAD", "2026-06-15"),)),
    ("từ Đà Nẵng ra Hà Nội 15 tháng 6", (route("DAD", "HAN", "2026-06-15"),)),
    ("bay vào Sài Gòn từ Huế ngày 15/6", (route("HUI", "SGN", "2026-06-15"),)),
    ("Flights from Hanoi to Bangkok June 15", (route("HAN", "Bangkok", "2026-06-15"),)),
    ("Saigon to Tokyo on 15 June", (route("SGN", "Tokyo", "2026-06-15"),)),
    ("Jun 15th han to sgn", (route("HAN", "SGN", "2026-06-15"),)),
    ("fly DMK to SGN June 15", (route("DMK", "SGN", "2026-06-15"),)),
    ("Da Nang to Phu Quoc 15/6 please", (route("DAD", "PQC", "2026-06-15"),)),
    ("Sài Gòn bay Phú Quốc ngày 15/6", (route("SGN", "PQC", "2026-06-15"),)),
    ("vé đi Huế từ Vinh ngày 15/6", (route("VII", "HUI", "2026-06-15"),)),
    ("HCM đi HN 15/6", (route("SGN", "HAN", "2026-06-15"),)),
    ("TP.HCM → Đà Lạt 15/6", (route("SGN", "DLI", "2026-06-15"),)),
    # Relative dates (today is Monday 2026-06-01; weeks start on Monday).
    ("vé SGN HAN hôm nay", (route("SGN", "HAN", "2026-06-01"),)),
    ("SGN to HAN today", (route("SGN", "HAN", "2026-06-01"),)),
    ("vé SGN HAN ngày mai", (route("SGN", "HAN", "2026-06-02"),)),
    ("ve SGN HAN mai", (route("SGN", "HAN", "2026-06-02"),)),
    ("SGN to HAN tomorrow", (route("SGN", "HAN", "2026-06-02"),)),
    ("vé SGN HAN ngày kia", (route("SGN", "HAN", "2026-06-03"),)),
    ("vé SGN HAN mốt", (route("SGN", "HAN", "2026-06-03"),)),
    ("thứ Sáu tuần sau từ Hà Nội đi Sài Gòn", (route("HAN", "SGN", "2026-06-12"),)),
    ("thu 6 tuan sau tu ha noi di sai gon", (route("HAN", "SGN", "2026-06-12"),)),
    ("T6 tuần sau HN - SG", (route("HAN", "SGN", "2026-06-12"),)),
    ("vé SGN HAN thứ Sáu", (route("SGN", "HAN", "2026-06-05"),)),
    ("vé SGN HAN thứ Hai", (route("SGN", "HAN", "2026-06-08"),)),
    ("vé SGN HAN Chủ nhật", (route("SGN", "HAN", "2026-06-07"),)),
    (
        "cuối tuần này từ Huế ra Hà Nội",
        (route("HUI", "HAN", "2026-06-06"), route("HUI", "HAN", "2026-06-07")),
    ),
    (
        "cuối tuần sau SGN-PQC",
        (route("SGN", "PQC", "2026-06-13"), route("SGN", "PQC", "2026-06-14")),
    ),
    ("tuần sau SGN → DAD", Ask("vi", ("ngày nào", "Thứ Hai, 8/6/2026"))),
    ("next Friday from HAN to DAD", (route("HAN", "DAD", "2026-06-12"),)),
    ("this Friday Hanoi to Saigon", (route("HAN", "SGN", "2026-06-05"),)),
    ("Hanoi to Saigon on Friday", (route("HAN", "SGN", "2026-06-05"),)),
    ("in 3 days from Saigon to Hanoi", (route("SGN", "HAN", "2026-06-04"),)),
    ("3 ngày nữa sài gòn đi đà lạt", (route("SGN", "DLI", "2026-06-04"),)),
    ("the day after tomorrow SGN to HAN", (route("SGN", "HAN", "2026-06-03"),)),
    # Passengers, children included.
    ("vé SGN HAN 15/6 cho 2 người lớn", (route("SGN", "HAN", "2026-06-15", passengers=2),)),
    ("SGN HAN 15/6 3 vé", (route("SGN", "HAN", "2026-06-15", passengers=3),)),
    ("SGN HAN 15/6 2 khách", (route("SGN", "HAN", "2026-06-15", passengers=2),)),
    ("hai người SGN HAN 15/6", (route("SGN", "HAN", "2026-06-15", passengers=2),)),
    ("SGN to HAN June 15 for 2 people", (route("SGN", "HAN", "2026-06-15", passengers=2),)),
    ("two passengers SGN to HAN June 15", (route("SGN", "HAN", "2026-06-15", passengers=2),)),
    ("2 adults 1 child SGN to HAN June 15", (route("SGN", "HAN", "2026-06-15", passengers=3),)),
    (
        "2 người lớn và 1 trẻ em từ Hà Nội đi Đà Nẵng 15/6",
        (route("HAN", "DAD", "2026-06-15", passengers=3),),
    ),
    # Cabin.
    ("SGN HAN 15/6 hạng thương gia", (route("SGN", "HAN", "2026-06-15", cabin="business"),)),
    ("SGN to HAN June 15 business class", (route("SGN", "HAN", "2026-06-15", cabin="business"),)),
    ("SGN HAN 15/6 pho thong", (route("SGN", "HAN", "2026-06-15", cabin="economy"),)),
    # Price caps.
    ("SGN HAN 15/6 dưới 1 triệu", (route("SGN", "HAN", "2026-06-15", max_price=1_000_000),)),
    ("SGN HAN 15/6 dưới 1tr5", (route("SGN", "HAN", "2026-06-15", max_price=1_500_000),)),
    (
        "SGN to HAN June 15 under 1.5M VND",
        (route("SGN", "HAN", "2026-06-15", max_price=1_500_000),),
    ),
    ("SGN to HAN June 15 below 800k", (route("SGN", "HAN", "2026-06-15", max_price=800_000),)),
    ("SGN HAN 15/6 không quá 2 triệu", (route("SGN", "HAN", "2026-06-15", max_price=2_000_000),)),
    ("SGN HAN 15/6 tối đa 2.000.000đ", (route("SGN", "HAN", "2026-06-15", max_price=2_000_000),)),
    (
        "SGN to HAN June 15 max 2,000,000 VND",
        (route("SGN", "HAN", "2026-06-15", max_price=2_000_000),),
    ),
    ("SGN HAN 15/6 rẻ hơn 900 nghìn", (route("SGN", "HAN", "2026-06-15", max_price=900_000),)),
    # Times of day.
    ("SGN HAN 15/6 buổi sáng", (route("SGN", "HAN", "2026-06-15", **MORNING),)),
    ("SGN to HAN June 15 in the morning", (route("SGN", "HAN", "2026-06-15", **MORNING),)),
    ("chuyến sáng mai từ Hà Nội đi Sài Gòn", (route("HAN", "SGN", "2026-06-02", **MORNING),)),
    (
        "SGN HAN 15/6 buổi trưa",
        (route("SGN", "HAN", "2026-06-15", depart_after="11:00", depart_before="13:00"),),
    ),
    (
        "SGN to HAN June 15 afternoon",
        (route("SGN", "HAN", "2026-06-15", depart_after="12:00", depart_before="18:00"),),
    ),
    ("SGN HAN 15/6 buổi tối", (route("SGN", "HAN", "2026-06-15", **EVENING),)),
    ("tối nay SGN HAN", (route("SGN", "HAN", "2026-06-01", **EVENING),)),
    (
        "SGN to HAN June 15 red-eye",
        (route("SGN", "HAN", "2026-06-15", depart_after="21:00"),),
    ),
    ("SGN HAN 15/6 sau 18h", (route("SGN", "HAN", "2026-06-15", depart_after="18:00"),)),
    ("SGN to HAN June 15 after 6pm", (route("SGN", "HAN", "2026-06-15", depart_after="18:00"),)),
    ("SGN HAN 15/6 trước 9h", (route("SGN", "HAN", "2026-06-15", depart_before="09:00"),)),
    ("SGN to HAN June 15 before 9am", (route("SGN", "HAN", "2026-06-15", depart_before="09:00"),)),
    # Airlines and sort order.
    ("Vietjet SGN HAN 15/6", (route("SGN", "HAN", "2026-06-15", airline="VJ"),)),
    ("SGN HAN 15/6 VNA", (route("SGN", "HAN", "2026-06-15", airline="VN"),)),
    ("SGN HAN 15/6 bay Bamboo", (route("SGN", "HAN", "2026-06-15", airline="QH"),)),
    ("SGN HAN 15/6 VU", (route("SGN", "HAN", "2026-06-15", airline="VU"),)),
    ("Singapore Airlines SGN to SIN June 15", (route("SGN", "SIN", "2026-06-15", airline="SQ"),)),
    ("SGN HAN 15/6 chuyến sớm nhất", (route("SGN", "HAN", "2026-06-15", sort="departure"),)),
    ("shortest flight SGN to HAN June 15", (route("SGN", "HAN", "2026-06-15", sort="duration"),)),
    ("vé rẻ nhất SGN HAN 15/6", (route("SGN", "HAN", "2026-06-15"),)),
    # Round trips: two searches, or a question for the return date.
    (
        "khứ hồi Hà Nội Đà Nẵng 15/6 về ngày 20/6",
        (route("HAN", "DAD", "2026-06-15"), route("DAD", "HAN", "2026-06-20")),
    ),
    (
        "round trip SGN to HAN June 15 returning June 20",
        (route("SGN", "HAN", "2026-06-15"), route("HAN", "SGN", "2026-06-20")),
    ),
    (
        "SGN to HAN 15/6, return on 20/6, 2 people",
        (
            route("SGN", "HAN", "2026-06-15", passengers=2),
            route("HAN", "SGN", "2026-06-20", passengers=2),
        ),
    ),
    ("khứ hồi SGN HAN 15/6", Ask("vi", ("về",))),
    ("round trip SGN to HAN June 15", Ask("en", ("fly back",))),
    # Weather, alone and with flights.
    ("thời tiết ở Đà Nẵng", (weather(city="DAD"),)),
    ("thoi tiet da nang ngay mai", (weather(city="DAD", date="2026-06-02"),)),
    ("weather in Da Nang", (weather(city="DAD"),)),
    ("Hà Nội ngày mai trời có mưa không?", (weather(city="HAN", date="2026-06-02"),)),
    ("nhiệt độ ở Tokyo thứ Sáu", (weather(city="Tokyo", date="2026-06-05"),)),
    ("trời có mưa không", Ask("vi", ("thời tiết ở đâu",))),
    (
        "thời tiết Đà Nẵng thứ 6 tuần sau và vé từ Hà Nội đi đó",
        (route("HAN", "DAD", "2026-06-12"), weather(city="DAD", date="2026-06-12")),
    ),
    (
        "weather in Da Nang and flights there from Hanoi next Friday",
        (route("HAN", "DAD", "2026-06-12"), weather(city="DAD", date="2026-06-12")),
    ),
    # The flight part lacks an origin: only the weather now, the question comes with the answer.
    ("weather in Da Nang and flights there next Friday", (weather(city="DAD", date="2026-06-12"),)),
    # Missing details are asked for, never guessed.
    ("Đặt vé đi Hà Nội", Ask("vi", ("Bạn bay từ đâu và vào ngày nào?",))),
    ("Dat ve di Ha Noi", Ask("vi", ("bay từ đâu", "ngày nào"))),
    ("bay ra Hà Nội ngày mai", Ask("vi", ("Bạn bay từ đâu?",))),
    ("vé từ Hà Nội ngày mai", Ask("vi", ("đến đâu",))),
    ("SGN → HAN", Ask("en", ("from Ho Chi Minh City to Hanoi", "Which day"))),
    ("vé SGN HAN", Ask("vi", ("ngày nào",))),
    ("flights to Hanoi", Ask("en", ("flying from", "which date"))),
    ("I need a ticket for 2 people", Ask("en", ("flying from", "where to", "which date"))),
    # Greetings, thanks and what the model cannot do.
    ("xin chào", Ask("vi", ("Xin chào", CAPABILITIES_VI))),
    ("hi", Ask("en", ("Hi", CAPABILITIES_EN))),
    ("cảm ơn nhé", Ask("vi", ("Không có gì",))),
    ("bạn làm được gì?", Ask("vi", (CAPABILITIES_VI,))),
    ("đặt khách sạn ở Đà Nẵng", Ask("vi", ("chưa", CAPABILITIES_VI))),
    ("book a hotel in Hanoi", Ask("en", ("Sorry", CAPABILITIES_EN))),
    ("tell me a joke", Ask("en", ("Sorry", CAPABILITIES_EN))),
    ("kể cho tôi nghe chuyện cười", Ask("vi", ("chưa", CAPABILITIES_VI))),
    ("hủy vé giúp tôi", Ask("vi", ("hủy", "sớm có"))),
    # Place words that are also ordinary words.
    ("gia đình 4 người từ Hà Nội đi Huế 15/6", (route("HAN", "HUI", "2026-06-15", passengers=4),)),
    ("can I fly from Hanoi to Saigon on 15/6", (route("HAN", "SGN", "2026-06-15"),)),
    ("my dad wants Hanoi to Da Lat on June 15", (route("HAN", "DLI", "2026-06-15"),)),
    ("tan làm rồi, đi ăn thôi", Ask("vi", ("chưa hiểu",))),
    ("vịnh Cam Ranh đẹp quá, bay từ Huế ngày 15/6", (route("HUI", "CXR", "2026-06-15"),)),
    ("Vinh đi Huế ngày 15/6", (route("VII", "HUI", "2026-06-15"),)),
    ("mua vé Vinh ra Hà Nội ngày 15/6", (route("VII", "HAN", "2026-06-15"),)),
    ("bay sang Bangkok từ Hà Nội ngày 15/6", (route("HAN", "Bangkok", "2026-06-15"),)),
    ("thứ tư từ Hà Nội đi Huế", (route("HAN", "HUI", "2026-06-03"),)),
    ("hạn chót là thứ Sáu, vé sgn han nhé", (route("SGN", "HAN", "2026-06-05"),)),
    # Mixed Vietnamese and English.
    ("book vé SGN to HAN ngày mai", (route("SGN", "HAN", "2026-06-02"),)),
    ("flight tu Ha Noi di Sai Gon tomorrow", (route("HAN", "SGN", "2026-06-02"),)),
    (
        "cho mình vé business Hà Nội - Singapore 15/6",
        (route("HAN", "SIN", "2026-06-15", cabin="business"),),
    ),
    # Unknown names after a direction word go to the resolver, which can suggest places.
    ("flights from Atlantis to Hanoi tomorrow", Ask("en", ("Atlantis",))),
]


def _ids() -> list[str]:
    return [text for text, _ in UTTERANCES]


def test_the_table_is_large_enough() -> None:
    assert len(UTTERANCES) >= 70


@pytest.mark.parametrize(("text", "expected"), UTTERANCES, ids=_ids())
def test_one_message(text: str, expected: tuple[PlannedCall, ...] | Ask) -> None:
    plan = understand([user(text)], TODAY)
    if isinstance(expected, Ask):
        assert plan.calls == ()
        assert plan.language == expected.language
        assert plan.reply is not None
        for word in expected.words:
            assert word in plan.reply
    else:
        assert plan.calls == expected
        assert plan.reply is None


def _turn(*calls: PlannedCall, answer: str = "Đây là kết quả.") -> list[dict[str, Any]]:
    """An assistant turn as the history stores it: tool calls, their results, the answer."""
    tool_calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for i, c in enumerate(calls)
    ]
    results = [
        {"role": "tool", "tool_call_id": f"call_{i}", "content": "{}"} for i in range(len(calls))
    ]
    return [
        {"role": "assistant", "content": None, "tool_calls": tool_calls},
        *results,
        {"role": "assistant", "content": answer},
    ]


HISTORY = [user("vé SGN HAN 15/6"), *_turn(route("SGN", "HAN", "2026-06-15"))]

FOLLOW_UPS: list[tuple[str, PlannedCall]] = [
    ("còn ngày hôm sau thì sao?", route("SGN", "HAN", "2026-06-16")),
    ("what about the next day?", route("SGN", "HAN", "2026-06-16")),
    ("ngày hôm trước thì sao", route("SGN", "HAN", "2026-06-14")),
    ("what about business class?", route("SGN", "HAN", "2026-06-15", cabin="business")),
    ("hạng thương gia thì sao", route("SGN", "HAN", "2026-06-15", cabin="business")),
    ("còn chuyến buổi tối không?", route("SGN", "HAN", "2026-06-15", **EVENING)),
    ("2 người thì sao", route("SGN", "HAN", "2026-06-15", passengers=2)),
    ("còn Vietjet?", route("SGN", "HAN", "2026-06-15", airline="VJ")),
    ("thế còn đi Phú Quốc?", route("SGN", "PQC", "2026-06-15")),
    ("from Da Nang instead?", route("DAD", "HAN", "2026-06-15")),
    ("ngày 20/6 thì sao", route("SGN", "HAN", "2026-06-20")),
    ("Hà Nội đi Huế", route("HAN", "HUI", "2026-06-15")),
]


@pytest.mark.parametrize(("text", "expected"), FOLLOW_UPS, ids=[t for t, _ in FOLLOW_UPS])
def test_follow_up_changes_the_previous_search(text: str, expected: PlannedCall) -> None:
    plan = understand([*HISTORY, user(text)], TODAY)
    assert plan.calls == (expected,)


def test_follow_up_keeps_filters_and_replaces_the_time_window() -> None:
    history = [
        user("SGN HAN 15/6 buổi sáng Vietjet"),
        *_turn(route("SGN", "HAN", "2026-06-15", airline="VJ", **MORNING)),
    ]
    plan = understand([*history, user("còn chuyến buổi tối không?")], TODAY)
    assert plan.calls == (route("SGN", "HAN", "2026-06-15", airline="VJ", **EVENING),)


def test_cheapest_clears_an_earlier_sort() -> None:
    history = [
        user("SGN HAN 15/6 sớm nhất"),
        *_turn(route("SGN", "HAN", "2026-06-15", sort="departure")),
    ]
    plan = understand([*history, user("rẻ nhất thì sao")], TODAY)
    assert plan.calls == (route("SGN", "HAN", "2026-06-15"),)


def test_follow_up_of_a_round_trip_starts_from_the_outbound_leg() -> None:
    history = [
        user("khứ hồi SGN HAN 15/6 về 20/6"),
        *_turn(route("SGN", "HAN", "2026-06-15"), route("HAN", "SGN", "2026-06-20")),
    ]
    plan = understand([*history, user("what about business class?")], TODAY)
    assert plan.calls == (route("SGN", "HAN", "2026-06-15", cabin="business"),)


def test_weather_follow_up_after_a_weather_answer() -> None:
    history = [user("thời tiết Đà Nẵng"), *_turn(weather(city="DAD"))]
    assert understand([*history, user("ngày mai thì sao?")], TODAY).calls == (
        weather(city="DAD", date="2026-06-02"),
    )
    assert understand([*history, user("còn Hà Nội?")], TODAY).calls == (weather(city="HAN"),)


def test_weather_there_after_a_flight_search_means_the_destination() -> None:
    plan = understand([*HISTORY, user("thời tiết ở đó thế nào?")], TODAY)
    assert plan.calls == (weather(city="HAN"),)


class TestClarifyingQuestions:
    def test_answers_complete_the_pending_request(self) -> None:
        messages = [user("Đặt vé đi Hà Nội")]
        first = understand(messages, TODAY)
        assert first.reply is not None
        assert "Bạn bay từ đâu và vào ngày nào?" in first.reply
        messages += [{"role": "assistant", "content": first.reply}, user("từ Sài Gòn")]
        second = understand(messages, TODAY)
        assert second.calls == ()
        assert second.reply is not None
        assert "ngày nào" in second.reply
        assert "từ đâu" not in second.reply
        messages += [{"role": "assistant", "content": second.reply}, user("ngày mai, 2 người")]
        assert understand(messages, TODAY).calls == (
            route("SGN", "HAN", "2026-06-02", passengers=2),
        )

    def test_return_date_completes_the_round_trip(self) -> None:
        messages = [user("khứ hồi SGN HAN 15/6")]
        first = understand(messages, TODAY)
        messages += [{"role": "assistant", "content": first.reply}, user("về ngày 20/6")]
        assert understand(messages, TODAY).calls == (
            route("SGN", "HAN", "2026-06-15"),
            route("HAN", "SGN", "2026-06-20"),
        )

    def test_origin_after_weather_only_turn_completes_the_flight_part(self) -> None:
        messages = [
            user("weather in Da Nang and flights there next Friday"),
            *_turn(weather(city="DAD", date="2026-06-12"), answer="Sunny. Where from?"),
            user("from Hanoi"),
        ]
        assert understand(messages, TODAY).calls == (route("HAN", "DAD", "2026-06-12"),)

    def test_a_completed_search_is_not_pending_any_more(self) -> None:
        messages = [*HISTORY, user("xin chào")]
        plan = understand(messages, TODAY)
        assert plan.calls == ()
        assert plan.reply is not None
        assert "Xin chào" in plan.reply


class TestDates:
    @pytest.mark.parametrize(
        ("today", "expected"),
        [
            (date(2026, 6, 6), ("2026-06-06", "2026-06-07")),  # Saturday: today and tomorrow.
            (date(2026, 6, 7), ("2026-06-07",)),  # Sunday: what is left of it.
            (date(2026, 6, 5), ("2026-06-06", "2026-06-07")),  # Friday: both days.
        ],
    )
    def test_this_weekend_is_both_days(self, today: date, expected: tuple[str, ...]) -> None:
        plan = understand([user("cuối tuần này SGN → HAN")], today)
        assert plan.calls == tuple(route("SGN", "HAN", day) for day in expected)

    def test_a_day_and_month_long_gone_is_asked_about(self) -> None:
        plan = understand([user("SGN → HAN 15/5")], TODAY)
        assert plan.calls == ()
        assert plan.reply is not None
        assert "15 May 2026" in plan.reply
        assert "2027" in plan.reply

    def test_a_day_and_month_early_next_year_rolls_over(self) -> None:
        plan = understand([user("SGN → HAN 5/1")], date(2026, 12, 4))
        assert plan.calls == (route("SGN", "HAN", "2027-01-05"),)

    def test_next_friday_on_a_friday_is_a_week_later(self) -> None:
        plan = understand([user("next Friday SGN to HAN")], date(2026, 6, 5))
        assert plan.calls == (route("SGN", "HAN", "2026-06-12"),)

    def test_weekday_names_exclude_today(self) -> None:
        plan = understand([user("thứ Hai SGN → HAN")], TODAY)
        assert plan.calls == (route("SGN", "HAN", "2026-06-08"),)

    def test_impossible_date_is_asked_again(self) -> None:
        plan = understand([user("vé SGN HAN 31/2")], TODAY)
        assert plan.calls == ()
        assert plan.reply is not None
        assert "ngày nào" in plan.reply


class TestLanguage:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Vé đi Hà Nội", "vi"),
            ("ve di ha noi ngay mai", "vi"),
            ("thoi tiet da nang", "vi"),
            ("gia re nhat SGN HAN", "vi"),
            ("flights to Hanoi tomorrow", "en"),
            ("weather in Da Nang", "en"),
            ("Hai Phong to Hue", "en"),
            ("book flight SGN HAN ngày mai", "vi"),
            ("SGN → HAN", "en"),
        ],
    )
    def test_detect_language(self, text: str, expected: str) -> None:
        assert detect_language(text) == expected

    def test_shared_words_follow_the_earlier_language(self) -> None:
        plan = understand([*HISTORY, user("Vietjet?")], TODAY)
        assert plan.language == "vi"
        assert plan.calls == (route("SGN", "HAN", "2026-06-15", airline="VJ"),)

    def test_codes_only_follow_the_earlier_language(self) -> None:
        messages = [user("Tôi muốn bay"), {"role": "assistant", "content": "Bạn bay từ đâu?"}]
        plan = understand([*messages, user("SGN → HAN 15/6")], TODAY)
        assert plan.language == "vi"


def test_content_given_as_text_parts() -> None:
    message = {"role": "user", "content": [{"type": "text", "text": "Đặt vé SGN → HAN ngày 15/6"}]}
    assert understand([message], TODAY).calls == (route("SGN", "HAN", "2026-06-15"),)


def test_system_messages_are_ignored() -> None:
    messages = [{"role": "system", "content": "You book flights."}, user("SGN to HAN tomorrow")]
    assert understand(messages, TODAY).calls == (route("SGN", "HAN", "2026-06-02"),)


def test_understand_is_deterministic() -> None:
    messages = [*HISTORY, user("còn ngày hôm sau cho 2 người hạng thương gia buổi sáng?")]
    plans: list[Plan] = [understand(messages, TODAY) for _ in range(3)]
    assert plans[0] == plans[1] == plans[2]
    dumped = [json.dumps([c.arguments for c in p.calls], sort_keys=True) for p in plans]
    assert len(set(dumped)) == 1


def test_calls_are_json_serializable() -> None:
    plan = understand([user("khứ hồi SGN HAN 15/6 về 20/6 2 người dưới 2 triệu")], TODAY)
    for call in plan.calls:
        assert json.loads(json.dumps(call.arguments)) == call.arguments


def test_respond_plans_when_the_last_message_is_from_the_user() -> None:
    response = respond([user("Đặt vé SGN → HAN ngày 15/6")], TODAY)
    assert response.text is None
    assert response.calls == (route("SGN", "HAN", "2026-06-15"),)
