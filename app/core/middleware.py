"""Reading a request body: a client that stalls is answered 408; one that goes away is logged
as gone, not as an error with a traceback."""

from __future__ import annotations

import anyio
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from app.core.errors import ClientGoneError, RequestTimeoutError


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
                raise RequestTimeoutError(f"the request body did not arrive within {self.timeout:g} s") from None
            if message["type"] == "http.disconnect":
                raise ClientGoneError("the client disconnected before sending the whole request")
            complete = not message.get("more_body", False)
            return message

        await self.app(scope, guarded, send)
