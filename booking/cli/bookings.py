"""``booking holds`` and ``booking inventory``: upkeep of held bookings and seat counts."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from booking.cli.common import console, err, run_domain
from booking.settings import Settings

holds_app = typer.Typer(help="Held bookings.", no_args_is_help=True)
inventory_app = typer.Typer(help="Seat inventory.", no_args_is_help=True)


@holds_app.command("expire")
def holds_expire() -> None:
    """Expire held bookings past their time and release their seats (the server does this too)."""
    from booking.domain import bookings
    from booking.domain.dates import clock_from

    settings = Settings()

    async def work(session: Any, _places: Any, _today: date) -> int:
        # The session's transaction is already open (the gazetteer was read in it): commit it.
        expired = await bookings.expire_holds(session, clock_from(settings).now())
        await session.commit()
        return expired

    console.print(f"expired {run_domain(settings, work)} held bookings")


@inventory_app.command("check")
def inventory_check() -> None:
    """Recompute booked seats from the bookings; exit 1 if any fare drifted."""
    from booking.domain import bookings

    settings = Settings()

    async def work(session: Any, _places: Any, _today: date) -> list[dict[str, Any]]:
        return await bookings.inventory_drift(session)

    drift = run_domain(settings, work)
    if drift:
        for row in drift:
            err.print(
                f"flight {row['flight_id']} {row['cabin']}: seats_booked {row['seats_booked']} "
                f"but live bookings hold {row['live_passengers']}"
            )
        raise typer.Exit(1)
    console.print("inventory consistent: booked seats match live bookings on every fare")
