"""The language of a conversation: Vietnamese or English, from what its user messages show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from booking.offline_model.place_mentions import find_places, mention_tokens
from booking.offline_model.text import (
    Language,
    Utterance,
    english_evidence,
    message_text,
    parse_utterance,
    vietnamese_evidence,
)
from booking.offline_model.travellers import find_people


def _evidence(utterance: Utterance) -> Language | None:
    """The language the message shows, if any.

    Place names count only through their accents; personal names, e-mails and phones not at
    all ("book for Nguyễn Văn An" is English, "Nguyen Van An, 0901234567" shows nothing).
    """
    people = find_people(utterance, None)
    skip = mention_tokens(find_places(utterance)) | people.name_tokens
    skip |= frozenset(
        i
        for i, t in enumerate(utterance.tokens)
        if any(start <= t.start and t.end <= end for start, end in people.spans)
    )
    if vietnamese_evidence(utterance, skip, quiet=people.spans):
        return "vi"
    if english_evidence(utterance, skip):
        return "en"
    return None


def detect_language(text: str) -> Language:
    """Vietnamese when the text has Vietnamese letters or words outside place names, else English."""
    return "vi" if _evidence(parse_utterance(text)) == "vi" else "en"


def conversation_language(messages: Sequence[Mapping[str, Any]]) -> Language:
    """The language of the latest user message that shows one (codes and dates show none)."""
    fallback: Language | None = None
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        evidence = _evidence(parse_utterance(message_text(message)))
        if evidence is not None:
            return evidence
        fallback = fallback or "en"
    return fallback or "vi"
