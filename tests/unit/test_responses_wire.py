"""The Responses API wire format, pure: Chat Completions messages and tools -> a Responses request,
and Responses stream events -> the Chat Completions chunks the assembler understands.

Every ``tests/corpus/responses`` stream is translated and assembled here without any I/O; the
integration test replays the same files through the SDK over HTTP.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from booking.agent.assembler import ProviderStreamError, ToolCallAssembler
from booking.agent.models.responses_wire import (
    ResponsesTranslator,
    request_body,
    to_input,
    to_tools,
)
from booking.agent.models.select import ModelConfigError, model_specs
from booking.domain.dates import FixedClock
from booking.offline_model.transport import _messages_from_input
from booking.settings import SERVICE_TZ, Settings
from tests.support.corpus import assert_matches, parse_sse

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "responses"
CASES = sorted(path.stem for path in CORPUS.glob("*.sse"))


def corpus_events(case: str) -> list[dict[str, Any]]:
    return parse_sse((CORPUS / f"{case}.sse").read_bytes())


def expected_for(case: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{case}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def translate(events: list[dict[str, Any]]) -> tuple[ResponsesTranslator, list[dict[str, Any]]]:
    translator = ResponsesTranslator()
    chunks = [c for c in map(translator.feed, events) if c is not None]
    return translator, chunks


# The corpus -------------------------------------------------------------------------------------


def test_the_corpus_has_every_case_the_issue_names() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        assert (CORPUS / f"{case}.json").exists(), case


@pytest.mark.parametrize("case", CASES)
def test_corpus_translates_and_assembles(case: str) -> None:
    expected = expected_for(case)
    translator, chunks = translate(corpus_events(case))
    assembler = ToolCallAssembler()
    raises = expected.get("raises")
    if raises is None:
        for chunk in chunks:
            assembler.feed(chunk)
        assert translator.finished
        assert_matches(assembler.finish(), expected)
        return
    if raises["code"] == "upstream_incomplete":
        for chunk in chunks:
            assembler.feed(chunk)
        assert not translator.finished  # The stream layer raises upstream_incomplete.
    else:
        *before, last = chunks
        for chunk in before:
            assembler.feed(chunk)
        with pytest.raises(ProviderStreamError, match=raises["message"]):
            assembler.feed(last)  # The error is the last chunk: nothing after it counts.
        assert translator.finished
    assert assembler.finish().text == expected["text"]


@pytest.mark.parametrize("case", CASES)
def test_every_event_gives_at_most_one_chunk_and_chunks_are_chat_shaped(case: str) -> None:
    for event in corpus_events(case):
        chunk = ResponsesTranslator().feed(event)
        if chunk is None or "error" in chunk:
            continue
        [choice] = chunk["choices"]
        assert choice["index"] == 0
        assert set(chunk) <= {"choices", "usage"}
        assert set(choice["delta"]) <= {"content", "reasoning_content", "tool_calls"}


# Events -> chunks, one by one -------------------------------------------------------------------


def event(kind: str, seq: int | None = None, **fields: Any) -> dict[str, Any]:
    data = {"type": kind, **fields}
    if seq is not None:
        data["sequence_number"] = seq
    return data


def delta_of(chunk: dict[str, Any] | None) -> dict[str, Any]:
    assert chunk is not None
    return chunk["choices"][0]["delta"]  # type: ignore[no-any-return]


CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather"}


class TestTranslator:
    def test_text_delta_is_content(self) -> None:
        chunk = ResponsesTranslator().feed(
            event("response.output_text.delta", 3, output_index=0, content_index=0, delta="Chào")
        )
        assert chunk == {"choices": [{"index": 0, "delta": {"content": "Chào"}}]}

    @pytest.mark.parametrize(
        "kind", ["response.reasoning_text.delta", "response.reasoning_summary_text.delta"]
    )
    def test_reasoning_deltas_are_reasoning_content(self, kind: str) -> None:
        chunk = ResponsesTranslator().feed(event(kind, output_index=0, delta="Think"))
        assert delta_of(chunk) == {"reasoning_content": "Think"}

    def test_bookkeeping_events_add_nothing(self) -> None:
        translator = ResponsesTranslator()
        for kind in (
            "response.created",
            "response.in_progress",
            "response.queued",
            "response.content_part.added",
            "response.output_text.annotation.added",
            "response.web_search_call.searching",
        ):
            assert translator.feed(event(kind, response={})) is None, kind
        item = {"type": "message", "id": "msg_1", "content": []}
        assert translator.feed(event("response.output_item.added", item=item)) is None

    def test_function_call_added_starts_a_call_at_its_output_index(self) -> None:
        chunk = ResponsesTranslator().feed(
            event("response.output_item.added", output_index=2, item={**CALL, "arguments": ""})
        )
        assert delta_of(chunk) == {
            "tool_calls": [
                {
                    "index": 2,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }

    def test_arguments_delta_and_done_fill_only_what_is_missing(self) -> None:
        translator = ResponsesTranslator()
        translator.feed(event("response.output_item.added", output_index=1, item=CALL))
        first = translator.feed(
            event("response.function_call_arguments.delta", output_index=1, delta='{"city": ')
        )
        assert delta_of(first) == {
            "tool_calls": [{"index": 1, "function": {"arguments": '{"city": '}}]
        }
        done = translator.feed(
            event(
                "response.function_call_arguments.done",
                output_index=1,
                arguments='{"city": "Huế"}',
            )
        )
        assert delta_of(done)["tool_calls"][0]["function"]["arguments"] == '"Huế"}'
        # The item's done and the final response repeat the whole: nothing more is sent.
        whole = {**CALL, "arguments": '{"city": "Huế"}'}
        assert (
            translator.feed(event("response.output_item.done", output_index=1, item=whole)) is None
        )
        final = translator.feed(event("response.completed", response={"output": [whole]}))
        assert delta_of(final) == {}

    def test_done_that_disagrees_with_the_deltas_changes_nothing(self) -> None:
        translator = ResponsesTranslator()
        translator.feed(event("response.output_item.added", output_index=0, item=CALL))
        translator.feed(
            event("response.function_call_arguments.delta", output_index=0, delta='{"a": 1}')
        )
        done = event("response.function_call_arguments.done", output_index=0, arguments="{}")
        assert translator.feed(done) is None

    def test_arguments_before_the_call_item_are_kept(self) -> None:
        """An ``added`` event lost: the deltas come first; the item's done brings id and name."""
        translator = ResponsesTranslator()
        assembler = ToolCallAssembler()
        for item_event in (
            event("response.function_call_arguments.delta", item_id="fc_1", delta='{"city": '),
            event("response.function_call_arguments.delta", item_id="fc_1", delta='"Huế"}'),
            event(
                "response.output_item.done",
                output_index=0,
                item={**CALL, "arguments": '{"city": "Huế"}'},
            ),
            event("response.completed", response={}),
        ):
            chunk = translator.feed(item_event)
            if chunk is not None:
                assembler.feed(chunk)
        [call] = assembler.finish().calls
        assert (call.call_id, call.name, call.arguments) == (
            "call_1",
            "get_weather",
            '{"city": "Huế"}',
        )

    def test_completed_finishes_with_stop_or_tool_calls_and_usage(self) -> None:
        usage = {
            "input_tokens": 7,
            "output_tokens": 3,
            "total_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        chunk = ResponsesTranslator().feed(event("response.completed", response={"usage": usage}))
        assert chunk == {
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
        translator = ResponsesTranslator()
        translator.feed(event("response.output_item.added", output_index=0, item=CALL))
        chunk = translator.feed(event("response.completed", response={"usage": None}))
        assert chunk == {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}

    @pytest.mark.parametrize(
        ("reason", "finish"),
        [
            ("max_output_tokens", "length"),
            ("content_filter", "content_filter"),
            (None, "length"),
            ("something_new", "length"),
        ],
    )
    def test_incomplete_finishes_with_the_reason(self, reason: str | None, finish: str) -> None:
        response = {"incomplete_details": {"reason": reason}, "usage": {"input_tokens": 1}}
        chunk = ResponsesTranslator().feed(event("response.incomplete", response=response))
        assert chunk is not None
        assert chunk["choices"][0]["finish_reason"] == finish
        assert chunk["usage"] == {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}

    def test_failed_and_error_are_error_chunks(self) -> None:
        failed = event(
            "response.failed",
            response={"error": {"code": "server_error", "message": "overloaded"}},
        )
        assert ResponsesTranslator().feed(failed) == {
            "error": {"message": "overloaded", "code": "server_error", "type": "response.failed"}
        }
        error = event("error", code="rate_limit_exceeded", message="slow down", param=None)
        assert ResponsesTranslator().feed(error) == {
            "error": {"message": "slow down", "code": "rate_limit_exceeded", "type": "error"}
        }
        nested = event("error", error={"message": "boom"})
        assert ResponsesTranslator().feed(nested) == {
            "error": {"message": "boom", "code": None, "type": "error"}
        }

    def test_nothing_after_the_end_counts(self) -> None:
        translator = ResponsesTranslator()
        translator.feed(event("response.completed", response={}))
        assert translator.finished
        late = event("response.output_text.delta", output_index=0, delta="late")
        assert translator.feed(late) is None

    def test_an_exact_repeat_is_dropped(self) -> None:
        translator = ResponsesTranslator()
        text = event("response.output_text.delta", 5, output_index=0, content_index=0, delta="a")
        assert translator.feed(text) is not None
        assert translator.feed(dict(text)) is None

    def test_same_text_under_another_number_is_kept(self) -> None:
        translator = ResponsesTranslator()
        assert translator.feed(event("response.output_text.delta", 5, delta="ha")) is not None
        assert translator.feed(event("response.output_text.delta", 6, delta="ha")) is not None

    def test_a_server_reusing_one_number_is_taken_at_its_word(self) -> None:
        """Every event numbered 0: the numbers identify nothing, so nothing is dropped."""
        translator = ResponsesTranslator()
        translator.feed(event("response.created", 0, response={}))
        assert translator.feed(event("response.output_text.delta", 0, delta="ha")) is not None
        assert translator.feed(event("response.output_text.delta", 0, delta="ha")) is not None

    def test_a_gap_is_not_waited_for(self) -> None:
        translator = ResponsesTranslator()
        assert translator.feed(event("response.output_text.delta", 1, delta="a")) is not None
        assert translator.feed(event("response.output_text.delta", 9, delta="b")) is not None
        assert translator.feed(event("response.output_text.delta", 4, delta="c")) is not None

    def test_text_only_in_done_events_is_passed_on_once(self) -> None:
        translator = ResponsesTranslator()
        done = event("response.output_text.done", output_index=0, content_index=0, text="Hi")
        assert delta_of(translator.feed(done)) == {"content": "Hi"}
        item = {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}
        assert (
            translator.feed(event("response.output_item.done", output_index=0, item=item)) is None
        )
        assert delta_of(translator.feed(event("response.completed", response={}))) == {}


# Messages and tools -> the request --------------------------------------------------------------

HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Bạn là trợ lý đặt vé."},
    {"role": "user", "content": "Thời tiết Huế và vé Hà Nội đi Huế ngày mai?"},
    {
        "role": "assistant",
        "content": "Để tôi xem.",
        "tool_calls": [
            {
                "id": "call_w",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Huế"}'},
            },
            {
                "id": "call_f",
                "type": "function",
                "function": {"name": "search_flights", "arguments": '{"to_city": "Huế"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_w", "content": '{"temp_c": 31}'},
    {"role": "tool", "tool_call_id": "call_f", "content": '{"flights": []}'},
    {"role": "assistant", "content": "Trời nắng, không có chuyến bay."},
    {"role": "user", "content": "Cảm ơn"},
]


class TestRequest:
    def test_messages_become_instructions_and_items_in_order(self) -> None:
        instructions, items = to_input(HISTORY)
        assert instructions == "Bạn là trợ lý đặt vé."
        assert items == [
            {"type": "message", "role": "user", "content": HISTORY[1]["content"]},
            {"type": "message", "role": "assistant", "content": "Để tôi xem."},
            {
                "type": "function_call",
                "call_id": "call_w",
                "name": "get_weather",
                "arguments": '{"city": "Huế"}',
            },
            {
                "type": "function_call",
                "call_id": "call_f",
                "name": "search_flights",
                "arguments": '{"to_city": "Huế"}',
            },
            {"type": "function_call_output", "call_id": "call_w", "output": '{"temp_c": 31}'},
            {"type": "function_call_output", "call_id": "call_f", "output": '{"flights": []}'},
            {
                "type": "message",
                "role": "assistant",
                "content": "Trời nắng, không có chuyến bay.",
            },
            {"type": "message", "role": "user", "content": "Cảm ơn"},
        ]

    def test_assistant_with_calls_and_no_text_adds_no_empty_message(self) -> None:
        call = {"id": "c", "function": {"name": "get_weather", "arguments": {"city": "Huế"}}}
        _, items = to_input([{"role": "assistant", "content": None, "tool_calls": [call]}])
        assert items == [
            {
                "type": "function_call",
                "call_id": "c",
                "name": "get_weather",
                "arguments": '{"city": "Huế"}',
            }
        ]

    def test_several_system_messages_and_content_parts(self) -> None:
        instructions, items = to_input(
            [
                {"role": "system", "content": "A."},
                {"role": "developer", "content": [{"type": "text", "text": "B."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Ảnh này?"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    ],
                },
            ]
        )
        assert instructions == "A.\n\nB."
        assert items == [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Ảnh này?"},
                    {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
                ],
            }
        ]

    def test_tools_become_responses_function_tools(self) -> None:
        parameters = {"type": "object", "properties": {"city": {"type": "string"}}}
        chat: list[dict[str, Any]] = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Forecast.",
                    "parameters": parameters,
                },
            },
            {"type": "function", "function": {"name": "ping", "strict": True}},
            {"type": "web_search"},
        ]
        assert to_tools(chat) == [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Forecast.",
                "parameters": parameters,
                "strict": False,
            },
            {
                "type": "function",
                "name": "ping",
                "parameters": {"type": "object", "properties": {}},
                "strict": True,
            },
            {"type": "web_search"},
        ]

    def test_the_body_is_stateless_and_streamed(self) -> None:
        body = request_body("gpt-4.1-mini", HISTORY, [])
        assert body["model"] == "gpt-4.1-mini"
        assert body["store"] is False
        assert body["stream"] is True
        assert body["instructions"] == "Bạn là trợ lý đặt vé."
        assert "tools" not in body
        assert "instructions" not in request_body("m", HISTORY[1:2], [])

    def test_the_offline_model_reads_the_input_back_into_the_same_messages(self) -> None:
        """So the offline model gives the same answer whichever protocol asks."""
        body = request_body("m", HISTORY, [])
        assert _messages_from_input(body) == HISTORY


# Configuration ----------------------------------------------------------------------------------

CLOCK = FixedClock(datetime(2026, 6, 1, 9, tzinfo=SERVICE_TZ))


def settings_with(tmp_path: Path, toml: str) -> Settings:
    path = tmp_path / "models.toml"
    path.write_text(toml, encoding="utf-8")
    return Settings(llm_config=path, environment="test")


class TestConfig:
    def test_toml_chooses_the_protocol_per_model(self, tmp_path: Path) -> None:
        settings = settings_with(
            tmp_path,
            'default = "o4"\n'
            '[models.o4]\nbase_url = "https://api.openai.com/v1"\napi = "responses"\n'
            'fallbacks = ["local"]\n'
            '[models.local]\nbase_url = "http://127.0.0.1:11434/v1"\n',
        )
        specs, primary = model_specs(settings, CLOCK, {})
        apis = {spec.name: spec.api for spec in specs}
        assert primary == "o4"
        assert apis == {"o4": "responses", "local": "chat", "offline": "chat"}

    def test_an_unknown_protocol_is_a_config_error(self, tmp_path: Path) -> None:
        settings = settings_with(
            tmp_path, '[models.x]\nbase_url = "http://127.0.0.1:1/v1"\napi = "completions"\n'
        )
        with pytest.raises(ModelConfigError, match="completions"):
            model_specs(settings, CLOCK, {})

    def test_a_single_endpoint_from_the_environment_speaks_chat(self) -> None:
        settings = Settings(llm_model="m", llm_base_url="http://127.0.0.1:1/v1", environment="test")
        specs, primary = model_specs(settings, CLOCK, {})
        assert [spec.api for spec in specs if spec.name == primary] == ["chat"]
