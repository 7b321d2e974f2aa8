"""What a client can do to a replica before any API key is checked, before and after the edge
limits (``booking.api.server``), and what the HTTP implementation costs per streamed part.

Two servers on the same database, each a process of its own:

- ``before``: ``uvicorn booking.api.app:create_app --factory`` with uvicorn's defaults (what
  ``booking serve`` ran before the limits: httptools, no header limits, no read timeout);
- ``after``: ``booking serve`` (``EdgeProtocol``, the ``BOOKING_HTTP_*`` settings at their defaults).

For each: a 1 MiB header and 10,000 header fields (the answer), four connections streaming an
endless header for 5 s (the server's RSS growth, ``/readyz`` latency meanwhile), and 2,000
connections each holding half a request (RSS while held, how many are still open 12 s later).

``--streaming``: server CPU per 100,000 SSE parts of ~120 bytes for uvicorn's h11 and httptools
protocols and ours, on a bare ASGI app (:func:`stream_app`), so only the HTTP layer differs.

Run: ``python -m bench.edge_bench [--streaming]`` (BOOKING_TEST_DATABASE_URL or an embedded
server; ports 18300-18399).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import psutil

from bench.common import fresh_database
from seed.load import SeedOptions

EDGE_DB = "booking_edge_bench"
PORTS = {"before": 18301, "after": 18302, "h11": 18311, "httptools": 18312, "edge": 18313}
PARTS = 100_000


def prepare_database() -> str:
    return fresh_database(EDGE_DB, SeedOptions(days=1, scale=0.1))


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str]) -> Iterator[psutil.Process]:
    proc = subprocess.Popen(
        [sys.executable, "-m", *command],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{command} did not start")
        yield psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api(mode: str, db_url: str) -> Any:
    port = PORTS[mode]
    env = {"BOOKING_DATABASE_URL": db_url, "BOOKING_AUTH": "on", "BOOKING_DB_POOL_SIZE": "4"}
    address = ["--host", "127.0.0.1", "--port", str(port)]
    if mode == "before":
        command = ["uvicorn", "booking.api.app:create_app", "--factory", *address]
        command += ["--log-level", "warning"]
    else:
        command = ["booking", "serve", "--no-migrate", *address]
    return serving(command, port, env)


def answer_to(port: int, raw: bytes) -> str:
    """The status line the server answers ``raw`` with, or what happened instead."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(raw)
            line = sock.makefile("rb").readline().decode().strip()
            return line or "closed without an answer"
    except OSError as exc:
        return type(exc).__name__


def endless_headers(port: int, server: psutil.Process, seconds: float = 5.0) -> str:
    stop = threading.Event()
    sent = [0]

    def attack() -> None:
        chunk = b"e" * 65536
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
                    while not stop.is_set():
                        sock.sendall(chunk)
                        sent[0] += len(chunk)
            except OSError:
                continue

    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for _ in range(20):
            client.get("/readyz")
    before = server.memory_info().rss
    peak = before
    latencies = []
    threads = [threading.Thread(target=attack, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            started = time.monotonic()
            try:
                client.get("/readyz")
                latencies.append(time.monotonic() - started)
            except httpx2.TransportError:
                latencies.append(float("inf"))
        peak = max(peak, server.memory_info().rss)
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(15)
    mib = 1024 * 1024
    return (
        f"RSS {before / mib:.0f} -> peak {peak / mib:.0f} MiB, /readyz p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms max {max(latencies) * 1000:.0f} ms "
        f"(n={len(latencies)}), {sent[0] / mib:.0f} MiB sent by the 4 attackers"
    )


def half_sent(port: int, server: psutil.Process, count: int = 2000) -> str:
    before = server.memory_info().rss
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        socks.append(sock)
    time.sleep(1)
    held = server.memory_info().rss
    time.sleep(11)  # past the default request timeout (10 s)
    still_open = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            sock.recv(1024, socket.MSG_PEEK)  # an answer (408) or b"" (closed)
        except BlockingIOError:
            still_open += 1  # nothing to read and not closed: held
        except OSError:
            pass  # reset: closed
        finally:
            sock.close()
    mib = 1024 * 1024
    return (
        f"RSS {before / mib:.0f} -> {held / mib:.0f} MiB with {count} held; "
        f"{still_open} of {count} still open 12 s later"
    )


def edge(db_url: str) -> None:
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    many += b"".join(b"X-F%d: 1\r\n" % i for i in range(10_000)) + b"\r\n"
    for mode in ("before", "after"):
        with api(mode, db_url) as server:
            port = PORTS[mode]
            print(f"[{mode}] 1 MiB header: {answer_to(port, big)}")
            print(f"[{mode}] 10,000 header fields: {answer_to(port, many)}")
            print(f"[{mode}] 4 endless headers for 5 s: {endless_headers(port, server)}")
            print(f"[{mode}] 2,000 half-sent requests: {half_sent(port, server)}", flush=True)


async def stream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``PARTS`` SSE parts of ~120 bytes, written as fast as the connection takes them."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    part = b'id: 1\ndata: {"type":"text-delta","id":"t1","delta":"' + b"x" * 60 + b'"}\n\n'
    for _ in range(PARTS):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def streaming() -> None:
    protocols = {
        "h11": "h11",
        "httptools": "httptools",
        "edge": "booking.api.server:EdgeProtocol",
    }
    for name, http in protocols.items():
        port = PORTS[name]
        command = ["uvicorn", "bench.edge_bench:stream_app", "--http", http, "--port", str(port)]
        command += ["--log-level", "warning"]
        with serving(command, port, {}) as server:
            runs = []
            for _ in range(3):
                cpu = server.cpu_times()
                with httpx2.Client(timeout=60) as client:
                    size = len(client.get(f"http://127.0.0.1:{port}/").content)
                after = server.cpu_times()
                runs.append((after.user + after.system) - (cpu.user + cpu.system))
            print(
                f"[{name}] server CPU per {PARTS:,} SSE parts ({size / 1e6:.1f} MB): "
                f"{statistics.median(runs) * 1000:.0f} ms (median of 3)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streaming", action="store_true", help="also the CPU per part")
    args = parser.parse_args()
    edge(prepare_database())
    if args.streaming:
        streaming()


if __name__ == "__main__":
    main()
