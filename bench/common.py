"""Shared bits for the benchmarks: the database server to use and percentile printing."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import psycopg

from booking.db import migrate
from booking.db.embedded import embedded_url
from booking.db.engine import libpq_url
from booking.settings import normalize_database_url
from seed.load import SeedOptions, seed_database

ROOT = Path(__file__).resolve().parents[1]
#: The database the seed benchmark fills and the search benchmark reads.
BENCH_DB = "booking_bench"


def server_url() -> str:
    """BOOKING_BENCH_DATABASE_URL, else BOOKING_TEST_DATABASE_URL, else an embedded server."""
    url = os.environ.get("BOOKING_BENCH_DATABASE_URL") or os.environ.get(
        "BOOKING_TEST_DATABASE_URL"
    )
    if url:
        return normalize_database_url(url)
    return embedded_url(ROOT / ".booking" / "bench-pg")


def database_url(name: str = BENCH_DB) -> str:
    base, _, query = server_url().partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def percentiles(samples_ms: list[float]) -> str:
    qs = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return f"p50 {qs[49]:.3f} ms  p95 {qs[94]:.3f} ms  p99 {qs[98]:.3f} ms  (n={len(samples_ms)})"


def fresh_database(name: str, options: SeedOptions | None = None) -> str:
    """Drop and create database ``name`` on the benchmark server, migrate and seed it (three
    days at a fifth of the full schedule unless ``options`` says otherwise); its URL."""
    with psycopg.connect(libpq_url(server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    migrate.upgrade(url)
    seed_database(url, options or SeedOptions(days=3, scale=0.2))
    return url
