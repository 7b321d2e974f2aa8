"""The message catalogue of one language, for the chat page and any frontend: ``GET
/i18n/{lang}.json``.

Public (the page needs its words before it has an API key) and cacheable: the file's bytes with
a strong ``ETag``; a matching ``If-None-Match`` gets ``304``. A language we do not write is a
``404 not_found`` problem (with the languages we write).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from booking.api.problems import problem_responses
from booking.errors import NotFound
from booking.i18n import LANGUAGES
from booking.i18n.catalogue import catalogue_bytes

router = APIRouter(tags=["i18n"], responses=problem_responses(404))

#: Browsers and proxies may keep a catalogue for an hour, then revalidate with its ETag.
CACHE_CONTROL = "public, max-age=3600, must-revalidate"


@router.get(
    "/i18n/{lang}.json",
    responses={
        200: {"content": {"application/json": {}}, "description": "Message key → text."},
        304: {"description": "The catalogue the client holds (its ETag) is current."},
    },
)
async def messages(
    lang: Annotated[str, Path(examples=["vi", "en"])],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every message of one language (``vi`` or ``en``), by key."""
    if lang not in LANGUAGES:
        raise NotFound(
            f"No messages in {lang!r}; these languages are written: {', '.join(LANGUAGES)}.",
            language=lang,
            languages=list(LANGUAGES),
        )
    body = catalogue_bytes(lang)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)
