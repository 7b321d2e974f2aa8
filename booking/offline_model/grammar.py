"""Clauses: which places and dates of a message belong to which request.

"Thời tiết Đà Nẵng cuối tuần này và vé đi đó thứ 6 tuần sau" asks two things, each with its own
date. The message is cut into clauses at conjunctions ("và", "với", "còn", "rồi", "and", "also",
"plus") and at punctuation (",", ";", ".", "?", "!", "+"); a clause without a topic word of
its own belongs to the clause before it (or, at the start, to the one after it). A request
with no place or date in its own clauses borrows the other's: "weather in Da Nang and flights
there next Friday" looks up the weather on that Friday too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from booking.offline_model.text import Token, Utterance

Topic = Literal["flight", "weather"]
_CONJUNCTIONS: dict[str, frozenset[str] | None] = {
    "va": frozenset({"và", "va"}),
    "con": frozenset({"còn"}),
    "voi": frozenset({"với"}),
    "roi": frozenset({"rồi"}),
    "and": None,
    "also": None,
    "plus": None,
    "then": None,
}
_PUNCTUATION = frozenset(",;.?!\n+")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Clause:
    """A run of the message's tokens between cuts, with its topic."""

    first: int
    last: int
    start: int
    """Character offset of the first token."""
    end: int
    """Character offset after the last token."""
    topic: Topic | None


def _cut_before(utterance: Utterance, index: int) -> bool:
    token = utterance.tokens[index]
    if index == 0:
        return False
    gap = utterance.typed[utterance.tokens[index - 1].end : token.start]
    if any(char in _PUNCTUATION for char in gap):
        return True
    spellings = _CONJUNCTIONS.get(token.word, frozenset())
    return token.word in _CONJUNCTIONS and (spellings is None or token.raw in spellings)


def clauses(
    utterance: Utterance,
    topic_of: Callable[[Utterance], Topic | None],
    skip: frozenset[int] = frozenset(),
    routed: frozenset[int] = frozenset(),
) -> list[Clause]:
    """The message's clauses, each with the topic its own words give (places in ``skip`` aside).

    A clause without topic words that routes a place ("from Hanoi", "đi Đà Nẵng": the indexes
    in ``routed``) is about flights.
    """
    tokens = utterance.tokens
    if not tokens:
        return []
    bounds: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(tokens)):
        if _cut_before(utterance, index):
            bounds.append((first, index - 1))
            first = index
    bounds.append((first, len(tokens) - 1))
    found: list[Clause] = []
    for low, high in bounds:
        words: tuple[Token, ...] = tuple(
            t for i, t in enumerate(tokens[low : high + 1], low) if i not in skip
        )
        topic = topic_of(replace(utterance, tokens=words))
        if topic is None and any(low <= i <= high for i in routed):
            topic = "flight"
        found.append(Clause(low, high, tokens[low].start, tokens[high].end, topic))
    # Clauses without a topic word follow the one before them; leading ones the first topic.
    topics: list[Topic | None] = [c.topic for c in found]
    for index in range(1, len(topics)):
        topics[index] = topics[index] or topics[index - 1]
    first_topic = next((t for t in topics if t), None)
    topics = [t or first_topic for t in topics]
    return [replace(c, topic=t) for c, t in zip(found, topics, strict=True)]


def share(
    items: Sequence[T], position: Callable[[T], int], parts: list[Clause], topic: Topic
) -> list[T]:
    """The items (places, dates) whose character position falls in clauses of ``topic``."""
    return [
        item
        for item in items
        if any(c.topic == topic and c.start <= position(item) < c.end for c in parts)
    ]
