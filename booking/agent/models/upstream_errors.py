"""SDK and transport failures mapped to one typed :class:`ModelError`, with the model named.

401/403 (credentials) and 400/404/422 (request, model name or base URL) are not retryable;
connection errors, 408/409/429/5xx, timeouts, malformed chunks and errors mid-stream are, and a
``Retry-After`` (or ``retry-after-ms``) header says how long to wait.

Shared by both protocol adapters (:mod:`openai_chat`, :mod:`openai_responses`), which alone use
these package-internal helpers.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai

from booking.agent.models.base import ModelError
from booking.agent.models.model_spec import ModelSpec


def _to_dict(chunk: object, spec: ModelSpec) -> dict[str, Any]:
    if isinstance(chunk, dict):
        return chunk
    raise ModelError(
        f"{spec.name}: the provider sent a chunk that is not a JSON object ({chunk!r:.80})",
        code="upstream_protocol",
        retryable=True,
        model=spec.name,
    )


def _nothing_sent(spec: ModelSpec) -> ModelError:
    """The stream ended before its first chunk (or event)."""
    return ModelError(
        f"{spec.name} ended the stream without sending anything",
        code="upstream_protocol",
        retryable=True,
        model=spec.name,
    )


def _timeout(spec: ModelSpec, seconds: float | None) -> ModelError:
    within = f" within {seconds:.3g} s" if seconds else " before the request timed out"
    return ModelError(
        f"{spec.name} sent nothing{within}",
        code="upstream_timeout",
        retryable=True,
        model=spec.name,
    )


def _retry_after(response: httpx2.Response) -> float | None:
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _classify(exc: BaseException, spec: ModelSpec, *, started: bool = False) -> ModelError:
    """Map SDK and transport failures to one typed error."""
    if isinstance(exc, ModelError):
        return exc
    name = spec.name
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_message(exc)
        if status in (401, 403):
            return ModelError(
                f"{name}: the provider refused the credentials (HTTP {status}: {detail}). "
                f"Check the API key and base URL ({spec.base_url}).",
                code="upstream_auth",
                retryable=False,
                model=name,
                status_code=status,
            )
        if status in (408, 409, 429) or status >= 500:
            return ModelError(
                f"{name}: the provider is {'rate limiting' if status == 429 else 'unavailable'} "
                f"(HTTP {status}: {detail})",
                code="upstream_rate_limited" if status == 429 else "upstream_unavailable",
                retryable=True,
                model=name,
                status_code=status,
                retry_after_s=_retry_after(exc.response),
            )
        return ModelError(
            f"{name}: the provider rejected the request (HTTP {status}: {detail}). "
            f"Check the model id '{spec.model}' and base URL ({spec.base_url}).",
            code="upstream_bad_request",
            retryable=False,
            model=name,
            status_code=status,
        )
    if isinstance(exc, openai.APITimeoutError):
        return _timeout(spec, None)
    if isinstance(exc, openai.APIConnectionError):
        where = (
            "lost the connection mid-answer"
            if started
            else f"cannot reach the provider at {spec.base_url}"
        )
        return ModelError(
            f"{name}: {where}",
            code="upstream_unavailable",
            retryable=True,
            model=name,
        )
    if isinstance(exc, openai.APIError):
        return ModelError(
            f"{name}: the provider reported an error mid-stream: {exc.message}",
            code="upstream_error",
            retryable=True,
            model=name,
        )
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return ModelError(
            f"{name}: the provider sent a malformed chunk ({exc})",
            code="upstream_protocol",
            retryable=True,
            model=name,
        )
    if isinstance(exc, httpx2.HTTPError | OSError):
        return ModelError(
            f"{name}: the connection failed ({type(exc).__name__})",
            code="upstream_unavailable",
            retryable=True,
            model=name,
        )
    return ModelError(
        f"{name}: unexpected failure ({type(exc).__name__}: {exc})",
        code="upstream_error",
        retryable=True,
        model=name,
    )


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return exc.message
