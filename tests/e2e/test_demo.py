"""`make demo` as CI runs it (`--no-serve`): a fresh database, the server, and the scripted
conversations over HTTP, in Vietnamese and English, down to confirmed bookings."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT, TEST_NOW, ScratchDatabases


def test_demo_runs_the_conversations_to_confirmed_bookings(scratch: ScratchDatabases) -> None:
    url = scratch.create("booking_demo_test")
    env = {
        **os.environ,
        "BOOKING_DATABASE_URL": url,
        "BOOKING_NOW": TEST_NOW.isoformat(),
        "BOOKING_OFFLINE_PACE_MS": "0",
        "COLUMNS": "120",
    }
    done = subprocess.run(
        [sys.executable, "-m", "seed.demo", "--no-serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert re.search(r"seeded [\d,]+ flights", out)
    # Weather and flights in one message, as tables and a weather line.
    assert "✓ get_weather" in out
    assert "✓ search_flights" in out
    assert "┃ flight ┃ airline" in out
    # The follow-up searched the next day.
    assert out.count("✓ search_flights") >= 3
    # Each booking took one approval and ended confirmed, in both languages.
    assert out.count("approval requested") == 2
    references = re.findall(r"([ACDEFGHJKMNPQRTUVWXY34679]{6}) · confirmed", out)
    assert len(set(references)) == 2, out[-3000:]
    assert "Mã đặt chỗ" in out
    assert "Booking reference" in out
    # Answers are rendered Markdown: no literal emphasis or list markers reach the terminal.
    assert "**" not in out
    assert not re.search(r"^- ", out, re.MULTILINE)
    # No developer line under the answers without --details.
    assert "first token" not in out
    # --no-serve stops the server: no address it no longer serves.
    assert "http://" not in out
    assert "the server is stopped (--no-serve)" in out
