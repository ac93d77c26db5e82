"""Every request's id: the caller's X-Request-Id when it is sane, else a new one. It is sent back
on every answer, written in the request's log line and in every problem body, so a vendor's
developer who quotes it finds the request in our log, and ours in theirs."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
STATE = "request_id"
_STARTED = "request_started"
# Printable, no spaces, no quotes or separators a log or a header could trip on; at most 128.
SANE = re.compile(r"^[A-Za-z0-9._:@+=/-]{1,128}$")
log = logging.getLogger("app.requests")


def request_id(scope: Scope | dict[str, Any]) -> str:
    """This request's id, taken or made the first time anything asks for it."""
    state = scope.setdefault("state", {})
    found = state.get(STATE)
    if found is None:
        incoming = next(
            (value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"x-request-id"),
            "",
        )
        found = state[STATE] = incoming if SANE.match(incoming) else uuid.uuid4().hex
        state[_STARTED] = time.monotonic()
    return str(found)


async def send_request_id(message: Message, scope: Scope) -> None:
    """A before_send hook: the id on the answer, and one log line per request with it."""
    if message["type"] != "http.response.start" or scope.get("type") != ScopeType.HTTP:
        return
    rid = request_id(scope)
    MutableScopeHeaders.from_message(message)[HEADER] = rid
    started = scope.get("state", {}).get(_STARTED)
    took = (time.monotonic() - started) * 1000 if started is not None else 0.0
    log.info("%s %s %s %.0f ms request=%s", scope.get("method"), scope.get("path"), message["status"], took, rid)


class RequestIdFirst:
    """Outermost middleware: the id (and the clock of the log line) start with the request, not
    with whatever first asks for the id. (A path no route matches never reaches middleware; its
    answer still gets an id, from the hook.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            request_id(scope)
        await self.app(scope, receive, send)
