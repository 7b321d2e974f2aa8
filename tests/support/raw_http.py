"""HTTP/1.1 on a bare socket, for the tests where what a client sends is itself the point
(oversized or endless headers, half-sent requests, idle connections): no client library would
send those. Answers are parsed by the standard library's ``http.client.HTTPResponse``.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.waits import DEADLINE_S


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(port: int, timeout: float = DEADLINE_S) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket, timeout: float = DEADLINE_S) -> RawResponse:
    """The next response on ``sock`` (status line, headers, the whole body)."""
    sock.settimeout(timeout)
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return RawResponse(response.status, headers, body)


def request(port: int, raw: bytes, timeout: float = DEADLINE_S) -> RawResponse:
    """Send ``raw`` on a new connection and read the answer."""
    with connect(port, timeout) as sock:
        sock.sendall(raw)
        return read_response(sock, timeout)


def get(path: str, *headers: tuple[str, str], close: bool = True) -> bytes:
    """A GET request's bytes, with ``headers`` after Host."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes ``sock`` within ``seconds``; with what it sent before that."""
    sock.settimeout(0.05)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def rss_bytes(pid: int) -> int:
    """A process's resident memory (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")
