"""What a traveller reads, in one language and one format: the offline model's answers on the
seeded database summarize the flight card instead of repeating it, say the forecast with the
card's own numbers, and the approval request follows the conversation's language."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from booking.agent.events import ApprovalRequested, TextDelta, ToolResult, TurnDone, TurnEvent
from booking.agent.factory import build_orchestrator
from booking.agent.models.openai_chat import OpenAIChatModel
from booking.agent.models.select import build_model_client
from booking.agent.orchestrator import Orchestrator
from booking.domain.dates import FixedClock
from booking.domain.places import Gazetteer
from booking.settings import Settings
from tests.conftest import TEST_NOW
from tests.support.turn_runtime import ScriptedModel, text_reply, tool_call

#: Any amount of money as either language writes it, and the forms we no longer write.
MONEY = re.compile(r"₫\d[\d.,]*|\d[\d.,]*\s?(?:₫|đ\b|VND\b)|VND\s?\d[\d.,]*")
VI_MONEY = re.compile(r"^\d{1,3}(?:\.\d{3})*\u00a0₫$")
FLIGHT_NUMBER = re.compile(r"\b[A-Z0-9]{2}\d{2,4}\b")


@pytest.fixture
async def offline(settings: Settings) -> AsyncIterator[OpenAIChatModel]:
    model = build_model_client(settings, FixedClock(TEST_NOW), {})
    yield model
    await model.aclose()


def orchestrator(
    settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer, model: Any
) -> Orchestrator:
    return build_orchestrator(
        settings,
        async_sessionmaker(engine, expire_on_commit=False),
        gazetteer,
        FixedClock(TEST_NOW),
        model,
    )


async def run(
    agent: Orchestrator, said: str, history: list[dict[str, Any]] | None = None
) -> tuple[list[TurnEvent], str]:
    events = [e async for e in agent.start(history or [], said)]
    return events, "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_a_vietnamese_search_answer_sums_up_the_card_in_one_money_format(
    settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer, offline: OpenAIChatModel
) -> None:
    agent = orchestrator(settings, engine, gazetteer, offline)
    events, answer = await run(agent, "Tìm chuyến bay từ Sài Gòn đi Hà Nội ngày 15/6")
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.name == "search_flights"
    flights = result.output["flights"]
    total = result.output["total_matches"]
    assert len(flights) >= 3
    # The count is the card's total, said once; no other count of flights.
    assert (
        re.findall(r"(\d+) chuyến", answer)
        == [str(total), str(len(flights))][: 1 if total == len(flights) else 2]
    )
    # One money format: every amount is "1.008.000 ₫".
    amounts = MONEY.findall(answer)
    assert amounts
    assert all(VI_MONEY.match(a) for a in amounts), amounts
    # No list repeating the table: at most the cheapest and the earliest are named.
    assert not re.search(r"^\s*[-*] ", answer, re.MULTILINE)
    named = set(FLIGHT_NUMBER.findall(answer)) & {f["flight_number"] for f in flights}
    assert 1 <= len(named) <= 2
    assert flights[0]["flight_number"] in named  # sorted by price: the cheapest
    # No English and no developer line.
    assert not re.search(r"\b(flights?|match|cheapest|token)\b", answer, re.IGNORECASE)


async def test_weather_text_uses_the_numbers_of_the_card(
    settings: Settings, engine: AsyncEngine, gazetteer: Gazetteer, offline: OpenAIChatModel
) -> None:
    agent = orchestrator(settings, engine, gazetteer, offline)
    for day in ("5/6", "8/6", "12/6"):
        events, answer = await run(agent, f"Thời tiết Đà Nẵng ngày {day} thế nào?")
        forecast = next(e for e in events if isinstance(e, ToolResult)).output
        low, high = forecast["temp_min_c"], forecast["temp_max_c"]
        assert (low, high) == (int(low), int(high))
        assert forecast["wind_kph"] == int(forecast["wind_kph"])
        assert f"{int(low)}–{int(high)}°C" in answer
        assert f"gió {int(forecast['wind_kph'])} km/h" in answer
        assert f"khả năng mưa {forecast['precip_prob_pct']}%" in answer.lower()
        assert forecast["condition_vi"] in answer
        if forecast["precip_prob_pct"] >= 50:
            assert forecast["condition_code"] not in ("sunny", "partly_cloudy", "cloudy")


@pytest.mark.parametrize(
    ("history", "said", "language"),
    [
        (
            [{"role": "user", "content": "Tìm vé Sài Gòn đi Hà Nội ngày 15/6"}],
            "Giữ chỗ giúp mình",
            "vi",
        ),
        (
            [{"role": "user", "content": "Flights from Saigon to Hanoi on June 15"}],
            "Hold it for Nguyễn Văn An please",
            "en",
        ),
    ],
)
async def test_the_approval_summary_follows_the_conversation_language(
    settings: Settings,
    engine: AsyncEngine,
    gazetteer: Gazetteer,
    history: list[dict[str, Any]],
    said: str,
    language: str,
) -> None:
    async with engine.connect() as conn:
        flight_id = (
            await conn.execute(text("SELECT id FROM flights ORDER BY departs_at DESC LIMIT 1"))
        ).scalar_one()
    arguments = {
        "flight_id": flight_id,
        "passengers": [{"full_name": "Nguyễn Văn An"}],
        "contact": {"email": "an@example.com"},
    }
    model = ScriptedModel([tool_call("hold_booking", json.dumps(arguments)), text_reply("ok")])
    events, _ = await run(orchestrator(settings, engine, gazetteer, model), said, history)
    asked = next(e for e in events if isinstance(e, ApprovalRequested))
    assert isinstance(events[-1], TurnDone)
    assert events[-1].reason == "awaiting_approval"
    assert asked.summary["language"] == language
    if language == "vi":
        assert asked.text == asked.summary["text_vi"]
        assert "Giữ chỗ" in asked.text
        assert "\u00a0₫" in asked.text
        assert not re.search(r"\b(Hold|passenger|seat)\b", asked.text)
    else:
        assert asked.text == asked.summary["text"]
        assert asked.text.startswith("Hold")
        assert "₫" in asked.text
        assert "(s)" not in asked.text
