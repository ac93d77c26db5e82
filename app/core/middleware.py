"""What wraps every request: one database session for it; a read retried once when the database
dropped its connection; a body that must keep arriving (a client that stalls is answered 408,
one that goes away is logged as gone, not as an error with a traceback)."""

from __future__ import annotations

from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ClientGoneError, RequestTimeoutError, database_unavailable

SESSION_KEY = "db_session"  # where a request's session sits in its scope's state


class SessionPerRequest:
    """One database session per HTTP request, shared by the credential check and the handler:
    one connection from the pool, one transaction to end, instead of two of each. The session
    takes a connection at its first statement, not before, and is closed (what was not settled
    rolled back) once the response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        async with scope["app"].state.sessionmaker() as session:
            scope["state"][SESSION_KEY] = session
            await self.app(scope, receive, send)


def request_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
    """The session SessionPerRequest opened for this request."""
    session: AsyncSession = connection.scope["state"][SESSION_KEY]
    return session


class RequestBodyGuard:
    """Wraps `receive`: each part of the body must arrive within `timeout` seconds (a client
    that sends a header and then trickles, or nothing, would hold a worker for ever)."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app, self.timeout = app, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        complete = False

        async def guarded() -> ReceiveMessage:
            nonlocal complete
            if complete:  # the body is in; from now on only a disconnect can come, whenever
                return await receive()
            try:
                with anyio.fail_after(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the request body did not arrive within {self.timeout:g} s",
                    zh=f"请求内容未在 {self.timeout:g} 秒内送达",
                ) from None
            if message["type"] == "http.disconnect":
                raise ClientGoneError("the client disconnected before sending the whole request")
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)


class RetryReadOnce:
    """A read (GET, HEAD) that met an unavailable database, a connection dropped by a restart
    or a failover, is run once more: the pool hands out a fresh connection, and the client never
    sees a hiccup it need not know of. A 503 is only ever the database's, wherever it was raised
    (a handler, or the authentication before it). Writes are not retried here: their client
    decides, with Retry-After and, for uploads, an Idempotency-Key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        failed = False

        async def first(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start" and message["status"] == HTTP_503_SERVICE_UNAVAILABLE:
                failed = True
            if not failed:
                await send(message)

        try:
            await self.app(scope, receive, first)
        except (DBAPIError, PoolTimeoutError, ConnectionError) as error:
            if not database_unavailable(error):
                raise
            failed = True
        if failed:
            await self.app(scope, receive, send)
