"""Fixtures of the integration tests that drive the turn runtime on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking.domain.places import Gazetteer
from booking.settings import Settings
from tests.support.turn_runtime import Runtime


@pytest.fixture
async def runtime(
    engine: AsyncEngine, settings: Settings, gazetteer: Gazetteer
) -> AsyncIterator[Runtime]:
    """A turn manager on the test database with the scripted model (see ``Runtime``)."""
    assert settings.database_url
    built = Runtime(engine, settings.database_url, gazetteer)
    yield built
    await built.close()
