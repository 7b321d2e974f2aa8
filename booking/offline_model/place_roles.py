"""The part a place plays, from the words around it: origin, destination, weather place.

Direction comes from the words around a mention: "từ"/"from" before it makes an origin;
"đến"/"đi"/"ra"/"vào"/"tới"/"sang"/"bay"/"to" or an arrow before it a destination; a direction
word or arrow right after an unmarked mention makes it the origin ("Sài Gòn đi Hà Nội"). With
two unmarked places the first is the origin (:func:`place_mentions.sort_places`); a single
unmarked place is the destination.
"""

from __future__ import annotations

from typing import Literal

from booking.offline_model.lexicon import PLACE_FILLERS
from booking.offline_model.text import Token

Role = Literal["origin", "destination", "at", "verb", "none"]

#: Folded direction words with the spellings that carry that meaning; ``None`` accepts any.
_FROM_WORDS: dict[str, frozenset[str] | None] = {
    "tu": frozenset({"từ", "tu"}),
    "from": None,
    "leaving": None,
    "departing": None,
}
_TO_WORDS: dict[str, frozenset[str] | None] = {
    "den": frozenset({"đến", "den"}),
    "toi": frozenset({"tới", "toi"}),
    "ra": frozenset({"ra"}),
    "vao": frozenset({"vào", "vao"}),
    "sang": frozenset({"sang"}),
    "len": frozenset({"lên", "len"}),
    "xuong": frozenset({"xuống", "xuong"}),
    "ve": frozenset({"về"}),
    "to": frozenset({"to"}),
    "into": None,
    "towards": None,
}
#: Verbs that point at a destination unless a second place follows with its own mark
#: ("bay Phú Quốc" flies to Phú Quốc; "bay Hà Nội - Sài Gòn" flies from Hà Nội).
_VERB_WORDS: dict[str, frozenset[str] | None] = {
    "bay": frozenset({"bay"}),
    "di": frozenset({"đi", "di"}),
    "fly": None,
    "flying": None,
    "flight": None,
    "flights": None,
    "going": None,
    "go": None,
    "travel": None,
    "visit": None,
    "visiting": None,
}
#: Words that name where something is ("ở Huế", "in Hue"): the place to look up the weather.
AT_WORDS: dict[str, frozenset[str] | None] = {
    "o": frozenset({"ở", "o"}),
    "tai": frozenset({"tại", "tai"}),
    "in": None,
    "at": None,
    "for": None,
}


def is_word(token: Token, table: dict[str, frozenset[str] | None]) -> bool:
    """Whether ``token`` is one of ``table``'s words, in a spelling that keeps its meaning."""
    if token.word not in table:
        return False
    spellings = table[token.word]
    return spellings is None or token.raw in spellings


def is_direction(token: Token) -> bool:
    """Whether ``token`` points from or to a place: a direction word or a travel verb."""
    return (
        is_word(token, _FROM_WORDS)
        or is_word(token, _TO_WORDS)
        or is_word(token, _VERB_WORDS)
        or (token.word == "ve" and token.raw != "vé")
    )


def previous_word(tokens: tuple[Token, ...], index: int) -> Token | None:
    """The word before ``index``, skipping "thành phố", "sân bay", "the" and the like."""
    cursor = index - 1
    while cursor >= 0:
        token = tokens[cursor]
        if token.word in PLACE_FILLERS:
            cursor -= 1
        elif token.word == "bay" and cursor > 0 and tokens[cursor - 1].word == "san":
            cursor -= 2
        elif token.word == "bay" and cursor > 0 and tokens[cursor - 1].word == "may":
            # "Vé máy bay Hà Nội": "bay" is part of the noun "máy bay", not the verb "fly to".
            return None
        else:
            return token
    return None


def role_of(
    tokens: tuple[Token, ...],
    first: int,
    last: int,
    after_place: bool,
    quiet: frozenset[int] = frozenset(),
    arrow_from_place: bool = True,
) -> Role:
    """The part the words around a mention give it.

    Args:
        after_place: whether a place stands right before the word before this one, which makes
            an unaccented "ve" between them "về" (back to) rather than "vé" (ticket).
        quiet: indexes of tokens that belong to a date ("chủ nhật tới"): no direction words.
        arrow_from_place: whether a place stands right before an arrow or dash in front of this
            mention ("SGN → HAN"); after any other word ("2 kids - Hanoi to Nha Trang") the dash
            is punctuation, not a route.
    """
    before = previous_word(tokens, first)
    if before is not None and tokens.index(before) in quiet:
        before = None
    if before is not None and is_word(before, _FROM_WORDS):
        return "origin"
    arrow = tokens[first].arrow_before and arrow_from_place
    if arrow or (before is not None and is_word(before, _TO_WORDS)):
        return "destination"
    if before is not None and before.word == "ve" and before.raw == "ve" and after_place:
        return "destination"
    if before is not None and is_word(before, AT_WORDS):
        return "at"
    following = tokens[last + 1] if last + 1 < len(tokens) else None
    if following is not None and last + 1 in quiet:
        following = None
    if following is not None and (
        following.arrow_before
        or is_word(following, _TO_WORDS)
        or is_word(following, _VERB_WORDS)
        or (following.word == "ve" and following.raw != "vé")
    ):
        return "origin"
    if before is not None and is_word(before, _VERB_WORDS):
        return "verb"
    return "none"
