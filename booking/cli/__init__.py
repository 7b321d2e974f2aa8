"""The ``booking`` command: a few lines per subcommand, calling library code.

Errors print one clear line and exit non-zero; tracebacks are for bugs only. Each command group
has its module; this one puts them together. Installed packages add their own commands through
the ``booking.commands`` entry-point group, the way Flask loads ``flask.commands``: the ``seed``
package adds ``booking seed``, so the product never imports the seeder.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from booking.cli import bookings, chat, db, keys, offline_model, serve, tenants, travel
from booking.cli.common import err

#: The entry-point group whose functions become ``booking`` subcommands, under their names.
COMMANDS_GROUP = "booking.commands"

app = typer.Typer(help="Flight-booking agent service.", no_args_is_help=True, add_completion=False)
for entry_point in entry_points(group=COMMANDS_GROUP):
    app.command(entry_point.name)(entry_point.load())
app.command()(travel.search)
app.command()(travel.weather)
app.command()(chat.chat)
app.command()(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(offline_model.app, name="offline-model")
app.add_typer(bookings.holds_app, name="holds")
app.add_typer(bookings.inventory_app, name="inventory")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="tenants")


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        # Bad BOOKING_* environment values.
        first = exc.errors()[0]
        err.print(f"[bold red]error:[/] bad setting {first['loc']}: {first['msg']}")
        raise SystemExit(2) from None
