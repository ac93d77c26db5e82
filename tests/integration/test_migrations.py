"""Schema changes only through migrations: the migrated database must match the models."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from app.core.database import create_engine, metadata, pending_migrations


def _diff(database_url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata()))

    async def run() -> list[Any]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_autogenerate_finds_nothing_to_do(database_url: str) -> None:
    assert _diff(database_url) == []


def test_database_is_at_the_newest_migration(database_url: str) -> None:
    assert not pending_migrations(database_url)
