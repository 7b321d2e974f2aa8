"""The README's examples and every command's ``--help``, run for real on the demo's data, today.

The fenced block after ``<!-- readme-test: run -->`` in README.md runs line by line, as written,
after ``python -m seed.demo --no-serve`` filled a scratch database (so "works after `make demo`"
is what is checked, bookings included) with the real clock: relative dates are the run day's.
``booking serve`` and ``booking offline-model serve`` lines start real processes on free ports
(19000-19049, the README's ports rewritten in the lines after them) that the ``curl`` line talks
to; ``KEY=$(…)`` lines set the variable for the lines after them.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from booking.cli import app
from booking.db.engine import libpq_url
from booking.settings import SERVICE_TZ
from tests.conftest import ROOT, ScratchDatabases
from tests.support.waits import wait_for

README = ROOT / "README.md"
MARK = "<!-- readme-test: run -->"
PORTS = range(19000, 19050)
BACKGROUND = re.compile(r"booking (serve|offline-model serve)\b")
ASSIGN = re.compile(r"^(\w+)=\$\((.*)\)(\s+#.*)?$")


def run(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``command`` from the repository's root, its output captured as text."""
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=check
    )


def readme_lines() -> list[str]:
    """The runnable block's commands, continuation lines (``\\``) joined."""
    text = README.read_text()
    assert MARK in text, "README.md has no block marked to run"
    block = text.split(MARK, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return block.replace("\\\n", " ").strip().splitlines()


def _bin(line: str) -> str:
    """``.venv/bin/`` is the README's venv; CI may build it elsewhere (scripts/test: $VENV)."""
    if (ROOT / ".venv/bin/booking").exists():
        return line
    return line.replace(".venv/bin/", f"{Path(sys.executable).parent}/")


def _free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise AssertionError("no free port in 19000-19049")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _vn_today() -> date:
    return datetime.now(SERVICE_TZ).date()


@pytest.fixture(scope="module")
def demo_env(scratch: ScratchDatabases) -> dict[str, str]:
    """After ``make demo``: its schedule from today, its confirmed bookings; no BOOKING_NOW."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update(
        BOOKING_DATABASE_URL=scratch.create("booking_readme"),
        BOOKING_OFFLINE_PACE_MS="0",
        COLUMNS="120",
    )
    done = run(
        [sys.executable, "-m", "seed.demo", "--no-serve", "--port", "0"], env=env, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "· confirmed" in done.stdout
    return env


@pytest.fixture
def background() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _expect(line: str, out: str) -> None:
    """The documented output shape of each kind of line."""
    ahead = re.search(r" \+(\d+)d\b", line)
    day = (_vn_today() + timedelta(days=int(ahead[1]))).isoformat() if ahead else None
    if "booking search" in line:
        assert "┃ Flight ┃ Airline" in out, out
        assert day is not None
        assert day in out, out
    elif "booking weather" in line:
        assert re.search(r"\((forecast|climate normal)\): .+°C", out), out
        assert day is not None
        assert day in out, out
    elif "booking chat" in line:
        assert out.count("agent>") == len(shlex.split(line.split("#")[0])) - 2 - (
            "--details" in line
        )
        assert re.search(r"✓ (search_flights|get_weather)", out), out
        assert "**" not in out, out
        assert not re.search(r"^- ", out, re.MULTILINE), out
        assert ("first token" in out) == ("--details" in line), out
    elif "booking seed" in line:
        assert re.search(r"seeded [\d,]+ flights", out), out
    elif line.startswith("curl"):
        assert '"type":"start"' in out, out
        assert '"type":"tool-output-available"' in out, out
        assert out.rstrip().endswith("data: [DONE]"), out[-500:]
    else:
        raise AssertionError(f"no expected output written for {line!r}")


def test_readme_cli_block_runs_as_written_after_the_demo(
    demo_env: dict[str, str], background: list[subprocess.Popen[bytes]]
) -> None:
    env = dict(demo_env)
    ports: dict[str, str] = {}
    taken: set[int] = set()
    lines = readme_lines()
    assert any(BACKGROUND.search(line) for line in lines)
    assert any(line.startswith("curl") for line in lines)
    for written in lines:
        line = _bin(written)
        for old, new in ports.items():
            line = line.replace(f"127.0.0.1:{old}", f"127.0.0.1:{new}")
        if BACKGROUND.search(line):
            documented = re.search(r"--port (\d+)", line)
            assert documented, line
            port = _free_port(taken)
            ports[documented[1]] = str(port)
            line = line.replace(documented[0], f"--port {port}")
            process = subprocess.Popen(
                ["bash", "-c", f"exec {line.split('#')[0]}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            background.append(process)
            wait_for(
                lambda p=process, n=port: p.poll() is not None or _listening(n),  # type: ignore[misc]
                timeout=30,
            )
            assert process.poll() is None, f"{written!r} exited with {process.returncode}"
            continue
        assigned = ASSIGN.match(line)
        command = assigned[2] if assigned else line
        done = run(["bash", "-c", command], env=env, timeout=120)
        assert done.returncode == 0, f"{written!r}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        if assigned:
            env[assigned[1]] = done.stdout.strip()
            assert re.fullmatch(r"\S{20,}", env[assigned[1]]), done.stdout
        else:
            _expect(line, done.stdout)


def test_readme_error_example_is_the_real_output(demo_env: dict[str, str]) -> None:
    text = README.read_text()
    example = re.search(r"`(booking search [^`]+)` prints\s+`(error: [^`]+)`", text)
    assert example, "README's error example not found"
    done = run(
        [sys.executable, "-m", "booking", *shlex.split(example[1])[1:]], env=demo_env, timeout=60
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == example[2]


def test_search_past_the_schedule_names_its_last_day(demo_env: dict[str, str]) -> None:
    # The demo seeds 45 days, the README's `booking seed` line 120: ask the schedule itself.
    with psycopg.connect(libpq_url(demo_env["BOOKING_DATABASE_URL"])) as conn:
        row = conn.execute("SELECT max(service_date) FROM flights").fetchone()
    assert row is not None
    assert isinstance(row[0], date)
    last = row[0]
    past = last + timedelta(days=10)
    done = run(
        [sys.executable, "-m", "booking", "search", "SGN", "HAN", past.isoformat()],
        env=demo_env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"the schedule on sale ends on {last.isoformat()}" in done.stdout, done.stdout


def test_every_demo_option_is_documented() -> None:
    done = run([sys.executable, "-m", "seed.demo", "--help"], timeout=60, check=True)
    options = set(re.findall(r"(--[a-z][a-z-]+)", done.stdout)) - {"--help"}
    assert options >= {"--port", "--no-serve", "--details"}
    readme = README.read_text()
    for option in options:
        assert f"`{option}" in readme, f"make demo's {option} is not in README.md"
    assert 'make demo ARGS="--port' in readme


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``group`` (typer's own click: groups have ``commands``)."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def test_every_command_help_runs_and_its_examples_work(demo_env: dict[str, str]) -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    examples: list[list[str]] = []
    commands = list(_commands(root))
    assert len(commands) >= 15
    for path, command in commands:
        shown = runner.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, (path, shown.output)
        assert "Usage:" in shown.output
        for example in re.findall(r"`booking ([^`]+)`", command.help or ""):
            args = shlex.split(example)
            # The example names this command and parses: types, required arguments, options.
            assert tuple(args[: len(path)]) == path, (path, example)
            command.make_context(" ".join(path), args[len(path) :])
            examples.append(args)
    assert {a[0] for a in examples} >= {"search", "weather", "chat"}
    for args in examples:
        done = run([sys.executable, "-m", "booking", *args], env=demo_env, timeout=120)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        assert done.stdout.strip(), args
