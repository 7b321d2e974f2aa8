"""Reading the app's SSE replies as a client: :func:`read_sse` parses a response body into records
that keep ids and comments (heartbeats), which ``useChat`` throws away but these tests check, and
:class:`Stream` reads an open response incrementally, with a deadline on every wait."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from tests.support.waits import DEADLINE_S


@dataclass(frozen=True)
class SSERecord:
    """One SSE event (``data`` with its ``id``) or one comment line (``: ping``)."""

    id: str | None = None
    data: str | None = None
    comment: str | None = None
    at: float = 0.0
    """``time.monotonic()`` when the record was complete."""

    @property
    def is_done(self) -> bool:
        return self.data == "[DONE]"

    @property
    def part(self) -> dict[str, Any]:
        """The UI message stream part (JSON data)."""
        assert self.data is not None, self
        assert not self.is_done, self
        value: dict[str, Any] = json.loads(self.data)
        return value

    @property
    def type(self) -> str | None:
        if self.data is None or self.is_done:
            return None
        kind: str = self.part["type"]
        return kind

    @property
    def seq(self) -> int:
        assert self.id is not None, self
        assert self.id.isdigit(), self
        return int(self.id)


def read_sse(lines: Iterator[str]) -> Iterator[SSERecord]:
    """Records in arrival order; a comment is its own record, an event ends at a blank line."""
    event_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or event_id is not None:
                yield SSERecord(
                    id=event_id,
                    data="\n".join(data) if data else None,
                    at=time.monotonic(),
                )
            event_id, data = None, []
        elif line.startswith(":"):
            yield SSERecord(comment=line[1:].strip(), at=time.monotonic())
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
    if data or event_id is not None:
        yield SSERecord(id=event_id, data="\n".join(data) if data else None, at=time.monotonic())


class Stream:
    """An open SSE response read incrementally, with a deadline on every wait."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.records: list[SSERecord] = []
        self._iter = read_sse(response.iter_lines())

    @property
    def events(self) -> list[SSERecord]:
        """Data records (parts and ``[DONE]``), without comments."""
        return [r for r in self.records if r.data is not None]

    @property
    def parts(self) -> list[SSERecord]:
        return [r for r in self.records if r.data is not None and not r.is_done]

    @property
    def done(self) -> bool:
        return bool(self.records) and self.records[-1].is_done

    def read_until(
        self, predicate: Callable[[SSERecord], bool], timeout: float = DEADLINE_S
    ) -> SSERecord:
        """Read records until one matches; fail if the stream ends or the deadline passes.

        Heartbeats arrive every ``heartbeat_s``, so the deadline is checked often even when
        the turn is quiet.
        """
        deadline = time.monotonic() + timeout
        for record in self._iter:
            self.records.append(record)
            if predicate(record):
                return record
            if time.monotonic() > deadline:
                break
        raise AssertionError(
            f"no matching record within {timeout} s; got {[r.data or r.comment for r in self.records]}"
        )

    def read_for(self, predicate: Callable[[SSERecord], bool], timeout: float) -> bool:
        """Read until a record matches (True) or ``timeout`` passes (False); never fails."""
        deadline = time.monotonic() + timeout
        for record in self._iter:
            self.records.append(record)
            if predicate(record):
                return True
            if time.monotonic() > deadline:
                return False
        return False

    def read_type(self, kind: str, timeout: float = DEADLINE_S) -> SSERecord:
        return self.read_until(lambda r: r.type == kind, timeout)

    def read_to_end(self, timeout: float = DEADLINE_S) -> list[SSERecord]:
        """Everything up to ``[DONE]``; the body must end right after it."""
        self.read_until(lambda r: r.is_done, timeout)
        rest = list(self._iter)
        assert not [r for r in rest if r.data is not None], f"events after [DONE]: {rest}"
        self.records += rest
        return self.events


def wire(records: list[SSERecord]) -> list[tuple[str | None, Any]]:
    """Events as compared across streams: (id, parsed part or ``"[DONE]"``).

    Parsed, because a replay reads parts back from JSONB, which keeps values, not key order.
    """
    return [(r.id, r.data if r.is_done else r.part) for r in records if r.data is not None]


def assert_contiguous(records: list[SSERecord]) -> None:
    """Every part has a numeric id, one more than the previous; ``[DONE]`` is last, without id."""
    parts = [r for r in records if r.data is not None]
    assert parts, "no events"
    assert parts[-1].is_done, parts[-1]
    assert parts[-1].id is None, parts[-1]
    seqs = [r.seq for r in parts[:-1]]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def types(records: list[SSERecord]) -> list[str | None]:
    """The part types, in order (without ``[DONE]``)."""
    return [r.type for r in records if r.data is not None and not r.is_done]


def of_type(records: list[SSERecord], kind: str) -> list[dict[str, Any]]:
    """The parts of one type."""
    return [r.part for r in records if r.type == kind]


def text_of(records: list[SSERecord]) -> str:
    """The text the reply streamed (its ``text-delta`` parts, joined)."""
    return "".join(r.part["delta"] for r in records if r.type == "text-delta")


#: The headers of every UI message stream the app sends.
SSE_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}


def assert_stream_headers(response: httpx2.Response) -> None:
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    for name, value in SSE_HEADERS.items():
        assert response.headers[name] == value, (name, response.headers)


def of_turn(records: list[SSERecord], first_seq: int) -> list[SSERecord]:
    """The events of the turn starting at ``first_seq`` (and the closing ``[DONE]``)."""
    return [r for r in records if r.is_done or (r.id is not None and r.seq >= first_seq)]
