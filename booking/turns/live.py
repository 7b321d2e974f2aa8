"""A turn running in this process: its parts in memory, released to followers once stored."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from booking.turns.ui_stream import Part, encode_part

if TYPE_CHECKING:
    from booking.turns.writer import EventWriter

Followed = tuple[int, Part, str]
"""A part as followers get it: (cursor, part, its compact JSON)."""


@dataclass(frozen=True)
class Lost:
    """Why a turn's parts are no longer stored, as its followers are told."""

    code: str
    message: str
    retryable: bool

    def parts(self) -> list[Part]:
        """The terminal parts a follower gets (the shape of ``UIStreamEncoder.failure``)."""
        return [
            {
                "type": "message-metadata",
                "messageMetadata": {"error": {"code": self.code, "retryable": self.retryable}},
            },
            {"type": "error", "errorText": self.message},
        ]


class TurnLost(Exception):
    """Raised to a follower of a turn this process no longer stores (another process closed it,
    or its conversation was deleted): it reads what the database holds, then ``lost``'s parts."""

    def __init__(self, lost: Lost, after: int) -> None:
        super().__init__(lost.code)
        self.lost = lost
        self.after = after


class Draining(Exception):
    """The server is shutting down: followers end now and their clients resume elsewhere.

    Not an error anyone sees (no ``BookingError``): the SSE layer answers it with a farewell
    part telling the client to resume on another process."""


#: Parts that carry a piece of a longer text; the first of a run is what a reader waits for.
_DELTAS = frozenset({"text-delta", "reasoning-delta", "tool-input-delta"})


def _continues(previous: Part, part: Part) -> bool:
    """``part`` continues the delta ``previous`` (same kind, same id): not urgent to store."""
    return (
        part.get("type") in _DELTAS
        and previous.get("type") == part.get("type")
        and previous.get("id", previous.get("toolCallId")) == part.get("id", part.get("toolCallId"))
    )


@dataclass
class LiveTurn:
    """A turn running in this process: its parts so far, and a way to wait for more.

    Followers see a part only once it is stored: a client never holds an id the database does
    not, so a resume after a crash continues exactly where the client stopped.
    """

    turn_id: str
    conversation_id: str
    message_id: str
    first_seq: int
    tenant: str = ""
    parts: list[tuple[int, Part]] = field(default_factory=list)
    encoded: list[str] = field(default_factory=list)
    """Each part's compact JSON, made once for the database and every follower."""
    done: bool = False
    task: asyncio.Task[None] | None = None
    persisted: int = 0
    """How many of ``parts`` are in the database."""
    shutdown: bool = False
    closing: bool = False
    """The turn has ended and is being stored; cancelling it now would leave it "running"."""
    writer: EventWriter | None = None
    draining: bool = False
    """The server is shutting down: followers stop (the turn itself runs on in its grace)."""
    lost: Lost | None = None
    """Set when the writer found the turn is no longer this process's to store: nothing more
    is stored or shown, the task is cancelled."""
    refused: Lost | None = None
    """Set when the database refused the turn's parts for good: they were replaced with this
    error (stored), and nothing the turn makes after it is kept."""
    followed_until: float = 0.0
    """``time.monotonic()`` until which a follower in another process is waiting for its parts
    (the writer then announces each stored batch on the conversation's channel)."""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _flushed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_seq(self) -> int:
        """The cursor of the newest part (the one before the first when there is none)."""
        return self.parts[-1][0] if self.parts else self.first_seq - 1

    @property
    def last_stored_seq(self) -> int:
        """The cursor of the newest stored part."""
        return self.parts[self.persisted - 1][0] if self.persisted else self.first_seq - 1

    def append(self, seq: int, part: Part) -> None:
        if self.lost is not None or self.refused is not None:
            return  # Sealed: its end is already decided (and said).
        continues = bool(self.parts) and _continues(self.parts[-1][1], part)
        self.parts.append((seq, part))
        self.encoded.append(encode_part(part))
        if self.writer is not None:
            self.writer.mark(self, urgent=not continues)

    def stored(self, upto: int) -> None:
        """The writer stored ``parts[:upto]``: release them to followers."""
        self.persisted = max(self.persisted, upto)
        self._flushed.set()
        self._wake()

    async def flushed(self) -> None:
        """Wait until every part appended so far is in the database (or will never be)."""
        target = len(self.parts)
        while self.persisted < min(target, len(self.parts)) and self.lost is None:
            self._flushed.clear()
            if self.writer is not None:
                self.writer.mark(self)
            await self._flushed.wait()

    def lose(self, code: str, message: str, retryable: bool) -> None:
        """The writer will not store this turn any more: drop what was not stored, end its
        followers here (:class:`TurnLost`) and stop the turn."""
        if self.lost is not None:
            return
        self.lost = Lost(code, message, retryable)
        del self.parts[self.persisted :], self.encoded[self.persisted :]
        self._flushed.set()
        self._wake()
        self._stop()

    def refuse(self, code: str, message: str, retryable: bool) -> None:
        """The database refuses this turn's unstored parts: replace them with an error (for the
        writer to store) and stop the turn."""
        if self.refused is not None:
            return
        del self.parts[self.persisted :], self.encoded[self.persisted :]
        seq = self.last_stored_seq
        lost = Lost(code, message, retryable)
        for part in lost.parts():
            seq += 1
            self.parts.append((seq, part))
            self.encoded.append(encode_part(part))
        self.refused = lost
        self._stop()

    def _stop(self) -> None:
        if self.task is not None and not self.task.done() and not self.closing:
            self.task.cancel()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def drain(self) -> None:
        self.draining = True
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after: int) -> AsyncIterator[list[Followed]]:
        """Stored parts after ``after``, in batches (whatever one group commit released)."""
        index = bisect.bisect_right(self.parts, after, key=lambda item: item[0])
        while True:
            upto = self.persisted
            if index < upto:
                yield [
                    (self.parts[i][0], self.parts[i][1], self.encoded[i])
                    for i in range(index, upto)
                ]
                index = upto
                continue
            if self.lost is not None:
                raise TurnLost(self.lost, self.parts[index - 1][0] if index else self.first_seq - 1)
            if self.done and index >= len(self.parts):
                return
            if self.draining:
                raise Draining
            await self._changed.wait()
