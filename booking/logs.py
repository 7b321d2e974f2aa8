"""Structured logs: one JSON object a line, with the request's correlation id and the
conversation and turn ids on every line logged while handling them (standard ``logging`` plus
context variables; no other dependency)."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)
turn_id: ContextVar[str | None] = ContextVar("turn_id", default=None)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        record.conversation_id = conversation_id.get()
        record.turn_id = turn_id.get()
        return True


#: An API key (``bk_`` + 43 URL-safe characters) anywhere in a line, and the value of any query
#: parameter named like a credential (``?api_key=...``, ``&token=...``): a client that puts its
#: key in a URL gets a 401, and the access log line must not keep the key.
_SECRETS = re.compile(
    r"(?P<key>bk_)[A-Za-z0-9_-]{8,}"
    r"|(?P<param>[?&](?:[a-z_]*key|[a-z_]*token|secret|password|auth[a-z_]*)=)[^&\s\"']*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group("key") or m.group("param")) + "[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", None),
            "conversation_id": getattr(record, "conversation_id", None),
            "turn_id": getattr(record, "turn_id", None),
        }
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Every model request would otherwise log a line; failures are logged by the orchestrator.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
