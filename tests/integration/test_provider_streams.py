"""The OpenAI-compatible adapter over real HTTP on 127.0.0.1: the SDK's own SSE parser, our
keep-alive filter, retries, timeouts and fallbacks, against :class:`FakeProvider`.

Every corpus stream (``tests/corpus/streams``) is replayed through the openai SDK and must assemble
to the same expectation as in the pure unit test. Observed for ``error_mid_stream``: the SDK itself
raises ``APIError`` on a chunk carrying an ``error`` object, so the adapter ends the stream with
``ModelError(code="upstream_error")`` before the assembler sees the chunk.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from booking.agent.assembler import AssembledResponse, ProviderStreamError
from booking.agent.models.base import ModelError, OpenedStream
from booking.agent.models.openai_chat import ModelSpec, OpenAIChatModel, RetryPolicy, Timeouts
from tests.support.corpus import CASES, assert_matches, expected_for
from tests.support.fake_provider import (
    CORPUS,
    FakeProvider,
    Script,
    corpus_events,
    sse,
    text_chunks,
)
from tests.support.model_streams import (
    ModelFactory,
    ModelMaker,
    read_all,
    stop_providers,
)

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Bạn là trợ lý đặt vé máy bay."},
    {"role": "user", "content": "Tìm chuyến bay Hà Nội đi Đà Nẵng ngày mai, thời tiết thế nào?"},
]
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_flights",
            "description": "Find flights between two cities on a date.",
            "parameters": {
                "type": "object",
                "properties": {
                    "from_city": {"type": "string"},
                    "to_city": {"type": "string"},
                    "date": {"type": "string"},
                    "passengers": {"type": "integer"},
                },
                "required": ["from_city", "to_city", "date"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The forecast for a city on a date.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "date": {"type": "string"}},
                "required": ["city", "date"],
            },
        },
    },
]

#: Cases the SDK path gets wrong (bugs outside the assembler), with what is raised.


CASE_PARAMS = CASES


def answer(*pieces: str, finish: str = "stop") -> list[bytes]:
    """A streamed text answer, one chunk per piece, spaces kept."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return sse(
        *[
            {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
            for p in pieces
        ],
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        "[DONE]",
    )


@pytest.fixture
async def make_provider() -> AsyncIterator[Callable[[], Awaitable[FakeProvider]]]:
    started: list[FakeProvider] = []

    async def make() -> FakeProvider:
        provider = await FakeProvider().start()
        started.append(provider)
        return provider

    yield make
    await stop_providers(started)


@pytest.fixture
async def provider(make_provider: Callable[[], Awaitable[FakeProvider]]) -> FakeProvider:
    return await make_provider()


@pytest.fixture
async def make_model(
    make_provider: Callable[[], Awaitable[FakeProvider]],
) -> AsyncIterator[ModelFactory]:
    """Models closed after the test (before the providers stop)."""
    maker = ModelMaker()
    yield maker
    await maker.aclose()


def spec_for(provider: FakeProvider, name: str = "fake", **kwargs: Any) -> ModelSpec:
    return ModelSpec(name=name, model="m", base_url=provider.base_url, api_key="k", **kwargs)


@pytest.fixture
def model(provider: FakeProvider, make_model: ModelFactory) -> OpenAIChatModel:
    return make_model(spec_for(provider))


async def assemble(model: OpenAIChatModel) -> tuple[OpenedStream, AssembledResponse]:
    stream = await model.open_stream(MESSAGES, TOOLS)
    return stream, await read_all(stream)


# The corpus through the SDK ---------------------------------------------------------------------


async def _check_case(case: str, provider: FakeProvider, model: OpenAIChatModel) -> None:
    expected = expected_for(case)
    if "model_error" in expected:
        # The chunks assemble, but the stream was cut: the client refuses it, never replays it.
        with pytest.raises(ModelError) as refused:
            await assemble(model)
        assert refused.value.code == expected["model_error"]
        assert refused.value.retryable
        assert len(provider.requests) == 1
        return
    if "raises" in expected:
        with pytest.raises((ProviderStreamError, ModelError)) as raised:
            await assemble(model)
        error = raised.value
        if isinstance(error, ModelError):  # What we observe: the SDK raises APIError first.
            assert error.code == "upstream_error"
            assert error.retryable
            assert error.model == "fake"
        assert "upstream overloaded" in str(error)
        assert len(provider.requests) == 1  # Failed mid-answer: never replayed.
        return
    stream, response = await assemble(model)
    assert stream.model == "fake"
    assert_matches(response, expected)
    assert len(provider.requests) == 1


@pytest.mark.parametrize("case", CASE_PARAMS)
async def test_corpus_through_the_sdk(
    case: str, provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=corpus_events(case)))
    await _check_case(case, provider, model)


@pytest.mark.parametrize("case", CASE_PARAMS)
async def test_corpus_bytes_split_anywhere(
    case: str, provider: FakeProvider, model: OpenAIChatModel
) -> None:
    """The file's exact bytes (CRLF kept) in 7-byte writes: lines, UTF-8 sequences and CR/LF
    pairs are cut across reads, which the SDK decoder and KeepAliveFilter must reassemble."""
    raw = (CORPUS / f"{case}.sse").read_bytes()
    provider.queue(Script(events=[raw[i : i + 7] for i in range(0, len(raw), 7)]))
    await _check_case(case, provider, model)


async def test_keepalives_other_than_event_only_pings(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    """``keepalive_forms`` without its data-less ``event: ping``: comments,
    both empty ``data:`` forms and an ``event: ping`` carrying JSON data all pass through."""
    events = [e for e in corpus_events("keepalive_forms") if e != b"event: ping\n\n"]
    assert len(events) == len(corpus_events("keepalive_forms")) - 1
    assert b"data:\n\n" in events
    assert b"data: \n\n" in events
    provider.queue(Script(events=events))
    _, response = await assemble(model)
    assert_matches(response, expected_for("keepalive_forms"))


def gzip_stream(events: list[bytes]) -> list[bytes]:
    """The events gzip-compressed as one stream, flushed after each event (as a proxy would)."""
    compressor = zlib.compressobj(wbits=31)
    pieces = [compressor.compress(e) + compressor.flush(zlib.Z_SYNC_FLUSH) for e in events]
    return [*pieces, compressor.flush()]


async def test_gzip_compressed_stream(provider: FakeProvider, model: OpenAIChatModel) -> None:
    """The SDK asks for ``gzip, deflate``; a provider (or proxy) may compress the SSE body."""
    provider.queue(
        Script(events=gzip_stream(answer("Giá", " vé")), headers={"content-encoding": "gzip"})
    )
    _, response = await assemble(model)
    assert provider.requests[0]["headers"]["accept-encoding"].startswith("gzip")
    assert response.text == "Giá vé"


async def test_keepalive_in_gzip_compressed_stream(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    first, *rest = answer("Giá", " vé")
    events = gzip_stream([b": keep-alive\n\n", first, b"data:\n\n", b"data: \n\n", *rest])
    provider.queue(Script(events=events, headers={"content-encoding": "gzip"}))
    _, response = await assemble(model)
    assert response.text == "Giá vé"


async def test_arguments_object_passes_through(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    """Object arguments reach the assembler, and no type-mismatch warning escapes."""
    provider.queue(Script(events=corpus_events("arguments_object_not_string")))
    _, response = await assemble(model)
    assert_matches(response, expected_for("arguments_object_not_string"))


async def test_the_connection_is_reused_across_streams(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    """After ``[DONE]`` the SDK drains the rest of the body through our keep-alive filter, so
    the HTTP/1.1 connection goes back to the pool: against a real provider each turn would
    otherwise pay a new TCP and TLS handshake. (The filter once handed the drain a second
    iterator over a consumed body, and every stream closed its connection.)"""
    pinged = [b": ping\n\n", *answer("Chào ", "bạn.")]
    provider.queue(Script(events=pinged, keep_alive=True))
    for _ in range(3):
        _, response = await assemble(model)
        assert response.text == "Chào bạn."
    assert provider.connections == 1


async def test_request_is_a_streaming_chat_completion(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=answer("Xin", " chào")))
    stream, response = await assemble(model)
    assert response.text == "Xin chào"
    assert stream.ttft_ms > 0
    [request] = provider.requests
    assert request["method"] == "POST"
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer k"
    body = request["json"]
    assert body["model"] == "m"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == MESSAGES
    assert body["tools"] == TOOLS


# Retries before the first chunk -----------------------------------------------------------------


async def test_429_with_retry_after_then_success(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(
        Script(status=429, headers={"Retry-After": "0.05"}),
        Script(events=answer("Đã", " có", " kết quả.")),
    )
    _, response = await assemble(model)
    assert response.text == "Đã có kết quả."
    assert len(provider.requests) == 2


@pytest.mark.parametrize(
    ("header", "value", "wait"), [("Retry-After", "0.05", 0.05), ("retry-after-ms", "30", 0.03)]
)
async def test_retry_after_is_the_wait(
    provider: FakeProvider, make_model: ModelFactory, header: str, value: str, wait: float
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    # A long max wait, so a capped jittered backoff could not produce the same number.
    model = make_model(
        spec_for(provider),
        retry=RetryPolicy(retries=2, initial_wait_s=0.2, max_wait_s=5),
        sleep=sleep,
    )
    provider.queue(Script(status=429, headers={header: value}), Script(events=answer("ok")))
    _, response = await assemble(model)
    assert response.text == "ok"
    assert waits == [pytest.approx(wait)]


async def test_429_every_time_is_rate_limited(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(status=429, headers={"Retry-After": "0.01"}))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_rate_limited"
    assert raised.value.retryable
    assert raised.value.status_code == 429
    assert len(provider.requests) == 3


async def test_500_then_502_then_success(provider: FakeProvider, model: OpenAIChatModel) -> None:
    provider.queue(Script(status=500), Script(status=502), Script(events=answer("Được", " rồi")))
    _, response = await assemble(model)
    assert response.text == "Được rồi"
    assert len(provider.requests) == 3


async def test_reset_before_first_chunk_then_success(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=answer("mất"), reset_after=0), Script(events=answer("ổn")))
    _, response = await assemble(model)
    assert response.text == "ổn"
    assert len(provider.requests) == 2


async def test_refused_connection_then_success(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(refuse=True), Script(events=answer("ổn")))
    _, response = await assemble(model)
    assert response.text == "ổn"
    assert len(provider.requests) == 2


async def test_error_object_as_first_chunk_is_retried(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    error = {"error": {"message": "upstream overloaded", "type": "server_error"}}
    provider.queue(Script(events=sse(error)), Script(events=answer("ổn")))
    _, response = await assemble(model)
    assert response.text == "ổn"
    assert len(provider.requests) == 2


async def test_empty_stream_is_a_protocol_error_after_retries(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=sse("[DONE]")))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_protocol"
    assert len(provider.requests) == 3


async def test_malformed_first_chunk_is_a_protocol_error_after_retries(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=[b"data: {not json}\n\n", *answer("ok")]))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_protocol"
    assert raised.value.retryable
    assert len(provider.requests) == 3


# Failures that are not retried ------------------------------------------------------------------


async def test_401_is_an_auth_error_naming_the_model(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    body = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    provider.queue(Script(status=401, json_body=body))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    error = raised.value
    assert error.code == "upstream_auth"
    assert not error.retryable
    assert error.status_code == 401
    assert error.model == "fake"
    assert "fake" in str(error)
    assert "Incorrect API key provided" in str(error)
    assert len(provider.requests) == 1


async def test_auth_error_does_not_fall_back(
    make_provider: Callable[[], Awaitable[FakeProvider]], make_model: ModelFactory
) -> None:
    primary, second = await make_provider(), await make_provider()
    primary.queue(Script(status=403))
    model = make_model(spec_for(primary, fallbacks=("second",)), spec_for(second, "second"))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_auth"
    assert len(primary.requests) == 1
    assert second.requests == []


async def test_400_is_a_bad_request_not_retried(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    body = {"error": {"message": "The model `m` does not exist", "type": "invalid_request_error"}}
    provider.queue(Script(status=400, json_body=body))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    error = raised.value
    assert error.code == "upstream_bad_request"
    assert not error.retryable
    assert error.status_code == 400
    assert "fake" in str(error)
    assert "'m'" in str(error)  # The model id, the likely culprit.
    assert len(provider.requests) == 1


async def test_503_every_time_is_unavailable_after_three_requests(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(status=503))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_unavailable"
    assert raised.value.retryable
    assert raised.value.status_code == 503
    assert len(provider.requests) == 3


# Timeouts ---------------------------------------------------------------------------------------

FAST = Timeouts(connect_s=2, first_chunk_s=0.25, stall_s=0.1)


async def test_stall_before_first_chunk_is_retried_then_times_out(
    provider: FakeProvider, make_model: ModelFactory
) -> None:
    model = make_model(spec_for(provider), timeouts=FAST)
    provider.queue(Script(events=answer("muộn"), stall_before_first_s=0.6))
    with pytest.raises(ModelError) as raised:
        await model.open_stream(MESSAGES, TOOLS)
    assert raised.value.code == "upstream_timeout"
    assert raised.value.retryable
    assert len(provider.requests) == 3


async def test_stall_before_first_chunk_once_then_success(
    provider: FakeProvider, make_model: ModelFactory
) -> None:
    model = make_model(spec_for(provider), timeouts=FAST)
    provider.queue(
        Script(events=answer("muộn"), stall_before_first_s=0.6), Script(events=answer("kịp"))
    )
    _, response = await assemble(model)
    assert response.text == "kịp"
    assert len(provider.requests) == 2


async def test_stall_mid_stream_ends_the_stream(
    provider: FakeProvider, make_model: ModelFactory
) -> None:
    model = make_model(
        spec_for(provider), timeouts=Timeouts(connect_s=2, first_chunk_s=1, stall_s=0.05)
    )
    provider.queue(Script(events=answer("Chuyến", " bay", " sớm"), delay_s=0.2))
    stream = await model.open_stream(MESSAGES, TOOLS)
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await read_all(stream, chunks)
    assert raised.value.code == "upstream_stalled"
    assert raised.value.retryable
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["Chuyến"]
    assert len(provider.requests) == 1  # Never replayed after the first chunk.


# Failures mid-stream ----------------------------------------------------------------------------


async def test_reset_mid_stream_ends_the_stream(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    # A small delay so the first piece is surely read before the reset (an RST may discard
    # data the client has not read yet).
    provider.queue(Script(events=answer("Một", " hai", " ba", " bốn"), reset_after=2, delay_s=0.02))
    stream = await model.open_stream(MESSAGES, TOOLS)
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await read_all(stream, chunks)
    assert raised.value.code in {"upstream_unavailable", "upstream_protocol"}
    assert raised.value.retryable
    assert 1 <= len(chunks) <= 2
    assert chunks[0]["choices"][0]["delta"]["content"] == "Một"
    assert len(provider.requests) == 1


async def test_malformed_chunk_mid_stream_is_a_protocol_error(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    good = answer("Giá", " vé")
    provider.queue(Script(events=[good[0], b"data: {not json}\n\n", *good[1:]]))
    stream = await model.open_stream(MESSAGES, TOOLS)
    chunks: list[dict[str, Any]] = []
    with pytest.raises(ModelError) as raised:
        await read_all(stream, chunks)
    assert raised.value.code == "upstream_protocol"
    assert raised.value.retryable
    assert len(chunks) == 1
    assert len(provider.requests) == 1


# Fallback ---------------------------------------------------------------------------------------


async def test_falls_back_when_the_primary_is_unavailable(
    make_provider: Callable[[], Awaitable[FakeProvider]], make_model: ModelFactory
) -> None:
    down, healthy = await make_provider(), await make_provider()
    down.queue(Script(status=503))
    healthy.queue(Script(events=answer("Xin", " chào")))
    model = make_model(
        spec_for(down, "primary", fallbacks=("second",)),
        ModelSpec(name="second", model="m2", base_url=healthy.base_url, api_key="k2"),
        primary="primary",
    )
    stream = await model.open_stream(MESSAGES, TOOLS)
    assert stream.model == "second"
    assert (await read_all(stream)).text == "Xin chào"
    assert len(down.requests) == 3  # Its own retries first.
    [request] = healthy.requests
    assert request["json"]["model"] == "m2"
    assert request["headers"]["authorization"] == "Bearer k2"


async def test_falls_back_when_the_primary_is_unreachable(
    make_provider: Callable[[], Awaitable[FakeProvider]], make_model: ModelFactory
) -> None:
    gone, healthy = await make_provider(), await make_provider()
    await gone.stop()  # Nothing listens on its port any more: connection refused.
    healthy.queue(Script(events=answer("Vẫn", " ổn")))
    model = make_model(
        spec_for(gone, "primary", fallbacks=("second",)),
        spec_for(healthy, "second"),
        primary="primary",
    )
    stream = await model.open_stream(MESSAGES, TOOLS)
    assert stream.model == "second"
    assert (await read_all(stream)).text == "Vẫn ổn"
    assert len(healthy.requests) == 1


# The fake provider's own helpers ----------------------------------------------------------------


async def test_text_chunks_stream_the_text_unchanged(
    provider: FakeProvider, model: OpenAIChatModel
) -> None:
    provider.queue(Script(events=text_chunks("Xin chào Hà Nội")))
    _, response = await assemble(model)
    assert response.text == "Xin chào Hà Nội"
    assert response.usage == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_corpus_events_keep_every_event() -> None:
    for case in CASES:
        raw = (CORPUS / f"{case}.sse").read_bytes().replace(b"\r\n", b"\n")
        assert b"".join(corpus_events(case)) == raw, case


async def test_a_silent_primary_falls_back_within_the_first_chunk_deadline_plus_one_second(
    make_provider: Callable[[], Awaitable[FakeProvider]], make_model: ModelFactory
) -> None:
    silent, healthy = await make_provider(), await make_provider()
    silent.queue(Script(events=answer("muộn"), stall_before_first_s=10))
    healthy.queue(Script(events=answer("Kịp", " giờ")))
    deadline = 1.0
    model = make_model(
        spec_for(silent, "primary", fallbacks=("second",)),
        spec_for(healthy, "second"),
        primary="primary",
        timeouts=Timeouts(connect_s=1.0, first_chunk_s=deadline, stall_s=5.0),
        retry=RetryPolicy(retries=2, initial_wait_s=0.2, max_wait_s=1.0),
    )
    began = time.perf_counter()
    stream = await model.open_stream(MESSAGES, TOOLS)
    elapsed = time.perf_counter() - began
    assert stream.model == "second"
    assert (await read_all(stream)).text == "Kịp giờ"
    # The silent model is not retried when another can answer: one wait, not three.
    assert len(silent.requests) == 1
    assert elapsed < deadline + 1.0
