"""Dependencies every controller shares: a database session, the acting user, storage, and
`settle`, the step that lands a write (provided by app.main from app.settle, so that no domain
imports the layer above it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.actor import Actor
from app.core.storage import FileStore


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    # Handlers land a write by awaiting `settle()`; anything not settled is rolled back here.
    async with request.app.state.sessionmaker() as session:
        yield session


def provide_storage(request: Request[Any, Any, Any]) -> FileStore:
    storage: FileStore = request.app.state.storage
    return storage


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    actor: Actor = request.auth
    return actor


dependencies = {
    "db_session": Provide(provide_db_session),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "storage": Provide(provide_storage, sync_to_thread=False),
}

# Handlers name what they need by these types; Litestar injects by parameter name.
DbSession = NamedDependency[AsyncSession]
CurrentActor = NamedDependency[Actor]
Storage = NamedDependency[FileStore]
Settle = NamedDependency[Callable[[], Awaitable[None]]]
