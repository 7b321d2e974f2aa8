"""The first thing a newcomer runs (`make demo`): a database, the server, and a conversation.

Starts the embedded PostgreSQL unless BOOKING_DATABASE_URL is set, migrates, seeds a demo-sized
schedule (seconds, with a progress bar), starts ``booking serve`` on 127.0.0.1 and then talks to
it over HTTP like any client: a Vietnamese request for weather and flights in one message, a
follow-up, a booking in one approval that ends confirmed, then the same in English. Text is
rendered as Markdown as it streams, a live line for each tool call while it runs, results as
tables; ``--details`` adds the model, time to first token, tokens and cost after each reply.
Then it prints the web page's address and keeps serving until Ctrl-C (``--no-serve`` exits
instead, without printing an address it no longer serves; CI uses it).

The model is the built-in offline model (rule-based, not an LLM) unless a provider is configured.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx2
import psycopg
from rich.markup import escape
from rich.progress import Progress

from booking.db import migrate
from booking.db.embedded import database_url
from booking.db.engine import libpq_url
from booking.domain.dates import clock_from, today
from booking.settings import Settings
from seed.load import SeedOptions, SeedRefused, seed_database
from seed.rendering import console, stream_reply

DEMO_SEED = 42
DEMO_DAYS = 45


def _script(day: date) -> list[tuple[str, list[str]]]:
    """(title, messages) per conversation; bookings are approved as the traveller would."""
    when = f"{day.day}/{day.month}"
    return [
        (
            "Tiếng Việt",
            [
                f"Thời tiết Đà Nẵng và vé từ Hà Nội đi Đà Nẵng ngày {when}",
                "còn ngày hôm sau thì sao?",
                "Đặt chuyến rẻ nhất cho Nguyễn Văn An, sđt 0901234567",
            ],
        ),
        (
            "English",
            [
                "weather in Phu Quoc and flights there from Saigon next Friday",
                "book the earliest one for Tran Thi Binh, email binh@example.com",
            ],
        ),
    ]


# Setup -----------------------------------------------------------------------------------


def _prepare(settings: Settings) -> str:
    url = database_url(settings)
    console.print(f"[dim]database: {escape(_redact(url))}[/]")
    migrate.upgrade(url)
    first_day = today(clock_from(settings))
    if _schedule_covers(url, first_day, first_day + timedelta(days=DEMO_DAYS - 1)):
        console.print("[dim]schedule already seeded from today; keeping it (and its bookings)[/]")
        return url
    options = SeedOptions(seed=DEMO_SEED, today=first_day, days=DEMO_DAYS, scale=0.5)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("seeding", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            report = seed_database(url, options, progress=progress)
        except SeedRefused:
            if settings.database_url:
                raise
            # The embedded database is the demo's own: earlier demo bookings may go.
            options = SeedOptions(**{**options.__dict__, "replace_bookings": True})
            report = seed_database(url, options, progress=progress)
    console.print(
        f"[dim]seeded {report.flights:,} flights and {report.weather_days:,} weather days "
        f"in {report.seconds:.1f} s[/]"
    )
    return url


def _schedule_covers(url: str, first: date, last: date) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT min(service_date), max(service_date) FROM flights").fetchone()
    return row is not None and row[0] == first and row[1] is not None and row[1] >= last


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://…@{rest.split('@', 1)[1]}"


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def _start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BOOKING_DATABASE_URL": url,
        # Loopback only, so no keys are needed; the page and this script talk to it as is.
        "BOOKING_AUTH": "off",
        "BOOKING_OFFLINE_PACE_MS": os.environ.get("BOOKING_OFFLINE_PACE_MS", "12"),
    }
    command = [sys.executable, "-m", "booking", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-migrate"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = (server.stderr.read() if server.stderr else b"").decode(errors="replace")
            raise RuntimeError(f"the server did not start:\n{err[-2000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not become ready within 30 s")


# Conversations ---------------------------------------------------------------------------


def run_conversation(
    client: httpx2.Client, title: str, messages: list[str], *, details: bool = False
) -> bool:
    """One conversation; approvals are given as the traveller would. False if a reply failed."""
    chat_id = f"demo-{uuid.uuid4().hex[:12]}"
    console.rule(f"[bold]{title}[/] · conversation {chat_id}")
    ok = True
    calls: dict[str, dict[str, Any]] = {}
    for text in messages:
        console.print(f"\n[bold magenta]you>[/] {escape(text)}")
        console.print("[bold cyan]agent>[/]")
        body = {
            "id": chat_id,
            "messages": [
                {"id": uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": text}]}
            ],
            "trigger": "submit-message",
        }
        reply = stream_reply(client, "POST", "/v1/chat", body, calls, details=details)
        while reply.approvals and not reply.failed:
            request = reply.approvals.pop(0)
            console.print("[bold yellow]traveller approves[/] → continuing the same reply")
            url = f"/v1/conversations/{chat_id}/approvals/{request['approvalId']}"
            reply = stream_reply(client, "POST", url, {"approved": True}, calls, details=details)
        if reply.failed:
            ok = False
    return ok


# Entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make demo ARGS=...",
        description=__doc__.split("\n")[0],
        epilog='e.g. make demo ARGS="--port 8010 --details"; python -m seed.demo --no-serve',
    )
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="run the conversations, then stop the server and exit",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="preferred port (default 8000; taken: any free one; 0: any free)",
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="after each reply: model, time to first token, tokens and cost",
    )
    args = parser.parse_args(argv)

    settings = Settings()
    url = _prepare(settings)
    port = _free_port(args.port)
    server = _start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    model = (
        "a model from BOOKING_LLM_*"
        if settings.llm_base_url or settings.llm_config
        else "offline model"
    )
    console.print(f"[dim]server on port {port} ({model})[/]")
    try:
        day = today(clock_from(settings)) + timedelta(days=12)
        ok = True
        with httpx2.Client(base_url=base, timeout=httpx2.Timeout(60.0)) as client:
            for title, messages in _script(day):
                ok = run_conversation(client, title, messages, details=args.details) and ok
        console.rule()
        if args.no_serve:
            console.print("\ndone; the server is stopped (--no-serve)")
            return 0 if ok else 1
        console.print(f"\n[bold]Web chat:[/] {base}/   ·   API docs: {base}/docs")
        console.print("[dim]serving until Ctrl-C[/]")
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            server.wait()
        except KeyboardInterrupt:
            console.print("\nstopping")
        return 0 if ok else 1
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
