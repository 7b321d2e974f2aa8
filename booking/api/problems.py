"""Every error as ``application/problem+json`` (RFC 9457) with a stable ``code``.

The exception handlers render them; :func:`problem_responses` documents them in a route's
``responses=`` as a :class:`~booking.api.schemas.Problem` (see ``booking.api.openapi``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from booking.errors import BookingError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}

#: What each documented error status means for this API (the codes are in docs/api.md).
_WHEN = {
    401: "Missing, unknown or revoked API key (`unauthorized`).",
    404: "Not found, or another tenant's.",
    409: "Conflicts with the current state (`turn_running`, `sold_out`, ...).",
    413: "Body over `BOOKING_MAX_BODY_BYTES` (`body_too_large`).",
    422: "Malformed body or parameters (`validation_failed`, with `errors`), or a rule's own code.",
    428: "`Idempotency-Key` header missing (`idempotency_key_required`).",
    429: "Over `BOOKING_RATE_LIMIT_PER_MINUTE` for this key (`rate_limited`).",
    503: "At capacity, stopping, or not ready; retry later.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (absent when not ready).",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for these error statuses, each a problem document."""
    return {
        status: {
            "description": _WHEN[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": _RETRY_AFTER} if status in (429, 503) else {}),
        }
        for status in statuses
    }


def problem(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://booking.dev/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def allowed_methods(request: Request) -> str:
    """The methods of every route at this path (Starlette's 405 names only the first route's)."""
    methods = {
        method
        for route in iter_route_contexts(request.app.routes)
        if route.methods and route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods
    }
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    @app.exception_handler(BookingError)
    async def booking_error(request: Request, exc: BookingError) -> JSONResponse:
        # The problem document's own members win over details of the same name.
        reserved = {"retry_after", "type", "title", "status", "detail", "code"}
        details = {k: v for k, v in exc.details.items() if k not in reserved}
        headers = {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(int(exc.details["retry_after"]))
        if exc.status == 401:
            # RFC 6750 3.1: the scheme to use; error="invalid_token" only when one was sent.
            challenge = 'Bearer realm="booking"'
            if request.headers.get("authorization"):
                challenge += ', error="invalid_token"'
            headers["WWW-Authenticate"] = challenge
        if exc.status >= 500 and exc.code == "internal_error":
            log.error("internal error: %s", exc.message)
        return problem(exc.status, exc.code, exc.message, headers=headers, **details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        too_long = [
            e for e in errors if e["type"] == "string_too_long" and e["loc"][-1:] == ["text"]
        ]
        if too_long:
            return problem(422, "message_too_long", "The message is too long.", errors=too_long)
        unstorable = [e for e in errors if e["type"] == "unstorable_text"]
        if unstorable:
            # A rule the JSON schema cannot state (see schemas.RequestBody): its own code.
            return problem(422, "unstorable_text", unstorable[0]["msg"].capitalize() + ".")
        return problem(422, "validation_failed", "The request is not valid.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's only 400: a body it could not decode at all (not UTF-8). That is a
            # malformed body like broken JSON, which it answers with 422: one answer for both.
            error = {"loc": ["body"], "msg": "The body is not UTF-8 JSON.", "type": "json_invalid"}
            return problem(422, "validation_failed", "The request is not valid.", errors=[error])
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            headers["Allow"] = methods
        return problem(exc.status_code, code, detail, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Something went wrong on our side.")
