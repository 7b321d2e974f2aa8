"""``booking holds expire`` on a real database: it runs, expires the lapsed holds and says how many."""

from __future__ import annotations

import psycopg
import pytest
from typer.testing import CliRunner

from booking.cli import app
from booking.db.engine import libpq_url
from tests.conftest import TEST_NOW


def test_holds_expire_runs_and_reports(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKING_DATABASE_URL", seeded_url)
    monkeypatch.setenv("BOOKING_NOW", TEST_NOW.isoformat())
    lapsed_sql = "SELECT count(*) FROM bookings WHERE status = 'held' AND hold_expires_at <= %s"
    with psycopg.connect(libpq_url(seeded_url)) as conn:
        (lapsed,) = conn.execute(lapsed_sql, [TEST_NOW]).fetchone() or (0,)

    result = CliRunner().invoke(app, ["holds", "expire"])

    assert result.exit_code == 0, result.output
    assert f"expired {lapsed} held bookings" in result.output
    with psycopg.connect(libpq_url(seeded_url)) as conn:
        assert conn.execute(lapsed_sql, [TEST_NOW]).fetchone() == (0,)
