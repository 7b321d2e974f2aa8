"""Tools as typed async functions; the JSON schema the model reads comes from the signature.

``@registry.tool`` reads the parameters after the first (the :class:`ToolContext`, never shown
to the model), builds a Pydantic model from their annotations and defaults, and takes the
description from the docstring's first paragraph and each parameter's text from its ``Args:``
section. A tool whose one parameter after the context is a Pydantic model takes that model
instead (as pydantic-ai and the agents SDK do): its fields and their descriptions are the schema,
and the tool is called with the validated model. Arguments are validated before the tool runs;
unknown keys are refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from booking.agent.context import ToolContext
from booking.errors import BookingError

ToolFn = Callable[..., Awaitable[Any]]
Describe = Callable[[ToolContext, dict[str, Any]], Awaitable[dict[str, Any]]]
F = TypeVar("F", bound=ToolFn)

log = logging.getLogger(__name__)

_ARG_LINE = re.compile(r"^\s{4,}(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


class InvalidToolArguments(Exception):
    def __init__(self, tool: str, errors: list[dict[str, Any]]) -> None:
        self.tool = tool
        self.errors = errors
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in errors]
        super().__init__(f"invalid arguments for {tool}: " + "; ".join(parts))


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    params: type[BaseModel]
    fn: ToolFn
    read_only: bool
    """Reads only; safe to run concurrently and to retry."""
    requires_approval: bool
    """Side-effecting tools may need the traveller's explicit approval before they run."""
    timeout_s: float
    takes_model: bool = False
    """Called as ``fn(ctx, params)`` with the validated model, not one argument per field."""
    describe: Describe | None = None
    """For tools that need approval: what the traveller approves (flight, times, passengers,
    price), looked up from the arguments. Raising a ``BookingError`` here skips the approval and
    returns the error to the model (a sold-out flight is not offered for approval)."""

    def schema(self) -> dict[str, Any]:
        """The Chat Completions ``tools`` entry."""
        parameters = self.params.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated arguments with defaults filled in; raises :class:`InvalidToolArguments`."""
        try:
            model = self.params.model_validate(arguments)
        except ValidationError as exc:
            errors = [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ]
            raise InvalidToolArguments(self.name, errors) from None
        return model.model_dump()

    async def run(
        self, ctx: ToolContext, arguments: dict[str, Any]
    ) -> tuple[Any, dict[str, Any] | None]:
        """Run with validated arguments as every caller does (the agent's turn, the MCP
        server): within the tool's timeout; ``(output, None)``, or ``(None, error)`` with the
        payload the caller is given (``tool_timeout``, ``tool_failed`` or the ``BookingError``'s)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.invoke(ctx, arguments), None
        except BookingError as exc:
            return None, exc.to_dict()
        except TimeoutError:
            message = f"{self.name} took longer than {self.timeout_s:g} s."
            return None, {"code": "tool_timeout", "message": message}
        except Exception:
            log.exception("tool %s failed", self.name, extra={"call_id": ctx.call_id})
            return None, {"code": "tool_failed", "message": f"{self.name} failed unexpectedly."}

    async def summary(
        self, ctx: ToolContext, arguments: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """What the user approves (``describe``, within the timeout; without one, the tool and
        its arguments); or the error that skips the approval (``(_, error)``)."""
        if self.describe is None:
            return {"tool": self.name, "arguments": arguments}, None
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.describe(ctx, arguments), None
        except BookingError as exc:
            return {}, exc.to_dict()
        except TimeoutError:
            return {}, {"code": "tool_timeout", "message": f"{self.name} took too long."}

    async def invoke(self, ctx: ToolContext, arguments: dict[str, Any]) -> Any:
        """Run with already validated arguments (nested objects become their models again)."""
        model = self.params.model_validate(arguments)
        if self.takes_model:
            return await self.fn(ctx, model)
        return await self.fn(
            ctx, **{name: getattr(model, name) for name in type(model).model_fields}
        )


class ToolRegistry:
    """The tools a turn may call, by name."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._schemas: list[dict[str, Any]] | None = None

    def tool(
        self,
        *,
        read_only: bool = True,
        requires_approval: bool = False,
        timeout_s: float = 10.0,
        describe: Describe | None = None,
    ) -> Callable[[F], F]:
        def register(fn: F) -> F:
            tool = build_tool(
                fn, read_only=read_only, requires_approval=requires_approval, timeout_s=timeout_s
            )
            tool = dataclasses.replace(tool, describe=describe)
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name} registered twice")
            self._tools[tool.name] = tool
            self._schemas = None
            return fn

        return register

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool's schema; built once (Pydantic's schema generation is slow per turn)."""
        if self._schemas is None:
            self._schemas = [tool.schema() for tool in self._tools.values()]
        return self._schemas

    def names(self) -> list[str]:
        return list(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())


def build_tool(fn: ToolFn, *, read_only: bool, requires_approval: bool, timeout_s: float) -> Tool:
    signature = inspect.signature(fn)
    hints = get_type_hints(fn)
    params = list(signature.parameters.values())
    if not params or hints.get(params[0].name) is not ToolContext:
        raise TypeError(f"{fn.__name__}: the first parameter must be `ctx: ToolContext`")
    description, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
    given = _model_parameter(params[1:], hints)
    name = f"{fn.__name__}_params"
    model = (
        _signature_model(name, params[1:], hints, arg_docs)
        if given is None
        # The model as it is, refusing unknown keys (its own config may ignore them, as an HTTP
        # query model does).
        else create_model(name, __base__=given, __cls_kwargs__={"extra": "forbid"})
    )
    return Tool(
        name=fn.__name__,
        description=description,
        params=model,
        fn=fn,
        read_only=read_only,
        requires_approval=requires_approval,
        timeout_s=timeout_s,
        takes_model=given is not None,
    )


def _signature_model(
    name: str, params: list[inspect.Parameter], hints: dict[str, Any], docs: dict[str, str]
) -> type[BaseModel]:
    """A model with a field per parameter: its annotation, its default, its ``Args:`` text."""
    fields: dict[str, Any] = {}
    for param in params:
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (
            hints[param.name],
            Field(default=default, description=docs.get(param.name)),
        )
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


def _model_parameter(
    params: list[inspect.Parameter], hints: dict[str, Any]
) -> type[BaseModel] | None:
    """The Pydantic model a tool takes as its one parameter after the context, if it does."""
    if len(params) != 1:
        return None
    annotation = hints.get(params[0].name)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The text before ``Args:`` and each argument's description (Google style)."""
    head, _, rest = doc.partition("\nArgs:\n")
    args: dict[str, str] = {}
    current: str | None = None
    for line in rest.splitlines():
        if line.strip() and not line.startswith(" "):
            break  # The next section (Returns:, Raises:).
        match = _ARG_LINE.match(line)
        if match:
            current = match[1]
            args[current] = match[2].strip()
        elif current and line.strip():
            args[current] += " " + line.strip()
    return " ".join(head.split()), args
