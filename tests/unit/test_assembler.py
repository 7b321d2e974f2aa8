"""The tool-call assembler against the stream corpus, one recorded stream per provider quirk.

Each ``tests/corpus/streams/<case>.sse`` is a raw response body; ``<case>.json`` is what the
assembler must make of it. The SSE parser here is deliberately tiny (events split on blank lines,
``data:`` lines joined, comments / empty data / ``[DONE]`` skipped), so these tests exercise the
assembler alone; ``tests/integration/test_provider_streams.py`` replays the same corpus through the
openai SDK over real HTTP.
"""

from __future__ import annotations

import pytest

from booking.agent.assembler import (
    ArgumentsPiece,
    AssembledCall,
    CallStarted,
    ProviderStreamError,
    ReasoningPiece,
    TextPiece,
    ToolCallAssembler,
)
from booking.agent.steps import FinalAnswer, RunTools, decide
from tests.support.corpus import (
    CASES,
    CORPUS,
    assemble,
    assert_matches,
    corpus_chunks,
    expected_for,
    parse_sse,
)

#: The quirks the corpus must cover (more cases may exist).
REQUIRED_CASES = {
    "openai_split_calls",
    "whole_call_one_chunk",
    "missing_index",
    "repeated_index_zero",
    "index_zero_no_ids",
    "empty_id",
    "id_every_delta",
    "name_repeated",
    "interleaved_parallel",
    "text_before_and_after",
    "finish_stop_with_calls",
    "finish_null_with_calls",
    "empty_choices_usage_only",
    "keepalive_forms",
    "reasoning_content",
    "error_mid_stream",
    "invalid_json_arguments",
    "cumulative_arguments",
    "arguments_resent_at_end",
    "legacy_function_call",
    "no_done_marker",
    "text_only_vietnamese",
    "crlf_line_endings",
    "arguments_object_not_string",
    "id_changes_within_call",
    "name_split_across_deltas",
    "stops_mid_arguments",
    "length_mid_tool_call",
    "content_filter",
    "arguments_resent_every_delta",
    "arguments_batched_late",
    "name_after_id",
}


CASE_PARAMS = CASES
ANSWER_CASES = [case for case in CASES if "raises" not in expected_for(case)]


def test_corpus_covers_every_known_quirk() -> None:
    assert REQUIRED_CASES <= set(CASES), sorted(REQUIRED_CASES - set(CASES))
    for case in CASES:
        expected = expected_for(case)
        assert set(expected) in (
            {"raises"},
            {"text", "reasoning", "calls", "finish_reason", "usage"},
            # A stream the model client must refuse although the chunks assemble.
            {"text", "reasoning", "calls", "finish_reason", "usage", "model_error"},
        ), case
        for call in expected.get("calls", ()):
            assert ("arguments" in call) != ("arguments_raw" in call), case


def test_corpus_bytes_were_not_normalised() -> None:
    """Line endings and trailing spaces are part of the quirks (git or an editor could strip them)."""
    crlf = (CORPUS / "crlf_line_endings.sse").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n")
    assert crlf.endswith(b"\r\n\r\n")
    keepalive = (CORPUS / "keepalive_forms.sse").read_bytes()
    assert b"\n\ndata:\n\n" in keepalive
    assert b"\n\ndata: \n\n" in keepalive
    assert b"\n\nevent: ping\n\n" in keepalive
    assert not (CORPUS / "no_done_marker.sse").read_bytes().rstrip().endswith(b"[DONE]")


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_corpus_case(case: str) -> None:
    expected = expected_for(case)
    chunks = corpus_chunks(case)
    assert chunks, "the parser found no chunks"
    if "raises" in expected:
        assert expected["raises"] == "ProviderStreamError"
        with pytest.raises(ProviderStreamError):
            assemble(chunks)
        return
    _, response = assemble(chunks)
    assert_matches(response, expected)


@pytest.mark.parametrize("case", ANSWER_CASES)
def test_pieces_replay_the_response_in_order(case: str) -> None:
    per_chunk, response = assemble(corpus_chunks(case))
    pieces = [piece for chunk_pieces in per_chunk for piece in chunk_pieces]

    assert "".join(p.text for p in pieces if isinstance(p, TextPiece)) == response.text
    assert "".join(p.text for p in pieces if isinstance(p, ReasoningPiece)) == response.reasoning

    started = [p for p in pieces if isinstance(p, CallStarted)]
    assert [(p.call_id, p.name) for p in started] == [(c.call_id, c.name) for c in response.calls]
    for call in response.calls:
        start = next(i for i, p in enumerate(pieces) if p == CallStarted(call.call_id, call.name))
        argument_positions = [
            i
            for i, p in enumerate(pieces)
            if isinstance(p, ArgumentsPiece) and p.call_id == call.call_id
        ]
        assert all(i > start for i in argument_positions), call
        streamed = "".join(
            p.delta for p in pieces if isinstance(p, ArgumentsPiece) and p.call_id == call.call_id
        )
        assert streamed == call.arguments, call
    known = {call.call_id for call in response.calls}
    assert {p.call_id for p in pieces if isinstance(p, ArgumentsPiece)} <= known


@pytest.mark.parametrize(
    "case", ["openai_split_calls", "index_zero_no_ids", "missing_index", "legacy_function_call"]
)
def test_call_started_as_soon_as_the_name_is_known(case: str) -> None:
    chunks = corpus_chunks(case)
    per_chunk, response = assemble(chunks)
    naming_chunks = [
        i
        for i, chunk in enumerate(chunks)
        for choice in chunk.get("choices") or ()
        for raw in [
            *(choice["delta"].get("tool_calls") or ()),
            *([choice["delta"]["function_call"]] if "function_call" in choice["delta"] else ()),
        ]
        if (raw.get("function", raw)).get("name")
    ]
    assert len(naming_chunks) == len(response.calls)
    for i, call in zip(naming_chunks, response.calls, strict=True):
        assert CallStarted(call.call_id, call.name) in per_chunk[i]
        # ...and not a chunk earlier.
        assert all(CallStarted(call.call_id, call.name) not in p for p in per_chunk[:i])


def test_openai_split_calls_start_with_their_first_chunk() -> None:
    chunks = corpus_chunks("openai_split_calls")
    per_chunk, _ = assemble(chunks)
    # The very first chunk names the first call (OpenAI sends id, type and name with "").
    assert per_chunk[0] == [CallStarted("call_sf_7Hq2", "search_flights")]
    first_of_second = next(
        i
        for i, chunk in enumerate(chunks)
        if chunk["choices"]
        and any(
            tc.get("id") == "call_wx_9Kd1"
            for tc in chunk["choices"][0]["delta"].get("tool_calls", ())
        )
    )
    assert per_chunk[first_of_second] == [CallStarted("call_wx_9Kd1", "get_weather")]
    assert per_chunk[1] == [ArgumentsPiece("call_sf_7Hq2", '{"')]


def test_text_pieces_concatenate_to_the_text() -> None:
    per_chunk, response = assemble(corpus_chunks("text_only_vietnamese"))
    texts = [p.text for pieces in per_chunk for p in pieces if isinstance(p, TextPiece)]
    assert len(texts) > 5
    assert "".join(texts) == response.text
    assert "Vie\u0323\u0302t Nam" in response.text  # Combining marks split over chunks, kept.
    assert response.calls == []


@pytest.mark.parametrize(
    "case", ["index_zero_no_ids", "empty_id", "legacy_function_call", "id_arrives_late"]
)
def test_generated_ids_are_unique_and_stable(case: str) -> None:
    chunks = corpus_chunks(case)
    first_pieces, first = assemble(chunks)
    second_pieces, second = assemble(chunks)
    ids = [call.call_id for call in first.calls]
    assert ids == [call.call_id for call in second.calls]
    assert first_pieces == second_pieces
    assert all(ids)
    assert len(set(ids)) == len(ids)
    started = [p.call_id for pieces in first_pieces for p in pieces if isinstance(p, CallStarted)]
    assert started == ids  # The ids announced while streaming are the final ones.


def test_generated_ids_use_the_prefix() -> None:
    _, response = assemble(corpus_chunks("index_zero_no_ids"), ToolCallAssembler(id_prefix="vn"))
    assert len(response.calls) == 2
    assert all(call.call_id.startswith("vn") for call in response.calls)


def test_provider_ids_are_kept() -> None:
    _, response = assemble(corpus_chunks("interleaved_parallel"))
    assert [c.call_id for c in response.calls] == ["call_i0", "call_i1", "call_i2"]


def test_error_object_raises_with_its_message_and_keeps_what_came_before() -> None:
    *before, error_chunk = corpus_chunks("error_mid_stream")
    assembler = ToolCallAssembler()
    for chunk in before:
        assembler.feed(chunk)
    with pytest.raises(ProviderStreamError, match="^upstream overloaded$") as raised:
        assembler.feed(error_chunk)
    assert raised.value.error == {"message": "upstream overloaded", "type": "server_error"}
    assert assembler.finish().text == "Chuyến bay sớm nhất"


def test_error_object_without_message() -> None:
    with pytest.raises(ProviderStreamError, match="quota"):
        ToolCallAssembler().feed({"error": "quota exceeded"})


def test_other_choices_are_ignored() -> None:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 1, "delta": {"content": "không"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "có"}, "finish_reason": None},
        ],
    }
    assembler = ToolCallAssembler()
    assert assembler.feed(chunk) == [TextPiece("có")]
    assert assembler.finish().text == "có"


@pytest.mark.parametrize("arguments", ["", "   ", "\n"])
def test_parse_empty_arguments_is_an_empty_object(arguments: str) -> None:
    assert AssembledCall("call_1", "get_weather", arguments).parse() == ({}, None)


def test_parse_valid_arguments() -> None:
    call = AssembledCall("call_1", "get_weather", '{"city": "Hà Nội", "date": "2026-06-02"}')
    assert call.parse() == ({"city": "Hà Nội", "date": "2026-06-02"}, None)


@pytest.mark.parametrize(
    "arguments",
    ['{"city": "Huế", "date": "2026-06-03"', "{'city': 'Huế'}", "city=Huế", '{"city": "Huế"}}'],
)
def test_parse_invalid_json_is_an_error_not_an_empty_object(arguments: str) -> None:
    value, error = AssembledCall("call_1", "get_weather", arguments).parse()
    assert value is None
    assert error is not None
    assert "not valid JSON" in error


@pytest.mark.parametrize("arguments", ["[1]", '"Huế"', "42", "null", "true"])
def test_parse_non_object_json_is_an_error(arguments: str) -> None:
    value, error = AssembledCall("call_1", "get_weather", arguments).parse()
    assert value is None
    assert error == "arguments must be a JSON object"


def test_parse_sse_helper() -> None:
    raw = (
        b': keep-alive\r\n\r\ndata: {"a": 1}\r\n\r\ndata:\n\nevent: ping\n\n'
        b'data: {"b":\ndata: 2}\n\ndata: [DONE]\n\n'
    )
    assert parse_sse(raw) == [{"a": 1}, {"b": 2}]


def test_a_split_name_is_joined_without_known_tools() -> None:
    # Without the tool list the call is announced early, but it runs under its whole name.
    _, response = assemble(corpus_chunks("name_split_across_deltas"), ToolCallAssembler())
    assert [c.name for c in response.calls] == ["search_flights"]


def test_a_split_name_is_announced_once_whole() -> None:
    per_chunk, _ = assemble(corpus_chunks("name_split_across_deltas"))
    started = [p for pieces in per_chunk for p in pieces if isinstance(p, CallStarted)]
    assert started == [CallStarted("call_split_1", "search_flights")]
    assert per_chunk[0] == []  # "search_" alone is no tool yet.


def test_a_new_id_with_a_new_name_on_the_same_index_is_another_call() -> None:
    # Providers that reuse index 0 for parallel calls still tell them apart.
    _, response = assemble(corpus_chunks("repeated_index_zero"))
    assert len(response.calls) >= 2


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("length", "truncated"), ("content_filter", "filtered"), ("tool_calls", "run"), (None, "run")],
)
def test_a_cut_response_runs_nothing(finish: str | None, expected: str) -> None:
    call = AssembledCall("c1", "search_flights", '{"from_city": "SGN", "to')
    step = decide("Để tôi xem. ", [call], finish)
    if expected == "run":
        assert isinstance(step, RunTools)
        return
    assert isinstance(step, FinalAnswer)
    assert step.text == "Để tôi xem. "
    assert (step.truncated, step.filtered) == (expected == "truncated", expected == "filtered")
