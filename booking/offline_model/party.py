"""PARTY: how many seats a message asks for, and the infants who fly on a lap.

Read in this order (docs/offline-model.md, "Party size"):

1. Counted people: "2 người", "3 vé", "4 adults", "2 pax", "a family of four", "nhóm 5",
   "we are 3"; children counted on their own ("1 bé", "2 đứa nhỏ", "2 kids") add to them.
2. Without a count, the people named: "vợ chồng mình" (2), "bố mẹ" (2), "em với mẹ" (2),
   "me and my wife" (2), "bố mẹ và 3 con" (5). The speaker counts once when joined to the
   others ("với", "và", "cùng", "with", "and") and not when booking for them ("cho bố mẹ").
3. Infants under two ("em bé", "bé 8 tháng", "trẻ sơ sinh", "infant", "baby", "dưới 2 tuổi")
   take no seat; they are returned apart so the answer can say they are noted.

Hand-written: Vietnamese kinship words and the way a speaker includes themselves are
conversational rules no kept library covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from booking.offline_model.text import Utterance

_NUMBER_WORDS: dict[str, int] = {
    **{"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8},
    **{"chin": 9, "muoi": 10, "muoi mot": 11, "muoi hai": 12, "muoi lam": 15, "hai muoi": 20},
    **{"one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6},
    **{"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12},
    **{"fifteen": 15, "twenty": 20, "mấy": 0},
}
_NUM = r"\d{1,3}|" + "|".join(sorted((k for k in _NUMBER_WORDS if k.isascii()), key=len)[::-1])

_COUNT = r"\d{1,3}|" + "|".join(
    sorted((k for k in _NUMBER_WORDS if k.isascii() and k not in ("a", "an")), key=len)[::-1]
)
#: "for 2", "cho 3" at the end of a clause: a count of travellers without a unit.
_FOR_COUNT = re.compile(
    rf"\b(?:for|cho)\s+({_COUNT})(?=\s*(?:$|[,.;!?]|please|pls|nhe|nha|nhé|a\b|thanks))"
)
_PEOPLE_UNITS = (
    r"nguoi\s+lon|nguoi|ng|hanh\s+khach|khach|ve|adults?|people|persons?|passengers?|pax"
    r"|tickets?|seats?|ghe|cho\s+ngoi|suat|nguoi\s+di|thanh\s+vien|members?|travell?ers?"
)
_COUNTED = re.compile(
    rf"(?<!thu\s)(?<!gio\s)(?<!\d[/.:h])\b({_NUM})(?:(?<=\d)\s*|\s+)(?:more\s+|nua\s+)?"
    rf"({_PEOPLE_UNITS})\b(?!\s*/)"
)
#: Airline shorthand: "2ADT 1CHD 1INF", "2ADT1CHD" (adults, children, infants).
_FARE_CODES = re.compile(r"(?<!\d)(\d)\s*(adts?|chd|cnn|inf)(?![a-z])")
#: Number words a folded form shares with other words: only their accented spelling counts
#: ("bảy vé" is seven tickets, "bay về" is flying back; "sáu" six, "sau" after).
_NUMBER_SPELLINGS = {"bay": "bảy", "sau": "sáu", "nam": "năm", "tu": "tư", "tam": "tám"}
_GROUP = re.compile(
    rf"\b(?:family\s+of|group\s+of|party\s+of|nhom|doan|gia\s+dinh|ca\s+nha|we\s+are|we're"
    rf"|there\s+are|chung\s+(?:toi|minh|em)|bon\s+(?:minh|toi|em)|tui\s+(?:minh|em|toi))\s+"
    rf"({_COUNT})\b"
    rf"(?!\s*(?:h\b|gio|:|/|thang|trieu|tr\b|k\b))"
)
_OF_US = re.compile(rf"\b({_NUM})\s+of\s+us\b")
_CHILD_UNITS = (
    r"tre\s+em|tre\s+nho|tre|be|dua\s+nho|dua\s+tre|dua\s+con|nhoc|chau\s+nho|chau|con\s+nho|con"
    r"|children|child|kids?|boys?|girls?|sons?|daughters?|chil?drens?"
)
_CHILDREN = re.compile(
    rf"\b({_NUM})\s+(?:dua\s+)?({_CHILD_UNITS})\b"
    r"(?!\s+(?:thang|month|ban|nguoi\s+lon|dong\s+nghiep|em|anh|chi|chau\s+(?:gai|trai)))"
)
#: One child named by age ("bé 4 tuổi", "cháu 6 tuổi", "a 5-year-old").
_AGED_CHILD = re.compile(
    r"\b(?:be|chau|con|dua|nhoc)(?:\s+(?:nha|minh|em|toi|cua))*\s+(\d{1,2})\s+tuoi\b|\b(\d{1,2})\s*-?\s*years?\s*-?\s*old\b"
)
#: Family pairs counted together: "2 mẹ con", "3 bố con", "2 anh em", "hai chị em".
_KIN_GROUP = re.compile(
    rf"\b({_NUM})\s+(?:me|bo|ba|cha|anh|chi|ong|ba|co|chu|di|cau)\s+(?:con|em|chau)\b"
)
_INFANT_WORDS = re.compile(
    r"\b(?:(?:({_NUM})\s+)?(?:em\s+be|tre\s+so\s+sinh|be\s+so\s+sinh|so\s+sinh|infants?"
    r"|babies|baby|newborns?|lap\s+infants?)"
    r"|(?:({_NUM})\s+)?(?:be|chau|con|em)\s+(?:\d{1,2}|mot|hai|ba|bon|nam|sau|bay|tam|chin"
    r"|muoi|muoi\s+mot)\s+(?:thang|months?)(?:\s+tuoi|\s+old)?"
    r"|(?:({_NUM})\s+)?(?:be|tre|chau|em\s+be)\s+duoi\s+(?:2|hai)\s+tuoi"
    r"|(?:({_NUM})\s+)?(?:\d{1,2})\s*-?\s*months?\s*-?\s*old(?:\s+baby)?)\b".replace("{_NUM}", _NUM)
)

#: Kinship and companion words with how many people each names.
_PAIRS = re.compile(
    r"\b(?:bo\s+me|ba\s+me|cha\s+me|ong\s+ba|ba\s+ma|bo\s+ma|bo\s+u|thay\s+u|parents|grandparents"
    r"|in[-\s]?laws|(?:a\s+)?couple)\b"
)
_COUPLE = re.compile(r"\b(?:(?:2|hai)\s+)?vo\s+chong\b")
_ONES = re.compile(
    r"\b(?:vo|chong|me|bo|cha|ma|u|tia|ba\s+noi|ba\s+ngoai|ong\s+noi|ong\s+ngoai|ba\s+xa|ong\s+xa"
    r"|nguoi\s+yeu|ny|ban\s+gai|ban\s+trai|gau|wife|husband|mom|mum|mother|dad|father"
    r"|girlfriend|boyfriend|partner|fiance|fiancee|friend|brother|sister|grandma|grandpa"
    r"|grandmother|grandfather|colleague|boss|son|daughter|sep|em\s+gai|em\s+trai|anh\s+trai"
    r"|chi\s+gai|con\s+gai|con\s+trai|chau\s+gai|chau\s+trai|ban\s+than)\b"
)
_FRIENDS = re.compile(
    rf"\b({_NUM})\s+(?:dua\s+|nguoi\s+)?(?:ban(?:\s+be)?|dong\s+nghiep|em\s+gai|em\s+trai|anh|chi"
    r"|anh\s+trai|chi\s+gai|chau|friends?|colleagues?|cousins?|siblings?|brothers?|sisters?)\b"
)
_SPEAKER = r"(?:minh|toi|tui|to|em|anh|chi|i|me|myself)"
_JOIN = r"(?:voi|va|cung|cung\s+voi|and|with|&|\+)"
_SPEAKER_JOINED = re.compile(
    rf"\b{_SPEAKER}\s+(?:\w+\s+){{0,2}}?{_JOIN}\b|\b{_JOIN}\s+{_SPEAKER}\b"
)
_WITH = re.compile(r"\b(?:di\s+(?:voi|cung)|bay\s+(?:voi|cung)|cung\s+voi|dan|with|along\s+with)\b")
_ACCOMPANIED = re.compile(r"\b(?:voi|cung|with|along\s+with|dan\s+theo|dan)\s+(?:\w+\s+)?$")
_FOR_OTHERS = re.compile(
    r"\b(?:cho|for|giup)\s+(?:\w+\s+){0,1}(?:bo|me|ba|cha|ong|vo|chong|con|my|parents|sep|boss)"
)


@dataclass(frozen=True, slots=True)
class Party:
    """Seats to search and infants noted."""

    seats: int | None
    """None when the message says nothing about who travels."""
    infants: int = 0
    change: int = 0
    """+1 / -1 when the message adds people to, or takes them from, the party searched
    ("thêm 1 người", "add one more"); ``seats`` is then how many."""
    infant_alone: bool = False
    """An infant said to fly alone: no airline carries one, so the planner asks who goes along."""


def _spelled_as_number(utterance: Utterance, match: re.Match[str]) -> bool:
    """Whether a count's number and unit are really a number and a unit as typed."""
    word = " ".join(match[1].split())
    if (
        word in _NUMBER_SPELLINGS
        and utterance.lower[match.start(1) : match.end(1)] != (_NUMBER_SPELLINGS[word])
    ):
        return False
    unit = match.lastindex and match[match.lastindex]
    # "về" (back) folds to "ve" like "vé" (ticket).
    return not (unit == "ve" and utterance.lower[match.start(2) : match.end(2)] == "về")


def _count(text: str) -> int:
    text = " ".join(text.split())
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text, 1)


def _free(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return not any(start < t_end and t_start < end for t_start, t_end in taken)


#: "2 triệu một người", "1tr5/người": a price per person, not a party of one.
_PER_PERSON = re.compile(
    r"\b(?:\d+\s*)?(?:trieu|tr|k|nghin|ngan|dong|vnd|cu|usd|ruoi)(?:\s*\d)?\s*/?\s*$"
)
_ALONE = re.compile(
    r"\b(?:mot\s+minh|di\s+rieng|alone|by\s+(?:him|her)self|on\s+(?:his|her)\s+own"
    r"|unaccompanied)\b"
)
_STAYS = re.compile(
    r"\s*(?:khong\s+(?:di|bay|theo)|ko\s+di|o\s+nha|khoi\s+di|not\s+(?:coming|going|flying)"
    r"|(?:is|are)\s+not\s+(?:coming|going)|stays?\s+(?:home|behind))\b"
)


def _stays(plain: str, end: int) -> bool:
    """Whether the people just counted are said not to travel ("1 đứa không đi")."""
    return _STAYS.match(plain, end) is not None


def find_party(utterance: Utterance, taken: list[tuple[int, int]]) -> Party:
    """Seats and infants the message asks for; claims the characters it reads."""
    plain = utterance.plain
    infants = 0
    for match in _INFANT_WORDS.finditer(plain):
        if _free(*match.span(), taken):
            number = next((g for g in match.groups() if g), None)
            infants += _count(number) if number else 1
            taken.append(match.span())
    change = _change(plain)
    codes = [(m, m[2]) for m in _FARE_CODES.finditer(plain) if _free(*m.span(), taken)]
    if codes:
        # A travel agent's "2ADT 1CHD 1INF": seats for adults and children, infants on a lap.
        seats = sum(int(m[1]) for m, kind in codes if kind != "inf")
        lap = sum(int(m[1]) for m, kind in codes if kind == "inf")
        taken.extend(m.span() for m, _ in codes)
        return Party(seats or None, infants + lap, change)
    groups: list[tuple[int, int]] = []
    for match in _KIN_GROUP.finditer(plain):
        if _free(*match.span(), taken):
            taken.append(match.span())
            return Party(_count(match[1]), infants, change)
    for pattern in (_GROUP, _OF_US):
        groups += [m.span() for m in pattern.finditer(plain) if _free(*m.span(), taken)]
    children = 0
    for match in _CHILDREN.finditer(plain):
        if not _free(*match.span(), groups):
            continue
        if _stays(plain, match.end()):
            taken.append(match.span())
            continue
        if _free(*match.span(), taken):
            children += _count(match[1])
            taken.append(match.span())
    for match in _AGED_CHILD.finditer(plain):
        if _free(*match.span(), taken):
            age = int(match[1] or match[2])
            taken.append(match.span())
            if age < 2:
                infants += 1
            else:
                children += 1
    counted: int | None = None
    adults: int | None = None
    for pattern in (_GROUP, _OF_US, _COUNTED, _FOR_COUNT):
        for match in pattern.finditer(plain):
            if not _free(*match.span(), taken):
                continue
            taken.append(match.span())
            if (
                _stays(plain, match.end())
                or not _spelled_as_number(utterance, match)
                or _PER_PERSON.search(plain[: match.start()])
            ):
                continue
            unit = " ".join(match[2].split()) if pattern is _COUNTED else ""
            if unit in ("nguoi lon", "adult", "adults"):
                adults = (adults or 0) + _count(match[1])
            elif counted is None:
                counted = _count(match[1])
    if adults is not None:
        # "2 người lớn 3 trẻ em" is five, whatever total "gia đình 5 người" said beside it.
        return Party(adults + children, infants, change)
    if counted is not None:
        if infants and not children and counted <= 1 and _ALONE.search(plain):
            # "a seat just for my 1-year-old, flying alone": no adult goes along.
            return Party(1, infants, change, infant_alone=True)
        # "3 người và 2 trẻ em" is five; "4 người gồm 2 bé" is rare enough to read as six.
        return Party(counted + children, infants, change)
    if change:
        return Party(children or None, infants, change) if children or infants else Party(None)
    named = _named(utterance, taken)
    if named > 1:
        return Party(named + children, infants)
    if children:
        # "2 bé" alone travel with a grown-up who did not count themselves.
        return Party(1 + children, infants)
    if infants:
        return Party(1, infants, infant_alone=_ALONE.search(plain) is not None)
    return Party(None, 0)


def _change(plain: str) -> int:
    """+1 for "thêm"/"add ... more", -1 for "bớt"/"one less", else 0."""
    if re.search(r"\b(?:them|add|one\s+more|another|cong\s+them)\b", plain):
        return 1
    if re.search(r"\b(?:bot|giam|one\s+less|remove)\b", plain):
        return -1
    return 0


_ENGLISH = re.compile(r"\b(?:and|my|with|for|the|to|i|we|our|please|flights?|tickets?)\b")


def _english_me(utterance: Utterance, start: int) -> bool:
    """Whether an unaccented "me" is the English pronoun rather than "mẹ" (mother)."""
    return utterance.lower[start : start + 2] == "me" and bool(_ENGLISH.search(utterance.plain))


def _named(utterance: Utterance, taken: list[tuple[int, int]]) -> int:
    """People named without a count, the speaker included when joined to them."""
    plain = utterance.plain
    people = 0
    covers_speaker = False
    accompanied = False
    for pattern, size in ((_COUPLE, 2), (_PAIRS, 2), (_FRIENDS, 0), (_ONES, 1)):
        for match in pattern.finditer(plain):
            if not _free(*match.span(), taken):
                continue
            if pattern is _ONES and (
                not _companion(utterance, match.start(), match.end())
                or (match[0] == "me" and _english_me(utterance, match.start()))
            ):
                continue
            taken.append(match.span())
            people += _count(match[1]) if pattern is _FRIENDS else size
            if pattern is _COUPLE:
                covers_speaker = True
            # "đi với vợ", "cùng 2 bạn", "with my wife": whoever writes goes along.
            accompanied = accompanied or bool(
                _ACCOMPANIED.search(plain[max(0, match.start() - 12) : match.start()])
            )
    if not people:
        return 0
    if covers_speaker:
        return people
    joined = next(
        (
            m
            for m in _SPEAKER_JOINED.finditer(plain)
            if "me" not in m[0].split() or _english_me(utterance, m.start() + m[0].find("me"))
        ),
        None,
    ) or _WITH.search(plain)
    for_others = next(
        (
            m
            for m in _FOR_OTHERS.finditer(plain)
            if not (m[0].endswith(" me") and _english_me(utterance, m.end() - 2))
        ),
        None,
    )
    if accompanied and for_others is None:
        return people + 1
    if for_others is not None:
        # "vé cho bố mẹ tôi": the writer books for others; "for me and my wife" includes them.
        listed = plain[for_others.start() : for_others.end() + 30]
        mine = re.search(
            r"\b(?:for|cho)\s+(minh|toi|tui|i|myself|me|em|anh|chi)\b(?!\s+(?:gai|trai))", listed
        )
        if mine is not None and mine[1] == "me":
            mine = mine if _english_me(utterance, for_others.start() + mine.start(1)) else None
        return people + (1 if mine else 0)
    if joined or _speaker_named(utterance):
        people += 1
    return people


def _speaker_named(utterance: Utterance) -> bool:
    """Whether "I", "me", "mình", "tôi"... name the writer as a traveller, not as an owner
    ("mẹ mình", "vợ tôi" are possessives)."""
    previous = ""
    for token in utterance.tokens:
        word = token.word
        if word in ("i", "myself") or (word == "me" and _english_me(utterance, token.start)):
            return True
        if word in ("minh", "toi", "tui", "to") and token.raw in (
            "mình",
            "minh",
            "tôi",
            "tui",
            "tớ",
        ):
            if previous not in _KIN_WORDS:
                return True
        previous = word
    return False


_KIN_WORDS = frozenset(
    {"me", "bo", "ba", "cha", "ma", "vo", "chong", "con", "em", "anh", "chi", "ban", "gai"}
    | {"trai", "chau", "ong", "yeu", "ny"}
)


def _companion(utterance: Utterance, start: int, end: int) -> bool:
    """Whether a one-person kinship word names a traveller, not a form of address.

    Vietnamese speakers call themselves and the assistant "em", "anh", "chị", and "mẹ" or
    "bố" can be a possessive ("mẹ mình"); a companion is joined by a conjunction or "cho".
    """
    before = utterance.plain[:start].split()[-2:]
    after = utterance.plain[end:].split()[:1]
    word = utterance.plain[start:end]
    joined = {"voi", "va", "cung", "cho", "and", "with", "my", "&", "+", "dua", "ca", "giup", "for"}
    if utterance.plain[:start].rstrip().endswith(","):
        return True  # A list of travellers: "tôi, vợ, 2 đứa con".
    if word in ("u", "ma", "tia"):
        # "u" (mother, northern), "mạ"/"má" (mother), "tía" (father, southern): only written so,
        # and only next to a Vietnamese conjunction ("Bố và u em", "Mạ với tui").
        near = after[:1] in (["voi"], ["va"], ["cung"]) or before[-1:] in (["va"], ["voi"])
        return near and utterance.lower[start:end] in ("u", "mạ", "má", "tía")
    if any(w in joined for w in before):
        return True
    if after and after[0] in {"va", "voi", "cung", "and", "&", "+"}:
        return True
    return word in ("wife", "husband", "girlfriend", "boyfriend", "partner") and bool(before)
