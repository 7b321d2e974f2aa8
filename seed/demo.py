"""The first thing a newcomer runs (`make demo`): migrate, seed, then search and ask the weather.

Uses the embedded PostgreSQL unless BOOKING_DATABASE_URL is set. Later issues turn this into a
streamed conversation through the HTTP API.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from booking.domain.dates import clock_from, today
from booking.settings import Settings


def _booking(*args: str) -> None:
    print(f"\n$ booking {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "booking", *args], check=True)


def main() -> None:
    day = today(clock_from(Settings())) + timedelta(days=14)
    _booking("db", "upgrade")
    _booking("seed", "--days", "60")
    _booking("search", "SGN", "Hà Nội", day.strftime("%d/%m"), "--limit", "5")
    _booking(
        "search",
        "hanoi",
        "Đà Nẵng",
        day.isoformat(),
        "--cabin",
        "business",
        "-p",
        "2",
        "--limit",
        "3",
    )
    _booking("weather", "Da Nang", "--date", day.isoformat())


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
