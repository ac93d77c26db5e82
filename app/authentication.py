"""Bearer-credential authentication for every route but health and the API docs.

Two kinds of credential: a user's token (dpu_…) for the internal API, and a vendor's key
(dpv_…) for /api/vendor/ and nothing else. A refused credential is written to the audit
trail with the client's address; a vendor key is also held to its rate limit.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession

from app import settle
from app.accounts import services as accounts
from app.core import security
from app.core.actor import Actor
from app.core.errors import TooManyRequestsError
from app.core.middleware import request_session
from app.core.ratelimit import FailedAuthentication, RateLimiter
from app.vendors import services as vendors

# Routes anyone may reach: health for load balancers, the OpenAPI document and its viewers.
PUBLIC_PATHS = ["^/health$", "^/schema"]
VENDOR_PATH = "/api/vendor/"
# Credentials in a URL end up in logs, proxies and browser history.
QUERY_CREDENTIALS = frozenset({"token", "access_token", "api_key", "apikey", "key"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dpa"'}
READS = frozenset({"GET", "HEAD"})


def _refused(reason: str) -> NotAuthorizedException:
    return NotAuthorizedException(reason, headers=CHALLENGE)


async def _identify(session: AsyncSession, credential: str, source: str | None) -> AuthenticationResult | str:
    """Who the credential belongs to, or why it is refused."""
    if credential.startswith(security.VENDOR_KEY_PREFIX + "_"):
        found = await vendors.authenticate_vendor(session, key=credential, source=source)
        if isinstance(found, str):
            return found
        key, vendor = found
        return AuthenticationResult(user=vendor, auth=vendors.actor_for_vendor(key, vendor, source))
    user = await accounts.authenticate(session, token=credential)
    if user is None:
        return "invalid, expired or revoked token"
    return AuthenticationResult(user=user, auth=accounts.actor_for(user, source))


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        if QUERY_CREDENTIALS & set(connection.query_params):
            raise _refused("credentials are never accepted in the URL; send Authorization: Bearer")
        scheme, _, credential = connection.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise _refused("missing bearer token: send Authorization: Bearer <token>")
        source = connection.client.host if connection.client else None
        vendor_route = (connection.url.path + "/").startswith(VENDOR_PATH)
        state = connection.app.state
        failures: FailedAuthentication = state.failed_authentication
        wait = failures.blocked(source or "")
        if wait is not None:  # an address guessing credentials: answered before the database is asked
            raise TooManyRequestsError(f"too many refused credentials from {source}; retry in {wait} s", wait)
        session = request_session(connection)  # the handler's too: one connection, one transaction
        result = await _identify(session, credential, source)
        if isinstance(result, str):
            hint = accounts.credential_hint(credential)
            request = f"{connection.scope.get('method', '')} {connection.url.path}"
            if failures.refused(source or "", result, hint, request):
                accounts.record_failed_authentication(session, hint=hint, reason=result, source=source, request=request)
                await settle.settle(session)
            raise _refused("invalid, expired or revoked credential")
        if session.dirty:  # a last-used time, written at most once a minute per credential
            await settle.settle(session)
        elif connection.scope.get("method") not in READS:
            # A write's body is still to come, perhaps slowly: the connection goes back to the
            # pool until the handler needs it, rather than wait idle in a transaction. (Closed,
            # the session starts afresh at its next statement; what it read stays readable.)
            await session.close()
        actor: Actor = result.auth
        if actor.vendor_id is None and vendor_route:
            raise PermissionDeniedException("vendor routes take a vendor key (dpv_…), not a user's token")
        if actor.vendor_id is not None:
            if not vendor_route:
                raise PermissionDeniedException("a vendor key reaches only /api/vendor/ routes")
            limiter: RateLimiter = state.vendor_rate_limiter
            wait = limiter.retry_after(actor.key_id)
            if wait is not None:
                raise TooManyRequestsError(f"rate limit of this key reached; retry in {wait} s", retry_after=wait)
        return result


async def record_refusals(state: State, *, everything: bool = False) -> None:
    """Write the refusals counted beyond the first of each address and reason, one row per window
    (every minute from app.main's lifespan, and at shutdown)."""
    failures: FailedAuthentication = state.failed_authentication
    closed = failures.closed(everything=everything)
    if not closed:
        return
    async with state.sessionmaker() as session:
        for refusals in closed:
            accounts.record_failed_authentication(
                session,
                hint=", ".join(sorted(refusals.hints))[:64],
                reason=refusals.reason,
                source=refusals.source or None,
                request=", ".join(sorted(refusals.requests))[:500],
                count=refusals.count,
            )
        await settle.settle(session)
