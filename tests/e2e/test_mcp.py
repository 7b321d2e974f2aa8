"""The MCP server at ``/mcp`` as an MCP client sees it: the official ``mcp`` client (``Client``
over ``streamable_http_client``) against a live server on the seeded database.

The client negotiates the protocol itself (2026-07-28, where an approval is an
``InputRequiredResult`` round trip); one test pins the handshake era (``mode="legacy"``),
where the server asks with an ``elicitation/create`` request in the middle of the call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx2
import mcp_types as types
import psycopg
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext, ElicitationFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from booking.agent.catalog import default_registry
from booking.db.engine import libpq_url
from booking.domain.api_keys import hash_key
from tests.support.approvals import hold_arguments
from tests.support.server import RunningServer, StartServer

READ_TOOLS = ("search_flights", "get_weather", "get_booking")
APPROVAL_TOOLS = ("book_flight", "hold_booking", "confirm_booking", "cancel_booking")


@asynccontextmanager
async def connect(
    server: RunningServer,
    key: str | None,
    *,
    elicitation: ElicitationFnT | None = None,
    mode: str = "auto",
    origin: str | None = None,
) -> AsyncIterator[Client]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    if origin is not None:
        headers["origin"] = origin
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http:
        transport = streamable_http_client(f"{server.base_url}/mcp", http_client=http)
        async with Client(
            transport, elicitation_callback=elicitation, mode=mode, cache=None
        ) as client:
            yield client


def answering(
    action: Literal["accept", "decline", "cancel"], approve: bool = True
) -> tuple[ElicitationFnT, list[str]]:
    """An elicitation callback that answers ``action`` and records the questions it was asked."""
    asked: list[str] = []

    async def answer(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        asked.append(params.message)
        content = {"approve": approve} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    return answer, asked


def tenant_bookings(url: str, key: str) -> list[dict[str, Any]]:
    """The bookings of the key's tenant, read from the database."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT b.reference, b.status, b.flight_id, b.conversation_id FROM bookings b "
            "JOIN api_keys k ON k.tenant = b.tenant WHERE k.key_hash = %s ORDER BY b.created_at",
            (hash_key(key),),
        ).fetchall()
    names = ("reference", "status", "flight_id", "conversation_id")
    return [dict(zip(names, row, strict=True)) for row in rows]


async def a_flight(client: Client) -> int:
    result = await client.call_tool(
        "search_flights", {"from_city": "HAN", "to_city": "SGN", "date": "2026-06-13"}
    )
    assert not result.is_error, result
    flights = result.structured_content["flights"]
    flight = max(flights, key=lambda f: (f["seats_left"], -f["flight_id"]))
    assert flight["seats_left"] >= 9, flight
    flight_id: int = flight["flight_id"]
    return flight_id


def error_of(result: types.CallToolResult) -> dict[str, Any]:
    assert result.is_error, result
    error: dict[str, Any] = result.structured_content["error"]
    return error


async def test_tools_are_the_agents_with_the_same_schemas(
    live_server: RunningServer, key: str
) -> None:
    async with connect(live_server, key) as client:
        assert client.protocol_version == "2026-07-28"
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    registry = default_registry()
    assert set(listed) == {*READ_TOOLS, *APPROVAL_TOOLS, "find_places"}
    for name in (*READ_TOOLS, *APPROVAL_TOOLS):
        function = registry.get(name).schema()["function"]  # type: ignore[union-attr]
        assert listed[name].input_schema == function["parameters"], name
        assert listed[name].description == function["description"], name
        annotations = listed[name].annotations
        assert annotations is not None
        assert annotations.read_only_hint is (name in READ_TOOLS)
    places = listed["find_places"].input_schema
    assert places["required"] == ["q"]
    assert places["properties"]["q"]["maxLength"] == 100


async def test_search_weather_and_places(live_server: RunningServer, key: str) -> None:
    async with connect(live_server, key) as client:
        flights = await client.call_tool(
            "search_flights", {"from_city": "Sài Gòn", "to_city": "Hà Nội", "date": "2026-06-15"}
        )
        weather = await client.call_tool("get_weather", {"city": "Đà Nẵng", "date": "2026-06-03"})
        places = await client.call_tool("find_places", {"q": "Đà Nẵng"})
        unaccented = await client.call_tool("find_places", {"q": "da nang", "limit": 3})
    assert not flights.is_error, flights
    found = flights.structured_content
    assert found["flights"], found
    assert {f["origin"] for f in found["flights"]} == {"SGN"}
    assert {f["destination"] for f in found["flights"]} == {"HAN"}
    assert not weather.is_error, weather
    assert weather.structured_content["day"] == "2026-06-03"
    assert weather.structured_content["place"]["city"] == "Đà Nẵng"
    for result in (places, unaccented):
        assert not result.is_error, result
        first = result.structured_content["items"][0]
        assert first["city"] == "Đà Nẵng"
        assert [a["iata"] for a in first["airports"]] == ["DAD"]
    assert len(unaccented.structured_content["items"]) <= 3


async def test_errors_are_results_with_the_agents_codes(
    live_server: RunningServer, key: str
) -> None:
    async with connect(live_server, key) as client:
        unknown = await client.call_tool("get_booking", {"reference": "XXXXXX"})
        place = await client.call_tool(
            "search_flights", {"from_city": "Atlantis", "to_city": "HAN", "date": "2026-06-15"}
        )
        invalid = await client.call_tool("get_weather", {"town": "Huế"})
        empty = await client.call_tool("find_places", {"q": ""})
        malformed = await client.call_tool("get_booking", {"reference": "ZZZZZZ"})
    assert error_of(unknown)["code"] == "booking_not_found"
    assert error_of(malformed)["code"] == "invalid_reference"
    assert error_of(place)["code"] in ("unknown_place", "ambiguous_place")
    assert error_of(invalid)["code"] == "invalid_arguments"
    assert error_of(empty)["code"] == "invalid_arguments"


async def test_a_write_without_elicitation_is_refused_and_writes_nothing(
    live_server: RunningServer, key: str, seeded_url: str
) -> None:
    async with connect(live_server, key) as client:
        flight_id = await a_flight(client)
        result = await client.call_tool("hold_booking", hold_arguments(flight_id))
    error = error_of(result)
    assert error["code"] == "approval_required"
    # What would happen is said, from the same description the chat's approval card shows.
    assert error["would"]["flight"]["flight_id"] == flight_id
    assert "Nguyễn Văn An" in error["would"]["text"]
    assert tenant_bookings(seeded_url, key) == []


async def test_an_approved_hold_is_held_and_a_declined_one_writes_nothing(
    live_server: RunningServer, key: str, seeded_url: str
) -> None:
    declined, asked_declined = answering("decline")
    async with connect(live_server, key, elicitation=declined) as client:
        flight_id = await a_flight(client)
        refused = await client.call_tool("hold_booking", hold_arguments(flight_id))
    assert error_of(refused)["code"] == "approval_denied"
    assert len(asked_declined) == 1
    assert tenant_bookings(seeded_url, key) == []

    unticked, _ = answering("accept", approve=False)
    async with connect(live_server, key, elicitation=unticked) as client:
        refused = await client.call_tool("hold_booking", hold_arguments(flight_id))
    assert error_of(refused)["code"] == "approval_denied"
    assert tenant_bookings(seeded_url, key) == []

    accepted, asked = answering("accept")
    async with connect(live_server, key, elicitation=accepted) as client:
        held = await client.call_tool("hold_booking", hold_arguments(flight_id))
        assert not held.is_error, held
        booking = held.structured_content["booking"]
        looked_up = await client.call_tool("get_booking", {"reference": booking["reference"]})
    assert booking["status"] == "held"
    assert "Nguyễn Văn An" in asked[0]
    assert "Trần Thị Bình" in asked[0]
    assert not looked_up.is_error
    assert looked_up.structured_content["booking"]["reference"] == booking["reference"]
    assert tenant_bookings(seeded_url, key) == [
        {
            "reference": booking["reference"],
            "status": "held",
            "flight_id": flight_id,
            "conversation_id": "mcp",
        }
    ]


async def test_an_approval_is_used_once_and_only_for_its_arguments(
    live_server: RunningServer, key: str, make_key: Any, seeded_url: str
) -> None:
    """Driving the 2026-07-28 round trip by hand: the ``request_state`` names the server's
    approval, which is bound to the tenant and the exact arguments and taken once."""
    accepted, _ = answering("accept")
    yes: types.InputResponses = {
        "approval": types.ElicitResult(action="accept", content={"approve": True})
    }
    async with connect(live_server, key, elicitation=accepted) as client:
        flight_id = await a_flight(client)
        arguments = hold_arguments(flight_id)
        asked = await client.session.call_tool("hold_booking", arguments, allow_input_required=True)
        assert isinstance(asked, types.InputRequiredResult), asked
        assert asked.input_requests is not None
        assert set(asked.input_requests) == {"approval"}
        state = asked.request_state
        assert state is not None
        other = {**arguments, "passengers": [{"full_name": "Lê Văn Cường"}]}
        mismatch = await client.session.call_tool(
            "hold_booking", other, input_responses=yes, request_state=state
        )
    # A mismatch uses the approval up too: a client that changed the arguments is asked again.
    assert error_of(mismatch)["code"] == "approval_mismatch"
    assert tenant_bookings(seeded_url, key) == []

    async with connect(live_server, key, elicitation=accepted) as client:
        asked = await client.session.call_tool("hold_booking", arguments, allow_input_required=True)
        assert isinstance(asked, types.InputRequiredResult)
        state = asked.request_state
        stranger = make_key()
        async with connect(live_server, stranger, elicitation=accepted) as theirs:
            stolen = await theirs.session.call_tool(
                "hold_booking", arguments, input_responses=yes, request_state=state
            )
        first = await client.session.call_tool(
            "hold_booking", arguments, input_responses=yes, request_state=state
        )
        again = await client.session.call_tool(
            "hold_booking", arguments, input_responses=yes, request_state=state
        )
        forged = await client.session.call_tool(
            "hold_booking", arguments, input_responses=yes, request_state="apr_forged"
        )
    assert error_of(stolen)["code"] == "approval_not_found"
    assert tenant_bookings(seeded_url, stranger) == []
    assert not first.is_error, first
    assert error_of(again)["code"] == "approval_decided"
    assert error_of(forged)["code"] == "approval_not_found"
    assert [b["status"] for b in tenant_bookings(seeded_url, key)] == ["held"]


async def test_handshake_era_clients_are_asked_with_elicitation_create(
    live_server: RunningServer, key: str, seeded_url: str
) -> None:
    accepted, asked = answering("accept")
    async with connect(live_server, key, elicitation=accepted, mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        flight_id = await a_flight(client)
        held = await client.call_tool("hold_booking", hold_arguments(flight_id))
        assert not held.is_error, held
        reference = held.structured_content["booking"]["reference"]
        cancelled = await client.call_tool("cancel_booking", {"reference": reference})
    assert not cancelled.is_error, cancelled
    assert cancelled.structured_content["booking"]["status"] == "cancelled"
    assert len(asked) == 2
    assert [b["status"] for b in tenant_bookings(seeded_url, key)] == ["cancelled"]

    async with connect(live_server, key, mode="legacy") as client:
        refused = await client.call_tool("hold_booking", hold_arguments(flight_id))
    assert error_of(refused)["code"] == "approval_required"
    assert len(tenant_bookings(seeded_url, key)) == 1


def test_without_a_key_the_answer_is_our_401_problem(live_server: RunningServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with live_server.client() as http:
        response = http.post("/mcp", json=body, headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    with live_server.client("bk_not_a_key") as http:
        response = http.post("/mcp", json=body, headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_the_official_client_without_a_key_fails_and_auth_off_is_the_dev_tenant(
    live_server: RunningServer, start: StartServer
) -> None:
    with pytest.raises(ExceptionGroup) as refused:
        async with connect(live_server, None) as client:
            await client.list_tools()
    assert refused.group_contains(MCPError)
    open_server = start(auth="off")
    async with connect(open_server, None) as client:
        result = await client.call_tool("get_booking", {"reference": "XXXXXX"})
    assert error_of(result)["code"] == "booking_not_found"


def test_mcp_requests_count_against_the_keys_rate_limit(start: StartServer, key: str) -> None:
    server = start(rate_limit_per_minute=2)
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}
    with server.client(key) as http:
        statuses = [
            http.post("/mcp", json=body, headers={"accept": "application/json"}) for _ in range(3)
        ]
    assert statuses[-1].status_code == 429
    assert statuses[-1].json()["code"] == "rate_limited"
    assert int(statuses[-1].headers["retry-after"]) >= 1


async def test_an_approval_asked_on_one_replica_is_answered_on_another(
    live_server: RunningServer, start: StartServer, key: str, make_key: Any, seeded_url: str
) -> None:
    """Approvals are the database's, not one process's: behind a balancer the user's answer
    may reach any replica, and it is still taken once."""
    other_replica = start()
    accepted, _ = answering("accept")
    yes: types.InputResponses = {
        "approval": types.ElicitResult(action="accept", content={"approve": True})
    }
    async with connect(live_server, key, elicitation=accepted) as here:
        arguments = hold_arguments(await a_flight(here))
        asked = await here.session.call_tool("hold_booking", arguments, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult), asked
    async with connect(other_replica, key, elicitation=accepted) as there:
        held = await there.session.call_tool(
            "hold_booking", arguments, input_responses=yes, request_state=asked.request_state
        )
    async with connect(live_server, key, elicitation=accepted) as here:
        again = await here.session.call_tool(
            "hold_booking", arguments, input_responses=yes, request_state=asked.request_state
        )
    assert not held.is_error, held
    assert error_of(again)["code"] == "approval_decided"
    [booking] = tenant_bookings(seeded_url, key)
    assert booking["status"] == "held"
    # The booking is the tenant's: another key's tenant is told it does not exist.
    async with connect(live_server, key) as mine, connect(live_server, make_key()) as theirs:
        found = await mine.call_tool("get_booking", {"reference": booking["reference"]})
        hidden = await theirs.call_tool("get_booking", {"reference": booking["reference"]})
    assert not found.is_error, found
    assert error_of(hidden)["code"] == "booking_not_found"


async def test_what_a_dns_rebinding_page_sends_is_refused(start: StartServer, key: str) -> None:
    """MCP requires servers to check ``Origin``: a browser page of an origin not allowed
    (``BOOKING_CORS_ORIGINS``) is refused before its key is looked up, and with auth off
    (loopback only) so is a request naming another host, as a rebound name does."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    server = start(cors_origins=["https://app.example.vn"])
    with server.client(key) as http:
        evil = http.post("/mcp", json=body, headers={**accept, "origin": "http://evil.example"})
    assert evil.status_code == 403
    assert evil.headers["content-type"].startswith("application/problem+json")
    assert evil.json()["code"] == "origin_not_allowed"
    # A page of an allowed origin, and a client that is no browser (no Origin), are served.
    async with connect(server, key, origin="https://app.example.vn") as client:
        assert {t.name for t in (await client.list_tools()).tools} >= set(READ_TOOLS)
    async with connect(server, key) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= set(READ_TOOLS)

    open_server = start(auth="off")
    with open_server.client(None) as http:
        rebound = http.post("/mcp", json=body, headers={**accept, "host": "evil.example:80"})
    assert rebound.status_code == 403
    assert rebound.json()["code"] == "origin_not_allowed"
    async with connect(open_server, None) as client:  # Addressed as 127.0.0.1: served.
        assert {t.name for t in (await client.list_tools()).tools} >= set(READ_TOOLS)
