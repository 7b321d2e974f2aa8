"""``booking seed``: the seeder as a subcommand of the ``booking`` command.

``booking`` never imports the seeder: this package registers the command under the
``booking.commands`` entry-point group (pyproject.toml), and the CLI loads what is installed there
when it is imported. So this module imports nothing of ``booking.cli`` until the command runs:
importing it first would start the CLI's import, which loads this module while it is half done.
"""

from __future__ import annotations

from typing import Annotated

import typer


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
    from datetime import date

    from rich.progress import Progress

    from booking.cli.common import console, err, fail, guard, url
    from booking.domain.dates import clock_from, today as today_of
    from booking.settings import Settings
    from seed.load import SeedOptions, SeedRefused, has_flights, seed_database

    settings = Settings()
    try:
        first_day = date.fromisoformat(today) if today else today_of(clock_from(settings))
    except ValueError:
        raise fail(f"--today must be YYYY-MM-DD, not {today!r}") from None
    options = SeedOptions(
        seed=seed, today=first_day, days=days, scale=scale, replace_bookings=replace_bookings
    )
    if if_empty and guard(lambda: has_flights(url(settings))):
        console.print("flights already seeded; nothing to do (--if-empty)")
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("seeding", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            report = guard(lambda: seed_database(url(settings), options, progress=progress))
        except SeedRefused as exc:
            raise fail(str(exc)) from None
    console.print(
        f"seeded {report.flights:,} flights, {report.fares:,} fares, {report.airports} airports, "
        f"{report.aliases} place spellings, {report.weather_days:,} weather days "
        f"from {first_day} for {days} days in {report.seconds:.1f}s"
    )
