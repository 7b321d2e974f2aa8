"""A turn's parts as an SSE response: ids, heartbeats, a lifetime cap, ``[DONE]`` at the end.

The wire format (``useChat`` / ``readUIMessageStream`` of the ``ai`` package, see
``docs/ui-message-stream.md``): ``text/event-stream``, header
``x-vercel-ai-ui-message-stream: v1``, one ``data: <compact JSON part>`` per event, each with an
``id:`` (the conversation's cursor, which useChat ignores and our clients resume with), and a
final ``data: [DONE]``. The parts themselves are made by :mod:`booking.turns.ui_stream`.

Why not sse-starlette's ``EventSourceResponse`` (which this module used before): it runs an
anyio task group of four tasks per stream (the body, a ping loop, a shutdown watcher, a
disconnect listener), each with its cancel scope, and takes a lock around every send. An open
stream is mostly idle (a tool runs, a traveller reads), so that was most of what a stream cost
besides its turn (bench/README.md has the figures). :class:`UIMessageStream` is the body loop
in the request's own task, heartbeats from one timer per process for every open stream
(:class:`Heartbeats`), and the client's disconnect delivered as a cancellation of that loop:
by our server's edge (:data:`DISCONNECT_EXTENSION`, no task at all), else by one small task
waiting on ``receive``. Shutdown needs nothing here: the turn manager ends every follower with
:class:`~booking.turns.Draining`, answered with a farewell part and a properly ended body.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, cast

from fastapi import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from booking.api.state import AppState
from booking.turns import Draining
from booking.turns.ui_stream import encode_part, is_terminal

log = logging.getLogger(__name__)

SSE_HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
}
DONE = "[DONE]"
#: An SSE comment: ignored by every client, it keeps proxies from closing an idle stream.
PING = b": ping\n\n"
#: The ASGI scope extension our server (``booking.api.server.EdgeProtocol``) offers: its
#: ``watch(callback)`` calls ``callback`` once if the connection is lost before the response is
#: complete.
DISCONNECT_EXTENSION = "booking.disconnect"


def _farewell(last_event_id: int) -> bytes:
    """What a follower gets when the server shuts down mid-turn: a retryable error naming the
    last event id, then the end of the body without ``[DONE]``. No ``id:`` lines: these parts
    are not stored, so the client's cursor stays on the last stored part and it resumes from
    there on any other process (the turn runs on, or is closed as interrupted, meanwhile)."""
    error = {"code": "server_restarting", "retryable": True, "lastEventId": last_event_id}
    parts: list[dict[str, Any]] = [
        {"type": "message-metadata", "messageMetadata": {"error": error}},
        {
            "type": "error",
            "errorText": "The server is restarting. Reconnecting continues the answer.",
        },
    ]
    return "".join(f"data: {encode_part(p)}\n\n" for p in parts).encode()


class Heartbeats:
    """One timer for every open stream of an app: each ``every_s`` it writes :data:`PING` to
    every stream, so none is silent for longer than that (sse-starlette ran a task per stream).

    The timer runs only while a stream is open."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._streams: dict[UIMessageStream, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._streams)

    def add(self, stream: UIMessageStream) -> None:
        self._streams[stream] = None
        if self._timer is None:
            self._schedule()

    def discard(self, stream: UIMessageStream) -> None:
        self._streams.pop(stream, None)
        if not self._streams and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _beat(self) -> None:
        self._timer = None
        for stream in list(self._streams):
            stream.ping()
        if self._streams:
            self._schedule()

    def _schedule(self) -> None:
        # An empty context: the timer serves every stream, not the request that started it.
        self._timer = asyncio.get_running_loop().call_later(
            self.every_s, self._beat, context=contextvars.Context()
        )


class UIMessageStream(Response):
    """A ``text/event-stream`` response whose body is ``frames`` (already framed SSE bytes).

    The body loop runs in the request's task. A client that goes away cancels that loop (and
    only it: the turn runs on in the server); the response then ends without a last chunk, as
    the connection is gone. ``HEAD`` gets the headers and an empty body, and never follows.
    """

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[bytes], heartbeats: Heartbeats) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({**SSE_HEADERS, "connection": "keep-alive"})
        self._frames = frames
        self._heartbeats = heartbeats
        self._send: Send | None = None
        self._sending = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        if scope.get("method") == "HEAD":
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        task = asyncio.current_task()
        assert task is not None
        following = True
        gone = False

        def client_left() -> None:
            nonlocal gone
            if following and not gone:
                gone = True
                task.cancel()

        watcher = _watch_disconnect(scope, receive, client_left)
        await send(start)
        self._send = send
        self._heartbeats.add(self)
        try:
            async for chunk in self._frames:
                self._sending = True
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._sending = False
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # Ours: the client left. Nothing more to send it.
        finally:
            following = False
            self._heartbeats.discard(self)
            self._send = None
            if watcher is not None:
                watcher.cancel()
            await cast(Any, self._frames).aclose()
        if not gone:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def ping(self) -> None:
        """Write a heartbeat now, unless a chunk is being sent (the stream is not idle then).

        The send is stepped here, in the timer's callback, rather than in a task: ASGI servers
        write a body chunk before their first suspension point, so one step writes the ping.
        A send that suspends instead waits for a client that does not read (uvicorn drains
        before writing): the ping is dropped then, as the chunks it waits behind keep the
        connection busy anyway."""
        if self._sending or self._send is None:
            return
        step = cast(
            Coroutine[Any, Any, None],
            self._send({"type": "http.response.body", "body": PING, "more_body": True}),
        )
        try:
            step.send(None)
        except StopIteration:
            return
        except Exception:
            log.debug("heartbeat not sent", exc_info=True)
            return
        step.close()


def _watch_disconnect(
    scope: Scope, receive: Receive, client_left: Callable[[], None]
) -> asyncio.Task[None] | None:
    """Call ``client_left`` when the client goes away: through our server's extension (no
    task), else from a task waiting on ``receive`` (any other ASGI server, the tests' in-process
    transport). The task, if any, is the caller's to cancel."""
    extension = (scope.get("extensions") or {}).get(DISCONNECT_EXTENSION)
    if extension is not None:
        extension["watch"](client_left)
        return None

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        client_left()

    return asyncio.get_running_loop().create_task(watch(), name="sse-disconnect")


def app_heartbeats(request: Request, every_s: float) -> Heartbeats:
    """The app's heartbeat timer (one per app; made by the first stream)."""
    heartbeats: Heartbeats | None = getattr(request.app.state, "sse_heartbeats", None)
    if heartbeats is None or heartbeats.every_s != every_s:
        heartbeats = Heartbeats(every_s)
        request.app.state.sse_heartbeats = heartbeats
    return heartbeats


def stream_response(
    state: AppState, request: Request, conversation_id: str, after: int
) -> UIMessageStream:
    """Replay parts after ``after`` and follow the running turn until it ends.

    A client that goes away stops only its stream: the turn runs on in the server.
    """

    async def frames() -> AsyncIterator[bytes]:
        state.metrics.active_streams.inc()
        deadline = time.monotonic() + state.settings.max_stream_lifetime_s
        last = after
        try:
            async for batch in state.turns.follow(conversation_id, after):
                # The parts' JSON is one line and already encoded: frame it directly, and send
                # what one group commit released in one write.
                yield "".join(f"id: {seq}\ndata: {data}\n\n" for seq, _, data in batch).encode()
                last = batch[-1][0]
                if time.monotonic() > deadline and not is_terminal(batch[-1][1]):
                    return  # Capped: no [DONE], so the client resumes from the last id it saw.
            yield f"data: {DONE}\n\n".encode()
        except Draining:
            yield _farewell(last)
        finally:
            state.metrics.active_streams.dec()

    return UIMessageStream(frames(), app_heartbeats(request, state.settings.heartbeat_s))
