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
from typing import Any, Literal

from booking.offline_model.lexicon import NEUTRAL_WORDS, VI_PHRASES, VI_WORDS

Language = Literal["vi", "en"]

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


def parse_utterance(text: str) -> Utterance:
    """Normalize to NFC, fold and split into words."""
    typed = unicodedata.normalize("NFC", text)
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
