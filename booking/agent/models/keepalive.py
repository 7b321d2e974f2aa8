"""An ``httpx2`` transport wrapper that drops the empty ``data:`` keep-alives some providers send."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import httpx2


class KeepAliveFilter(httpx2.AsyncBaseTransport):
    """Drop empty ``data:`` lines some providers send as keep-alives.

    The SDK's SSE decoder turns such a line into an event with empty data and then fails to parse
    it as JSON; SSE comment lines (``: ping``) it already ignores. This wrapper streams the body
    through unchanged apart from those lines, without buffering more than one line.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return response
        # The filtered body is decoded, so it no longer has the original encoding or length.
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_FilteredStream(response),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class _FilteredStream(httpx2.AsyncByteStream):
    """Pass SSE events on one at a time, dropping those with no data (keep-alives)."""

    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self.saw_done = False
        """Whether the body carried ``data: [DONE]``."""
        # One iterator for the body's whole life: after ``[DONE]`` the SDK iterates the stream
        # again to drain what is left (so the HTTP/1.1 connection can be reused); a fresh
        # iterator would ask the inner response for its body a second time, fail with
        # StreamConsumed, and the connection would be closed instead of going back to the pool.
        self._events = self._filter()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._events

    async def _filter(self) -> AsyncGenerator[bytes, None]:
        pending = b""
        event: list[bytes] = []
        # aiter_bytes() decodes gzip/deflate, so keep-alives in compressed streams are seen too.
        async for data in self._response.aiter_bytes():
            pending += data
            *lines, pending = pending.split(b"\n")
            out: list[bytes] = []
            for line in lines:
                if line.rstrip(b"\r"):
                    event.append(line)
                    continue
                if _has_data(event):
                    self.saw_done = self.saw_done or _is_done(event)
                    out.append(b"\n".join(event) + b"\n\n")
                event = []
            if out:
                yield b"".join(out)
        tail = [*event, pending] if pending.rstrip(b"\r") else event
        if _has_data(tail):
            self.saw_done = self.saw_done or _is_done(tail)
            yield b"\n".join(tail) + b"\n\n"

    async def aclose(self) -> None:
        await self._events.aclose()
        await self._response.aclose()


def _has_data(event: list[bytes]) -> bool:
    """Whether an SSE event carries a non-empty ``data:`` field (``event: ping`` alone does not)."""
    for line in event:
        if line.startswith(b"data:") and line[5:].strip(b" \r"):
            return True
    return False


def _is_done(event: list[bytes]) -> bool:
    return any(line.startswith(b"data:") and line[5:].strip(b" \r") == b"[DONE]" for line in event)
