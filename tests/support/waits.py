"""Waiting in tests: one deadline for anything expected "soon", and polling until it happens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Longest wait for anything a test expects to happen "soon".
DEADLINE_S = 10.0


def wait_for(
    condition: Callable[[], T | None], timeout: float = DEADLINE_S, interval: float = 0.05
) -> T:
    """Poll until ``condition()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
