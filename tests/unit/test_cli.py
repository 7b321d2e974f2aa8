"""The ``booking`` command as put together: every group, and the commands installed packages add."""

from __future__ import annotations

from typer.testing import CliRunner

from booking.cli import app

runner = CliRunner()


def test_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        *("seed", "search", "weather", "chat", "serve"),
        *("db", "offline-model", "holds", "inventory", "keys"),
    ):
        assert f" {command} " in result.output


def test_seed_comes_from_the_seed_package_entry_point() -> None:
    """``booking`` never imports ``seed``; the seeder registers ``booking seed`` itself."""
    (command,) = (c for c in app.registered_commands if c.name == "seed")
    assert command.callback is not None
    assert command.callback.__module__ == "seed.cli"
    result = runner.invoke(app, ["seed", "--help"])
    assert result.exit_code == 0
    assert "--if-empty" in result.output
