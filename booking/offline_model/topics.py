"""What a message is about: flights, weather, or something not sold here (hotels, trains).

Place names are taken out before the topic words are read (:func:`without_places`), and a
message of several clauses can be narrowed to those of one topic (:func:`only_topic`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from booking.offline_model.grammar import Clause, Topic
from booking.offline_model.lexicon import (
    FLIGHT_WORDS,
    QUESTION_RAW,
    TRANSPORT_WORDS,
    WEATHER_ADJECTIVES_RAW,
    WEATHER_RAW,
    WEATHER_WORDS,
)
from booking.offline_model.place_mentions import Mention, mention_tokens
from booking.offline_model.text import Utterance, parse_utterance


def flight_words(utterance: Utterance) -> bool:
    """Whether the message speaks of flights or tickets."""
    if utterance.has(*FLIGHT_WORDS):
        return True
    previous = ""
    for token in utterance.tokens:
        # "vé" is a ticket and "về" a return; "bay" is flying, "bảy" seven, "sân bay" an airport.
        if token.raw in ("vé", "ve", "chuyến") or (token.raw == "bay" and previous != "san"):
            return True
        previous = token.word
    return False


def weather_words(utterance: Utterance) -> bool:
    """Whether the message asks about the weather."""
    if utterance.has(*WEATHER_WORDS) or utterance.has_raw(*WEATHER_RAW):
        return True
    asked = "?" in utterance.typed or utterance.has_raw(*QUESTION_RAW)
    return asked and utterance.has_raw(*WEATHER_ADJECTIVES_RAW)


def topic_of(utterance: Utterance) -> Topic | None:
    """The topic of a clause: weather words first, then flight words."""
    if weather_words(utterance):
        return "weather"
    if flight_words(utterance):
        return "flight"
    return None


def without_places(utterance: Utterance, mentions: Sequence[Mention]) -> Utterance:
    """The message without its place names, so "nắng" in a misspelt "Đà Nắng" is no weather word."""
    skip = mention_tokens(list(mentions))
    return replace(
        utterance, tokens=tuple(t for i, t in enumerate(utterance.tokens) if i not in skip)
    )


def only_topic(utterance: Utterance, parts: Sequence[Clause], topic: Topic) -> Utterance:
    """The message with every clause of another topic blanked out (offsets kept)."""
    typed = list(utterance.typed)
    for part in parts:
        if part.topic != topic:
            typed[part.start : part.end] = " " * (part.end - part.start)
    return parse_utterance("".join(typed))


_STAY_WORDS = ("khach san", "hotel", "hotels", "resort", "homestay", "hostel", "airbnb", "phong")
_PAPER_WORDS = ("visa", "visas", "ho chieu", "passport", "thi thuc", "bao hiem", "insurance")


def asked_for(utterance: Utterance) -> str | None:
    """Which kind of thing not sold here the message asks for, if one is clear."""
    if other_transport(utterance):
        return "transport"
    if utterance.has(*_STAY_WORDS):
        return "stay"
    if utterance.has(*_PAPER_WORDS):
        return "papers"
    return None


def other_transport(utterance: Utterance) -> bool:
    """Trains, coaches and boats: not flights ("tàu bay" and "máy bay" are planes)."""
    previous = ""
    for token in utterance.tokens:
        if token.raw in ("tàu", "tau") and previous not in ("may",):
            following = utterance.plain[token.end : token.end + 6]
            if not following.lstrip().startswith("bay"):
                return True
        previous = token.word
    return utterance.has(*TRANSPORT_WORDS)
