"""The language of a conversation, Vietnamese or English, for text the server writes itself.

The offline model detects the language of each message with its own grammar (place names,
personal names, its lexicon); a real LLM answers in the traveller's language by itself. What
neither covers is the text the server writes around the model (the approval request's summary),
so this module gives the same answer from the user's messages with a small word count, light
enough for any layer (it imports nothing of ours). ``tests/unit/test_i18n.py`` measures how
often it agrees with the offline model's detector on the understanding corpora.

Why hand-written: language-identification libraries (``langdetect``, ``lingua``) need more text
than "HAN SGN 15/6 2 nguoi" and load large models; the signal here is narrow and well known:
Vietnamese letters outside capitalised names, and a few hundred very common words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from booking.i18n.format import Language

#: Letters only Vietnamese (among vi/en) writes: đ and the accented vowels.
_VI_LETTERS = re.compile(
    "[đăâêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE
)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)

#: Common Vietnamese words as people type them without accents ("dat ve di ha noi").
_VI_PLAIN = frozenset(
    """
    anh ban bao bay cho chi chieu chuyen con cua da dat den di dem duoc em gia gio giu gium
    giup hang hay hom huy khach khong khoang kia la lai len luc mai may minh mot muon nam nay
    ngay nghi nguoi nhe nhieu nho nhu nhung nua oi qua ra re roi sang sau som tai thang the
    thi thoi thu tien tiet toi toan tran trong tu tuan tuoi ve vao va voi xac xem xin nhan
    chang gium dum coi coi nhiet troi mua nang lanh nong
    """.split()
)

#: Common English words of travel requests ("book a flight to Da Nang for two").
_EN_WORDS = frozenset(
    """
    a about after afternoon all an and any are at available be before book booking business
    but buy can cancel cheap cheapest cheaper confirm could day days do does earliest economy
    evening find flight flights fly for from get give go going hello hi hold how i in is it
    just latest leave leaving let like look me morning my need next night no of on one or
    passenger passengers people please price return round seat seats show some than thanks
    that the there this ticket tickets to today tomorrow trip two under want was weather week
    what when where which will with would yes you
    """.split()
)


def _plain(word: str) -> str:
    """The word without accents, "đ" as "d"."""
    folded = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if unicodedata.category(c) != "Mn").lower()


def evidence(text: str) -> Language | None:
    """The language a message shows, or None (codes, dates, numbers and names show none).

    Accents count in lowercase words ("đặt vé") and in capitalised ones only when no English
    word is there: "book for Nguyễn Văn An" is English, "Hà Nội 15/6" is Vietnamese.
    """
    vi = en = named = 0
    for word in _TOKEN.findall(text):
        lower = word.lower()
        accented = bool(_VI_LETTERS.search(word))
        if accented and word[:1].islower():
            vi += 1
        elif accented:
            named += 1
        elif lower in _EN_WORDS:
            en += 1
        elif lower in _VI_PLAIN:
            vi += 1
    if vi > en:
        return "vi"
    if en > 0:
        return "en"
    return "vi" if named else None


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts: Iterable[Any] = content if isinstance(content, list) else message.get("parts") or []
    return "\n".join(
        str(part.get("text", ""))
        for part in parts
        if isinstance(part, Mapping) and part.get("type", "text") == "text"
    )


def conversation_language(
    messages: Sequence[Mapping[str, Any]], default: Language = "vi"
) -> Language:
    """The language of the latest user message that shows one; ``default`` when none does."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        found = evidence(_message_text(message))
        if found is not None:
            return found
    return default
