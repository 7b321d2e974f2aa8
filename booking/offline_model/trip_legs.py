"""The dates a message means and the legs of the trip they belong to.

Corrections and purposes are read first ("à nhầm, ngày 16 chứ không phải 15", "về quê ăn Tết"),
then a round trip's legs keep the time of day said with each, and a multi-city message ("HN-SG
ngày 5/3 rồi SG-PQ ngày 8/3") is cut into legs that each name a route and a day.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from booking.offline_model.grammar import clauses
from booking.offline_model.place_mentions import Mention, sort_places
from booking.offline_model.slots import Slots, extract_slots
from booking.offline_model.text import Utterance, parse_utterance

#: Words that ask for the way back: "vé về", "chiều về", "the flight back", "return flight".
RETURN_LEG = re.compile(
    r"\b(?:ve\s+ve|chieu\s+ve|chuyen\s+ve|luot\s+ve|ngay\s+ve|(?:the\s+)?(?:flight|way)\s+back"
    r"|return\s+(?:flight|leg)|flying\s+back)\b"
)
_PURPOSE = re.compile(r"\b(?:an|don|choi|nghi|ve\s+que|celebrate|spend)\s*$")
_PURPOSE_INSIDE = re.compile(r"(?:an|don|choi|nghi)\s")
_CORRECTION = re.compile(
    r"\b(?:nham|nham\s+roi|sua\s+lai|y\s+la|y\s+minh\s+la|i\s+mean|sorry|actually|correction"
    r"|doi\s+lai)\b"
)
_NEGATED = re.compile(r"\b(?:khong\s+phai|chu\s+khong\s+phai|not)\s*(?:la\s+)?(?:ngay\s+)?$")


def meant_dates(utterance: Utterance, slots: Slots) -> Slots:
    """The dates the traveller means to fly on, corrections and purposes aside.

    "à nhầm, ngày 16 chứ không phải 15": a date after a correction wins, one after "không
    phải"/"not" is dropped. "về quê ăn Tết, ... ngày 1/2": a holiday that is why someone travels
    gives way to a date said for the flight.
    """
    dates = list(slots.dates)
    plain = utterance.plain
    dates = [d for d in dates if not _NEGATED.search(plain[: d.start])] or dates
    correction = max(_CORRECTION.finditer(plain), key=lambda m: m.start(), default=None)
    if correction is not None and any(d.start > correction.end() for d in dates):
        dates = [d for d in dates if d.start > correction.end()]
    purposes = [
        d
        for d in dates
        if _PURPOSE.search(plain[: d.start]) or _PURPOSE_INSIDE.match(plain, d.start)
    ]
    if purposes and len(purposes) < len(dates):
        dates = [d for d in dates if d not in purposes]
    return slots if dates == list(slots.dates) else replace(slots, dates=tuple(dates))


def leg_windows(
    utterance: Utterance, slots: Slots, arguments: dict[str, Any], today: date
) -> dict[str, Any]:
    """Each leg of a round trip keeps the time of day said with it ("đi 5/6 buổi sáng, về 9/6
    buổi tối", "đi sáng thứ 5 về chiều chủ nhật"): the message is cut where the way back starts."""
    if _BOTH_WAYS.search(utterance.plain):
        return arguments  # "morning flights both ways": one window for both legs.
    out, back = slots.dates[0], slots.dates[-1]
    marks = [
        m
        for m in _WAY_BACK.finditer(utterance.plain, out.end, back.start)
        if m[0] != "ve" or utterance.lower[m.start() : m.end()] == "về"
    ]
    if marks:
        cut = marks[-1].start()
    else:
        parts = clauses(utterance, lambda _: "flight")
        own = next((c for c in parts if c.start <= back.start < c.end), None)
        if own is None or own.start == 0:
            return arguments
        cut = own.start
    typed = utterance.typed
    there = extract_slots(parse_utterance(typed[:cut] + " " * (len(typed) - cut)), today)
    home = extract_slots(parse_utterance(" " * cut + typed[cut:]), today)
    if not (home.depart_after or home.depart_before):
        return arguments
    result = {k: v for k, v in arguments.items() if k not in ("depart_after", "depart_before")}
    for key, value in (
        ("depart_after", there.depart_after),
        ("depart_before", there.depart_before),
    ):
        if value:
            result[key] = value
    result["_return_window"] = (home.depart_after, home.depart_before)
    return result


_BOTH_WAYS = re.compile(
    r"\b(?:both\s+ways|each\s+way|ca\s+(?:2|hai)\s+chieu|ca\s+di\s+(?:lan|va)\s+ve|2\s+chieu\s+deu)\b"
)
_WAY_BACK = re.compile(r"\b(?:ve|return(?:ing)?|back|flying\s+back|coming\s+back)\b")


def find_legs(
    utterance: Utterance,
    mentions: Sequence[Mention],
    slots: Slots,
    today: date,
    usd_rate: int,
) -> list[dict[str, Any]]:
    """The legs of a multi-city request: clauses that each name a route and a day.

    Fewer than two such clauses is an ordinary request (a round trip names one route).
    """
    parts = clauses(utterance, lambda _: "flight")
    legs: list[dict[str, Any]] = []
    for part in parts:
        own = [m for m in mentions if part.first <= m.first <= part.last and m.city.slug]
        route = sort_places(own, weather=False)
        if route.origin is None or route.destination is None:
            continue
        typed = utterance.typed
        text = " " * part.start + typed[part.start : part.end] + " " * (len(typed) - part.end)
        details = extract_slots(parse_utterance(text), today, usd_rate)
        days = [d for d in details.dates if d.days]
        if not days:
            continue
        leg: dict[str, Any] = {
            "from_city": route.origin.value,
            "to_city": route.destination.value,
            "date": days[0].days[0].isoformat(),
        }
        for key, value in (
            ("passengers", details.passengers),
            ("cabin", details.cabin or slots.cabin),
            ("max_price", details.max_price or slots.max_price),
            ("airline", details.airline or slots.airline),
            ("depart_after", details.depart_after),
            ("depart_before", details.depart_before),
        ):
            if value is not None:
                leg[key] = value
        if details.passengers is None:
            # "2 người nhé: HN-SG ngày 5/3 rồi SG-PQ ngày 8/3": the party goes on every leg.
            inherited = legs[-1].get("passengers") if legs else slots.passengers
            if inherited is not None:
                leg["passengers"] = inherited
        legs.append(leg)
    return legs if len(legs) >= 2 else []
