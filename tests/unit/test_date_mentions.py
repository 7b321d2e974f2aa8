"""Date phrases as travellers type them, resolved against today (docs/offline-model.md, "Dates").

Calendar used below: 2026-06-01 is a Monday, so that week's Friday is 06-05, its weekend
06-06/06-07, and next week runs 06-08 to 06-14. Tết (lunar 1/1) falls on 2026-02-17, 2027-02-06
and 2028-01-26; lunar month 12 before each has 29 days, so "29 Tết" is giao thừa those years.
"""

from __future__ import annotations

from datetime import date

import pytest

from booking.offline_model.date_mentions import DateMention, find_dates
from booking.offline_model.text import parse_utterance

MON = date(2026, 6, 1)
THU = date(2026, 6, 4)
FRI = date(2026, 6, 5)
SAT = date(2026, 6, 6)
SUN = date(2026, 6, 7)


def dates(text: str, today: date = MON) -> list[DateMention]:
    return find_dates(parse_utterance(text), today, [])


def days_of(text: str, today: date) -> list[tuple[str, ...]]:
    return [tuple(d.isoformat() for d in m.days) for m in dates(text, today)]


# (what the traveller typed, today, the days meant)
DAYS: list[tuple[str, date, tuple[str, ...]]] = [
    # Bare weekdays: the next one after today, today excluded.
    ("vé SGN HAN thứ Sáu", MON, ("2026-06-05",)),
    ("thu 6 bay ha noi", MON, ("2026-06-05",)),
    ("T6 bay HN", MON, ("2026-06-05",)),
    ("t6 bay HN", MON, ("2026-06-05",)),
    ("thứ Hai", MON, ("2026-06-08",)),
    ("thứ 2 bay sớm", MON, ("2026-06-08",)),
    ("thứ ba", MON, ("2026-06-02",)),
    ("thứ tư", MON, ("2026-06-03",)),
    ("thứ năm", MON, ("2026-06-04",)),
    ("thứ bảy", MON, ("2026-06-06",)),
    ("Chủ nhật", MON, ("2026-06-07",)),
    ("chu nhat", MON, ("2026-06-07",)),
    ("CN bay về", MON, ("2026-06-07",)),
    ("cn", SUN, ("2026-06-14",)),
    ("thứ 6", FRI, ("2026-06-12",)),
    ("Friday", MON, ("2026-06-05",)),
    ("on Friday", FRI, ("2026-06-12",)),
    ("flights to Hanoi on Sat", MON, ("2026-06-06",)),
    ("tues", MON, ("2026-06-02",)),
    # "tới" after a weekday is the next occurrence, not next week.
    ("thứ 6 tới", THU, ("2026-06-05",)),
    ("thứ 6 tới", MON, ("2026-06-05",)),
    ("thứ 6 tới", SAT, ("2026-06-12",)),
    ("this coming Friday", MON, ("2026-06-05",)),
    # "này" / "this": this week's, or the next once passed.
    ("thứ 6 này", MON, ("2026-06-05",)),
    ("thứ 6 này", FRI, ("2026-06-05",)),
    ("thứ 6 tuần này", SAT, ("2026-06-12",)),
    ("this Friday", MON, ("2026-06-05",)),
    ("this Saturday", SUN, ("2026-06-13",)),
    ("Thứ năm này", MON, ("2026-06-04",)),
    # "tuần sau" / "tuần tới" / "next": the next calendar week's.
    ("thứ Sáu tuần sau", MON, ("2026-06-12",)),
    ("thu 6 tuan sau tu ha noi", MON, ("2026-06-12",)),
    ("T6 tuần sau HN - SG", MON, ("2026-06-12",)),
    ("thứ hai tuần tới", MON, ("2026-06-08",)),
    ("thứ 6 tuần sau", SUN, ("2026-06-12",)),
    ("CN tuần sau", SAT, ("2026-06-14",)),
    ("next Friday", MON, ("2026-06-12",)),
    ("next Friday", FRI, ("2026-06-12",)),
    ("Friday next week", MON, ("2026-06-12",)),
    ("Friday of next week", THU, ("2026-06-12",)),
    ("đặt chuyến thứ 2 tuần sau", date(2026, 11, 22), ("2026-11-23",)),
    ("thứ 6 tuần sau nữa", MON, ("2026-06-19",)),
    # Weekends: both days; only Sunday on a Sunday.
    ("cuối tuần này", MON, ("2026-06-06", "2026-06-07")),
    ("cuối tuần này", FRI, ("2026-06-06", "2026-06-07")),
    ("cuối tuần này", SAT, ("2026-06-06", "2026-06-07")),
    ("cuối tuần này", SUN, ("2026-06-07",)),
    ("cuoi tuan bay da lat", THU, ("2026-06-06", "2026-06-07")),
    ("this weekend", SAT, ("2026-06-06", "2026-06-07")),
    ("this weekend", SUN, ("2026-06-07",)),
    ("over the weekend", MON, ("2026-06-06", "2026-06-07")),
    ("wknd", FRI, ("2026-06-06", "2026-06-07")),
    ("cuối tuần sau", MON, ("2026-06-13", "2026-06-14")),
    ("cuối tuần sau", SAT, ("2026-06-13", "2026-06-14")),
    ("cuối tuần sau", SUN, ("2026-06-13", "2026-06-14")),
    ("đi chơi cuối tuần tới", MON, ("2026-06-13", "2026-06-14")),
    ("next weekend", SUN, ("2026-06-13", "2026-06-14")),
    ("cuối tuần sau nữa", MON, ("2026-06-20", "2026-06-21")),
    ("cuối tuần này", date(2026, 12, 31), ("2027-01-02", "2027-01-03")),
    # Today, tomorrow, the day after.
    ("vé SGN HAN hôm nay", MON, ("2026-06-01",)),
    ("today", MON, ("2026-06-01",)),
    ("tối nay SGN HAN", MON, ("2026-06-01",)),
    ("tonight", MON, ("2026-06-01",)),
    ("sáng nay còn vé không", MON, ("2026-06-01",)),
    ("vé SGN HAN ngày mai", MON, ("2026-06-02",)),
    ("ve SGN HAN mai", MON, ("2026-06-02",)),
    ("mai bay ra Hà Nội", MON, ("2026-06-02",)),
    ("Mai bay HN", MON, ("2026-06-02",)),
    ("chuyến sáng mai", MON, ("2026-06-02",)),
    ("tomorrow", date(2026, 12, 31), ("2027-01-01",)),
    ("tmr", MON, ("2026-06-02",)),
    ("tmrw pls", MON, ("2026-06-02",)),
    ("2moro", MON, ("2026-06-02",)),
    ("vé SGN HAN mốt", MON, ("2026-06-03",)),
    ("ngày mốt", MON, ("2026-06-03",)),
    ("vé SGN HAN ngày kia", MON, ("2026-06-03",)),
    ("the day after tomorrow", MON, ("2026-06-03",)),
    # Counted from today.
    ("in 3 days from Saigon to Hanoi", MON, ("2026-06-04",)),
    ("3 ngày nữa sài gòn đi đà lạt", MON, ("2026-06-04",)),
    ("sau 2 tuần", MON, ("2026-06-15",)),
    ("2 tuần nữa", MON, ("2026-06-15",)),
    ("hai tuần nữa", MON, ("2026-06-15",)),
    ("sáu ngày nữa", MON, ("2026-06-07",)),
    ("a week from now", MON, ("2026-06-08",)),
    ("in two weeks", MON, ("2026-06-15",)),
    # A day of the month: the next such day.
    ("ngày 20", MON, ("2026-06-20",)),
    ("ngày 20", date(2026, 6, 25), ("2026-07-20",)),
    ("ngày 31", FRI, ("2026-07-31",)),
    ("mùng 5", MON, ("2026-06-05",)),
    ("the 20th", MON, ("2026-06-20",)),
    ("on the 3rd", MON, ("2026-06-03",)),
    ("ngày 4 tháng sau", date(2026, 6, 25), ("2026-07-04",)),
    ("ngày 4 tháng sau", date(2026, 12, 25), ("2027-01-04",)),
    # Day and month: this year's while ahead, next year's within six months.
    ("15/6", MON, ("2026-06-15",)),
    ("15-6", MON, ("2026-06-15",)),
    ("15.6", MON, ("2026-06-15",)),
    ("1/6", MON, ("2026-06-01",)),
    ("15/06/26", MON, ("2026-06-15",)),
    ("15/6/2027", MON, ("2027-06-15",)),
    ("15.6.2027", MON, ("2027-06-15",)),
    ("2026-06-15", MON, ("2026-06-15",)),
    ("ngày 15 tháng 6", MON, ("2026-06-15",)),
    ("15 tháng 6", MON, ("2026-06-15",)),
    ("15 thang 6", MON, ("2026-06-15",)),
    ("ngày 15 tháng 6 năm 2027", MON, ("2027-06-15",)),
    ("15 tháng sáu", MON, ("2026-06-15",)),
    ("June 15", MON, ("2026-06-15",)),
    ("15 June", MON, ("2026-06-15",)),
    ("15th of June", MON, ("2026-06-15",)),
    ("Jun 15th", MON, ("2026-06-15",)),
    ("June 15, 2027", MON, ("2027-06-15",)),
    ("December 25th", MON, ("2026-12-25",)),
    ("aug 14 $80 max", MON, ("2026-08-14",)),
    ("Jan 31 night flight", date(2026, 1, 21), ("2026-01-31",)),
    ("5/1", date(2026, 12, 20), ("2027-01-05",)),
    ("5 Jan", date(2026, 12, 20), ("2027-01-05",)),
    ("20/6", date(2026, 12, 20), ("2027-06-20",)),
    ("21/6", date(2026, 12, 20), ("2027-06-21",)),
    ("1/1", date(2026, 12, 31), ("2027-01-01",)),
    ("31/12", date(2026, 12, 31), ("2026-12-31",)),
    ("đi chơi 30/4 từ sài gòn ra hà nội", date(2026, 12, 15), ("2027-04-30",)),
    ("bay HN-15/6", MON, ("2026-06-15",)),
    # A weekday said with its date is one phrase: the date.
    ("thứ 6 ngày 12/6", MON, ("2026-06-12",)),
    ("Friday, June 12", MON, ("2026-06-12",)),
    # Beginning, middle and end of a month.
    ("đầu tháng sau", MON, ("2026-07-01",)),
    ("đầu tháng sau", date(2026, 12, 10), ("2027-01-01",)),
    ("đầu tháng", date(2026, 6, 10), ("2026-07-01",)),
    ("giữa tháng", MON, ("2026-06-15",)),
    ("giữa tháng", date(2026, 6, 20), ("2026-07-15",)),
    ("cuối tháng", MON, ("2026-06-30",)),
    ("cuối tháng", date(2027, 2, 3), ("2027-02-28",)),
    ("cuối tháng", date(2028, 2, 3), ("2028-02-29",)),
    ("cuối tháng 7", MON, ("2026-07-31",)),
    ("cuối tháng bảy", MON, ("2026-07-31",)),
    ("cuoi thang bay ha noi vao sai gon", date(2026, 8, 4), ("2026-08-31",)),
    ("giữa tháng sau", MON, ("2026-07-15",)),
    ("beginning of next month", MON, ("2026-07-01",)),
    ("middle of next month", MON, ("2026-07-15",)),
    ("end of the month", MON, ("2026-06-30",)),
    ("end of June", MON, ("2026-06-30",)),
    ("mid-June", MON, ("2026-06-15",)),
    ("early July", MON, ("2026-07-01",)),
    ("late June", MON, ("2026-06-30",)),
]

# Holidays, each its next occurrence on or after today.
HOLIDAYS: list[tuple[str, date, tuple[str, ...]]] = [
    ("Tết này mình muốn về Hà Nội", date(2026, 1, 5), ("2026-02-17",)),
    ("bay về quê ăn Tết", MON, ("2027-02-06",)),
    ("Tet o Ha Noi co ret khong", date(2026, 1, 10), ("2026-02-17",)),
    ("Tết", date(2027, 2, 6), ("2027-02-06",)),
    ("Tết", date(2027, 3, 1), ("2028-01-26",)),
    ("Tết Nguyên Đán", date(2027, 12, 28), ("2028-01-26",)),
    ("want to fly home for Tet", date(2026, 10, 15), ("2027-02-06",)),
    ("flights for Lunar New Year", date(2026, 1, 6), ("2026-02-17",)),
    ("Tết năm sau", date(2026, 1, 5), ("2027-02-06",)),
    ("Tết năm sau", date(2027, 2, 5), ("2028-01-26",)),
    ("Tết năm nay bay từ Hà Nội về Cần Thơ", date(2026, 12, 27), ("2027-02-06",)),
    ("Tết 2028", MON, ("2028-01-26",)),
    ("mùng 1 Tết", date(2027, 1, 25), ("2027-02-06",)),
    ("mung 2 Tet bay tu Ha Noi vao Da Nang", date(2026, 1, 20), ("2026-02-18",)),
    ("mùng 2 Tết", date(2027, 1, 10), ("2027-02-07",)),
    ("mùng 3 Tết", date(2027, 2, 7), ("2027-02-08",)),
    ("mùng hai Tết", date(2027, 1, 10), ("2027-02-07",)),
    ("mung 6 tet bay vinh vao sai gon", date(2026, 2, 3), ("2026-02-22",)),
    ("mùng 4 Tết", date(2027, 12, 1), ("2028-01-29",)),
    ("the second day of Tet", date(2027, 1, 10), ("2027-02-07",)),
    ("on the 3rd day of Tet", date(2026, 12, 15), ("2027-02-08",)),
    ("28 Tết có vé sg ra vinh ko shop", date(2026, 1, 26), ("2026-02-15",)),
    ("25 Tết bay Hà Nội vào Sài Gòn", date(2026, 1, 12), ("2026-02-12",)),
    ("ngày 27 Tết", date(2027, 1, 8), ("2027-02-03",)),
    ("28 Tết", date(2026, 12, 1), ("2027-02-04",)),
    ("28 Tết", date(2027, 12, 1), ("2028-01-24",)),
    ("28 Tết", date(2027, 2, 5), ("2028-01-24",)),
    ("ngày 30 Tết", date(2026, 12, 1), ("2027-02-05",)),
    ("30 Tết", date(2027, 6, 1), ("2028-01-25",)),
    ("29 Tết", date(2026, 12, 1), ("2027-02-05",)),
    ("29 Tết", date(2024, 1, 1), ("2024-02-08",)),
    ("30 Tết", date(2024, 1, 1), ("2024-02-09",)),
    ("giao thừa", date(2026, 12, 1), ("2027-02-05",)),
    ("đêm giao thừa", date(2027, 6, 1), ("2028-01-25",)),
    ("Giỗ Tổ bay Sài Gòn ra Hà Nội", date(2026, 3, 30), ("2026-04-26",)),
    ("giỗ tổ Hùng Vương", MON, ("2027-04-16",)),
    ("Gio To nam nay bay hn vao dn", date(2027, 2, 15), ("2027-04-16",)),
    ("Giỗ Tổ", date(2027, 5, 1), ("2028-04-04",)),
    ("Hung Kings Day", date(2027, 3, 15), ("2027-04-16",)),
    ("Trung thu", MON, ("2026-09-25",)),
    ("Tết Trung thu", date(2026, 10, 1), ("2027-09-15",)),
    ("Trung thu nam nay bay ha noi vao da nang", date(2027, 8, 20), ("2027-09-15",)),
    ("Trung thu năm sau", MON, ("2027-09-15",)),
    ("Mid-Autumn Festival", date(2027, 10, 1), ("2028-10-03",)),
    ("Rằm tháng Giêng bay từ Đà Nẵng ra Hà Nội", date(2026, 2, 24), ("2026-03-03",)),
    ("rằm tháng giêng", MON, ("2027-02-20",)),
    ("Rằm tháng Giêng", date(2027, 6, 1), ("2028-02-09",)),
    ("15/8 âm lịch", MON, ("2026-09-25",)),
    ("mùng 10 tháng 3 âm lịch", MON, ("2027-04-16",)),
    ("Noel bay Hà Nội đi Đà Lạt", date(2026, 11, 20), ("2026-12-25",)),
    ("Giang sinh bay sai gon ra ha noi", date(2026, 12, 1), ("2026-12-25",)),
    ("Noel", date(2026, 12, 26), ("2027-12-25",)),
    ("thời tiết Hà Nội đêm Noel", date(2026, 12, 20), ("2026-12-24",)),
    ("đêm Giáng sinh", MON, ("2026-12-24",)),
    ("Christmas Eve", date(2026, 11, 20), ("2026-12-24",)),
    ("Christmas", date(2026, 12, 3), ("2026-12-25",)),
    ("Tết dương lịch bay từ Hà Nội đi Phú Quốc", date(2026, 12, 9), ("2027-01-01",)),
    ("Hanoi to Bangkok on New Year's Day", date(2026, 12, 10), ("2027-01-01",)),
    ("năm mới đi Đà Lạt", date(2027, 1, 1), ("2027-01-01",)),
    ("New Year's Eve", date(2026, 11, 28), ("2026-12-31",)),
    ("lễ 30/4 đi Phú Quốc", MON, ("2027-04-30",)),
    ("Giải phóng miền Nam", MON, ("2027-04-30",)),
    ("Reunification Day", date(2026, 3, 25), ("2026-04-30",)),
    ("Quốc tế lao động", MON, ("2027-05-01",)),
    ("Labour Day", date(2026, 4, 20), ("2026-05-01",)),
    ("Quốc khánh năm nay mình bay Hà Nội - Nha Trang", date(2026, 8, 19), ("2026-09-02",)),
    ("lễ Quốc khánh 2/9 cho mình 2 vé", MON, ("2026-09-02",)),
    ("National Day", date(2026, 9, 3), ("2027-09-02",)),
    ("dip 2/9 bay tu sg ra da nang", date(2026, 8, 11), ("2026-09-02",)),
    ("Valentine", MON, ("2027-02-14",)),
]


@pytest.mark.parametrize(("text", "today", "expected"), DAYS + HOLIDAYS)
def test_days_meant(text: str, today: date, expected: tuple[str, ...]) -> None:
    found = dates(text, today)
    assert [tuple(d.isoformat() for d in m.days) for m in found] == [expected]
    assert found[0].day == found[0].days[0]
    assert (found[0].passed, found[0].month, found[0].shift) == (None, None, None)


# A week without a day is no date to search: its Monday is kept and the planner asks which day.
WEEKS: list[tuple[str, date, str]] = [
    ("tuần sau SGN → DAD", MON, "2026-06-08"),
    ("next week", THU, "2026-06-08"),
    ("tuần sau", date(2026, 12, 31), "2027-01-04"),
    ("tuần tới em bay", MON, "2026-06-08"),
    ("tuần sau nữa", MON, "2026-06-15"),
    ("the week after next", THU, "2026-06-15"),
]


@pytest.mark.parametrize(("text", "today", "monday"), WEEKS)
def test_a_week_without_a_day_is_no_day(text: str, today: date, monday: str) -> None:
    found = dates(text, today)
    assert [(m.days, m.day, m.week) for m in found] == [((), None, date.fromisoformat(monday))]


# (typed, today, the date as said, the same day and month at its next occurrence)
PASSED: list[tuple[str, date, str, str | None]] = [
    ("15/5", MON, "2026-05-15", "2027-05-15"),
    ("SGN → HAN 15/5", MON, "2026-05-15", "2027-05-15"),
    ("May 15", MON, "2026-05-15", "2027-05-15"),
    ("ngày 15 tháng 5", MON, "2026-05-15", "2027-05-15"),
    ("30/4", MON, "2026-04-30", "2027-04-30"),
    ("5/1", MON, "2026-01-05", "2027-01-05"),
    ("31/5", MON, "2026-05-31", "2027-05-31"),
    ("22/6", date(2026, 12, 20), "2026-06-22", "2027-06-22"),
    ("19/12", date(2026, 12, 20), "2026-12-19", "2027-12-19"),
    ("15/5/2025", MON, "2025-05-15", "2027-05-15"),
    ("15/6/2025", MON, "2025-06-15", "2026-06-15"),
    ("ngày 15 tháng 6 năm 2025", MON, "2025-06-15", "2026-06-15"),
    ("June 15, 2025", MON, "2025-06-15", "2026-06-15"),
    ("Tết năm nay", MON, "2026-02-17", "2027-02-06"),
    ("ngày 4 tháng này", date(2026, 6, 25), "2026-06-04", None),
    ("đầu tháng 6", date(2026, 6, 10), "2026-06-01", "2027-06-01"),
]


@pytest.mark.parametrize(("text", "today", "said", "offered"), PASSED)
def test_passed_dates_are_not_days(text: str, today: date, said: str, offered: str | None) -> None:
    [mention] = dates(text, today)
    assert (mention.day, mention.days) == (None, ())
    assert mention.passed == date.fromisoformat(said)
    assert mention.next_year == (date.fromisoformat(offered) if offered else None)


# (typed, today, the month named without a day)
MONTHS: list[tuple[str, date, int]] = [
    ("tháng 6", MON, 6),
    ("tháng sáu", MON, 6),
    ("thang 7 bay da nang", MON, 7),
    ("tháng bảy bay Hà Nội", MON, 7),
    ("tháng 12 năm 2026", MON, 12),
    ("tháng sau", MON, 7),
    ("tháng sau bay HN", date(2026, 12, 5), 1),
    ("tháng tới", MON, 7),
    ("tháng này", MON, 6),
    ("next month", date(2026, 12, 5), 1),
    ("this month", MON, 6),
    ("in June", MON, 6),
    ("in May", MON, 5),
    ("sometime in March 2027", MON, 3),
    ("June 2 adults", MON, 6),
]


@pytest.mark.parametrize(("text", "today", "month"), MONTHS)
def test_a_month_alone_leaves_the_day_to_ask(text: str, today: date, month: int) -> None:
    [mention] = dates(text, today)
    assert (mention.day, mention.days, mention.passed) == (None, (), None)
    assert mention.month == month


SHIFTS: list[tuple[str, int]] = [
    ("hôm sau", 1),
    ("ngày hôm sau", 1),
    ("còn ngày hôm sau thì sao", 1),
    ("ngày sau đó", 1),
    ("the next day", 1),
    ("what about the day after?", 1),
    ("the following day", 1),
    ("hôm trước", -1),
    ("and the day before?", -1),
    ("3 days later", 3),
    ("2 ngày sau", 2),
]


@pytest.mark.parametrize(("text", "shift"), SHIFTS)
def test_shifts_move_the_conversations_date(text: str, shift: int) -> None:
    [mention] = dates(text)
    assert (mention.shift, mention.day, mention.days) == (shift, None, ())


# Numbers, words and names that are not dates.
NOT_DATES = [
    "bay lúc 8h30",
    "chuyến 10:15",
    "sau 2h chiều",
    "dưới 1.5 triệu",
    "dưới 1tr5",
    "1,5 triệu",
    "dưới 2.000.000đ",
    "under 1.8 million",
    "lúc 9.05",
    "2 người",
    "2-3 người",
    "ở 3 đêm",
    "VN123",
    "chuyến VN 213",
    "0901234567",
    "vé máy bay",
    "may bay gia re",
    "May I book a flight?",
    "một vé",
    "Mai Châu",
    "bay đi Mai Châu",
    "mai chau",
    "đặt vé cho Mai",
    "Nguyễn Thị Mai",
    "mai mốt",
    "chuyến thứ 2",
    "lấy chuyến thứ hai",
    "vé thứ 2",
    "book the 2nd one",
    "15-20/6",
    "theo thứ tự giá",
    "nhà ga T2",
    "hình chữ nhật",
    "bay thẳng 2 người",
    "tháng 2 lần",
    "bé 10 tháng",
    "ngay 2 nguoi",
    "đi ngay",
    "chúc mừng năm mới",
    "happy new year",
    "bánh tét",
    "cho tới nay",
    "weather in Hanoi",
    "Sài Gòn đi Hà Nội",
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_not_a_date(text: str) -> None:
    assert dates(text) == []


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("khứ hồi Hà Nội Đà Nẵng 15/6 về ngày 20/6", MON, [("2026-06-15",), ("2026-06-20",)]),
        ("đi t7 về cn", MON, [("2026-06-06",), ("2026-06-07",)]),
        ("đi t6 về t2", MON, [("2026-06-05",), ("2026-06-08",)]),
        ("di thu 6 ve thu 2", MON, [("2026-06-05",), ("2026-06-08",)]),
        ("nghỉ lễ 30/4 - 1/5", MON, [("2027-04-30",), ("2027-05-01",)]),
        ("mai đi Mai Châu", MON, [("2026-06-02",)]),
        ("chị Mai bay ngày mai", MON, [("2026-06-02",)]),
        ("Can Tho to Hanoi 1 March, less than 1.8 million", date(2027, 2, 15), [("2027-03-01",)]),
        ("ve may bay 15/6", MON, [("2026-06-15",)]),
        ("SGN HAN 15/6 dưới 1.5 triệu 2 người", MON, [("2026-06-15",)]),
        ("15/6 bay lúc 8h30", MON, [("2026-06-15",)]),
    ],
)
def test_several_phrases_in_one_message(
    text: str, today: date, expected: list[tuple[str, ...]]
) -> None:
    assert days_of(text, today) == expected


class TestSpans:
    @staticmethod
    def said(text: str, today: date = MON) -> list[str]:
        utterance = parse_utterance(text)
        return [utterance.typed[m.start : m.end] for m in find_dates(utterance, today, [])]

    def test_to_after_a_weekday_is_part_of_it(self) -> None:
        assert self.said("bay thứ 6 tới nhé") == ["thứ 6 tới"]

    def test_evening_after_a_weekday_is_left_for_the_time_window(self) -> None:
        assert self.said("bay thứ 6 tối") == ["thứ 6"]
        assert days_of("bay thứ 6 tối", MON) == [("2026-06-05",)]

    def test_a_holiday_claims_its_date(self) -> None:
        assert self.said("lễ Quốc khánh 2/9 bay Nha Trang") == ["lễ Quốc khánh 2/9"]

    def test_found_phrases_claim_their_characters(self) -> None:
        utterance = parse_utterance("15/6 rồi 20/6")
        taken: list[tuple[int, int]] = []
        find_dates(utterance, MON, taken)
        assert taken == [(0, 4), (9, 13)]

    def test_phrases_overlapping_taken_spans_are_skipped(self) -> None:
        utterance = parse_utterance("15/6 rồi 20/6")
        found = find_dates(utterance, MON, [(0, 4)])
        assert [m.day for m in found] == [date(2026, 6, 20)]

    def test_return_marks(self) -> None:
        outbound, back = dates("đi 15/6 về 20/6")
        assert (outbound.return_mark, back.return_mark) == (None, "strong")
        assert dates("returning June 20")[0].return_mark == "strong"
        assert dates("ve 20/6")[0].return_mark == "weak"


@pytest.mark.parametrize("today", [date(2026, 1, 5), MON, date(2027, 3, 1), date(2027, 12, 1)])
def test_public_tet_and_lunar_new_year_agree(today: date) -> None:
    """Tết comes from `holidays`, "mùng 1 Tết" from the lunar calendar: the same day."""
    assert dates("Tết", today)[0].day == dates("mùng 1 Tết", today)[0].day
    assert dates("Giỗ Tổ", today)[0].day == dates("mùng 10 tháng 3 âm lịch", today)[0].day
    tet = dates("Tết", today)[0].day
    assert tet is not None
    assert dates("giao thừa", today)[0].day == tet.fromordinal(tet.toordinal() - 1)


def test_impossible_dates_are_not_read() -> None:
    assert dates("vé SGN HAN 31/2") == []
    assert dates("ngày 32") == []
