"""The OpenAPI document: FastAPI's, plus what it cannot say from the routes alone."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from booking.api.schemas import Problem


def install(app: FastAPI) -> None:
    """Serve :func:`document` (built once) as the app's ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    # Error responses refer to the Problem schema (`problems.problem_responses`), which no route
    # returns as its own model, so FastAPI does not collect it.
    _, problems = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(problems["$defs"])
    for operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            parameter["schema"] = _not_null(parameter["schema"])
    _tags_required(schema)
    return schema


def _tags_required(schema: dict[str, Any]) -> None:
    """The members of a union told apart by a tag (AG-UI's messages by ``role``, their content
    parts by ``type``) must carry it: pydantic picks the member by the tag and refuses an input
    without one, although the generated models give the tag a default (so the schema alone
    would call it optional)."""
    components = schema["components"]["schemas"]

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            discriminator = node.get("discriminator")
            if isinstance(discriminator, dict):
                tag = discriminator["propertyName"]
                for ref in discriminator.get("mapping", {}).values():
                    member = components.get(ref.rsplit("/", 1)[-1], {})
                    if tag in member.get("properties", {}) and tag not in member.get(
                        "required", []
                    ):
                        member.setdefault("required", []).append(tag)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for path in schema.get("paths", {}).values() for operation in path.values()]


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter (``str | None = None``) is absent or a string on the wire: a query
    or a header has no spelling for null, so the schema keeps only the non-null branch."""
    branches = schema.get("anyOf", [])
    if {"type": "null"} not in branches or len(branches) != 2:
        return schema
    (value,) = [branch for branch in branches if branch != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**value, **rest}
