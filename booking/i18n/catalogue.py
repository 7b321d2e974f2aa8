"""One message catalogue per language: ``booking/i18n/messages/{vi,en}.json``.

The chat page loads the same files (``GET /i18n/{lang}.json``: keys ``page.*``, placeholders
``{0}``) and the server's own sentences read theirs here (keys ``answer.*``, ``weather.*``,
placeholders by name). Both files hold the same keys; ``tests/unit/test_i18n.py`` checks it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from booking.i18n.format import LANGUAGES, Language


@cache
def catalogue(language: Language) -> dict[str, str]:
    """Every message of one language, by key (read once per process)."""
    if language not in LANGUAGES:
        raise KeyError(language)
    text = files("booking.i18n").joinpath("messages", f"{language}.json").read_text("utf-8")
    loaded: dict[str, str] = json.loads(text)
    return loaded


@cache
def catalogue_bytes(language: Language) -> bytes:
    """The catalogue as served to the page: the file's bytes."""
    if language not in LANGUAGES:
        raise KeyError(language)
    return files("booking.i18n").joinpath("messages", f"{language}.json").read_bytes()


def message(key: str, language: Language, **params: Any) -> str:
    """One message with its named placeholders filled: ``message("answer.flights.count", "vi",
    total=12)``."""
    return catalogue(language)[key].format(**params)
