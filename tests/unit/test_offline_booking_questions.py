"""The offline model's questions before a hold: which flight, when it cannot tell; and the names
and contact details still missing."""

from __future__ import annotations

import pytest

from booking.offline_model import understand
from tests.support.offline_bookings import (
    AN_PHONE,
    SEARCHED_EN,
    SEARCHED_VI,
    TODAY,
    assistant,
    book,
    called,
    chat,
    held,
    place,
    plan,
    reply_text,
    search,
    searched,
    user,
)

# Flights that cannot be identified --------------------------------------------------------


def test_no_search_yet_asks_for_the_route_instead_of_guessing() -> None:
    messages, response = chat([], "đặt chuyến VJ123 cho Nguyễn Văn An, sđt 0901234567")
    text = reply_text(response)
    assert "chưa tìm chuyến bay nào" in text
    assert "VJ123" in text
    assert "Bạn bay từ đâu, đến đâu và vào ngày nào?" in text
    # The question started a search the next message completes.
    assert plan([*messages, user("SGN HAN 15/12")]).calls == (
        search(from_city="SGN", to_city="HAN", date="2026-12-15"),
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("đặt chuyến rẻ nhất cho tôi", ("chưa tìm chuyến bay nào", "Bạn bay từ đâu")),
        ("dat chuyen re nhat cho toi", ("chưa tìm chuyến bay nào", "Bạn bay từ đâu")),
        ("book the cheapest one", ("haven't searched", "Where are you flying from")),
        ("book the 8:15 one", ("haven't searched", "on which date")),
    ],
)
def test_no_search_yet(text: str, words: tuple[str, ...]) -> None:
    reply = reply_text(plan([user(text)]))
    for word in words:
        assert word in reply


@pytest.mark.parametrize(
    ("text", "words", "listed"),
    [
        ("đặt chuyến VJ999", ("Mình không thấy chuyến VJ999",), ("VJ123", "VN247")),
        ("book VJ999 please", ("I can't find VJ999",), ("VJ123", "VN247")),
        ("đặt chuyến 9h", ("Không có chuyến nào khởi hành lúc 9h",), ("VJ123",)),
        ("đặt chuyến 8h", ("Có 2 chuyến khớp với “8h”",), ("VJ123", "VN247")),
        ("book the fifth one", ("only 4 flights",), ("VJ123",)),
    ],
)
def test_unknown_flight_is_asked_again(
    text: str, words: tuple[str, ...], listed: tuple[str, ...]
) -> None:
    history = SEARCHED_EN if text.startswith("book") else SEARCHED_VI
    reply = reply_text(plan([*history, user(text)]))
    for word in (*words, *listed):
        assert word in reply
    if "8h" in text:
        assert "QH205" not in reply  # Only the matching flights are listed.


def test_an_empty_search_has_nothing_to_book() -> None:
    reply = reply_text(plan([*searched(flights=[]), user("đặt chuyến rẻ nhất")]))
    assert "không có chuyến nào để đặt" in reply


def test_book_without_naming_a_flight_asks_which() -> None:
    reply = reply_text(plan([*SEARCHED_EN, user("I'd like to book")]))
    assert "Which flight would you like to book?" in reply
    assert "1. **VJ123** 08:15 · ₫1,500,000" in reply


def test_names_and_phone_after_a_search_ask_which_flight() -> None:
    messages, response = chat(SEARCHED_VI, "Nguyễn Văn An, 0901234567")
    assert "Bạn muốn đặt chuyến nào?" in reply_text(response)
    assert plan([*messages, user("chuyến 8h15")]).calls == (book(101, "Nguyễn Văn An", **AN_PHONE),)


def test_the_flight_named_on_the_next_turn_completes_the_request() -> None:
    messages, response = chat(SEARCHED_VI, "đặt chuyến 7h cho Nguyễn Văn An sdt 0901234567")
    assert "Không có chuyến nào khởi hành lúc 7h" in reply_text(response)
    _, response = chat(messages, "chuyến 8:15")
    assert response.calls == (book(101, "Nguyễn Văn An", **AN_PHONE),)


# Missing names and contact details --------------------------------------------------------


class TestMissingDetails:
    def test_both_are_asked_for_then_given(self) -> None:
        messages, response = chat(SEARCHED_VI, "đặt chuyến rẻ nhất cho tôi")
        text = reply_text(response)
        assert "**VJ123** VietJet Air, 08:15 Thứ Ba, 15/12/2026, SGN → HAN" in text
        assert "họ tên đầy đủ của hành khách" in text
        assert "số điện thoại hoặc email" in text
        _, response = chat(messages, "Nguyễn Văn An, 0901234567")
        assert response.calls == (book(101, "Nguyễn Văn An", **AN_PHONE),)

    def test_without_diacritics(self) -> None:
        messages, response = chat(SEARCHED_VI, "dat chuyen re nhat")
        assert "họ tên đầy đủ" in reply_text(response)
        _, response = chat(messages, "Nguyen Van An, sdt 0901234567")
        assert response.calls == (book(101, "Nguyen Van An", **AN_PHONE),)

    def test_in_english(self) -> None:
        messages, response = chat(SEARCHED_EN, "book the 8:15 one")
        text = reply_text(response)
        assert text.startswith("To book **VJ123** VietJet Air, 08:15 on Tue 15 Dec 2026")
        assert "the passenger's full name" in text
        assert "a phone number or email" in text
        _, response = chat(messages, "Nguyen Van An, an@example.com")
        assert response.calls == (book(101, "Nguyen Van An", email="an@example.com"),)

    def test_only_the_contact(self) -> None:
        text = reply_text(plan([*SEARCHED_VI, user("đặt chuyến VJ123 cho Nguyễn Văn An")]))
        assert "số điện thoại hoặc email" in text
        assert "họ tên" not in text

    def test_only_the_names(self) -> None:
        text = reply_text(plan([*SEARCHED_EN, user("book VJ123, my email is an@example.com")]))
        assert "full name" in text
        assert "phone number" not in text

    def test_fewer_names_than_passengers(self) -> None:
        messages, response = chat(
            SEARCHED_EN, "book the cheapest for 2 people: Nguyen Van An, an@example.com"
        )
        text = reply_text(response)
        assert "the full name of 1 more passenger" in text
        assert "So far: Nguyen Van An." in text
        _, response = chat(messages, "Tran Thi Binh")
        assert response.calls == (
            book(101, "Nguyen Van An", "Tran Thi Binh", email="an@example.com"),
        )

    def test_the_searched_passenger_count_needs_as_many_names(self) -> None:
        history = searched(passengers=2)
        messages, response = chat(history, "đặt chuyến rẻ nhất")
        assert "họ tên đầy đủ của 2 hành khách" in reply_text(response)
        messages, response = chat(messages, "Nguyễn Văn An")
        text = reply_text(response)
        assert "họ tên đầy đủ của 1 hành khách nữa" in text
        assert "Mình đã có: Nguyễn Văn An." in text
        messages, response = chat(messages, "Trần Thị Bình")
        text = reply_text(response)
        assert "số điện thoại hoặc email" in text
        assert "họ tên" not in text
        _, response = chat(messages, "sđt 0901 234 567")
        assert response.calls == (book(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),)

    def test_a_count_on_the_next_turn(self) -> None:
        messages, response = chat(SEARCHED_VI, "đặt chuyến rẻ nhất, sđt 0901234567")
        assert "họ tên đầy đủ của hành khách" in reply_text(response)
        messages, response = chat(messages, "2 người")
        assert "họ tên đầy đủ của 2 hành khách" in reply_text(response)
        _, response = chat(messages, "Nguyễn Văn An và Trần Thị Bình")
        assert response.calls == (book(101, "Nguyễn Văn An", "Trần Thị Bình", **AN_PHONE),)

    def test_drop_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        messages, response = chat(messages, "thôi")
        assert "chưa có gì được đặt" in reply_text(response)
        # Nothing is pending any more: a name alone is not understood as a booking.
        _, response = chat(messages, "Nguyễn Văn An, 0901234567")
        assert response.calls == ()

    def test_cancel_drops_the_request_instead_of_cancelling_a_booking(self) -> None:
        messages, _ = chat(held(), "đặt chuyến VN213")
        _, response = chat(messages, "hủy")
        assert "chưa có gì được đặt" in reply_text(response)

    def test_a_new_search_replaces_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        _, response = chat(messages, "SGN HAN 16/12")
        assert response.calls == (search(from_city="SGN", to_city="HAN", date="2026-12-16"),)

    def test_a_tool_turn_in_between_ends_the_request(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        weather = {"place": place("HAN", "Hà Nội"), "day": "2026-12-15", "condition_code": "sunny"}
        messages += [
            *called("thời tiết Hà Nội", "get_weather", {"city": "HAN"}, weather, call_id="w1"),
            assistant("Nắng."),
        ]
        response = plan([*messages, user("Nguyễn Văn An, 0901234567")])
        assert not any(c.name in ("book_flight", "hold_booking") for c in response.calls)

    def test_language_of_the_question_follows_the_conversation(self) -> None:
        messages, _ = chat(SEARCHED_VI, "đặt chuyến rẻ nhất")
        plan_ = understand([*messages, user("Nguyen Van An")], TODAY)
        assert plan_.language == "vi"
        assert plan_.reply is not None
        assert "số điện thoại hoặc email" in plan_.reply

    def test_vietnamese_names_in_an_english_request(self) -> None:
        text = reply_text(plan([*SEARCHED_EN, user("book the cheapest one for Nguyễn Văn An")]))
        assert "a phone number or email for the booking" in text


def test_dates_of_birth_are_not_travel_dates() -> None:
    response = plan(
        [*SEARCHED_VI, user("đặt chuyến VJ123 cho Đặng Thị Mai 02/09/1985, 0901234567")]
    )
    assert response.calls == (book(101, ("Đặng Thị Mai", "1985-09-02"), **AN_PHONE),)


def test_a_landline_is_not_a_mobile_number() -> None:
    text = reply_text(
        plan([*SEARCHED_VI, user("đặt chuyến VJ123 cho Nguyễn Văn An, 024 3826 1234")])
    )
    assert "số điện thoại hoặc email" in text
