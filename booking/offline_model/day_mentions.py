"""Weeks, weekdays, weekends and days counted from today, in Vietnamese and English.

Weeks start on Monday. A bare weekday ("thứ 6", "T6", "Friday", "thứ 6 tới") is its next
occurrence after today; "thứ 6 này" / "this Friday" this week's, or the next once passed; "thứ 6
tuần sau", "next Friday" next calendar week's, "thứ 6 tuần sau nữa" the week after. "thứ 6 tối"
is Friday (the evening is left to the time-window reader). A weekend ("cuối tuần", "this
weekend", "cuối tuần sau") is both its days, only Sunday on a Sunday. A week without a day
("tuần sau", "next week", "the week after next") is its Monday, for the planner to ask which day.

Days counted from today: "hôm nay" / "today" / "tối nay", "mai" / "tomorrow" (not "Mai Châu" nor
"chị Mai"), "ngày kia" / "mốt" / "the day after tomorrow", "sau 3 ngày" / "in 2 weeks" / "5 days
from now"; "hôm sau" / "the next day", "hôm trước" / "the day before" and "3 ngày sau" / "3 days
later" are shifts of the date the conversation was about, which :mod:`understand` knows.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from booking.offline_model.calendar_days import (
    Reading,
    next_week,
    next_weekday,
    on,
    this_week,
    weekend,
)
from booking.offline_model.date_words import (
    COUNT,
    EN_DAYS,
    EN_WEEKDAY_NAMES,
    Rule,
    count,
    means,
    not_misspelled,
    token_after,
    token_before,
    word_before,
)
from booking.offline_model.lexicon import EN_WEEKDAYS
from booking.offline_model.text import Utterance

__all__ = ["DAY_RULES"]


#: Words after which "thứ 2" is an ordinal or another word, not Monday: "chuyến thứ 2" (the
#: second flight), "vé thứ 2", "nhà ga T2" (a terminal), "theo thứ tự" (in order), "Trung thu".
_NOT_A_WEEKDAY_AFTER = frozenset(
    ["chuyen", "lan", "nguoi", "cai", "hang", "so", "con", "dua", "option", "muc", "dong"]
    + ["ga", "terminal", "theo", "trung"]
)


def _vi_weekday(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["thu"] and not not_misspelled(utterance, m.start("thu"), m.end("thu"), "thứ"):
        return None  # "thử" (try), "thư" (letter)
    before = token_before(utterance, m.start())
    ordinal = before is not None and (before.word in _NOT_A_WEEKDAY_AFTER or before.raw == "vé")
    if ordinal and not (m["cn"] or m["mod"]):
        return None  # "chuyến thứ 2 tuần sau" is a Monday all the same
    if m["word"]:
        weekday, spelled = {
            "hai": (0, "hai"),
            "ba": (1, "ba"),
            "tu": (2, "tư"),
            "nam": (3, "năm"),
            "sau": (4, "sáu"),
            "bay": (5, "bảy"),
        }[m["word"]]
        if not means(utterance, m.start("word"), m.end("word"), spelled):
            return None
    elif m["digit"] or m["t"]:
        weekday = int(m["digit"] or m["t"]) - 2
    else:
        if m["cn"] != "cn" and not not_misspelled(
            utterance, m.start("cn"), m.start("cn") + 3, "chủ"
        ):
            return None  # "chữ nhật" (rectangle)
        weekday = 6
    modifier = m["mod"] or ""
    spelled_mod = utterance.lower[m.start("mod") : m.end("mod")] if m["mod"] else ""
    if modifier == "toi" and spelled_mod != "tới":
        # "thứ 6 tối" is Friday evening: the evening is left to the time-window reader.
        return Reading(days=(next_weekday(today, weekday),), end=m.end("wd"), kind="weekday")
    if modifier.startswith("tuan") and modifier.endswith("nua"):
        day = next_week(today, weekday) + timedelta(days=7)  # "tuần sau nữa": the week after
    elif modifier.startswith("tuan") and not modifier.endswith("nay"):
        day = next_week(today, weekday)
    elif modifier.endswith("nay"):
        day = this_week(today, weekday)
    else:
        day = next_weekday(today, weekday)
    return on(day, kind="weekday")


def _en_weekday(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    name = m["wd"]
    if name not in EN_WEEKDAYS and utterance.lower[m.start("wd") : m.end("wd")] != name:
        return None  # "sát", "thứ" are Vietnamese
    weekday = EN_WEEKDAY_NAMES[name]
    modifier, after = m["mod"] or "", m["after"] or ""
    if modifier == "next" or after.endswith("next week"):
        return on(next_week(today, weekday), kind="weekday")
    if (modifier.startswith("this") and "coming" not in modifier) or after.endswith("this week"):
        return on(this_week(today, weekday), kind="weekday")
    return on(next_weekday(today, weekday), kind="weekday")


def _vi_weekend(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if not not_misspelled(utterance, m.start(), m.start() + 4, "cuối"):
        return None
    modifier = m["mod"] or ""
    if modifier == "toi" and utterance.lower[m.start("mod") : m.end("mod")] == "tối":
        return Reading(days=weekend(today, of_next_week=False).days, end=m.end("base"))
    reading = weekend(today, of_next_week=modifier.startswith(("sau", "toi")))
    if modifier.endswith("nua"):
        # "cuối tuần sau nữa": the weekend after next.
        return on(*(day + timedelta(days=7) for day in reading.days))
    return reading


def _en_weekend(m: re.Match[str], _: Utterance, today: date) -> Reading | None:
    return weekend(today, of_next_week=m["mod"] == "next")


def _today(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["part"] == "toi" and utterance.lower[m.start("part") : m.end("part")] == "tới":
        return None  # "cho tới nay" is "until now"
    return on(today)


_NAME_BEFORE = frozenset(
    ["chi", "anh", "em", "co", "chu", "bac", "ong", "ba", "ban", "be", "cho", "voi", "va", "thi"]
    + ["van", "for", "with", "and", "miss", "ms", "mrs", "mr", "hoa", "canh", "cay"]
)


def _tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    if m["mai"]:
        start, end = m.span("mai")
        if utterance.lower[start:end] != "mai":
            return None  # "mãi" (forever), "mái" (roof), "mại"
        after = token_after(utterance, end)
        if after is not None and after.word in ("chau", "mot"):
            return None  # "Mai Châu" is a place; "mai mốt" is some day
        before = token_before(utterance, start)
        at_start = before is None or utterance.plain[before.end : start].strip() in (".", "!", "?")
        capital = utterance.typed[start].isupper()
        if before is not None and before.word in ("hoa", "canh", "cay"):
            return None  # "hoa mai", the apricot blossom
        if capital and not at_start:
            named = before is not None and before.word in _NAME_BEFORE
            titled = after is not None and after.typed.istitle() and len(after.typed) > 1
            if named or titled:
                return None  # "chị Mai", "cho Mai", "Mai Anh": a name
    return on(today + timedelta(days=1))


def _after_tomorrow(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    # "một" (one) folds to "mot" like "mốt" (the day after tomorrow): alone, only the accented
    # spelling counts; after "ngày" either does, unless it is spelled "một".
    if m["mot"]:
        spelled = utterance.lower[m.start("mot") : m.end("mot")]
        if m["pre"] is None and spelled != "mốt":
            return None
        if spelled == "một" or word_before(utterance, m.start()) in ("mai", "thang"):
            return None  # "mai mốt" is some day; "tháng mốt" is November
    return on(today + timedelta(days=2))


def _in_days(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
    number = count(utterance, m.start("n"), m.end("n"), m["n"])
    if number is None or number == 0:
        return None
    days = number * (7 if m["unit"].startswith(("tuan", "week")) else 1)
    if m.groupdict().get("later"):
        return Reading(shift=days)
    return on(today + timedelta(days=days))


def _constant(value: Reading) -> Rule:
    def rule(m: re.Match[str], utterance: Utterance, today: date) -> Reading | None:
        return value

    return rule


#: The week, weekday and day rules, in the order :func:`date_mentions.find_dates` tries them
#: (after its calendar dates and months, before its days of the month).
DAY_RULES: list[tuple[re.Pattern[str], Rule]] = [
    # Weeks and weekdays.
    (
        re.compile(r"\b(?P<base>cuoi\s+tuan)(?:\s+(?P<mod>nay|(?:sau|toi)(?:\s+nua)?)\b)?"),
        _vi_weekend,
    ),
    (
        re.compile(
            r"\b(?:(?:on|over)\s+)?(?:(?P<mod>this(?:\s+coming)?|next|coming|the)\s+)?"
            r"(?:weekend|wknd|wkend|week-end)\b"
        ),
        _en_weekend,
    ),
    (
        re.compile(
            r"\b(?P<wd>(?P<thu>thu)(?:\s*(?P<digit>[2-7])|\s+(?P<word>hai|ba|tu|nam|sau|bay))"
            r"|t(?P<t>[2-7])|(?P<cn>chu\s+nhat|cn))\b"
            r"(?:\s*,?\s*(?P<mod>tuan\s+(?:(?:sau|toi)(?:\s+nua)?|nay)|nay|toi)\b)?"
        ),
        _vi_weekday,
    ),
    (
        re.compile(
            rf"\b(?:(?P<mod>next|this\s+coming|this|coming|upcoming|on)\s+)?(?P<wd>{EN_DAYS})\b\.?"
            r"(?:\s+(?P<after>next\s+week|this\s+week|of\s+next\s+week|of\s+this\s+week))?"
        ),
        _en_weekday,
    ),
    (
        re.compile(
            r"\b(?:(?:dau\s+)?tuan\s+(?:sau|toi)(?P<after>\s+nua)?|(?:early\s+)?next\s+week"
            r"|(?:the\s+)?(?:beginning|start)\s+of\s+next\s+week|(?P<after2>the\s+week\s+after\s+next))\b"
        ),
        # A week without a day is no date to search: the planner asks which day of it.
        lambda m, u, today: Reading(week=next_week(today, 7 if m["after"] or m["after2"] else 0)),
    ),
    # Days counted from today.
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+nay|(?<!may\s)bua\s+nay|today|tonight|tdy"
            r"|(?P<part>toi|sang|chieu|trua|dem|khuya)\s+nay"
            r"|this\s+(?:morning|afternoon|evening))\b"
        ),
        _today,
    ),
    (
        re.compile(
            r"\b(?:ngay\s+mai|bua\s+mai|(?P<mai>mai)|tomorrow|tomorow|tommorow|tommorrow|tmrw?|tmw"
            r"|2moro|2morrow|2mrw|2mr|tomoz)\b"
        ),
        _tomorrow,
    ),
    (
        re.compile(
            r"\b(?:ngay\s+kia|(?:(?P<pre>ngay|hom|bua)\s+)?(?P<mot>mot)"
            r"|(?:the\s+)?day\s+after\s+tomorrow|overmorrow)\b"
        ),
        _after_tomorrow,
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+sau|ngay\s+sau(?:\s+do)?(?!\s+\d)|ngay\s+tiep\s+theo"
            r"|(?:the\s+)?next\s+day|(?:the\s+)?day\s+after|(?:the\s+)?following\s+day)\b"
        ),
        _constant(Reading(shift=1)),
    ),
    (
        re.compile(
            r"\b(?:(?:ngay\s+)?hom\s+truoc|ngay\s+truoc(?:\s+do)?(?!\s+\d)"
            r"|(?:the\s+)?day\s+before|(?:the\s+)?previous\s+day)\b"
        ),
        _constant(Reading(shift=-1)),
    ),
    (
        re.compile(
            rf"\b(?:in|sau)\s+(?P<n>{COUNT})\s+(?P<unit>ngay|hom|days?|tuan|weeks?)\b"
            r"(?:\s+(?:nua|toi))?"
        ),
        _in_days,
    ),
    (
        re.compile(
            rf"\b(?P<n>{COUNT})\s+(?P<unit>ngay|hom|days?|tuan|weeks?)\s+"
            r"(?:nua|from\s+(?:now|today)|(?P<later>later|sau))\b"
        ),
        _in_days,
    ),
]
