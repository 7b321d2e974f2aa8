"""Tool schemas come from signatures and docstrings; arguments are validated against them."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.tools import InvalidToolArguments, ToolRegistry, build_tool
from booking.domain.search_request import SearchRequest


async def sample(
    ctx: ToolContext, city: str, days: int = 1, unit: Literal["c", "f"] = "c"
) -> dict[str, str]:
    """Look something up.

    More detail for the model.

    Args:
        city: The city, as typed.
        days: How many days,
            counted from today.
        unit: Temperature unit.

    Returns:
        Nothing useful.
    """
    return {}


class Lookup(BaseModel):
    """Not shown to the model: the tool's docstring is its description."""

    model_config = ConfigDict(frozen=True)

    city: str = Field(description="The city, as typed.")
    days: int = Field(default=1, ge=1, le=7, description="How many days.")


async def lookup(ctx: ToolContext, request: Lookup) -> dict[str, Any]:
    """Look something up, asked as one model."""
    return {"request": request}


class TestSchema:
    def test_built_from_signature_and_docstring(self) -> None:
        tool = build_tool(sample, read_only=True, requires_approval=False, timeout_s=1)
        function = tool.schema()["function"]
        assert function["name"] == "sample"
        assert function["description"] == "Look something up. More detail for the model."
        params = function["parameters"]
        assert params["required"] == ["city"]
        assert params["additionalProperties"] is False
        assert params["properties"]["city"] == {
            "type": "string",
            "description": "The city, as typed.",
        }
        assert params["properties"]["days"]["description"] == "How many days, counted from today."
        assert params["properties"]["days"]["default"] == 1
        assert params["properties"]["unit"]["enum"] == ["c", "f"]

    def test_context_parameter_is_required_and_hidden(self) -> None:
        async def no_ctx(city: str) -> None:
            """Bad."""

        with pytest.raises(TypeError, match="ToolContext"):
            build_tool(no_ctx, read_only=True, requires_approval=False, timeout_s=1)
        schema = build_tool(sample, read_only=True, requires_approval=False, timeout_s=1).schema()
        assert "ctx" not in schema["function"]["parameters"]["properties"]

    def test_catalog_tools_keep_the_argument_names_models_use(self) -> None:
        registry = default_registry()
        search = registry.get("search_flights")
        assert search is not None
        props = search.schema()["function"]["parameters"]["properties"]
        assert list(props)[:3] == ["from_city", "to_city", "date"]
        assert registry.names() == [
            "search_flights",
            "get_weather",
            "book_flight",
            "hold_booking",
            "confirm_booking",
            "cancel_booking",
            "get_booking",
        ]
        side_effecting = {"book_flight", "hold_booking", "confirm_booking", "cancel_booking"}
        for tool in registry:
            assert tool.read_only is (tool.name not in side_effecting)
            assert tool.requires_approval is (tool.name in side_effecting)
            assert (tool.describe is not None) is (tool.name in side_effecting)

    def test_search_flights_takes_the_search_request(self) -> None:
        search = default_registry().get("search_flights")
        assert search is not None
        params = search.schema()["function"]["parameters"]
        assert list(params["properties"]) == list(SearchRequest.model_fields)
        assert params["required"] == ["from_city", "to_city", "date"]
        assert params["additionalProperties"] is False
        assert params["properties"]["passengers"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 9,
            "default": 1,
            "description": "Number of passengers, 1 to 9.",
        }
        assert params["properties"]["cabin"]["enum"] == ["economy", "business"]

    def test_registering_a_name_twice_fails(self) -> None:
        registry = ToolRegistry()
        registry.tool()(sample)
        with pytest.raises(ValueError, match="twice"):
            registry.tool()(sample)


class TestValidate:
    tool = build_tool(sample, read_only=True, requires_approval=False, timeout_s=1)

    def test_fills_defaults(self) -> None:
        assert self.tool.validate({"city": "Huế"}) == {"city": "Huế", "days": 1, "unit": "c"}

    def test_lists_every_problem(self) -> None:
        with pytest.raises(InvalidToolArguments) as caught:
            self.tool.validate({"days": "many", "unit": "k", "extra": 1})
        fields = {e["loc"][0] for e in caught.value.errors}
        assert fields == {"city", "days", "unit", "extra"}
        assert "sample" in str(caught.value)


class TestModelParameter:
    tool = build_tool(lookup, read_only=True, requires_approval=False, timeout_s=1)

    def test_schema_is_the_models_fields(self) -> None:
        function = self.tool.schema()["function"]
        assert function["description"] == "Look something up, asked as one model."
        assert function["parameters"] == {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, as typed."},
                "days": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 7,
                    "default": 1,
                    "description": "How many days.",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        }

    def test_refuses_unknown_keys_and_bad_values(self) -> None:
        with pytest.raises(InvalidToolArguments) as caught:
            self.tool.validate({"city": "Huế", "days": 8, "extra": 1})
        assert {e["loc"][0] for e in caught.value.errors} == {"days", "extra"}

    async def test_is_called_with_the_model(self) -> None:
        ctx: Any = None  # The tool does not read its context.
        result = await self.tool.invoke(ctx, self.tool.validate({"city": "Huế"}))
        assert result["request"].model_dump() == {"city": "Huế", "days": 1}
        assert isinstance(result["request"], Lookup)
