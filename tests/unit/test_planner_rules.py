"""The planner's rules over recognized spans: which date is meant, legs, checks, follow-ups."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from booking.offline_model import PlannedCall, understand

TUESDAY = date(2026, 9, 29)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def search(origin: str, destination: str, day: str, **extra: Any) -> PlannedCall:
    return PlannedCall(
        "search_flights", {"from_city": origin, "to_city": destination, "date": day, **extra}
    )


def calls(text: str, today: date = TUESDAY) -> tuple[PlannedCall, ...]:
    return understand([user(text)], today).calls


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("vé HN - Đà Nẵng ngày 15/10, à nhầm, ngày 16 chứ không phải 15", "2026-10-16"),
        ("HAN to DAD on Oct 15, sorry I mean Oct 17", "2026-10-17"),
        ("về quê ăn Tết, Sài Gòn ra Hà Nội ngày 1/2", "2027-02-01"),
        ("đón Noel ở Hà Nội, bay từ Sài Gòn ngày 20/12", "2026-12-20"),
    ],
)
def test_the_date_meant_for_the_flight_wins(text: str, day: str) -> None:
    found = calls(text)
    assert [c.arguments["date"] for c in found] == [day]


def test_several_legs_in_one_message_are_each_searched() -> None:
    text = "cho mình 2 vé Đà Nẵng - Sài Gòn 10/10, 1 vé Sài Gòn - Cần Thơ 12/10"
    assert calls(text) == (
        search("DAD", "SGN", "2026-10-10", passengers=2),
        search("SGN", "VCA", "2026-10-12", passengers=1),
    )


def test_a_round_trip_is_not_two_legs() -> None:
    found = calls("vé khứ hồi Hà Nội - Huế đi 10/10 về 14/10")
    assert found == (search("HAN", "HUI", "2026-10-10"), search("HUI", "HAN", "2026-10-14"))


@pytest.mark.parametrize(
    "text",
    [
        "Đà Nẵng đi Hội An ngày 3/10 có máy bay không",
        "Sài Gòn ra Sài Gòn 10/10",
        "HN đi Cần Thơ ngày 5/10 lúc 25h",
        "vé HN SG 10/10 cho 0 người",
        "vé HN SG 10/10 cho 12 người",
        "Tuần sau em bay HN - SG",
        "HN đi Atlantis 10/10",
    ],
)
def test_impossible_requests_are_asked_about(text: str) -> None:
    plan = understand([user(text)], TUESDAY)
    assert plan.calls == ()
    assert plan.reply


def test_a_far_place_served_by_the_same_airport_is_still_searched() -> None:
    # Sa Pa is 5 h by road from Hà Nội: the search runs and the tool explains the road.
    assert calls("Hà Nội đi Sa Pa ngày 10/10") == (search("HAN", "Sa Pa", "2026-10-10"),)


def test_yes_to_next_years_date_searches_it() -> None:
    first = user("vé Hà Nội - Sài Gòn ngày 15/6")
    plan = understand([first], TUESDAY)
    assert plan.calls == ()
    assert plan.reply is not None
    assert "2027" in plan.reply
    then = understand(
        [first, {"role": "assistant", "content": plan.reply}, user("ừ, năm sau")], TUESDAY
    )
    assert then.calls == (search("HAN", "SGN", "2027-06-15"),)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Noel em muốn bay ra Hà Nội từ Sài Gòn coi lạnh", "search_flights"),
        ("Hà Nội Noel có lạnh không", "get_weather"),
        ("Đà Lạt mai mưa ko", "get_weather"),
        ("chuyến mô từ Huế ra Hà Nội chiều ni", "search_flights"),
    ],
)
def test_weather_adjectives_ask_only_in_a_question(text: str, topic: str) -> None:
    assert [c.name for c in calls(text, date(2026, 12, 10))] == [topic]


def test_regional_words_are_read() -> None:
    found = calls("Mạ với tui ra Hà Nội từ Huế chiều ni", date(2027, 4, 13))
    assert found == (
        search(
            "HUI", "HAN", "2027-04-13", passengers=2, depart_after="12:00", depart_before="18:00"
        ),
    )


def test_each_leg_of_a_round_trip_keeps_its_time_of_day() -> None:
    found = calls("HN - Phú Quốc đi 5/10 buổi sáng, về 9/10 buổi tối, 4 người")
    assert found == (
        search(
            "HAN", "PQC", "2026-10-05", passengers=4, depart_after="05:00", depart_before="12:00"
        ),
        search(
            "PQC", "HAN", "2026-10-09", passengers=4, depart_after="18:00", depart_before="23:59"
        ),
    )


def test_a_travel_agents_round_trip_shorthand() -> None:
    assert calls("HAN-SGN 9/10 RT 12/10 2ADT") == (
        search("HAN", "SGN", "2026-10-09", passengers=2),
        search("SGN", "HAN", "2026-10-12", passengers=2),
    )


def test_the_way_back_alone_after_a_one_way_search() -> None:
    first = user("HN-SG thứ 6 này")
    plan = understand([first], TUESDAY)
    assert plan.calls == (search("HAN", "SGN", "2026-10-02"),)
    history = [
        first,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {
                        "name": "search_flights",
                        "arguments": '{"from_city": "HAN", "to_city": "SGN", "date": "2026-10-02"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
        {"role": "assistant", "content": "..."},
        user("vé về thì lấy chủ nhật"),
    ]
    assert understand(history, TUESDAY).calls == (search("SGN", "HAN", "2026-10-04"),)


def test_a_bare_number_answers_how_many_travel() -> None:
    first = user("vé HN SG 10/10 cho 12 người")
    plan = understand([first], TUESDAY)
    assert plan.calls == ()
    assert plan.reply is not None
    then = understand([first, {"role": "assistant", "content": plan.reply}, user("9")], TUESDAY)
    assert then.calls == (search("HAN", "SGN", "2026-10-10", passengers=9),)


def test_how_a_place_will_be_is_its_weather() -> None:
    assert calls("Nha Trang mai thế nào") == (
        PlannedCall("get_weather", {"city": "CXR", "date": "2026-09-30"}),
    )


def test_the_way_back_keeps_its_time_of_day_in_one_clause() -> None:
    assert calls("Khứ hồi Đà Nẵng - Hà Nội, đi sáng thứ 5 này về chiều chủ nhật") == (
        search("DAD", "HAN", "2026-10-01", depart_after="05:00", depart_before="12:00"),
        search("HAN", "DAD", "2026-10-04", depart_after="12:00", depart_before="18:00"),
    )


@pytest.mark.parametrize(
    ("text", "day"),
    [("2ADT 1CHD SGN-HAN 22DEC", "2026-12-22"), ("RT HAN-SIN 20OCT-27OCT", "2026-10-20")],
)
def test_gds_dates(text: str, day: str) -> None:
    assert calls(text)[0].arguments["date"] == day


def test_an_infant_cannot_fly_alone() -> None:
    plan = understand(
        [user("Cho bé nhà mình 1 tuổi bay một mình từ Hà Nội vào Sài Gòn 20/10")], TUESDAY
    )
    assert plan.calls == ()
    assert plan.reply is not None
    assert "người lớn" in plan.reply


def test_a_price_per_person_is_no_party() -> None:
    found = calls("Vợ chồng mình với bé 6 tháng, Sài Gòn ra Hà Nội 3/10, dưới 2 triệu một người")
    assert found[0].arguments["passengers"] == 2
    assert found[0].arguments["max_price"] == 2_000_000
