"""A fake Chat Completions and Responses API provider for benchmarks, run in its own process.

Every text chunk's content is the server's ``time.monotonic_ns()`` at the moment it is written
(CLOCK_MONOTONIC is shared by all processes on Linux), so the client measures each chunk's
delivery latency exactly. The request's ``model`` picks the shape: ``bench-<chunks>-<pace_us>`` (the first chunk at once,
the others ``pace_us`` apart); ``bench-<chunks>-<pace_us>-watch`` also records when the client
closes the request early (:data:`CLOSES`, for a provider run in the benchmark's own process).
``POST .../responses`` answers with the same chunks as a Responses stream, the way OpenAI frames
it (named events, sequence numbers, ``response.output_text.delta``, ``response.completed``).
Run: ``python -m bench.stream_server`` (prints the port on stdout).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

#: ``time.monotonic_ns()`` of every close a ``-watch`` request saw before its end.
CLOSES: list[int] = []


def _note_close(gone: asyncio.Future[bytes]) -> None:
    CLOSES.append(time.monotonic_ns())
    if not gone.cancelled():
        gone.exception()  # a reset is a close too; retrieved, so asyncio does not report it


def _frame(payload: dict[str, object] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    body = f"data: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(body), body)


def _event(kind: str, number: int, **fields: object) -> bytes:
    data = json.dumps({"type": kind, "sequence_number": number, **fields})
    body = f"event: {kind}\ndata: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(body), body)


#: Where every text delta of a benchmark Responses stream goes.
_AT: dict[str, object] = {"item_id": "msg_b", "output_index": 0, "content_index": 0}


class _Responses:
    """The Responses framing of the same stream: one ``output_text.delta`` per chunk."""

    def __init__(self) -> None:
        self._number = 0
        self._text: list[str] = []

    def _next(self, kind: str, **fields: object) -> bytes:
        self._number += 1
        return _event(kind, self._number - 1, **fields)

    def start(self) -> bytes:
        item = {"id": "msg_b", "type": "message", "role": "assistant", "content": []}
        shell = {"id": "resp_b", "object": "response", "status": "in_progress", "output": []}
        return self._next("response.created", response=shell) + self._next(
            "response.output_item.added", output_index=0, item=item
        )

    def delta(self, content: str) -> bytes:
        self._text.append(content)
        return self._next("response.output_text.delta", **_AT, delta=content, logprobs=[])

    def end(self, chunks: int) -> bytes:
        text = "".join(self._text)
        part = {"type": "output_text", "text": text, "annotations": []}
        item = {"id": "msg_b", "type": "message", "role": "assistant", "content": [part]}
        usage = {"input_tokens": 1, "output_tokens": chunks, "total_tokens": 1 + chunks}
        response = {"id": "resp_b", "status": "completed", "output": [item], "usage": usage}
        return (
            self._next("response.output_text.done", **_AT, text=text, logprobs=[])
            + self._next("response.output_item.done", output_index=0, item=item)
            + self._next("response.completed", response=response)
            + b"0\r\n\r\n"
        )


def _listing(path: bytes) -> bytes:
    """The answer to a GET: an empty model list for ``.../models``, else 404."""
    found = path.rstrip(b"/").endswith(b"/models")
    body = json.dumps({"object": "list", "data": []}).encode() if found else b""
    status = b"200 OK" if found else b"404 Not Found"
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, path, _ = head.split(b" ", 2)
            responses = _Responses() if path.endswith(b"/responses") else None
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if method != b"POST":
                # LiteLLM's proxy lists the provider's models when it starts.
                writer.write(_listing(path))
                await writer.drain()
                continue
            body = json.loads(await reader.readexactly(length))
            _, chunks, pace_us, *watch = str(body.get("model", "bench-100-0")).split("-")
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n"
                + (b"connection: close\r\n\r\n" if watch else b"\r\n")
            )
            gone: asyncio.Future[bytes] | None = None
            if watch:
                # ``-watch``: one request per connection, and the moment the client closes it
                # is recorded in CLOSES (``bench.stop_bench``).
                gone = asyncio.ensure_future(reader.read(1))
                gone.add_done_callback(_note_close)
            base = {"id": "b", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
            if responses is not None:
                writer.write(responses.start())
            for index in range(int(chunks)):
                if index and int(pace_us):  # The first chunk at once; then the pace.
                    if gone is None:
                        await asyncio.sleep(int(pace_us) / 1e6)
                    elif (await asyncio.wait({gone}, timeout=int(pace_us) / 1e6))[0]:
                        return
                content = f"{time.monotonic_ns()} "
                if responses is not None:
                    writer.write(responses.delta(content))
                else:
                    choice = {"index": 0, "delta": {"content": content}, "finish_reason": None}
                    writer.write(_frame({**base, "choices": [choice]}))
                await writer.drain()
            if responses is not None:
                writer.write(responses.end(int(chunks)))
                await writer.drain()
                if gone is not None:
                    gone.remove_done_callback(_note_close)
                    gone.cancel()
                    return
                continue
            stop = {"index": 0, "delta": {}, "finish_reason": "stop"}
            writer.write(_frame({**base, "choices": [stop]}))
            writer.write(
                _frame(
                    {
                        **base,
                        "choices": [],
                        "usage": {"prompt_tokens": 1, "completion_tokens": int(chunks)},
                    }
                )
            )
            writer.write(_frame("[DONE]") + b"0\r\n\r\n")
            await writer.drain()
            if gone is not None:  # Finished: whatever the client does now is no early close.
                gone.remove_done_callback(_note_close)
                gone.cancel()
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    sys.stdout.close()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
