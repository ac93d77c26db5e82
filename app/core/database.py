"""Engine, sessions and migrations.

One async engine per process. SQLite is the embedded default (one writer at a time, so
WAL and a busy timeout); PostgreSQL is the database for several instances.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core import sqlite

# app/migrations sits above every domain (its env imports all models); core only names its folder.
MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
T = TypeVar("T")


def create_engine(database_url: str) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # Connections kept open for as many requests as run at once: past the pool's size each
        # extra one was a new connection (and aiosqlite thread) opened and closed per request.
        engine = create_async_engine(
            url, module=sqlite.dbapi(), connect_args={"timeout": 30}, pool_size=20, max_overflow=20
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No ping before each use (a round trip on every request): a connection dropped by a restart
    # fails its first statement, the pool discards the rest, and a read is run once more
    # (core.middleware.RetryReadOnce); a write answers 503 with Retry-After.
    return create_async_engine(url, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit, when the response is built.
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations. Runs its own event loop: call it from sync code only."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


def run_on_connection(database_url: str, work: Callable[[Connection], T]) -> T:
    """Run sync `work` on a connection of its own engine and event loop (commands, checks)."""

    async def run() -> T:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def pending_migrations(database_url: str) -> bool:
    """True when the database is not at the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    current = run_on_connection(
        database_url, lambda connection: set(MigrationContext.configure(connection).get_current_heads())
    )
    return current != heads
