"""A real PgBouncer (the Debian package) in transaction mode in front of the test PostgreSQL.

Hand-written rather than the ``pgbouncer`` fixture package on PyPI: that one needs psycopg2,
``fixtures`` and ``testtools``, and starting the binary with a config file is all it does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BINARY = "/usr/sbin/pgbouncer"
#: Ports for the fleet helpers' servers (pgbouncer included); see the issue #15 notes.
PORTS = range(18700, 18800)


@dataclass
class PgBouncer:
    port: int
    log_path: Path

    def url_for(self, url: str) -> str:
        """``url`` (any database on the test server) reached through this PgBouncer instead."""
        parts = urlsplit(url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port(ports: range = PORTS) -> int:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {ports}")


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 4) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode for every database of ``server_url``'s server (trust)."""
    if not Path(BINARY).exists():
        raise AssertionError(f"{BINARY} is missing: apt-get install pgbouncer (.ci/run does)")
    target = urlsplit(server_url)
    user = target.username or "postgres"
    # Not under pytest's tmp_path (mode 0700): pgbouncer refuses to run as root and drops to
    # the postgres user, who must read its files.
    folder = Path(tempfile.mkdtemp(prefix="booking-pgbouncer-"))
    folder.chmod(0o755)
    port = free_port()
    log_path = folder / "pgbouncer.log"
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={target.hostname or '127.0.0.1'} port={target.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmax_client_conn = 500\n"
        f"logfile = {log_path}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    os.chown(folder, _uid("postgres"), -1)
    command = [BINARY, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    with (folder / "stderr.txt").open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        _wait_listening(port, process, folder)
        yield PgBouncer(port, log_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid if os.geteuid() == 0 else os.geteuid()


def _wait_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = "".join(
                path.read_text(errors="replace")
                for path in (folder / "stderr.txt", folder / "pgbouncer.log")
                if path.exists()
            )
            raise AssertionError(f"pgbouncer exited ({process.returncode}): {output}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"pgbouncer not listening on {port} within 10 s")
