"""What a traveller reads, in their language: one message catalogue and one formatter each.

- :mod:`booking.i18n.format`: money, numbers, days, times and counts (Babel, CLDR data).
- :mod:`booking.i18n.catalogue`: ``messages/{vi,en}.json``, shared by the page and the server.
- :mod:`booking.i18n.language`: the language a conversation is written in.

Pure and at the bottom of the layers: it imports nothing else of ``booking``.
"""

from booking.i18n.catalogue import catalogue, message
from booking.i18n.format import LANGUAGES, Language, language_of

__all__ = ["LANGUAGES", "Language", "catalogue", "language_of", "message"]
