"""Place mentions in a message and the part each plays: origin, destination or weather place.

A mention is the longest run of words whose folded form is a known alias, name or spelling of a
city. Airport codes are stricter, because many are words ("can", "sin", "dad", "han"): a code
counts when typed in upper case ("HAN"), or in lower case when it sits between direction marks
("sgn-han", "từ sgn đến han", "sgn → han").

Direction comes from the words around a mention: "từ"/"from" before it makes an origin;
"đến"/"đi"/"ra"/"vào"/"tới"/"sang"/"bay"/"to" or an arrow before it a destination; a direction
word or arrow right after an unmarked mention makes it the origin ("Sài Gòn đi Hà Nội"). With
two unmarked places the first is the origin; a single unmarked place is the destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from booking.offline_model.lexicon import (
    AIRLINE_WORDS,
    EN_MONTHS,
    EN_WEEKDAYS,
    GUARDED_ALIASES,
    PLACE_FILLERS,
    City,
    place_index,
)
from booking.offline_model.text import Token, Utterance

Role = Literal["origin", "destination", "at", "none"]

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
    "di": frozenset({"đi", "di"}),
    "ra": frozenset({"ra"}),
    "vao": frozenset({"vào", "vao"}),
    "sang": frozenset({"sang"}),
    "bay": frozenset({"bay"}),
    "to": None,
    "into": None,
}
_AT_WORDS: dict[str, frozenset[str] | None] = {
    "o": frozenset({"ở", "o"}),
    "tai": frozenset({"tại", "tai"}),
    "in": None,
    "at": None,
    "for": None,
}
#: Words that may follow a lower-case code and still leave it "between markers" ("đến han ngày 15/6").
_AFTER_CODE_WORDS: frozenset[str] = frozenset(
    {"ngay", "on", "tomorrow", "today", "mai", "hom", "vao", "luc", "thu", "next", "this", "cho"}
    | {"for", "tuan", "cuoi", "khu", "round", "hang", "business", "economy", "duoi", "under"}
    | {"va", "and", "voi", "with", "nhe", "please", "t2", "t3", "t4", "t5", "t6", "t7", "cn"}
)

#: Capitalized words after a direction word that are not place names.
_NOT_NAMES: frozenset[str] = frozenset(
    {*EN_WEEKDAYS, *EN_MONTHS, *(w for phrase in AIRLINE_WORDS for w in phrase.split())}
    | {"thu", "chu", "toi", "minh", "ngay", "the", "book", "find", "search", "show", "see"}
    | {"business", "economy", "tomorrow", "today", "next", "this", "hom", "cuoi", "tuan"}
)

#: Words that may come before a lower-case code that a direction mark follows ("vé sgn-han").
_BEFORE_CODE_WORDS: frozenset[str] = frozenset(
    {"ve", "bay", "chuyen", "flight", "flights", "fly", "ticket", "tickets", "dat", "book"}
    | {"tim", "search", "find", "mai", "tomorrow", "today", "nay", "sau", "toi", "tuan"}
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A place named in the message."""

    city: City
    value: str
    """What to pass to a tool: the typed airport code, the only airport's code or the city name."""
    first: int
    """Index of the mention's first token."""
    last: int
    """Index of the mention's last token."""
    role: Role


def _is_word(token: Token, table: dict[str, frozenset[str] | None]) -> bool:
    if token.word not in table:
        return False
    spellings = table[token.word]
    return spellings is None or token.raw in spellings


def _is_direction(token: Token) -> bool:
    return _is_word(token, _FROM_WORDS) or _is_word(token, _TO_WORDS)


def _code_allowed(tokens: tuple[Token, ...], index: int) -> bool:
    """Whether a three-letter airport code at ``index`` is meant as a code."""
    token = tokens[index]
    if token.typed.isupper():
        return True
    previous = tokens[index - 1] if index > 0 else None
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    marked_before = token.arrow_before or (previous is not None and _is_direction(previous))
    marked_after = following is not None and (following.arrow_before or _is_direction(following))
    ends = following is None or not following.word.isalpha() or following.word in _AFTER_CODE_WORDS
    starts = previous is None or not previous.word.isalpha() or previous.word in _BEFORE_CODE_WORDS
    return (marked_before and (marked_after or ends)) or (marked_after and starts)


def _previous_word(tokens: tuple[Token, ...], index: int) -> Token | None:
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


def _role(tokens: tuple[Token, ...], first: int, last: int) -> Role:
    before = _previous_word(tokens, first)
    if before is not None and _is_word(before, _FROM_WORDS):
        return "origin"
    if tokens[first].arrow_before or (before is not None and _is_word(before, _TO_WORDS)):
        return "destination"
    if before is not None and _is_word(before, _AT_WORDS):
        return "at"
    following = tokens[last + 1] if last + 1 < len(tokens) else None
    if following is not None and (following.arrow_before or _is_word(following, _TO_WORDS)):
        return "origin"
    return "none"


def find_places(utterance: Utterance) -> list[Mention]:
    """Every place named in the message, in order, with the part the words around it give."""
    index = place_index()
    tokens = utterance.tokens
    found: list[tuple[City, str, int, int]] = []
    position = 0
    while position < len(tokens):
        match = _match_at(tokens, position, index.longest) or _unknown_at(tokens, position)
        if match is None:
            position += 1
            continue
        city, value, last = match
        found.append((city, value, position, last))
        position = last + 1
    return [
        Mention(city, value, first, last, _role(tokens, first, last))
        for city, value, first, last in found
    ]


def _match_at(
    tokens: tuple[Token, ...], position: int, longest: int
) -> tuple[City, str, int] | None:
    index = place_index()
    for size in range(min(longest, len(tokens) - position), 0, -1):
        span = tokens[position : position + size]
        key = " ".join(t.word for t in span)
        city = index.aliases.get(key)
        if city is not None:
            guard = GUARDED_ALIASES.get(key)
            if guard is not None and " ".join(t.raw for t in span) not in guard:
                continue
            return city, city.tool_name, position + size - 1
    token = tokens[position]
    code = token.word.upper()
    if len(code) == 3 and code in index.airports and _code_allowed(tokens, position):
        return index.airports[code], code, position
    return None


def _unknown_at(tokens: tuple[Token, ...], position: int) -> tuple[City, str, int] | None:
    """A capitalized name after "từ"/"đến"/"ở"/"from"/"to"/"in" that no alias knows ("Atlantis").

    Passing it on lets the place resolver answer with its suggestions instead of the model
    asking again for a place the user did name.
    """
    before = tokens[position - 1] if position > 0 else None
    if before is None or not (_is_direction(before) or _is_word(before, _AT_WORDS)):
        return None
    last = position - 1
    for cursor in range(position, min(position + 3, len(tokens))):
        token = tokens[cursor]
        capitalized = token.typed[:1].isupper() and token.word.isalpha() and len(token.word) > 2
        if not capitalized or token.word in _NOT_NAMES or token.typed.isupper():
            break
        last = cursor
    if last < position:
        return None
    name = " ".join(t.typed for t in tokens[position : last + 1])
    return City(slug="", name_vi=name, name_en=name, airports=()), name, last


@dataclass(frozen=True, slots=True)
class Route:
    """The places of a message sorted into the parts they play."""

    origin: Mention | None
    destination: Mention | None
    at: Mention | None
    """A place named after "ở"/"in"/"at" (where to look up the weather)."""
    mentions: tuple[Mention, ...]


def sort_places(mentions: list[Mention], *, weather: bool) -> Route:
    """Decide origin, destination and weather place.

    Args:
        mentions: the places in message order.
        weather: whether the message asks about weather; if not, "in Hanoi" is just a place.
    """
    if not weather:
        # An unknown name after "in"/"ở" is a place only when asking about the weather there.
        mentions = [m for m in mentions if m.city.slug or m.role != "at"]
    origin = next((m for m in mentions if m.role == "origin"), None)
    destination = next((m for m in mentions if m.role == "destination"), None)
    at = next((m for m in mentions if m.role == "at"), None) if weather else None
    loose = [m for m in mentions if m.role == "none" or (m.role == "at" and not weather)]
    if weather and at is None and loose and origin is None and destination is None:
        # "Thời tiết Đà Nẵng": the one place of a weather question is where to look.
        at = loose.pop(0)
    if origin is None and destination is None and len(loose) >= 2:
        origin, destination = loose[0], loose[1]
    elif destination is None and loose:
        destination = loose[0] if loose[0] is not origin else None
    elif origin is None and loose:
        origin = loose[0]
    return Route(origin, destination, at, tuple(mentions))
