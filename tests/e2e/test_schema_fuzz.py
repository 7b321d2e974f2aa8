"""The OpenAPI document against the app itself: ``st run --checks all``, in-process.

Every operation gets Schemathesis' phases (the schema's examples; coverage cases from every
constraint, and every method the path does not allow; random fuzzing), then its stateful phase
runs sequences along the links it infers (a conversation created, then read, messaged, followed,
stopped, deleted). All of it derandomized and bounded, with every check: no 5xx; status codes,
content types, headers and bodies as documented; schema-valid requests accepted and invalid ones
refused; the key enforced; ``Allow`` on 405s; a deleted resource gone, a created one there.

The schema is the one the app serves. The app runs with its lifespan, on a database of its own:
fuzzing commits whatever it manages to create. Replies are read to their end (the offline model
answers in milliseconds); the two operations that can answer with JSON are asked to, and their
streams are left to the SSE tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.engine import events
from schemathesis.engine.run import PhaseName
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from booking.api.app import create_app
from booking.db import migrate
from booking.db.engine import make_async_engine, make_sessionmaker
from booking.domain.api_keys import create_key
from booking.settings import Settings
from seed.load import seed_database
from tests.conftest import TEST_SEED, ScratchDatabases
from tests.support.server import BackgroundLoop

SEED = 20260601
#: Requests that pass the schema but break a rule it cannot state (a place the gazetteer knows, a
#: date within the horizon, the chat's last message being the user's own text, a cursor this
#: server issued, an idempotency key not used before for something else) are refused with 422 and
#: the rule's code, never with the request schema's ``validation_failed`` and its ``errors``.
RULES: dict[str, frozenset[str]] = {
    "POST /v1/chat": frozenset({"validation_failed", "message_too_long"}),
    "POST /v1/agui": frozenset({"validation_failed", "message_too_long"}),
    "GET /v1/conversations": frozenset({"validation_failed"}),
    "POST /v1/conversations/{conversation_id}/messages": frozenset({"message_too_long"}),
    "POST /v1/bookings": frozenset(
        {"invalid_passengers", "invalid_contact", "idempotency_key_reused"}
    ),
    "POST /v1/bookings/{reference}/confirm": frozenset({"idempotency_key_reused"}),
    "POST /v1/bookings/{reference}/cancel": frozenset({"idempotency_key_reused"}),
    "GET /v1/flights/search": frozenset(
        {
            *("unknown_place", "ambiguous_place", "unknown_airline", "same_origin_destination"),
            *("invalid_date", "date_in_past", "date_beyond_horizon", "validation_failed"),
        }
    ),
    "GET /v1/weather": frozenset(
        {"unknown_place", "ambiguous_place", "invalid_date", "date_in_past"}
    ),
}
#: Any JSON body: text PostgreSQL cannot hold (NUL, a lone surrogate) is refused.
EVERY_BODY_RULES = frozenset({"unstorable_text"})
#: These answer with the whole reply as JSON when asked to.
JSON_REPLIES = {
    "POST /v1/conversations/{conversation_id}/messages",
    "POST /v1/conversations/{conversation_id}/approvals/{approval_id}",
}

SETTINGS: dict[str, Any] = {
    "seed": SEED,
    "generation": {
        "max-examples": 50,
        "deterministic": True,
        "database": "none",
        # The key is not a parameter to generate: each call sends the run's key (the checks
        # then resend requests without it, and with another one).
        "with-security-parameters": False,
    },
    # Whole replies, up to [DONE], so every event is validated.
    "max-stream-events": 1000,
    "checks": {
        # A 422 to a schema-valid request is for `refused_only_by_rules` (below) to judge.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
        }
    },
    "operations": [
        {
            # RFC 6585's answer to a missing precondition header, as docs/bookings.md says.
            "include-name": "POST /v1/bookings",
            "checks": {"missing_required_header": {"expected-statuses": ["428"]}},
        }
    ],
}


class AppUnderTest:
    """The app as the schema knows it. Schemathesis builds the tests at collection, from a schema
    that carries its app (every request, and every probe a check sends, goes there in-process);
    the real app needs the database made for the run, so :func:`fuzz_app` plugs it in."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.key = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "only tests using the fuzz_app fixture call the app"
        await self.app(scope, receive, send)


APP = AppUnderTest()
# The document the app serves at /openapi.json (the settings do not change it), with the app to
# call attached as `schemathesis.openapi.from_asgi` attaches it.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test")).openapi(),
    config=schemathesis.Config.from_dict(SETTINGS),
)
schema.app = APP


@schemathesis.check
def refused_only_by_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request is refused with 422 only by one of the operation's :data:`RULES`."""
    if response.status_code != 422 or case.meta is None:
        return None
    if not case.meta.generation.mode.is_positive:
        return None
    problem = response.json()
    rules = RULES.get(case.operation.label, frozenset()) | EVERY_BODY_RULES
    if "errors" in problem or problem["code"] not in rules:
        raise AssertionError(
            "A schema-valid request was refused by the request schema or by a rule not listed "
            f"for {case.operation.label}: {problem['code']} ({problem['detail']})"
        )
    return None


@schemathesis.check
def allow_names_every_method(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 405's ``Allow`` names every method the path documents (the built-in checks let an empty
    one pass)."""
    if response.status_code != 405:
        return None
    allowed = {m.strip().lower() for v in response.headers.get("allow", []) for m in v.split(",")}
    documented = set(case.operation.schema.raw_schema["paths"][case.operation.path])
    if not documented <= allowed:
        raise AssertionError(f"Allow: {', '.join(sorted(allowed))}; documented: {documented}")
    return None


def call_headers(case: Any) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {APP.key}"}
    if case.operation.label in JSON_REPLIES:
        headers["Accept"] = "application/json"
    return headers


@pytest.fixture(scope="module")
def fuzz_database(scratch: ScratchDatabases) -> str:
    url = scratch.create("booking_fuzz")
    migrate.upgrade(url)
    seed_database(url, TEST_SEED)
    return url


@pytest.fixture(scope="module")
def fuzz_app(
    fuzz_database: str, base_settings: dict[str, Any], bg_loop: BackgroundLoop
) -> Iterator[FastAPI]:
    """The app behind :data:`APP`, with a key of its own; Schemathesis starts its lifespan with
    the first request, and it is stopped here."""
    app = create_app(Settings(**{**base_settings, "database_url": fuzz_database}))
    APP.app, APP.key = app, bg_loop.run(_create_key(fuzz_database))
    try:
        yield app
    finally:
        asgi.shutdown_lifespans()
        APP.app, APP.key = None, ""


async def _create_key(url: str) -> str:
    engine = make_async_engine(url, Settings(database_url=url, environment="test", db_pool_size=1))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            _, key = await create_key(session, name="schema fuzz", tenant=f"t-{uuid.uuid4().hex}")
    finally:
        await engine.dispose()
    return key


@pytest.mark.usefixtures("fuzz_app")
@schema.parametrize()
def test_every_operation_keeps_the_schema(case: Any) -> None:
    case.call_and_validate(headers=call_headers(case))


@pytest.mark.usefixtures("fuzz_app")
def test_linked_operations_keep_the_schema() -> None:
    """The stateful phase, run by Schemathesis' engine as ``st run`` does: a scenario whose
    responses change as the database does cannot be replayed step for step, and the engine knows
    that is no failure."""
    only_stateful = {
        "phases": {
            **{phase: {"enabled": False} for phase in ("examples", "coverage", "fuzzing")},
            "stateful": {"max-steps": 8},
        },
        "generation": {**SETTINGS["generation"], "max-examples": 40},
        "headers": {"Authorization": f"Bearer {APP.key}"},
        "operations": [
            *SETTINGS["operations"],
            *(
                {"include-name": label, "headers": {"Accept": "application/json"}}
                for label in JSON_REPLIES
            ),
        ],
    }
    config = schemathesis.Config.from_dict({**SETTINGS, **only_stateful})
    stateful = schemathesis.openapi.from_asgi("/openapi.json", APP, config=config)
    problems, links = [], 0
    for event in schemathesis.engine.from_schema(stateful).execute():
        if (
            isinstance(event, events.PhaseStarted)
            and event.phase.name is PhaseName.STATEFUL_TESTING
        ):
            links = event.payload.transitions_selected if event.payload else 0
        elif isinstance(event, events.ScenarioFinished):
            for check in (c for checks in event.recorder.checks.values() for c in checks):
                if check.failure_info is not None:
                    steps = "\n".join(step.curl for step in check.failure_info.steps)
                    problems.append(f"{check.failure_info.failure}\n{steps}")
        elif isinstance(event, events.NonFatalError):
            problems.append(str(event.info))
        elif isinstance(event, events.FatalError):
            problems.append(repr(event.exception))
    assert links > 0, "Schemathesis found no links between operations to follow"
    assert not problems, "\n\n".join(problems)
