"""Schema changes only through migrations: the migrated database must match the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.core.database import pending_migrations, run_on_connection
from app.models import metadata


def _diff(database_url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata()))

    return run_on_connection(database_url, compare)


def test_autogenerate_finds_nothing_to_do(database_url: str) -> None:
    assert _diff(database_url) == []


def test_database_is_at_the_newest_migration(database_url: str) -> None:
    assert not pending_migrations(database_url)
