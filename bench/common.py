"""Shared bits for the benchmarks: the database server to use and percentile printing."""

from __future__ import annotations

import os
import statistics
from pathlib import Path

from booking.db.embedded import embedded_url
from booking.settings import normalize_database_url

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
