"""The built-in offline model: a deterministic, rule-based stand-in for an LLM (not an LLM).

It reads flight, weather and booking requests in Vietnamese (with or without diacritics),
English and mixed text, plans ``search_flights`` / ``get_weather`` calls and the booking calls
(``hold_booking`` for a flight of the last search, ``confirm_booking``, ``cancel_booking``,
``get_booking``), and writes the answer from their results. Everything here is pure: ``today``
is always passed in.
"""

from booking.offline_model.brain import Response, detect_language, respond
from booking.offline_model.outcomes import Plan
from booking.offline_model.planned import PlannedCall
from booking.offline_model.reply import compose_answer
from booking.offline_model.understand import understand

__all__ = [
    "Plan",
    "PlannedCall",
    "Response",
    "compose_answer",
    "detect_language",
    "respond",
    "understand",
]
