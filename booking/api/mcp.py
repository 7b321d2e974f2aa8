"""Our tools as an MCP server at ``/mcp`` (streamable HTTP, the official ``mcp`` SDK's low-level
``Server``): the agent's own tool registry, not a second declaration of it.

- Tools: each exposed registry entry as it is (name, description, its JSON schema as the
  ``inputSchema``, the same function called with the same kind of ``ToolContext``, the same error
  payloads ``{"error": {"code", "message", ...}}`` the model gets), plus ``find_places``, the
  ``GET /v1/places`` autocomplete (not an agent tool: the route's function is called as is).
  The low-level server rather than ``MCPServer``: ``MCPServer`` builds schemas from a function's
  signature, and ours already exist.
- Auth: the API's own bearer keys, tenants and rate limit (``deps.current_client``) run before
  the SDK sees a request, so a refused request gets our ``401``/``429`` problem document; the key
  is also the owner of any MCP session it opens (the SDK answers another key's requests to it as
  if the session did not exist).
- Side effects (every tool that needs approval: hold, book, confirm, cancel) run only with an
  approval the server holds: the call is described first (what would happen, from the tool's
  own ``describe``) and the user is asked through the protocol's elicitation, an
  ``InputRequiredResult`` on 2026-07-28 connections (the retry carries the answer and our opaque
  approval id) or an ``elicitation/create`` request in the middle of the call on older ones. The
  approval is bound to the tenant, the tool, the exact arguments (``arguments_hash``, as the
  chat's approvals), an expiry, and is used once. A client that cannot elicit gets an error
  result ``approval_required`` and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from typing import Any, Protocol

import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from booking import __version__
from booking.agent.tools import InvalidToolArguments, Tool
from booking.api.auth import Client
from booking.api.deps import current_client
from booking.api.routes import places as places_route
from booking.api.state import AppState
from booking.domain.tool_approvals import Pending, ToolApprovals
from booking.errors import (
    BookingError,
    OriginNotAllowed,
)

log = logging.getLogger(__name__)

#: The registry's tools MCP offers, by the registry's own names (the MCP names are the same).
EXPOSED = (
    "search_flights",
    "get_weather",
    "get_booking",
    "book_flight",
    "hold_booking",
    "confirm_booking",
    "cancel_booking",
)
#: What bookings made through MCP name as their conversation (``actor`` ``agent:mcp``).
CONVERSATION = "mcp"
#: The key of our one elicitation in an ``InputRequiredResult``.
ASK = "approval"
APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Approve",
            "description": "Do exactly what is described above.",
        }
    },
    "required": ["approve"],
}
INSTRUCTIONS = (
    "Flight search, weather, places and bookings for Vietnam and the region. Holding, booking, "
    "confirming or cancelling asks the user to approve the exact action first."
)

ContextFor = Callable[[str, str | None], Any]
"""``context_for(tenant, call_id)``: the ``ToolContext`` a tool runs with (built by the app)."""


class FindPlaces(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(
        min_length=1,
        max_length=100,
        description="What the traveller typed: a city, place or airport in any spelling, with or "
        'without accents ("Đà Nẵng", "da nang", "DAD", "Sài Gòn").',
    )
    limit: int = Field(default=8, ge=1, le=20, description="At most this many places.")


class ToolFailed(Exception):
    """A call that ends in an error result (``isError``) with this payload."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = dict(error)


class HasTools(Protocol):
    def get(self, name: str) -> Tool | None: ...


class McpEdge:
    """The MCP server of one app: its tools, its approvals, its session manager."""

    def __init__(
        self, registry: HasTools, context_for: ContextFor, *, approvals: ToolApprovals
    ) -> None:
        self.tools: dict[str, Tool] = {
            name: tool for name in EXPOSED if (tool := registry.get(name)) is not None
        }
        self.context_for = context_for
        self.approvals = approvals
        self._listing = self.listing()  # Constant: built once, not on every tools/list.
        self.server: Server[Any] = Server(
            "booking",
            version=__version__,
            title="Flight booking",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        # Stateful: a pre-2026 client's elicitation answer comes back on its session. 2026-07-28
        # requests need no session (the SDK serves them one by one).
        self.sessions = StreamableHTTPSessionManager(app=self.server)
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        await self._stack.enter_async_context(self.sessions.run())

    async def stop(self) -> None:
        await self._stack.aclose()

    def listing(self) -> list[types.Tool]:
        tools = [
            types.Tool(
                name=tool.name,
                description=tool.description,
                input_schema=tool.schema()["function"]["parameters"],
                annotations=types.ToolAnnotations(
                    read_only_hint=tool.read_only,
                    destructive_hint=not tool.read_only,
                    open_world_hint=False,
                ),
            )
            for tool in self.tools.values()
        ]
        schema = FindPlaces.model_json_schema()
        schema.pop("title", None)
        for prop in schema["properties"].values():
            prop.pop("title", None)
        tools.append(
            types.Tool(
                name="find_places",
                description=" ".join((places_route.places.__doc__ or "").split()),
                input_schema=schema,
                annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False),
            )
        )
        return tools

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._listing)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        client, state = _caller(ctx)
        arguments = params.arguments or {}
        try:
            if params.name == "find_places":
                found = _valid(FindPlaces, arguments, "find_places")
                return _ok(await places_route.places(client, state, found.q, found.limit))
            tool = self.tools.get(params.name)
            if tool is None:
                raise ToolFailed(
                    {
                        "code": "unknown_tool",
                        "message": f"There is no tool named '{params.name}'. Available: "
                        f"{', '.join([*self.tools, 'find_places'])}.",
                    }
                )
            try:
                valid = tool.validate(arguments)
            except InvalidToolArguments as exc:
                raise ToolFailed(
                    {"code": "invalid_arguments", "message": str(exc), "errors": exc.errors}
                ) from None
            if not tool.requires_approval:
                return _ok(await self._run(tool, client.tenant, None, valid))
            return await self._with_approval(ctx, params, tool, client.tenant, valid)
        except BookingError as exc:
            return _failed(exc.to_dict())
        except ToolFailed as exc:
            return _failed(exc.error)

    async def _with_approval(
        self,
        ctx: ServerRequestContext[Any],
        params: types.CallToolRequestParams,
        tool: Tool,
        tenant: str,
        arguments: dict[str, Any],
    ) -> types.CallToolResult | types.InputRequiredResult:
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        if modern and params.request_state is not None:
            # The retry of a 2026-07-28 round trip: ``request_state`` only names the approval;
            # what may run is what the server stored.
            pending = await self.approvals.take(params.request_state, tenant, tool.name, arguments)
            answer = (params.input_responses or {}).get(ASK)
            return await self._decided(tool, tenant, pending, arguments, answer)
        summary = await self._describe(tool, tenant, arguments)
        elicitation = types.ClientCapabilities(elicitation=types.ElicitationCapability())
        if not ctx.session.check_client_capability(elicitation):
            raise ToolFailed(
                {
                    "code": "approval_required",
                    "message": f"{tool.name} needs the user's approval, asked through MCP "
                    "elicitation, which this client does not support; nothing was done.",
                    "would": summary,
                }
            )
        pending = await self.approvals.ask(tenant, tool.name, arguments)
        message = _question(summary)
        if modern:
            ask = types.ElicitRequest(
                params=types.ElicitRequestFormParams(
                    message=message, requested_schema=APPROVAL_SCHEMA
                )
            )
            return types.InputRequiredResult(input_requests={ASK: ask}, request_state=pending.id)
        try:
            async with asyncio.timeout(self.approvals.ttl_s):
                answer = await ctx.session.elicit_form(
                    message, APPROVAL_SCHEMA, related_request_id=ctx.request_id
                )
        except Exception:
            await self.approvals.forget(pending.id)
            log.warning("elicitation for %s failed", tool.name, exc_info=True)
            raise ToolFailed(
                {
                    "code": "approval_required",
                    "message": "The user's approval could not be asked; nothing was done.",
                    "would": summary,
                }
            ) from None
        taken = await self.approvals.take(pending.id, tenant, tool.name, arguments)
        return await self._decided(tool, tenant, taken, arguments, answer)

    async def _decided(
        self,
        tool: Tool,
        tenant: str,
        pending: Pending,
        arguments: dict[str, Any],
        answer: object,
    ) -> types.CallToolResult:
        approved = (
            isinstance(answer, types.ElicitResult)
            and answer.action == "accept"
            and (answer.content or {}).get("approve") is True
        )
        if not approved:
            action = answer.action if isinstance(answer, types.ElicitResult) else "none"
            raise ToolFailed(
                {
                    "code": "approval_denied",
                    "message": f"The user did not approve {tool.name} ({action}); nothing was "
                    "done.",
                    "approval_id": pending.id,
                }
            )
        # The approval id is the call id, so the booking's idempotency key is unique to it.
        output = await self._run(tool, tenant, pending.id, arguments)
        return _ok(output)

    async def _describe(self, tool: Tool, tenant: str, arguments: dict[str, Any]) -> dict[str, Any]:
        summary, error = await tool.summary(self.context_for(tenant, None), arguments)
        if error is not None:
            raise ToolFailed(error)
        return summary

    async def _run(
        self, tool: Tool, tenant: str, call_id: str | None, arguments: dict[str, Any]
    ) -> Any:
        """The tool as the agent runs it (:meth:`Tool.run`): its timeout, its error payloads."""
        output, error = await tool.run(self.context_for(tenant, call_id), arguments)
        if error is not None:
            raise ToolFailed(error)
        return output

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/mcp``: our auth and rate limit first (a refusal is our problem document, rendered
        by the app's handlers), then the SDK."""
        request = Request(scope, receive)
        state: AppState = request.app.state.booking
        _check_origin(request, state)
        client = await current_client(request, state, None)
        scope["booking.client"] = client
        # The SDK binds each session to the credential that opened it.
        scope["user"] = AuthenticatedUser(
            AccessToken(
                token=client.key_id or "",
                client_id=client.key_id or client.tenant,
                scopes=[],
                subject=client.tenant,
            )
        )
        await self.sessions.handle_request(scope, receive, send)


#: Host names of this machine: with auth off (loopback only), nothing else may name the server.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_origin(request: Request, state: AppState) -> None:
    """Refuse what a DNS-rebinding page sends (the MCP specification requires servers to check
    ``Origin``): a browser's ``Origin`` that ``BOOKING_CORS_ORIGINS`` does not list, and, with
    auth off (served on loopback only), a ``Host`` that is not this machine. MCP clients that
    are not browsers send no ``Origin``. Ours rather than the SDK's ``TransportSecuritySettings``
    so the refusal is our problem document, before the key is even looked up."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in state.settings.cors_origins:
        raise OriginNotAllowed(
            f"Requests from pages of {origin} are not allowed here.", origin=origin
        )
    if state.settings.auth == "off" and request.url.hostname not in LOOPBACK_HOSTS:
        raise OriginNotAllowed(
            "With auth off this server answers only requests addressed to this machine.",
            host=request.url.hostname,
        )


def _caller(ctx: ServerRequestContext[Any]) -> tuple[Client, AppState]:
    request = ctx.request
    if not isinstance(request, Request) or not isinstance(
        request.scope.get("booking.client"), Client
    ):
        # Every request reaches the SDK through McpEdge.__call__, which sets both.
        raise ToolFailed({"code": "internal_error", "message": "No caller for this request."})
    return request.scope["booking.client"], request.app.state.booking


def _valid(model: type[FindPlaces], arguments: dict[str, Any], name: str) -> FindPlaces:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)
        ]
        raise ToolFailed(
            {
                "code": "invalid_arguments",
                "message": str(InvalidToolArguments(name, errors)),
                "errors": errors,
            }
        ) from None


def _question(summary: Mapping[str, Any]) -> str:
    """The approval question: the summary's words, English then Vietnamese when both exist."""
    words: Iterable[Any] = (summary.get("text"), summary.get("text_vi"))
    text = "\n\n".join(str(w) for w in words if w)
    return text or json.dumps(summary, ensure_ascii=False)


def _ok(output: Any) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(output, ensure_ascii=False, default=str))],
        structured_content=output,
    )


def _failed(error: Mapping[str, Any]) -> types.CallToolResult:
    payload = {"error": dict(error)}
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(payload, ensure_ascii=False, default=str))],
        structured_content=payload,
        is_error=True,
    )


class Endpoint:
    """The ``/mcp`` route: the app's :class:`McpEdge`, built by its lifespan (``app.state.mcp``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        edge: McpEdge = scope["app"].state.mcp
        await edge(scope, receive, send)


def install(app: Starlette) -> None:
    """Route ``/mcp`` (every method: POST, GET's stream, DELETE) to the app's :class:`McpEdge`."""
    # A Route, not a Mount: a Mount answers ``/mcp`` with a redirect to ``/mcp/``.
    app.router.routes.append(Route("/mcp", Endpoint(), include_in_schema=False))
