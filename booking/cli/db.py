"""``booking db``: the database schema and the embedded server."""

from __future__ import annotations

import typer

from booking.cli.common import console, guard, url
from booking.settings import Settings

app = typer.Typer(help="Database schema and the embedded server.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to REVISION (default: head)."""
    from booking.db import migrate

    settings = Settings()
    guard(lambda: migrate.upgrade(url(settings), revision))
    console.print(f"database at {migrate.head_revision() if revision == 'head' else revision}")


@app.command("downgrade")
def db_downgrade(revision: str = "-1") -> None:
    """Undo migrations down to REVISION (default: one step)."""
    from booking.db import migrate

    settings = Settings()
    guard(lambda: migrate.downgrade(url(settings), revision))
    console.print(f"database at {guard(lambda: migrate.current_revision(url(settings)))}")


@app.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head."""
    from booking.db import migrate

    settings = Settings()
    current = guard(lambda: migrate.current_revision(url(settings)))
    console.print(f"current: {current or '(empty)'}  head: {migrate.head_revision()}")


@app.command("maintain")
def db_maintain() -> None:
    """Run one retention pass now: partitions ahead, compaction, partition drops, expiry."""
    import asyncio

    from booking.db.engine import make_async_engine, make_sessionmaker
    from booking.turns.retention import PassReport, RetentionKeeper

    settings = Settings()

    async def run() -> PassReport:
        engine = make_async_engine(url(settings), settings)
        try:
            keeper = RetentionKeeper(
                make_sessionmaker(engine), resume_window_s=settings.resume_window_s
            )
            return await keeper.run_once()
        finally:
            await engine.dispose()

    report = guard(lambda: asyncio.run(run()))
    if report.skipped:
        console.print("another process is running a retention pass; nothing done")
        return
    console.print(
        f"partitions created: {', '.join(report.created_partitions) or 'none'}; "
        f"turns archived: {report.archived_turns}; "
        f"partitions dropped: {', '.join(report.dropped_partitions) or 'none'}; "
        f"conversations expired: {report.expired_conversations}"
    )


@app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL, if it runs."""
    from booking.db.embedded import stop_embedded

    settings = Settings()
    stopped = stop_embedded(settings.pg_data_dir)
    console.print("embedded PostgreSQL stopped" if stopped else "no embedded PostgreSQL running")
