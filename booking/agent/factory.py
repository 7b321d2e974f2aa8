"""Wire an :class:`Orchestrator` from settings and already-built resources (CLI, app, demo)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.agent.catalog import default_registry
from booking.agent.context import ToolContext
from booking.agent.context_window import budget_for
from booking.agent.models.base import ModelClient
from booking.agent.models.openai_chat import OpenAIChatModel
from booking.agent.orchestrator import Approver, Orchestrator
from booking.agent.tools import ToolRegistry
from booking.domain.booking_rules import booking_policy
from booking.domain.dates import Clock
from booking.domain.places import Gazetteer
from booking.settings import Settings


def build_orchestrator(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    places: Gazetteer,
    clock: Clock,
    model: ModelClient,
    *,
    approver: Approver | None = None,
    conversation_id: str | None = None,
    tenant: str | None = None,
    registry: ToolRegistry | None = None,
) -> Orchestrator:
    registry = registry or default_registry(timeout_s=settings.tool_timeout_s)
    ctx = ToolContext(
        sessionmaker=sessionmaker,
        places=places,
        clock=clock,
        max_days_ahead=settings.max_days_ahead,
        conversation_id=conversation_id,
        tenant=tenant,
        booking_policy=booking_policy(settings),
    )
    # The fallback chain's smallest budget: any model of it may be sent the same request.
    chain = model.chain() if isinstance(model, OpenAIChatModel) else []
    return Orchestrator(
        model,
        registry,
        ctx,
        max_model_calls=settings.max_model_calls,
        max_tool_errors=settings.max_tool_errors,
        approver=approver,
        context_tokens=budget_for(chain, settings.llm_context_tokens),
    )
