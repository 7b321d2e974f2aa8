"""The stream corpus (``tests/corpus/streams``): one recorded provider response per quirk.

``<case>.sse`` is a raw response body; ``<case>.json`` is what the assembler must make of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from booking.agent.assembler import AssembledResponse, Piece, ToolCallAssembler

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "streams"
CASES = sorted(path.stem for path in CORPUS.glob("*.sse"))


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    """Chunks of an SSE body: per event join ``data:`` lines; skip comments, empty data, [DONE]."""
    text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    chunks: list[dict[str, Any]] = []
    for event in text.split("\n\n"):
        data = [
            line[len("data:") :].removeprefix(" ")
            for line in event.split("\n")
            if line.startswith("data:")
        ]
        payload = "\n".join(data).strip()
        if not payload or payload == "[DONE]":
            continue
        chunks.append(json.loads(payload))
    return chunks


def corpus_chunks(case: str) -> list[dict[str, Any]]:
    return parse_sse((CORPUS / f"{case}.sse").read_bytes())


def expected_for(case: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{case}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


#: The tools the corpus streams call, as the orchestrator tells its assembler.
KNOWN_TOOLS = frozenset(
    {"search_flights", "get_weather", "book_flight", "hold_booking", "confirm_booking"}
    | {"cancel_booking"}
    | {"get_booking"}
)


def assemble(
    chunks: list[dict[str, Any]], assembler: ToolCallAssembler | None = None
) -> tuple[list[list[Piece]], AssembledResponse]:
    """Feed every chunk; the pieces each feed returned, and the finished response."""
    assembler = assembler or ToolCallAssembler(known_names=KNOWN_TOOLS)
    per_chunk = [assembler.feed(chunk) for chunk in chunks]
    return per_chunk, assembler.finish()


def assert_matches(response: AssembledResponse, expected: dict[str, Any]) -> None:
    """Compare with a corpus expectation: calls by name and parsed arguments, in order."""
    assert response.text == expected["text"]
    assert response.reasoning == expected["reasoning"]
    assert response.finish_reason == expected["finish_reason"]
    assert response.usage == expected["usage"]
    got: list[dict[str, Any]] = []
    for position, call in enumerate(response.calls):
        want = expected["calls"][position] if position < len(expected["calls"]) else {}
        summary: dict[str, Any] = {"name": call.name}
        if "id" in want:  # The provider sent an id: it must be kept.
            summary["id"] = call.call_id
        arguments, error = call.parse()
        if error is None:
            summary["arguments"] = arguments
        else:
            assert arguments is None
            assert error  # A reason the model can act on.
            summary["arguments_raw"] = call.arguments
        got.append(summary)
    assert got == expected["calls"]
    ids = [call.call_id for call in response.calls]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids
