"""Place mentions in a message and the part each plays: origin, destination or weather place.

A mention is the longest run of words whose folded form is a known alias, name or spelling of a
city. Airport codes are stricter, because many are words ("can", "sin", "dad", "han"): a code
counts when typed in upper case ("HAN"), or in lower case when it sits between direction marks
("sgn-han", "từ sgn đến han", "sgn → han").

The words around a mention give it its part (:mod:`place_roles`); :func:`sort_places` settles
origin, destination and weather place for the whole message.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from booking.offline_model.lexicon import (
    AIRLINE_WORDS,
    COMMON_WORDS as _COMMON_WORDS,
    EN_MONTHS,
    EN_WEEKDAYS,
    GUARDED_ALIASES,
)
from booking.offline_model.place_roles import (
    AT_WORDS,
    Role,
    is_direction,
    is_word,
    previous_word,
    role_of,
)
from booking.offline_model.reference_index import City, place_index
from booking.offline_model.text import Token, Utterance

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


def mention_tokens(mentions: list[Mention]) -> frozenset[int]:
    """The indexes of the tokens the mentions cover."""
    return frozenset(i for m in mentions for i in range(m.first, m.last + 1))


def _code_allowed(tokens: tuple[Token, ...], index: int) -> bool:
    """Whether a three-letter airport code at ``index`` is meant as a code."""
    token = tokens[index]
    if token.typed.isupper():
        return True
    if token.word in _WORD_CODES:
        return False
    previous = tokens[index - 1] if index > 0 else None
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    marked_before = token.arrow_before or (previous is not None and is_direction(previous))
    marked_after = following is not None and (following.arrow_before or is_direction(following))
    ends = following is None or not following.word.isalpha() or following.word in _AFTER_CODE_WORDS
    starts = previous is None or not previous.word.isalpha() or previous.word in _BEFORE_CODE_WORDS
    return (marked_before and (marked_after or ends)) or (marked_after and starts)


#: Chat shorthands for cities, folded -> an alias the gazetteer knows. Hand-kept: these are
#: teen-code, not names, so no gazetteer lists them; each counts only where a place fits (upper
#: case, next to a direction word, or next to another place: "hn dn", "đi pq").
TEEN_PLACES: dict[str, str] = {
    "dn": "da nang",
    "pq": "phu quoc",
    "hp": "hai phong",
    "nt": "nha trang",
    "dl": "da lat",
    "ct": "can tho",
    "qn": "quy nhon",
    "tphcm": "ho chi minh",
    "sgn": "ho chi minh",
    "hnoi": "ha noi",
    "dnang": "da nang",
    "sapa": "sa pa",
    "vt": "vung tau",
}
#: Lower-case airport codes that are everyday words first ("cần" folds to "can", "sai" is
#: wrong, "dad" and "sin" are English): only upper case or a direction mark makes them codes.
#: Shorthands no everyday word shares: they count wherever they stand ("pq cuối tuần mưa ko").
_SAFE_SHORTHANDS: frozenset[str] = frozenset({"pq", "dn", "hp", "vt", "tphcm", "sapa", "dnang"})
_WORD_CODES: frozenset[str] = frozenset({"can", "sai", "dad", "sin", "din", "pus", "vii"})
#: Typos are matched against names at least this long, with at least this score (0-100).
_FUZZY_MIN_LENGTH = 4
_FUZZY_SCORE = 87.0


def find_places(utterance: Utterance, quiet: tuple[tuple[int, int], ...] = ()) -> list[Mention]:
    """Every place named in the message, in order, with the part the words around it give.

    Three passes: names and codes the words around them allow; then shorthands and lower-case
    codes standing next to a place found ("sgn han", "hn - dn"); then typos of a name within
    one or two letters, where a place is expected.
    """
    index = place_index()
    tokens = utterance.tokens
    found: dict[int, tuple[City, str, int]] = {}
    pending: dict[int, tuple[City, str]] = {}
    position = 0
    while position < len(tokens):
        match = _match_at(tokens, position, index.longest)
        if match is not None:
            found[position] = match
            position = match[2] + 1
            continue
        lenient = _lenient_at(tokens, position)
        if lenient is not None:
            if (
                tokens[position].typed.isupper()
                or tokens[position].word in _SAFE_SHORTHANDS
                or _code_allowed(tokens, position)
            ):
                found[position] = (*lenient, position)
            else:
                pending[position] = lenient
        position += 1
    changed = True
    while changed:
        changed = False
        for position, (city, value) in list(pending.items()):
            neighbours = [position - 1, position + 1]
            for step in (-1, 1):
                middle = position + step
                if 0 <= middle < len(tokens) and is_direction(tokens[middle]):
                    neighbours.append(position + 2 * step)
            if any(n in found or (n in pending and n != position) for n in neighbours):
                found[position] = (city, value, position)
                del pending[position]
                changed = True
    claimed = {i for first, (_, _, last) in found.items() for i in range(first, last + 1)}
    silent = frozenset(
        i for i, t in enumerate(tokens) if any(s <= t.start and t.end <= e for s, e in quiet)
    )
    for position in range(len(tokens)):
        if position in claimed or position in silent:
            # Words of a date ("Giỗ Tổ Hùng Vương") are never a misspelt or unknown place.
            continue
        match = _fuzzy_at(tokens, position, claimed) or _unknown_at(tokens, position)
        if match is not None:
            found[position] = match
            claimed.update(range(position, match[2] + 1))
    ordered = sorted(found.items())
    claimed = {i for first, (_, _, last) in ordered for i in range(first, last + 1)}
    return [
        Mention(
            city,
            value,
            first,
            last,
            role_of(
                tokens,
                first,
                last,
                _place_before_word(tokens, first, claimed),
                silent,
                arrow_from_place=first - 1 in claimed or first == 0,
            ),
        )
        for first, (city, value, last) in ordered
    ]


def _place_before_word(tokens: tuple[Token, ...], first: int, claimed: set[int]) -> bool:
    """Whether the word before the mention at ``first`` follows a place ("Huế ve Sài Gòn")."""
    before = previous_word(tokens, first)
    return before is not None and tokens.index(before) - 1 in claimed


def _lenient_at(tokens: tuple[Token, ...], position: int) -> tuple[City, str] | None:
    """A shorthand or lower-case code that is a place only beside another place or mark."""
    index = place_index()
    token = tokens[position]
    alias = TEEN_PLACES.get(token.word)
    if alias is not None and alias in index.aliases:
        city = index.aliases[alias]
        return city, city.tool_name
    code = token.word.upper()
    if len(code) == 3 and code in index.airports and token.word not in _WORD_CODES:
        return index.airports[code], code
    return None


def _expects_place(tokens: tuple[Token, ...], position: int, claimed: set[int]) -> bool:
    previous = previous_word(tokens, position)
    if previous is not None and (is_direction(previous) or is_word(previous, AT_WORDS)):
        return True
    if tokens[position].arrow_before or position - 1 in claimed:
        return True
    following = tokens[position + 1] if position + 1 < len(tokens) else None
    return following is not None and (following.arrow_before or position + 1 in claimed)


def _fuzzy_at(
    tokens: tuple[Token, ...], position: int, claimed: set[int]
) -> tuple[City, str, int] | None:
    """A misspelt name ("Hannoi", "Da Nag", "Nha Trag") where a place is expected."""
    if not _expects_place(tokens, position, claimed):
        return None
    index = place_index()
    for size in (3, 2, 1):
        span = tokens[position : position + size]
        if len(span) < size or any(
            not t.word.isalpha() or (position + i) in claimed or t.word in _COMMON_WORDS
            for i, t in enumerate(span)
        ):
            continue
        key = "".join(t.word for t in span)
        if len(key) < _FUZZY_MIN_LENGTH:
            continue
        best = process.extractOne(key, list(index.fuzzy_keys), scorer=fuzz.ratio)
        if best is not None and best[1] >= _FUZZY_SCORE and abs(len(best[0]) - len(key)) <= 2:
            city = index.fuzzy_keys[best[0]]
            return city, city.tool_name, position + size - 1
    return None


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
    if before is None or not (is_direction(before) or is_word(before, AT_WORDS)):
        return None
    last = position - 1
    for cursor in range(position, min(position + 3, len(tokens))):
        token = tokens[cursor]
        capitalized = token.typed[:1].isupper() and token.word.isalpha() and len(token.word) > 1
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
    """Decide origin, destination and weather place: markers first, then order.

    Args:
        mentions: the places in message order.
        weather: whether the message asks about weather; if not, "in Hanoi" is just a place.
    """
    if not weather:
        # An unknown name after "in"/"ở" is a place only when asking about the weather there.
        mentions = [m for m in mentions if m.city.slug or m.role != "at"]
    roles: list[Role] = [m.role for m in mentions]
    for index, mention in enumerate(mentions):
        following = mentions[index + 1] if index + 1 < len(mentions) else None
        # "bay Hà Nội - Sài Gòn", "đi HN ra ĐN": a verb's place is the origin when the next
        # place has a destination mark or none of its own.
        if mention.role == "verb":
            if following is not None and following.role in ("destination", "none", "verb"):
                roles[index] = "origin"
                if following.role in ("none", "verb"):
                    roles[index + 1] = "destination"
            else:
                roles[index] = "destination"
    origin = next((m for m, r in zip(mentions, roles, strict=True) if r == "origin"), None)
    destination = next(
        (m for m, r in zip(mentions, roles, strict=True) if r == "destination"), None
    )
    at = (
        next((m for m, r in zip(mentions, roles, strict=True) if r == "at"), None)
        if weather
        else None
    )
    loose = [
        m
        for m, r in zip(mentions, roles, strict=True)
        if r == "none" or (r == "at" and not weather)
    ]
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
