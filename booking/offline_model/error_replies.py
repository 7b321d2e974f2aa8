"""Tool errors explained to the traveller, in Vietnamese or English. Pure.

Tool errors arrive as ``{"error": {"code": ..., "message": ..., **details}}``. The ``message``
is English, written for the model as much as for people, and names places in Vietnamese; it
is never shown as it is. Every code the service returns has its own sentence in each language,
built from the details (the place typed, the date, the seats left), and says what did not
happen and what to do next. A code this module does not know gets a plain apology in
Vietnamese and the message in English.

Errors of the booking tools are explained apart (:mod:`booking_error_replies`), since what
matters to the traveller there is what did not happen ("approval_denied": nothing was booked).
The sentences of the other codes are in :mod:`error_codes` (which code) and
:mod:`error_explainers` (sentences built from the details).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from booking.offline_model.booking_error_replies import (
    ACTIONS,
    BOOKING_CODES,
    explain_booking_error,
)
from booking.offline_model.error_codes import EXPLAINERS, KNOWN_CODES
from booking.offline_model.text import Language

__all__ = ["KNOWN_CODES", "explain_error"]


def explain_error(
    error: Any, arguments: Mapping[str, Any], language: Language, *, tool: str = ""
) -> str:
    """One or two sentences saying what went wrong and what to try, in ``language`` only.

    Args:
        error: the tool result's ``error`` object.
        arguments: the arguments of the call that failed.
        language: the language to answer in.
        tool: the name of the tool that failed, when known.
    """
    if not isinstance(error, Mapping):
        error = {"code": "tool_failed", "message": str(error)}
    code = str(error.get("code") or "tool_failed")
    if tool in ACTIONS or code in BOOKING_CODES:
        sentence = explain_booking_error(code, error, arguments, tool, language == "vi")
        if sentence is not None:
            return sentence
    explainer = EXPLAINERS.get(code)
    if explainer is not None:
        vi, en = explainer(error, arguments, tool)
        return vi if language == "vi" else en
    if language == "vi":
        # The English message of an unknown code is no answer for a Vietnamese reader.
        return "Mình chưa thực hiện được yêu cầu này. Bạn thử lại hoặc nói rõ hơn giúp mình nhé."
    message = str(error.get("message") or "").strip()
    return message or "Something went wrong with that request. Please try again."
