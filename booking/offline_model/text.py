"""One user message made easy to read: folded words with their spans, and the message's language.

The folded text keeps the original's length character for character, so a span found by a
regular expression in the folded text points at the same characters in the original. That is
how accent-sensitive words are told apart ("tối" evening, "tôi" I) after matching on the
folded form, and how upper-case airport codes ("HAN") are told from words ("han").
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from booking.domain.wording import Language as Language
from booking.offline_model.lexicon import NEUTRAL_WORDS, VI_PHRASES, VI_WORDS

_WORD = re.compile(r"[a-z0-9]+")
_ARROWS = ("→", "->", "-", "–", "—", ">", "⟶", "➝", "✈")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the message."""

    word: str
    """Folded: lower-case ASCII without diacritics."""
    raw: str
    """Lower-case as typed, diacritics kept."""
    typed: str
    """Exactly as typed."""
    start: int
    end: int
    arrow_before: bool
    """Whether an arrow or dash stands between this word and the one before ("SGN → HAN")."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """A message in three aligned forms plus its words."""

    typed: str
    lower: str
    plain: str
    """Folded character by character: same length as ``typed``, punctuation kept."""
    tokens: tuple[Token, ...]

    @property
    def words(self) -> str:
        """The folded words joined by single spaces, padded with a space on each side."""
        return " " + " ".join(t.word for t in self.tokens) + " "

    def has(self, *phrases: str) -> bool:
        """Whether any folded phrase occurs as whole words."""
        words = self.words
        return any(f" {phrase} " in words for phrase in phrases)

    def has_raw(self, *phrases: str) -> bool:
        """Whether any lower-case phrase, diacritics and all, occurs as whole words."""
        raw = " " + " ".join(t.raw for t in self.tokens) + " "
        return any(f" {phrase} " in raw for phrase in phrases)


def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    if len(base) == 1:
        return base
    # Characters that decompose into several (ligatures) keep their place so spans stay aligned.
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def _lower_char(char: str) -> str:
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


#: Vietnamese chat shorthand ("teen-code") -> the words it stands for. Hand-kept: no kept
#: library covers chat slang; only whole words are replaced, never letters inside a word, an
#: e-mail address or an amount ("800k"). Ambiguous ones ("bn": bạn or bao nhiêu, "a": anh or
#: English "a") are left alone.
TEEN_CODE: dict[str, str] = {
    **{"ko": "không", "k": "không", "hok": "không", "hông": "không", "khum": "không"},
    **{"kh": "không", "hem": "không", "kg": "không", "khg": "không"},
    **{"dc": "được", "đc": "được", "dk": "được", "đk": "được", "duoc": "được"},
    **{"j": "gì", "ji": "gì", "vs": "với", "mik": "mình", "mk": "mình", "mh": "mình"},
    **{"ng": "người", "ngừoi": "người", "nguoi": "người", "ngta": "người ta"},
    **{"mún": "muốn", "mog": "mong", "bít": "biết", "thui": "thôi", "lun": "luôn"},
    **{"nhìu": "nhiều", "bnhiu": "bao nhiêu", "bnhieu": "bao nhiêu", "bao nhiu": "bao nhiêu"},
    **{"hnay": "hôm nay", "hqua": "hôm qua", "hum nay": "hôm nay", "r": "rồi", "ik": "đi"},
    **{"đag": "đang", "dag": "đang", "ntn": "như thế nào", "z": "vậy", "zậy": "vậy"},
    **{"dzậy": "vậy", "ak": "à", "ah": "à", "ạh": "ạ", "nhe": "nhé", "nka": "nha"},
    **{"tks": "cảm ơn", "thanks": "thanks", "ok": "ok", "oke": "ok", "oki": "ok"},
    **{"sn": "sinh nhật", "đt": "điện thoại"},
    **{"t2": "thứ 2", "t3": "thứ 3", "t4": "thứ 4", "t5": "thứ 5", "t6": "thứ 6", "t7": "thứ 7"},
    **{"cn": "chủ nhật", "wknd": "weekend", "tmr": "tomorrow", "tmrw": "tomorrow"},
    **{"2moro": "tomorrow", "2mr": "tomorrow", "pls": "please", "plz": "please"},
    **{"thx": "thanks", "ppl": "people", "w/": "with", "fri": "friday"},
    # Regional speech: central "ni/mô/răng/rứa/chừ", southern "dzô/vô", "bữa nay".
    **{"ni": "nay", "mô": "nào", "răng": "sao", "rứa": "vậy", "chừ": "giờ", "bi chừ": "bây giờ"},
    **{"dzô": "vào", "vô": "vào", "zô": "vào", "bữa nay": "hôm nay", "bữa mai": "ngày mai"},
    **{"hổng": "không", "bọ": "bố"},
    **{"gf": "girlfriend", "bf": "boyfriend", "bff": "friend", "biz": "business"},
    **{"rn": "right now", "atm": "right now", "wanna": "want to", "gonna": "going to"},
}
_TEEN = re.compile(
    r"(?<![\w@./:-])("
    + "|".join(re.escape(k) for k in sorted(TEEN_CODE, key=len, reverse=True))
    + r")(?![\w@/:-]|\.\w)",
    re.IGNORECASE,
)


def expand_teen_code(text: str) -> str:
    """Replace whole chat-shorthand words by the words they stand for."""

    def spell(match: re.Match[str]) -> str:
        word = match.group(1)
        expansion = TEEN_CODE.get(word.lower(), word)
        # Upper-case shorthands may be codes or initials ("K" in a name, "T6" is fine either way).
        if word.isupper() and len(word) == 1:
            return word
        return expansion

    return _TEEN.sub(spell, text)


def parse_utterance(text: str) -> Utterance:
    """Normalize to NFC, expand chat shorthand, fold and split into words."""
    typed = expand_teen_code(unicodedata.normalize("NFC", text))
    lower = "".join(_lower_char(c) for c in typed)
    plain = "".join(_fold_char(c) for c in typed)
    tokens: list[Token] = []
    previous_end = 0
    for match in _WORD.finditer(plain):
        start, end = match.span()
        gap = plain[previous_end:start] if tokens else ""
        tokens.append(
            Token(
                word=match.group(),
                raw=lower[start:end],
                typed=typed[start:end],
                start=start,
                end=end,
                arrow_before=any(arrow in gap for arrow in _ARROWS),
            )
        )
        previous_end = end
    return Utterance(typed, lower, plain, tuple(tokens))


def _has_vietnamese_letters(text: str) -> bool:
    for char in text:
        if char in "đĐ":
            return True
        if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", char)):
            return True
    return False


def vietnamese_evidence(
    utterance: Utterance,
    skip: frozenset[int] = frozenset(),
    *,
    quiet: tuple[tuple[int, int], ...] = (),
) -> bool:
    """Whether the message is Vietnamese: accents, or unaccented Vietnamese words outside places.

    Args:
        utterance: the message.
        skip: indexes of tokens that belong to place names ("Hai Phong" says nothing).
        quiet: character spans whose accents say nothing either (personal names: "book for
            Nguyễn Văn An" is English).
    """
    typed = utterance.typed
    for start, end in quiet:
        typed = typed[:start] + " " * (end - start) + typed[end:]
    # Accents count anywhere else, place names included: who types "Hà Nội" writes Vietnamese.
    if _has_vietnamese_letters(typed):
        return True
    kept = [t for i, t in enumerate(utterance.tokens) if i not in skip]
    words = " " + " ".join(t.word for t in kept) + " "
    return any(t.word in VI_WORDS for t in kept) or any(f" {p} " in words for p in VI_PHRASES)


def english_evidence(utterance: Utterance, skip: frozenset[int] = frozenset()) -> bool:
    """Whether the message has words that are not codes, numbers, place names or shared words."""
    return any(
        t.word.isalpha()
        and len(t.word) > 1
        and not t.typed.isupper()
        and t.word not in NEUTRAL_WORDS
        for i, t in enumerate(utterance.tokens)
        if i not in skip
    )


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        ]
        return "\n".join(p for p in parts if p)
    return ""


def last_user_index(messages: Sequence[Mapping[str, Any]]) -> int | None:
    """Index of the latest user message, if any."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return None


def _arguments(call: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    function = call.get("function")
    if not isinstance(function, Mapping):
        return None
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return None
    if not isinstance(arguments, dict):
        return None
    return str(function.get("name", "")), arguments


def tool_calls(message: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, name, arguments) of each readable tool call of an assistant message."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for call in message.get("tool_calls") or []:
        if isinstance(call, Mapping) and (parsed := _arguments(call)) is not None:
            calls.append((str(call.get("id", "")), parsed[0], parsed[1]))
    return calls
