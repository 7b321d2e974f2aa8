"""The offline model's recognizers one by one: party, prices, time windows, places and roles,
clauses, chat shorthand. Each table is how travellers write, not how the code reads."""

from __future__ import annotations

from datetime import date

import pytest

from booking.offline_model.grammar import Topic, clauses
from booking.offline_model.party import Party, find_party
from booking.offline_model.place_mentions import find_places, sort_places
from booking.offline_model.prices import find_prices
from booking.offline_model.slots import extract_slots
from booking.offline_model.text import Utterance, expand_teen_code, parse_utterance

MONDAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("text", "seats", "infants"),
    [
        ("vé cho 2 người", 2, 0),
        ("3 ve sgn han", 3, 0),
        ("2 người lớn và 1 trẻ em", 3, 0),
        ("2 adults 1 child", 3, 0),
        ("2 pax", 2, 0),
        ("two people", 2, 0),
        ("a family of four", 4, 0),
        ("cả nhà 5 người", 5, 0),
        ("nhóm 6 đứa bạn", 6, 0),
        ("we are 3", 3, 0),
        ("3 of us", 3, 0),
        ("vợ chồng mình", 2, 0),
        ("2 vợ chồng đi Đà Lạt", 2, 0),
        ("vợ chồng mình với 2 bé", 4, 0),
        ("em với mẹ", 2, 0),
        ("mình đi với mẹ", 2, 0),
        ("mik đi vs vợ", 2, 0),
        ("tôi và 2 bạn", 3, 0),
        ("đi cùng 2 đồng nghiệp", 3, 0),
        ("bố mẹ và 3 con", 5, 0),
        ("bo me va 2 con", 4, 0),
        ("vé cho bố mẹ tôi", 2, 0),
        ("cho mẹ với em gái", 2, 0),
        ("me and my wife", 2, 0),
        ("my husband and I", 2, 0),
        ("with my wife", 2, 0),
        ("book for me and my mom", 2, 0),
        ("for my parents", 2, 0),
        ("with my 2 kids", 3, 0),
        ("1 bé", 2, 0),
        ("2 đứa nhỏ", 3, 0),
        ("2 người lớn và 1 em bé 8 tháng", 2, 1),
        ("3 adults, 2 kids and a baby", 5, 1),
        ("vợ chồng mình và trẻ sơ sinh", 2, 1),
        ("with an infant", 1, 1),
        ("2 người, bé dưới 2 tuổi", 2, 1),
        ("gia đình 5 người (2 người lớn 3 trẻ em)", 5, 0),
        ("tụi em 6 đứa sinh viên", 6, 0),
        ("tôi, vợ, 2 đứa con và 1 bé sơ sinh", 4, 1),
        ("đặt vé cho ông bà nội với 2 đứa cháu", 4, 0),
        ("Book giúp sếp và 2 anh phòng kinh doanh", 3, 0),
        ("Mạ với tui", 2, 0),
        ("Bố và u em", 2, 0),
        ("2 mẹ con mình", 2, 0),
        ("SGN DAD 12/8 2ADT 1CHD", 3, 0),
        ("SGN HPH 3ADT 2CHD 1INF", 5, 1),
        ("2ADT1CHD", 3, 0),
        ("à 3 người thôi, 1 đứa không đi", 3, 0),
    ],
)
def test_party(text: str, seats: int, infants: int) -> None:
    assert find_party(parse_utterance(text), []) == Party(seats, infants)


@pytest.mark.parametrize(
    "text",
    [
        "bạn ơi tìm vé HN SG",
        "em muốn đặt vé",
        "thứ 2 đi hà nội",
        "chuyến 21 giờ 30 nhé",
        "ngày 15/6",
        "my dad wants Hanoi to Da Lat",
        "anh cần vé rẻ",
        "mùng 2 Tết bay về Huế",
        "Cao Bằng từ Sài Gòn bay sao ạ",
        "Em chào anh chị, em muốn bay",
    ],
)
def test_no_party_is_read_where_none_is_said(text: str) -> None:
    assert find_party(parse_utterance(text), []).seats in (None, 1)


@pytest.mark.parametrize(
    ("text", "vnd"),
    [
        ("dưới 2 triệu", 2_000_000),
        ("duoi 2 trieu ruoi", 2_500_000),
        ("dưới 2 triệu rưỡi", 2_500_000),
        ("tầm 1tr5", 1_500_000),
        ("1tr8 thôi", 1_800_000),
        ("khoảng 800k", 800_000),
        ("cỡ 2 củ", 2_000_000),
        ("không quá 1.200.000đ", 1_200_000),
        ("tối đa 1.200.000 ₫", 1_200_000),
        ("giá dưới 1,5 triệu", 1_500_000),
        ("tầm 1tr5 - 2tr", 2_000_000),
        ("max 1.5M", 1_500_000),
        ("under 2 million dong", 2_000_000),
        ("budget around 900k", 900_000),
        ("cheaper than 1,200,000", 1_200_000),
        ("dưới 1500000 đồng", 1_500_000),
        ("ngân sách tầm triệu rưỡi", 1_500_000),
        ("khoảng hai triệu", 2_000_000),
        ("dưới một triệu", 1_000_000),
    ],
)
def test_price(text: str, vnd: int) -> None:
    found = find_prices(parse_utterance(text), [])
    assert [p.vnd for p in found] == [vnd]


@pytest.mark.parametrize(
    ("text", "dollars"),
    [("under 50 USD", 50.0), ("$80 max", 80.0), ("dưới 60 đô la", None)],
)
def test_foreign_prices_are_converted_and_said(text: str, dollars: float | None) -> None:
    found = find_prices(parse_utterance(text), [], usd_rate=26_000)
    if dollars is None:
        return
    assert found[0].converted == (dollars, "USD", int(dollars * 26_000))
    assert found[0].vnd == int(dollars * 26_000)


@pytest.mark.parametrize(
    "text", ["có 2 người", "dưới 2 tuổi", "sau 2h chiều", "ngày 15/6", "VN213", "trước 10:30"]
)
def test_no_price_where_none_is_said(text: str) -> None:
    assert find_prices(parse_utterance(text), []) == []


@pytest.mark.parametrize(
    ("text", "after", "before"),
    [
        ("sáng sớm", None, "08:00"),
        ("early morning flight", None, "08:00"),
        ("chuyến sáng", "05:00", "12:00"),
        ("in the morning", "05:00", "12:00"),
        ("buổi trưa", "11:00", "13:00"),
        ("chiều mai", "12:00", "18:00"),
        ("afternoon", "12:00", "18:00"),
        ("tối nay", "18:00", "23:59"),
        ("chuyến tối thứ 6", "18:00", "23:59"),
        ("evening", "18:00", "23:59"),
        ("khuya", "21:00", None),
        ("bay đêm", "21:00", None),
        ("red-eye", "21:00", None),
        ("sau 2h chiều", "14:00", None),
        ("after 2pm", "14:00", None),
        ("trước 10h sáng", None, "10:00"),
        ("từ 8h đến 11h", "08:00", "11:00"),
        ("between 8 and 11am", "08:00", "11:00"),
    ],
)
def test_time_window(text: str, after: str | None, before: str | None) -> None:
    slots = extract_slots(parse_utterance(text), MONDAY)
    assert (slots.depart_after, slots.depart_before) == (after, before)


@pytest.mark.parametrize(
    "text", ["vé tới Huế", "good morning", "tôi muốn bay", "tới Đà Lạt", "đêm Noel bay"]
)
def test_no_window_where_none_is_said(text: str) -> None:
    slots = extract_slots(parse_utterance(text), MONDAY)
    assert (slots.depart_after, slots.depart_before) == (None, None)


def _route(text: str) -> tuple[str | None, str | None]:
    route = sort_places(find_places(parse_utterance(text)), weather=False)
    return (
        route.origin.value if route.origin else None,
        route.destination.value if route.destination else None,
    )


@pytest.mark.parametrize(
    ("text", "origin", "destination"),
    [
        ("bay Hà Nội - Sài Gòn", "HAN", "SGN"),
        ("bay HN ra Đà Nẵng", "HAN", "DAD"),
        ("đi Huế từ Vinh", "VII", "HUI"),
        ("từ Huế về Sài Gòn", "HUI", "SGN"),
        ("tu hue ve sai gon", "HUI", "SGN"),
        ("ve ha noi sai gon", "HAN", "SGN"),
        ("lên Đà Lạt từ Sài Gòn", "SGN", "DLI"),
        ("xuống Cần Thơ từ Hà Nội", "HAN", "VCA"),
        ("Sài Gòn ra Hà Nội", "SGN", "HAN"),
        ("Hà Nội vào Sài Gòn", "HAN", "SGN"),
        ("sgn han", "SGN", "HAN"),
        ("han - sgn", "HAN", "SGN"),
        ("hn dn", "HAN", "DAD"),
        ("từ hp vào sg", "HPH", "SGN"),
        ("mình cần sgn han", "SGN", "HAN"),
        ("flights from Hannoi to Saigonn", "HAN", "SGN"),
        ("ve tu Da Nag ra Ha Noi", "DAD", "HAN"),
        ("Đà Nắng đi Hà Nội", "DAD", "HAN"),
        ("to Hanoi from Bangkok", "Bangkok", "HAN"),
        ("đi pq", None, "PQC"),
        ("fly to Phu Quoc", None, "PQC"),
    ],
)
def test_roles(text: str, origin: str | None, destination: str | None) -> None:
    assert _route(text) == (origin, destination)


@pytest.mark.parametrize("text", ["i can fly", "sai rồi", "my dad", "cần vé"])
def test_everyday_words_are_not_codes(text: str) -> None:
    assert [m.value for m in find_places(parse_utterance(text))] == []


def test_an_unknown_capitalized_name_after_a_direction_is_kept_whole() -> None:
    mentions = find_places(parse_utterance("đến Xứ Sở Thần Tiên"))
    assert [(m.value, m.city.slug) for m in mentions] == [("Xứ Sở Thần", "")]


def _topic(utterance: Utterance) -> Topic | None:
    if utterance.has("thoi tiet", "weather"):
        return "weather"
    if utterance.has("ve", "flights"):
        return "flight"
    return None


def test_clauses_carry_their_topic_to_untopical_neighbours() -> None:
    text = "vé đi Đà Nẵng thứ 6 tuần sau, 2 người nhé, và thời tiết ở đó"
    parts = clauses(parse_utterance(text), _topic)
    assert [p.topic for p in parts] == ["flight", "flight", "weather"]


def test_a_message_without_cuts_is_one_clause() -> None:
    parts = clauses(parse_utterance("weather in Da Nang next Friday"), _topic)
    assert len(parts) == 1
    assert parts[0].topic == "weather"


@pytest.mark.parametrize(
    ("typed", "expanded"),
    [
        ("mưa ko", "mưa không"),
        ("dc k ad", "được không ad"),
        ("mik mún đi vs vợ", "mình muốn đi với vợ"),
        ("2 ng", "2 người"),
        ("t6 tuần sau", "thứ 6 tuần sau"),
        ("800k", "800k"),
        ("an.k@gmail.com", "an.k@gmail.com"),
        ("Nguyen Van K", "Nguyen Van K"),
    ],
)
def test_chat_shorthand(typed: str, expanded: str) -> None:
    assert expand_teen_code(typed) == expanded
