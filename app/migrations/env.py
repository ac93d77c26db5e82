"""Alembic environment: the database URL comes from the settings, never from a file."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from app.core.database import create_engine
from app.models import metadata

target_metadata = metadata()


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Migrations name plain SQLAlchemy types, never this project's Python classes,
    so that an old migration keeps working when the code moves on."""
    if type_ == "type":
        if isinstance(obj, AutoString):
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
        if isinstance(obj, TypeDecorator):
            return f"sa.{obj.impl!r}"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(context.config.attributes["database_url"])
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `dpa db upgrade`")
asyncio.run(_run_async())
