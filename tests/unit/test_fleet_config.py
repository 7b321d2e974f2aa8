"""The fleet's pure parts: the rate limiter's share of the limit, and the pooler settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from booking.api.auth import RateLimiter
from booking.db.engine import direct_url, psycopg_options
from booking.errors import RateLimited
from booking.settings import Settings
from tests.support.waits import wait_for

POOLED = "postgresql://postgres@127.0.0.1:18799/booking"
DIRECT = "postgresql://postgres@127.0.0.1:5432/booking"


def admitted(limiter: RateLimiter, key: str, attempts: int) -> int:
    count = 0
    for _ in range(attempts):
        try:
            limiter.check(key)
        except RateLimited:
            continue
        count += 1
    return count


class TestRateLimiterShare:
    def test_each_replica_allows_its_share(self) -> None:
        limiter = RateLimiter(per_minute=10, replicas=2)
        assert admitted(limiter, "k", 10) == 5
        assert admitted(limiter, "other", 10) == 5

    def test_alone_a_process_allows_the_whole_limit(self) -> None:
        assert admitted(RateLimiter(per_minute=10), "k", 20) == 10

    def test_more_replicas_than_the_limit_still_allow_one_request_each(self) -> None:
        limiter = RateLimiter(per_minute=3, replicas=10)
        assert admitted(limiter, "k", 1) == 1
        with pytest.raises(RateLimited) as refused:
            limiter.check("k")
        # The share refills at 3/10 a minute: a whole request takes 200 s.
        assert refused.value.details["retry_after"] == 200

    def test_a_bucket_is_forgotten_once_full_again(self) -> None:
        limiter = RateLimiter(per_minute=60)
        limiter.check("k")
        limiter.prune()
        assert "k" in limiter._buckets  # One token short: it refills in a second.

        def forgotten() -> bool:
            limiter.prune()
            return not limiter._buckets

        wait_for(forgotten)


class TestPoolerSettings:
    def test_transaction_mode_needs_a_direct_url(self) -> None:
        with pytest.raises(ValidationError, match="BOOKING_DATABASE_DIRECT_URL"):
            Settings(database_url=POOLED, database_pooler="transaction")

    def test_transaction_mode_turns_prepared_statements_off(self) -> None:
        settings = Settings(
            database_url=POOLED, database_pooler="transaction", database_direct_url=DIRECT
        )
        assert psycopg_options(settings.database_pooler) == {"prepare_threshold": None}
        assert (
            direct_url(POOLED, settings) == "postgresql+psycopg://postgres@127.0.0.1:5432/booking"
        )

    def test_without_a_pooler_listen_uses_the_database_url(self) -> None:
        settings = Settings(database_url=DIRECT)
        assert psycopg_options(settings.database_pooler) == {}
        assert direct_url("postgresql+psycopg://x/y", settings) == "postgresql+psycopg://x/y"
