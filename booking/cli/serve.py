"""``booking serve``: the HTTP API under uvicorn, with the edge limits of :mod:`booking.api.server`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from booking.cli.common import console, fail, guard, url
from booking.settings import Settings


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    from booking.api import server
    from booking.db import migrate
    from booking.logs import configure_logging

    settings = Settings()
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.auth == "off" and not _is_loopback(bind_host):
        raise fail(
            f"refusing to serve with BOOKING_AUTH=off on {bind_host}: bind to 127.0.0.1 or turn auth on"
        )
    database = url(settings)
    if migrate_first:
        guard(lambda: migrate.upgrade(database))
    configure_logging()
    console.print(f"booking API at http://{bind_host}:{bind_port} (auth {settings.auth})")
    # Workers inherit the resolved URL, so they share the embedded server instead of each
    # starting one.
    os.environ["BOOKING_DATABASE_URL"] = database
    # The edge limits (header size and count, read and keep-alive timeouts, connection cap)
    # come with the config: booking.api.server.
    config = server.uvicorn_config(
        "booking.api.app:create_app",
        settings,
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )
    server.run(config)
