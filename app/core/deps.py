"""Dependencies every controller shares: a database session, the acting user, storage, and
`settle`, the step that lands a write (provided by app.main from app.settle, so that no domain
imports the layer above it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.actor import Actor
from app.core.middleware import request_session
from app.core.storage import FileStore


def provide_db_session(request: Request[Any, Any, Any]) -> AsyncSession:
    # The request's own session (app.core.middleware.SessionPerRequest), the one its credential
    # was checked in. Handlers land a write by awaiting `settle()`; anything not settled is
    # rolled back when the response has been sent.
    return request_session(request)


def provide_storage(request: Request[Any, Any, Any]) -> FileStore:
    storage: FileStore = request.app.state.storage
    return storage


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    actor: Actor = request.auth
    return actor


dependencies = {
    "db_session": Provide(provide_db_session, sync_to_thread=False),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "storage": Provide(provide_storage, sync_to_thread=False),
}

# Handlers name what they need by these types; Litestar injects by parameter name.
DbSession = NamedDependency[AsyncSession]
CurrentActor = NamedDependency[Actor]
Storage = NamedDependency[FileStore]
Settle = NamedDependency[Callable[[], Awaitable[None]]]
