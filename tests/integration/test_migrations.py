"""Migrations: up, down and up again on an empty database; models never drift from them."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, create_engine

from booking.db import (
    migrate,
    models,  # noqa: F401  (registers the tables)
)
from booking.db.base import Base
from booking.db.engine import libpq_url
from tests.conftest import ScratchDatabases


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {name for (name,) in rows}


def test_upgrade_downgrade_upgrade_round_trip(scratch: ScratchDatabases) -> None:
    url = scratch.create()
    migrate.upgrade(url)
    assert {"flights", "fares", "airports", "place_aliases", "weather_daily"} <= _tables(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    migrate.downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()


def test_models_match_migrations(seeded_url: str) -> None:
    # Run on the seeded database: the seeder rebuilds indexes and constraints, so this also
    # proves it rebuilds them exactly as the migrations define them.
    migrate.check(seeded_url)


def test_comparison_sees_drift(seeded_url: str) -> None:
    # The same comparison `alembic check` runs, against a copy of the models with one extra column.
    probe = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(probe)
    Table("airlines", probe, Column("drift_probe", Integer), extend_existing=True)
    engine = create_engine(seeded_url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), probe)
    engine.dispose()
    assert [d[0] for d in diffs] == ["add_column"]
    assert diffs[0][3].name == "drift_probe"
