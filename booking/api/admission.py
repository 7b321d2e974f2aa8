"""Admission control first: past capacity, a request that would start a turn is refused before
anything else is done for it (no auth lookup, no body read, no database).

Two places answer, with the same problem document (``503``, ``server_busy`` or
``shutting_down``, ``Retry-After``):

- our server's edge (``booking.api.server.EdgeProtocol``), as soon as the request's headers are
  parsed, in the connection's own callback: no task is started for the request, so the answer
  does not wait behind the work of the streams already admitted (the event loop's queue is
  where a saturated process spends its time). The protocol finds :meth:`Admission.refusal`
  in the lifespan state, where the middleware puts it (:data:`ADMISSION_STATE`);
- :class:`Admission`, a pure ASGI middleware, for any other server (and the in-process tests).

A refusal before auth tells a client without a key only that the process is full, which a
load balancer's health check shows anyway. The routes and the turn manager still check
capacity themselves (a slot can be taken between this check and the turn's start).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from booking.api.problems import problem
from booking.errors import ServiceUnavailable

#: Where the middleware publishes :meth:`Admission.refusal` in the lifespan state.
ADMISSION_STATE = "booking.admission"
#: ``POST`` paths that start (or continue) a turn: a new message, an approval decision.
TURN_PATHS = re.compile(r"/v1/(chat|agui|conversations/[^/]+/(messages|approvals/[^/]+))/?")


def starts_turn(method: str, path: str) -> bool:
    return method == "POST" and TURN_PATHS.fullmatch(path) is not None


def retry_after(refusal: ServiceUnavailable) -> dict[str, str]:
    return {"Retry-After": str(int(refusal.details.get("retry_after", 1)))}


class Admission:
    """Refuse turn-starting requests past ``BOOKING_MAX_RUNNING_TURNS`` or while stopping."""

    def __init__(self, app: ASGIApp, owner: Any) -> None:
        self.app = app
        self.owner = owner
        """The FastAPI app whose ``state.booking.turns`` decides (set by its lifespan)."""

    def refusal(self) -> ServiceUnavailable | None:
        """What a new turn would get now (None: admitted)."""
        state = getattr(self.owner.state, "booking", None)
        if state is None:
            return None
        try:
            state.turns.check_capacity()
        except ServiceUnavailable as refused:
            return refused
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and isinstance(scope.get("state"), dict):
            scope["state"][ADMISSION_STATE] = self.refusal
        elif scope["type"] == "http" and starts_turn(scope["method"], scope["path"]):
            refused = self.refusal()
            if refused is not None:
                response = problem(
                    refused.status, refused.code, refused.message, headers=retry_after(refused)
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
