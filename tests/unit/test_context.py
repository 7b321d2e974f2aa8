"""Fitting a conversation into a model's context budget (:mod:`booking.agent.context_window`)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from booking.agent.context_window import (
    NOTE_MAX_BYTES,
    ContextReport,
    budget_for,
    estimate_message,
    estimate_request,
    facts_note,
    fit,
)
from booking.agent.events import TurnDone, TurnUsage, Usage
from booking.agent.models.model_spec import ModelSpec
from booking.agent.models.select import OFFLINE_CONTEXT_TOKENS, ModelConfigError, model_specs
from booking.domain.dates import FixedClock
from booking.settings import Settings
from booking.turns.ui_stream import UIStreamEncoder
from tests.support.fake_provider import history_problem

SYSTEM = "You are the booking assistant."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_flights",
            "description": "Search flights.",
            "parameters": {"type": "object", "properties": {"from_city": {"type": "string"}}},
        },
    }
]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answer(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def calls(*items: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
            }
            for call_id, name, args in items
        ],
    }


def result(call_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": json.dumps(value, ensure_ascii=False),
    }


def flight(flight_id: int, number: str, departs: str, price: int) -> dict[str, Any]:
    return {
        "flight_id": flight_id,
        "flight_number": number,
        "airline_code": number[:2],
        "airline_name": "Vietnam Airlines",
        "origin": "SGN",
        "destination": "HAN",
        "departs_at": f"2026-06-15T{departs}:00+07:00",
        "arrives_at": "2026-06-15T23:00:00+07:00",
        "duration_minutes": 130,
        "aircraft": "A321",
        "cabin": "economy",
        "price_vnd": price,
        "total_vnd": price,
        "seats_left": 9,
    }


SEARCH_ARGS = {"from_city": "Sài Gòn", "to_city": "Hà Nội", "date": "2026-06-15"}
FLIGHTS = [
    flight(41, "VN 211", "09:00", 1_900_000),
    flight(42, "VJ 123", "13:00", 1_250_000),
    flight(43, "QH 201", "05:30", 2_400_000),
    flight(44, "VN 215", "18:00", 1_250_000),
    flight(45, "VJ 125", "21:00", 1_500_000),
]


def search_turn(n: int, *, flights: list[dict[str, Any]] = FLIGHTS) -> list[dict[str, Any]]:
    call_id = f"call_s{n}"
    return [
        user(f"Vé SGN đi HAN 15/6 (lần {n})"),
        calls((call_id, "search_flights", SEARCH_ARGS)),
        result(call_id, {"query": {}, "flights": flights, "total_matches": len(flights)}),
        answer("Chuyến rẻ nhất là VJ 123, 1.250.000đ. " * 4),
    ]


def booking_view(reference: str, status: str, names: list[str]) -> dict[str, Any]:
    return {
        "booking": {
            "reference": reference,
            "status": status,
            "flight": {k: FLIGHTS[1][k] for k in ("flight_id", "flight_number", "origin",
                                                  "destination", "departs_at")},
            "cabin": "economy",
            "passengers": [{"full_name": n, "date_of_birth": None} for n in names],
            "total_vnd": 2_500_000,
        }
    }  # fmt: skip


def hold_turn() -> list[dict[str, Any]]:
    arguments = {
        "flight_id": 42,
        "passengers": [{"full_name": "Nguyễn Văn An"}, {"full_name": "Trần Thị Bình"}],
        "contact": {"phone": "0901234567"},
    }
    return [
        user("Giữ chỗ chuyến VJ 123 cho An và Bình"),
        calls(("call_h", "hold_booking", arguments)),
        result("call_h", booking_view("K7QX3M", "held", ["Nguyễn Văn An", "Trần Thị Bình"])),
        answer("Đã giữ chỗ K7QX3M."),
        user("xác nhận"),
        calls(("call_c", "confirm_booking", {"reference": "K7QX3M"})),
        result("call_c", booking_view("K7QX3M", "confirmed", ["Nguyễn Văn An", "Trần Thị Bình"])),
        answer("Đã xác nhận K7QX3M."),
    ]


def chatter(n: int) -> list[dict[str, Any]]:
    return [user(f"cảm ơn {n} " * 20), answer(f"Không có gì {n}. " * 20)]


class TestEstimate:
    def test_counts_utf8_bytes_so_vietnamese_costs_more_than_ascii(self) -> None:
        assert estimate_message(user("Đặt vé đi Hà Nội")) > estimate_message(
            user("Dat ve di Ha Noi")
        )

    def test_is_above_what_the_offline_model_reports(self) -> None:
        messages = [{"role": "system", "content": SYSTEM}]
        for n in range(3):
            messages += search_turn(n) + hold_turn()
        offline = math.ceil(len(json.dumps(messages, ensure_ascii=False)) / 4)
        assert estimate_request(messages, []) > offline

    def test_is_deterministic(self) -> None:
        messages = search_turn(1) + hold_turn()
        assert estimate_request(messages, TOOLS) == estimate_request(list(messages), list(TOOLS))


class TestFit:
    def test_a_request_under_budget_is_sent_whole(self) -> None:
        messages = search_turn(1) + chatter(2) + [user("còn chuyến nào sớm hơn?")]
        fitted = fit(SYSTEM, messages, TOOLS, 100_000)
        assert fitted.messages == [{"role": "system", "content": SYSTEM}, *messages]
        estimated = estimate_request(fitted.messages, TOOLS)
        assert fitted.report == ContextReport(100_000, estimated, len(messages), 0, 0, False)

    def test_over_budget_the_oldest_whole_turns_go_and_the_newest_stays(self) -> None:
        history: list[dict[str, Any]] = []
        for n in range(30):
            history += search_turn(n) if n % 3 == 0 else chatter(n)
        current = [user("book the cheapest one we found")]
        budget = 6_000
        assert estimate_request([user(SYSTEM), *history, *current], TOOLS) > budget
        fitted = fit(SYSTEM, history + current, TOOLS, budget)
        kept = fitted.messages[1:]
        assert kept[-1] == current[-1]
        assert kept[0]["role"] == "user"
        assert kept == (history + current)[len(history) + 1 - len(kept) :]
        assert estimate_request(fitted.messages, TOOLS) == fitted.report.estimated <= budget
        assert fitted.report.fits
        assert fitted.report.dropped_messages == len(history) + 1 - len(kept)
        assert fitted.report.dropped_turns > 0
        assert history_problem(fitted.messages) is None

    def test_a_turn_with_tool_calls_is_dropped_whole_never_split(self) -> None:
        messages = [
            *search_turn(1),
            *search_turn(2),
            *hold_turn(),
            user("và thời tiết?"),
        ]
        for budget in range(1_000, estimate_request(messages, TOOLS) + 200, 37):
            fitted = fit(SYSTEM, messages, TOOLS, budget)
            assert history_problem(fitted.messages) is None, budget
            assert fitted.messages[1]["role"] == "user", budget
            assert fitted.messages[-1] == messages[-1]

    def test_the_current_turn_is_sent_even_when_it_alone_is_over_budget(self) -> None:
        current = search_turn(9, flights=FLIGHTS * 40)
        fitted = fit(SYSTEM, chatter(1) + current, TOOLS, 1_000)
        assert fitted.messages[1:] == current
        assert fitted.report.dropped_turns == 1
        assert not fitted.report.fits

    def test_a_continuation_keeps_its_turn_from_the_user_message_on(self) -> None:
        # A turn resumed after approval: the history ends inside the turn (its paused call).
        paused = hold_turn()[:3]
        messages = [*chatter(1), *chatter(2), *chatter(3), *paused]
        fitted = fit(
            SYSTEM, messages, TOOLS, estimate_request([user(SYSTEM), *paused], TOOLS) + 700
        )
        assert fitted.messages[-3:] == paused
        assert fitted.messages[1]["role"] == "user"

    def test_the_same_conversation_is_fitted_the_same_way(self) -> None:
        messages = [m for n in range(10) for m in search_turn(n) + hold_turn()]
        first = fit(SYSTEM, messages, TOOLS, 5_000)
        again = fit(SYSTEM, [dict(m) for m in messages], TOOLS, 5_000)
        assert first == again


class TestFactsNote:
    def test_the_last_search_keeps_its_arguments_and_cheapest_and_earliest_flights(self) -> None:
        dropped = search_turn(1, flights=[flight(7, "VN 1", "07:00", 3_000_000)]) + search_turn(2)
        note = facts_note(dropped, 2)
        assert note is not None
        assert note.count("Last flight search") == 1
        assert '"from_city":"Sài Gòn"' in note
        assert '"date":"2026-06-15"' in note
        cheapest = note.split("Cheapest:")[1].split("Earliest:")[0]
        # Cheapest first, ties by departure; flight id, number, time and price each.
        assert cheapest.index("VJ 123 (flight_id 42)") < cheapest.index("VN 215 (flight_id 44)")
        assert "1.250.000đ" in cheapest
        assert "2026-06-15 13:00" in cheapest
        assert "VN 211" not in cheapest
        assert "Earliest: QH 201 (flight_id 43)" in note
        assert "VN 1 " not in note  # the older search is superseded

    def test_bookings_keep_reference_latest_status_flight_and_passengers(self) -> None:
        note = facts_note(hold_turn(), 2)
        assert note is not None
        assert (
            "Booking K7QX3M (confirmed): VJ 123 (flight_id 42) SGN->HAN departs 2026-06-15 13:00"
            in note
        )
        assert "passengers Nguyễn Văn An, Trần Thị Bình" in note
        assert "(held)" not in note
        assert "Travellers named: Nguyễn Văn An; Trần Thị Bình." in note

    def test_places_and_dates_of_tool_calls_are_kept(self) -> None:
        dropped = [
            user("thời tiết Đà Nẵng"),
            calls(("w1", "get_weather", {"city": "Đà Nẵng", "date": "2026-06-20"})),
            result("w1", {"condition_en": "sunny"}),
            answer("Nắng."),
        ]
        note = facts_note(dropped, 1)
        assert note is not None
        assert "Places in tool calls: Đà Nẵng." in note
        assert "Dates in tool calls: 2026-06-20." in note

    def test_a_failed_or_empty_search_says_so(self) -> None:
        empty = {"flights": [], "reason": "no_flights_on_date", "nearest_dates": ["2026-06-16"]}
        dropped = [user("x"), calls(("s", "search_flights", SEARCH_ARGS)), result("s", empty)]
        note = facts_note(dropped, 1)
        assert note is not None
        assert "found no flights (no_flights_on_date); nearest dates with seats: 2026-06-16" in note

    def test_small_talk_leaves_no_note(self) -> None:
        assert facts_note(chatter(1) + chatter(2), 2) is None

    def test_the_note_is_bounded_whatever_was_dropped(self) -> None:
        dropped: list[dict[str, Any]] = []
        for n in range(50):
            names = [f"Hành Khách Số {n}-{i} " + "Rất Dài " * 20 for i in range(9)]
            arguments = {"flight_id": n, "passengers": [{"full_name": x} for x in names]}
            dropped += [
                user("hold"),
                calls((f"h{n}", "hold_booking", arguments)),
                result(f"h{n}", booking_view(f"REF{n:03d}", "held", names)),
                calls((f"w{n}", "get_weather", {"city": f"Nơi {n} " * 30, "date": f"d{n}"})),
                result(f"w{n}", {}),
            ]
        dropped += search_turn(99)
        note = facts_note(dropped, 50)
        assert note is not None
        assert len(note.encode()) <= NOTE_MAX_BYTES
        assert "REF049" in note  # the newest booking survives the cut
        assert "Last flight search" in note

    def test_a_note_full_of_characters_json_escapes_still_fits_the_budget(self) -> None:
        names = ['An "\\Quote\\" \n' * 8 + str(i) for i in range(9)]
        arguments = {"flight_id": 42, "passengers": [{"full_name": x} for x in names]}
        messages: list[dict[str, Any]] = []
        for n in range(20):
            messages += [
                user(f"hold {n} " * 30),
                calls((f"h{n}", "hold_booking", arguments)),
                result(f"h{n}", booking_view(f"R{n:05d}", "held", names)),
                answer('"held"\n' * 30),
            ]
        messages.append(user("next"))
        current = estimate_request([user(SYSTEM), messages[-1]], TOOLS)
        for budget in range(current + 700, estimate_request(messages, TOOLS), 53):
            fitted = fit(SYSTEM, messages, TOOLS, budget)
            assert fitted.report.summarized, budget
            assert fitted.report.estimated == estimate_request(fitted.messages, TOOLS)
            assert fitted.report.fits, budget

    def test_a_fitted_request_carries_the_note_in_its_one_system_message(self) -> None:
        messages = search_turn(1) + [m for n in range(2, 40) for m in chatter(n)]
        messages.append(user("book the cheapest one we found"))
        fitted = fit(SYSTEM, messages, TOOLS, 4_000)
        assert [m["role"] for m in fitted.messages].count("system") == 1
        system = fitted.messages[0]["content"]
        assert system.startswith(SYSTEM)
        assert "VJ 123 (flight_id 42)" in system
        assert fitted.report.summarized
        assert fitted.report.estimated <= 4_000


class TestBudgets:
    def test_a_chain_gets_its_smallest_budget(self) -> None:
        def spec(name: str, tokens: int | None) -> ModelSpec:
            return ModelSpec(name, name, "http://x.invalid/v1", "k", context_tokens=tokens)

        assert budget_for([spec("a", 128_000), spec("b", 16_000)], 32_000) == 16_000
        assert budget_for([spec("a", None)], 24_000) == 24_000
        assert budget_for([], 24_000) == 24_000

    def test_models_take_their_budget_from_toml_settings_or_the_offline_default(
        self, tmp_path: Path
    ) -> None:
        clock = FixedClock(datetime(2026, 6, 1, tzinfo=UTC))
        config = tmp_path / "models.toml"
        config.write_text(
            'default = "big"\n'
            '[models.big]\nbase_url = "http://x.invalid/v1"\ncontext_tokens = 128000\n'
            '[models.small]\nbase_url = "http://x.invalid/v1"\n'
        )
        settings = Settings(llm_config=config, llm_context_tokens=20_000)
        specs = {s.name: s.context_tokens for s in model_specs(settings, clock, {})[0]}
        assert specs == {"big": 128_000, "small": 20_000, "offline": OFFLINE_CONTEXT_TOKENS}
        env = Settings(llm_model="m", llm_base_url="http://x.invalid/v1", llm_context_tokens=9_000)
        assert model_specs(env, clock, {})[0][0].context_tokens == 9_000

    @pytest.mark.parametrize("value", ["'lots'", "12", "true"])
    def test_a_bad_toml_budget_is_refused(self, tmp_path: Path, value: str) -> None:
        config = tmp_path / "models.toml"
        config.write_text(
            f'[models.m]\nbase_url = "http://x.invalid/v1"\ncontext_tokens = {value}\n'
        )
        with pytest.raises(ModelConfigError, match="context_tokens"):
            model_specs(Settings(llm_config=config), FixedClock(datetime.now(UTC)), {})


class TestMetadata:
    def test_each_model_call_and_the_turn_carry_the_context_decision(self) -> None:
        report = ContextReport(8_000, 7_421, 12, 40, 9, True)
        usage = Usage("m", 7_000, 20, None, 1.0, 2.0, 0, context=report)
        totals = TurnUsage()
        totals.add(usage)
        encoder = UIStreamEncoder("msg")
        step = encoder.encode(usage)[0]["messageMetadata"]
        done = next(p for p in encoder.encode(TurnDone("stop", totals)) if "messageMetadata" in p)
        expected = {
            "budget": 8_000,
            "estimated": 7_421,
            "keptMessages": 12,
            "droppedMessages": 40,
            "droppedTurns": 9,
            "summarized": True,
        }
        assert step["context"] == expected
        assert done["messageMetadata"]["usage"]["context"] == expected
