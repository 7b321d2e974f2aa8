"""How the demo shows a streamed reply: text rendered as Markdown as it streams, a live line per
running tool call, results as tables and panels; the model's usage only with ``--details``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from booking.cli.markdown import MarkdownStream, usage_line

console = Console()


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
    """Text as Markdown as it streams; a live spinner line per running tool; results as tables."""

    def __init__(self, calls: dict[str, dict[str, Any]], *, details: bool = False) -> None:
        self.calls = calls
        """Every tool call of the conversation: an approved call's result arrives in a later
        stream (the continuation) than its name and input."""
        self.details = details
        self.running: dict[str, dict[str, Any]] = {}
        self.live: Live | None = None
        self.text = MarkdownStream(console)
        self.at_line_start = True

    def handle(self, part: dict[str, Any], reply: Reply) -> None:
        kind = part.get("type")
        if kind == "text-delta":
            self._stop_live()
            self.text.add(part["delta"])
            return
        self.text.flush()
        if kind == "tool-input-start":
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
        self.text.flush()
        self._stop_live()
        if not self.at_line_start:
            console.print()
        usage = reply.metadata.get("usage") or {}
        if usage and self.details:
            console.print(f"[dim]{escape(usage_line(usage))}[/]", highlight=False)

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
    # One count, the search's: the same total the answer's text gives.
    total = max(int(output.get("total_matches") or 0), len(flights))
    if total > min(len(flights), 6):
        table.caption = f"{min(len(flights), 6)} of {total} flights"
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


def stream_reply(
    client: httpx2.Client,
    method: str,
    url: str,
    body: dict[str, Any],
    calls: dict[str, dict[str, Any]],
    *,
    details: bool = False,
) -> Reply:
    """Send ``body`` to ``url``, show the streamed reply as it comes; return what it asked for.

    ``details``: the model's usage (model, time to first token, tokens, cost) after the reply."""
    reply, renderer = Reply(), Renderer(calls, details=details)
    headers = {"accept": "text/event-stream"}
    with client.stream(method, url, json=body, headers=headers) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
        for part in _events(response):
            renderer.handle(part, reply)
    renderer.close(reply)
    return reply
