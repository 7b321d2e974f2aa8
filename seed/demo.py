"""The first thing a newcomer runs (`make demo`): a database, the server, and a conversation.

Starts the embedded PostgreSQL unless BOOKING_DATABASE_URL is set, migrates, seeds a demo-sized
schedule (seconds, with a progress bar), starts ``booking serve`` on 127.0.0.1 and then talks to
it over HTTP like any client: a Vietnamese request for weather and flights in one message, a
follow-up, a booking with its approval and confirmation, then the same in English. Text is
shown as it streams, a live line for each tool call while it runs, results as tables, usage and
time to first token at the end of each reply. Then it prints the web page's address and keeps
serving until Ctrl-C (``--no-serve`` exits instead; CI uses it).

The model is the built-in offline model (rule-based, not an LLM) unless a provider is configured.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx2
import psycopg
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import Progress
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from booking.db import migrate
from booking.db.embedded import database_url
from booking.db.engine import libpq_url
from booking.domain.dates import clock_from, today
from booking.settings import Settings
from seed.load import SeedOptions, SeedRefused, seed_database

console = Console()
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
                "xác nhận",
            ],
        ),
        (
            "English",
            [
                "weather in Phu Quoc and flights there from Saigon next Friday",
                "book the earliest one for Tran Thi Binh, email binh@example.com",
                "confirm",
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


# Streaming a reply -----------------------------------------------------------------------


def _events(response: httpx2.Response) -> Iterator[dict[str, Any]]:
    """The UI message stream's parts (``data:`` lines; comments and ids skipped)."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


@dataclass
class Reply:
    """What one streamed reply showed: approvals to answer, usage, and whether it failed."""

    approvals: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Renderer:
    """Text as it streams; a live spinner line per running tool; results as tables."""

    def __init__(self, calls: dict[str, dict[str, Any]]) -> None:
        self.calls = calls
        """Every tool call of the conversation: an approved call's result arrives in a later
        stream (the continuation) than its name and input."""
        self.running: dict[str, dict[str, Any]] = {}
        self.live: Live | None = None
        self.at_line_start = True

    def handle(self, part: dict[str, Any], reply: Reply) -> None:
        kind = part.get("type")
        if kind == "text-delta":
            self._stop_live()
            console.print(part["delta"], end="", markup=False, highlight=False)
            self.at_line_start = part["delta"].endswith("\n")
        elif kind == "tool-input-start":
            call = {"name": part["toolName"], "input": None}
            self.running[part["toolCallId"]] = self.calls[part["toolCallId"]] = call
            self._refresh()
        elif kind == "tool-input-available":
            call = self.calls.setdefault(part["toolCallId"], {"name": part["toolName"]})
            call["input"] = part.get("input")
            self.running[part["toolCallId"]] = call
            self._refresh()
        elif kind in ("tool-output-available", "tool-output-error", "tool-output-denied"):
            known = self.calls.get(part["toolCallId"], {"name": "tool", "input": None})
            call = self.running.pop(part["toolCallId"], known)
            self._stop_live()
            self._result(call, part)
            self._refresh()
        elif kind == "tool-input-error":
            self.running.pop(part["toolCallId"], None)
            self._stop_live()
            self._line(f"[red]✗ {escape(part.get('errorText', ''))}[/]")
        elif kind == "tool-approval-request":
            self.running.pop(part["toolCallId"], None)
            self._stop_live()
            reply.approvals.append(part)
            summary = part.get("reason") or json.dumps(part.get("approvalDescriptor"))
            self._line(Panel(escape(summary), title="approval requested", border_style="yellow"))
        elif kind == "message-metadata":
            reply.metadata.update(part.get("messageMetadata") or {})
        elif kind == "error":
            self._stop_live()
            reply.failed = part.get("errorText") or "error"
            self._line(f"[red]{escape(reply.failed)}[/]")
        elif kind == "finish":
            self._stop_live()

    def close(self, reply: Reply) -> None:
        self._stop_live()
        if not self.at_line_start:
            console.print()
        usage = reply.metadata.get("usage") or {}
        if usage:
            console.print(
                f"[dim]{usage.get('modelCalls')} model calls · first token "
                f"{usage.get('ttftMs') or 0:.0f} ms · {usage.get('promptTokens')}+"
                f"{usage.get('completionTokens')} tokens · {', '.join(usage.get('models') or [])}[/]"
            )

    def _line(self, renderable: Any) -> None:
        if not self.at_line_start:
            console.print()
        console.print(renderable)
        self.at_line_start = True

    def _refresh(self) -> None:
        if not self.running:
            self._stop_live()
            return
        lines = [
            Spinner("dots", Text(f" {call['name']} {_brief(call.get('input'))}", style="cyan"))
            for call in self.running.values()
        ]
        if self.live is None:
            if not self.at_line_start:
                console.print()
                self.at_line_start = True
            self.live = Live(Group(*lines), console=console, transient=True)
            self.live.start()
        else:
            self.live.update(Group(*lines))

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _result(self, call: dict[str, Any], part: dict[str, Any]) -> None:
        name = call["name"]
        if part["type"] == "tool-output-denied":
            self._line(f"[yellow]✗ {name}: declined[/]")
            return
        if part["type"] == "tool-output-error":
            self._line(f"[red]✗ {name}: {escape(part.get('errorText', ''))}[/]")
            return
        output = part.get("output") or {}
        self._line(f"[green]✓ {name}[/] [dim]{_brief(call.get('input'))}[/]")
        if name == "search_flights":
            self._line(_flights_table(output))
        elif name == "get_weather":
            self._line(_weather_line(output))
        elif isinstance(output.get("booking"), dict):
            self._line(_booking_panel(output["booking"]))


def _brief(arguments: Any) -> str:
    if not isinstance(arguments, dict):
        return "…"
    shown = {k: v for k, v in arguments.items() if v not in (None, [], {}) and k != "contact"}
    if isinstance(shown.get("passengers"), list):
        shown["passengers"] = ", ".join(str(p.get("full_name", "?")) for p in shown["passengers"])
    return " ".join(f"{k}={v}" for k, v in shown.items())


def _vnd(amount: Any) -> str:
    return f"{int(amount):,}".replace(",", ".") + " ₫"


def _flights_table(output: dict[str, Any]) -> Any:
    flights = output.get("flights") or []
    if not flights:
        return Text(output.get("message") or "no flights", style="yellow")
    query = output.get("query") or {}
    title = f"{query.get('from', {}).get('city', '?')} → {query.get('to', {}).get('city', '?')}, {query.get('date')}"
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("flight", "airline", "departs", "arrives", "duration", "price", "seats"):
        table.add_column(column, justify="right" if column in ("price", "seats") else "left")
    for f in flights[:6]:
        minutes = int(f["duration_minutes"])
        table.add_row(
            f["flight_number"],
            f["airline_name"],
            f["departs_at"][11:16],
            f["arrives_at"][11:16],
            f"{minutes // 60}h{minutes % 60:02d}",
            _vnd(f["price_vnd"]),
            str(f["seats_left"]),
        )
    if len(flights) > 6:
        table.caption = f"… {len(flights) - 6} more"
    return table


def _weather_line(output: dict[str, Any]) -> Text:
    place = output.get("place") or {}
    normal = " (usual for the month)" if output.get("is_climate_normal") else ""
    return Text(
        f"☁ {place.get('city')} {output.get('day')}: {output.get('condition_vi')} / "
        f"{output.get('condition_en')}, {output.get('temp_min_c')}–{output.get('temp_max_c')} °C, "
        f"rain {output.get('precip_prob_pct')} %{normal}",
        style="cyan",
    )


def _booking_panel(booking: dict[str, Any]) -> Panel:
    flight = booking.get("flight") or {}
    names = ", ".join(p["full_name"] for p in booking.get("passengers") or [])
    body = (
        f"[bold]{booking['reference']}[/] · {booking['status']}\n"
        f"{flight.get('flight_number')} {flight.get('origin')}→{flight.get('destination')} "
        f"{str(flight.get('departs_at', ''))[:16].replace('T', ' ')}\n"
        f"{escape(names)} · {_vnd(booking['total_vnd'])}"
    )
    if booking.get("hold_expires_at"):
        body += f"\nheld until {booking['hold_expires_at'][11:16]}"
    return Panel(body, title="booking", border_style="green")


def _stream(
    client: httpx2.Client,
    method: str,
    url: str,
    body: dict[str, Any],
    calls: dict[str, dict[str, Any]],
) -> Reply:
    reply, renderer = Reply(), Renderer(calls)
    headers = {"accept": "text/event-stream"}
    with client.stream(method, url, json=body, headers=headers) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
        for part in _events(response):
            renderer.handle(part, reply)
    renderer.close(reply)
    return reply


def run_conversation(client: httpx2.Client, title: str, messages: list[str]) -> bool:
    """One conversation; approvals are given as the traveller would. False if a reply failed."""
    chat_id = f"demo-{uuid.uuid4().hex[:12]}"
    console.rule(f"[bold]{title}[/] · conversation {chat_id}")
    ok = True
    calls: dict[str, dict[str, Any]] = {}
    for text in messages:
        console.print(f"\n[bold magenta]you>[/] {escape(text)}")
        console.print("[bold cyan]agent>[/] ", end="")
        body = {
            "id": chat_id,
            "messages": [
                {"id": uuid.uuid4().hex, "role": "user", "parts": [{"type": "text", "text": text}]}
            ],
            "trigger": "submit-message",
        }
        reply = _stream(client, "POST", "/v1/chat", body, calls)
        while reply.approvals and not reply.failed:
            request = reply.approvals.pop(0)
            console.print("[bold yellow]traveller approves[/] → continuing the same reply")
            url = f"/v1/conversations/{chat_id}/approvals/{request['approvalId']}"
            reply = _stream(client, "POST", url, {"approved": True}, calls)
        if reply.failed:
            ok = False
    return ok


# Entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seed.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--no-serve", action="store_true", help="run the script, then exit")
    parser.add_argument("--port", type=int, default=8000, help="preferred port (0: any free)")
    args = parser.parse_args(argv)

    settings = Settings()
    url = _prepare(settings)
    port = _free_port(args.port)
    server = _start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    console.print(f"[dim]server: {base} (offline model unless BOOKING_LLM_* is set)[/]")
    try:
        day = today(clock_from(settings)) + timedelta(days=12)
        ok = True
        with httpx2.Client(base_url=base, timeout=httpx2.Timeout(60.0)) as client:
            for title, messages in _script(day):
                ok = run_conversation(client, title, messages) and ok
        console.rule()
        console.print(f"\n[bold]Web chat:[/] {base}/   ·   API docs: {base}/docs")
        if args.no_serve:
            return 0 if ok else 1
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
