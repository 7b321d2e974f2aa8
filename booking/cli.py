"""The ``booking`` command: a few lines per subcommand, calling library code.

Errors print one clear line and exit non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date as date_type
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from booking.errors import BookingError
from booking.settings import Settings

app = typer.Typer(help="Flight-booking agent service.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema and the embedded server.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# Piped output (CI logs, `| less`) gets room for the flight table instead of rich's 80 columns.
console = Console(width=None if Console().is_terminal else 120)
err = Console(stderr=True)
T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


def _url(settings: Settings) -> str:
    from booking.db.embedded import database_url

    return database_url(settings)


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn expected failures into one-line messages."""
    import sqlalchemy.exc

    try:
        return fn()
    except BookingError as exc:
        raise _fail(f"{exc.message} [{exc.code}]") from None
    except (sqlalchemy.exc.OperationalError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(f"database unavailable: {first}") from None
    except sqlalchemy.exc.ProgrammingError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        raise _fail(f"{first} (has `booking db upgrade` run?)") from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to REVISION (default: head)."""
    from booking.db import migrate

    settings = Settings()
    _guard(lambda: migrate.upgrade(_url(settings), revision))
    console.print(f"database at {migrate.head_revision() if revision == 'head' else revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "-1") -> None:
    """Undo migrations down to REVISION (default: one step)."""
    from booking.db import migrate

    settings = Settings()
    _guard(lambda: migrate.downgrade(_url(settings), revision))
    console.print(f"database at {_guard(lambda: migrate.current_revision(_url(settings)))}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head."""
    from booking.db import migrate

    settings = Settings()
    current = _guard(lambda: migrate.current_revision(_url(settings)))
    console.print(f"current: {current or '(empty)'}  head: {migrate.head_revision()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL, if it runs."""
    from booking.db.embedded import stop_embedded

    settings = Settings()
    stopped = stop_embedded(settings.pg_data_dir)
    console.print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL running")


@app.command()
def seed(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 42,
    today: Annotated[
        str | None, typer.Option(help="First day of the schedule (default: today in Vietnam).")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=730, help="Schedule horizon in days.")] = 120,
    scale: Annotated[float, typer.Option(min=0.01, max=100, help="Multiplies frequencies.")] = 1.0,
    replace_bookings: Annotated[
        bool, typer.Option(help="Delete every booking too (refused otherwise while any is live).")
    ] = False,
    if_empty: Annotated[
        bool,
        typer.Option(help="Do nothing when flights exist (deployments: seed the first time only)."),
    ] = False,
) -> None:
    """Load reference data, the flight schedule with fares, and weather."""
    from booking.domain.dates import clock_from, today as today_of
    from seed.load import SeedOptions, SeedRefused, seed_database

    settings = Settings()
    try:
        first_day = date_type.fromisoformat(today) if today else today_of(clock_from(settings))
    except ValueError:
        raise _fail(f"--today must be YYYY-MM-DD, not {today!r}") from None
    options = SeedOptions(
        seed=seed, today=first_day, days=days, scale=scale, replace_bookings=replace_bookings
    )
    if if_empty:
        from seed.load import has_flights

        if _guard(lambda: has_flights(_url(settings))):
            console.print("flights already seeded; nothing to do (--if-empty)")
            return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("seeding", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            report = _guard(lambda: seed_database(_url(settings), options, progress=progress))
        except SeedRefused as exc:
            raise _fail(str(exc)) from None
    console.print(
        f"seeded {report.flights:,} flights, {report.fares:,} fares, {report.airports} airports, "
        f"{report.aliases} place spellings, {report.weather_days:,} weather days "
        f"from {first_day} for {days} days in {report.seconds:.1f}s"
    )


def _run_domain(settings: Settings, work: Callable[[Any, Any, date_type], Awaitable[T]]) -> T:
    """Open a session, load the gazetteer, run ``work(session, gazetteer, today)``."""
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.dates import clock_from, today as today_of
    from booking.domain.directory import load_gazetteer

    async def main() -> T:
        engine = make_async_engine(_url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session:
                places = await load_gazetteer(session)
                return await work(session, places, today_of(clock_from(settings)))
        finally:
            await engine.dispose()

    return _guard(lambda: asyncio.run(main()))


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " ₫"


@app.command()
def search(
    from_city: str,
    to_city: str,
    date: str,
    passengers: Annotated[int, typer.Option("--passengers", "-p", min=1, max=9)] = 1,
    cabin: str = "economy",
    max_price: Annotated[
        int | None, typer.Option(min=1, max=1_000_000_000, help="VND per passenger.")
    ] = None,
    depart_after: str | None = None,
    depart_before: str | None = None,
    airline: str | None = None,
    sort: str = "price",
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
) -> None:
    """Search flights, e.g. `booking search SGN "Hà Nội" 2026-06-15` (or "Sa Pa": no airport)."""
    from booking.domain.flights import search_flights

    settings = Settings()
    result = _run_domain(
        settings,
        lambda session, places, today: search_flights(
            session, places, today, from_city=from_city, to_city=to_city, date=date,
            passengers=passengers, cabin=cabin, max_price=max_price, depart_after=depart_after,
            depart_before=depart_before, airline=airline, sort=sort, limit=limit,
            max_days_ahead=settings.max_days_ahead,
        ),
    )  # fmt: skip
    q = result.query
    for place in (q.origin, q.destination):
        if place.via is not None:
            # One line per end reached by road: "Sa Pa has no airport; searching Hà Nội (HAN), ...".
            console.print(
                f"{place.via.place_vi} has no airport; searching {place.via.airport_city_vi} "
                f"({place.via.airport.iata}), about {place.via.road_hours:g} h "
                f"({place.via.road_km} km) by road"
            )
    title = (
        f"{q.origin.city.name_vi} ({'/'.join(a.iata for a in q.origin.airports)}) → "
        f"{q.destination.city.name_vi} ({'/'.join(a.iata for a in q.destination.airports)}), "
        f"{q.day.isoformat()}, {q.passengers} pax, {q.cabin}"
    )
    if not result.offers:
        console.print(f"{title}\n{result.message}")
        if result.nearest_dates:
            console.print(
                "Dates with seats: " + ", ".join(d.isoformat() for d in result.nearest_dates)
            )
        return
    table = Table(title=title, caption=f"{len(result.offers)} of {result.total_matches} flights")
    for column in (
        "Flight",
        "Airline",
        "Departs",
        "Arrives",
        "Duration",
        "Price/pax",
        "Total",
        "Seats",
    ):
        table.add_column(
            column, justify="right" if column in ("Price/pax", "Total", "Seats") else "left"
        )
    for o in result.offers:
        table.add_row(
            o.flight_number,
            o.airline_name,
            f"{o.departs_at:%H:%M} {o.origin}",
            f"{o.arrives_at:%H:%M} {o.destination}" + (" +1" if o.arrives_at.date() > o.departs_at.date() else ""),
            f"{o.duration_minutes // 60}h{o.duration_minutes % 60:02d}",
            _vnd(o.price_vnd),
            _vnd(o.total_vnd),
            str(o.seats_left),
        )  # fmt: skip
    console.print(table)


@app.command()
def weather(
    city: str,
    date: Annotated[str | None, typer.Option(help="YYYY-MM-DD or 15/6; default today.")] = None,
) -> None:
    """Weather for a place, e.g. `booking weather "Sa Pa" --date 2026-06-15`."""
    from booking.domain.weather import get_weather

    settings = Settings()
    f = _run_domain(
        settings,
        lambda session, places, today: get_weather(session, places, today, city=city, date=date),
    )
    kind = "climate normal" if f.is_climate_normal else "forecast"
    console.print(
        f"{f.place.city.name_vi}, {f.day.isoformat()} ({kind}): {f.condition_vi} / {f.condition_en}, "
        f"{f.temp_min_c:.0f}–{f.temp_max_c:.0f}°C, humidity {f.humidity_pct}%, "
        f"rain {f.precip_prob_pct}%, wind {f.wind_kph:.0f} km/h"
    )
    if f.note:
        console.print(f.note)


offline_app = typer.Typer(
    help="The built-in offline model (rule-based, not an LLM).", no_args_is_help=True
)
app.add_typer(offline_app, name="offline-model")


@offline_app.command("serve")
def offline_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8081,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the offline model as an OpenAI-compatible endpoint at http://HOST:PORT/v1."""
    import uvicorn

    from booking.domain.dates import clock_from
    from booking.offline_model.transport import OfflineModel, asgi_app

    settings = Settings()
    model = OfflineModel(
        clock_from(settings),
        pace_s=settings.offline_pace_ms / 1000,
        usd_rate=settings.usd_vnd_rate,
    )
    console.print(f"offline model (rule-based, not an LLM) at http://{host}:{port}/v1")
    uvicorn.run(asgi_app(model), host=host, port=port, log_level="warning")


@app.command()
def chat(
    messages: Annotated[
        list[str] | None,
        typer.Argument(help="Messages to send in turn; none: read lines from stdin."),
    ] = None,
    approve: Annotated[
        bool | None,
        typer.Option(
            help="Answer booking approvals yes (--approve) or no (--no-approve); "
            "default: ask on a terminal, else no."
        ),
    ] = None,
) -> None:
    """Talk to the agent in the terminal, e.g. `booking chat "Đặt vé SGN → HAN ngày 15/6"`."""
    import sys

    from booking.agent.events import (
        ApprovalRequested,
        TextDelta,
        ToolCallStarted,
        ToolError,
        ToolResult,
        TurnDone,
        TurnFailed,
    )
    from booking.agent.factory import build_orchestrator
    from booking.agent.models.select import build_model_client
    from booking.agent.orchestrator import ApprovalDecision
    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.domain.dates import clock_from
    from booking.domain.directory import load_gazetteer
    from booking.settings import environment

    settings = Settings()

    async def approver(request: ApprovalRequested) -> ApprovalDecision:
        console.print(f"\n[bold yellow]approve?[/] {escape(request.text)}")
        if approve is not None:
            console.print("yes" if approve else "no (pass --approve to accept)")
            return ApprovalDecision(approve)
        if not sys.stdin.isatty():
            console.print("no (not a terminal; pass --approve to accept)")
            return ApprovalDecision(False, "not confirmed in the terminal")
        answer = await asyncio.to_thread(input, "[y/N] ")
        return ApprovalDecision(answer.strip().lower() in ("y", "yes", "có", "co"))

    def lines() -> Iterator[str]:
        if messages:
            yield from messages
            return
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                return
            if line:
                yield line

    async def run() -> None:
        engine = make_async_engine(_url(settings), settings)
        clock = clock_from(settings)
        model = build_model_client(settings, clock, environment())
        try:
            sessionmaker = make_sessionmaker(engine)
            async with sessionmaker() as session:
                places = await load_gazetteer(session)
            orchestrator = build_orchestrator(
                settings,
                sessionmaker,
                places,
                clock,
                model,
                approver=approver,
                conversation_id=f"cli-{uuid.uuid4().hex[:12]}",
                tenant="cli",
            )
            history: list[dict[str, Any]] = []
            for text in lines():
                if messages:
                    console.print(f"[bold]you>[/] {escape(text)}")
                console.print("[bold cyan]agent>[/] ", end="")
                turn = orchestrator.start(history, text)
                async for event in turn:
                    if isinstance(event, TextDelta):
                        console.print(event.text, end="", markup=False, highlight=False)
                    elif isinstance(event, ToolCallStarted):
                        console.print(f"[dim]\\[{event.name} …][/] ", end="")
                    elif isinstance(event, ToolResult | ToolError):
                        status = "ok" if isinstance(event, ToolResult) else event.error.get("code")
                        console.print(
                            f"[dim]\\[{event.name} {status}, {event.duration_ms:.0f} ms][/] ",
                            end="",
                        )
                    elif isinstance(event, TurnDone):
                        u = event.usage
                        console.print(
                            f"\n[dim]{u.model_calls} model calls, {u.prompt_tokens}+{u.completion_tokens} "
                            f"tokens, first token {u.ttft_ms or 0:.0f} ms, model {', '.join(u.models)}[/]"
                        )
                    elif isinstance(event, TurnFailed):
                        console.print(f"\n[red]{escape(f'{event.message} [{event.code}]')}[/]")
                history += turn.messages
        finally:
            await model.aclose()
            await engine.dispose()

    _guard(lambda: asyncio.run(run()))


holds_app = typer.Typer(help="Held bookings.", no_args_is_help=True)
app.add_typer(holds_app, name="holds")
inventory_app = typer.Typer(help="Seat inventory.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")


@holds_app.command("expire")
def holds_expire() -> None:
    """Expire held bookings past their time and release their seats (the server does this too)."""
    from booking.domain import bookings
    from booking.domain.dates import clock_from

    settings = Settings()

    async def work(session: Any, _places: Any, _today: date_type) -> int:
        async with session.begin():
            return await bookings.expire_holds(session, clock_from(settings).now())

    console.print(f"expired {_run_domain(settings, work)} held bookings")


@inventory_app.command("check")
def inventory_check() -> None:
    """Recompute booked seats from the bookings; exit 1 if any fare drifted."""
    from booking.domain import bookings

    settings = Settings()

    async def work(session: Any, _places: Any, _today: date_type) -> list[dict[str, Any]]:
        return await bookings.inventory_drift(session)

    drift = _run_domain(settings, work)
    if drift:
        for row in drift:
            err.print(
                f"flight {row['flight_id']} {row['cabin']}: seats_booked {row['seats_booked']} "
                f"but live bookings hold {row['live_passengers']}"
            )
        raise typer.Exit(1)
    console.print("inventory consistent: booked seats match live bookings on every fare")


keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[
        str, typer.Option(help="A name for the key (also its tenant unless --tenant).")
    ],
    tenant: Annotated[
        str | None, typer.Option(help="Tenant whose conversations the key sees.")
    ] = None,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from booking.domain.api_keys import create_key
    from booking.db.engine import make_async_engine, make_sessionmaker

    settings = Settings()

    async def run() -> str:
        engine = make_async_engine(_url(settings), settings)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                _, key = await create_key(session, name, tenant)
            return key
        finally:
            await engine.dispose()

    key = _guard(lambda: asyncio.run(run()))
    console.print(f"key for tenant {tenant or name} (shown once, keep it secret):")
    print(key)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface (default BOOKING_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default BOOKING_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Migrate before serving.")
    ] = True,
) -> None:
    """Serve the HTTP API (uvicorn, app factory booking.api.app:create_app)."""
    import uvicorn

    from booking.logs import configure_logging
    from booking.db import migrate

    settings = Settings()
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.auth == "off" and not _is_loopback(bind_host):
        raise _fail(
            f"refusing to serve with BOOKING_AUTH=off on {bind_host}: bind to 127.0.0.1 or turn auth on"
        )
    url = _url(settings)
    if migrate_first:
        _guard(lambda: migrate.upgrade(url))
    configure_logging()
    console.print(f"booking API at http://{bind_host}:{bind_port} (auth {settings.auth})")
    # Workers inherit the resolved URL, so they share the embedded server instead of each
    # starting one.
    import os

    os.environ["BOOKING_DATABASE_URL"] = url
    uvicorn.run(
        "booking.api.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        # Bad BOOKING_* environment values.
        first = exc.errors()[0]
        err.print(f"[bold red]error:[/] bad setting {first['loc']}: {first['msg']}")
        raise SystemExit(2) from None
