"""Authentication for every route but health, the API docs and the sign-in pages.

Four kinds of credential: a user's token (dpu_…) for the internal API, a vendor's key
(dpv_…) for /api/vendor/ and nothing else, a person's session cookie for the pages
(never for /api/, so that the API needs no CSRF token), and a vendor contact's portal
cookie for /portal and nothing else (another cookie, another table: no internal page). A session and a token of the same
user give the same Actor, so permissions have one source. A refused credential is written to
the audit trail with the client's address; a vendor key is also held to its rate limit.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession

from app import settle
from app.accounts import services as accounts
from app.accounts import signin
from app.contacts import services as contacts
from app.core import security
from app.core.actor import Actor
from app.core.errors import TooManyRequestsError
from app.core.middleware import request_session
from app.core.ratelimit import FailedAuthentication, RateLimiter
from app.reminders import calendar
from app.vendors import services as vendors

# Routes anyone may reach: health for load balancers, the vendor API's own document and its page.
# The internal document (/schema) takes a user's token, like the API it describes.
PUBLIC_PATHS = ["^/health$", "^/api/vendor/openapi\\.json$", "^/api/vendor/docs$"]
# Pages reached before signing in: the sign-in form, single sign-on, password links, the styles they use.
PUBLIC_PAGES = [
    "^/sign-in$",
    "^/sign-in/sso(/callback)?$",
    "^/password/",
    "^/static/",
    "^/portal/(sign-in|welcome|link)",
]
SESSION_COOKIE = "dpa_session"
# The vendor portal: its own cookie, sent by the browser to /portal only.
PORTAL_PATH = "/portal"
PORTAL_COOKIE = "dpa_portal"
API_PATH = "/api/"
SCHEMA_PATH = "/schema"
# Where the key's X-RateLimit-* figures wait for the response (app.main adds the headers).
RATE_LIMIT_STATE = "rate_limit"
VENDOR_PATH = "/api/vendor/"
# A calendar subscription: the token is the last part of the path (what calendar apps can send).
CALENDAR_PATH = "/calendar/"
CALENDAR_SUFFIX = ".ics"
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


class SignInRequiredError(NotAuthorizedException):
    """A page asked for without a valid session: answered by sending the browser to sign in,
    and back to `path` afterwards."""

    def __init__(self, path: str) -> None:
        super().__init__("sign in first")
        self.path = path


class PortalSignInRequiredError(SignInRequiredError):
    """A portal page asked for without a valid contact session: off to the portal's sign-in."""


def is_portal(path: str) -> bool:
    return path == PORTAL_PATH or path.startswith(PORTAL_PATH + "/")


async def _portal_contact(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
    """The vendor contact whose portal cookie this is; a user's session cookie counts for nothing here."""
    path = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
    token = connection.cookies.get(PORTAL_COOKIE, "")
    if not token:
        raise PortalSignInRequiredError(path)
    source = connection.client.host if connection.client else None
    session = request_session(connection)  # the handler's too: the contact is read once
    found = await contacts.contact_for_session(session, token=token)
    if found is None:
        raise PortalSignInRequiredError(path)
    if session.dirty:  # the last-seen time, written at most once a minute per session
        await settle.settle(session)
    contact, vendor = found
    return AuthenticationResult(
        user=contacts.Visit.of(contact, vendor), auth=contacts.actor_for_contact(contact, vendor, source)
    )


async def _session_user(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
    """The person whose session cookie this is, for the pages; else off to sign in."""
    path = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
    token = connection.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise SignInRequiredError(path)
    source = connection.client.host if connection.client else None
    async with connection.app.state.sessionmaker() as session:
        user = await signin.user_for_session(session, token=token)
        if user is None:
            raise SignInRequiredError(path)
        if session.dirty:  # the last-seen time, written at most once a minute per session
            await settle.settle(session)
    return AuthenticationResult(user=user, auth=accounts.actor_for(user, source))


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        if connection.url.path.startswith(CALENDAR_PATH):
            return await _calendar(connection)
        if is_portal(connection.url.path):
            return await _portal_contact(connection)
        if QUERY_CREDENTIALS & set(connection.query_params):
            raise _refused("credentials are never accepted in the URL; send Authorization: Bearer")
        path = connection.url.path
        # The API's document is read by scripts too: without a session it asks for the token,
        # rather than sending them to a sign-in page.
        document_by_script = path.startswith(SCHEMA_PATH) and SESSION_COOKIE not in connection.cookies
        by_session = "authorization" not in connection.headers and not (path + "/").startswith(API_PATH)
        if by_session and not document_by_script:
            return await _session_user(connection)
        scheme, _, credential = connection.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise _refused("missing bearer token: send Authorization: Bearer <token>")
        source = connection.client.host if connection.client else None
        vendor_route = (connection.url.path + "/").startswith(VENDOR_PATH)
        state = connection.app.state
        failures: FailedAuthentication = state.failed_authentication
        wait = await failures.blocked(source or "")
        if wait is not None:  # an address guessing credentials: answered before the database is asked
            raise TooManyRequestsError(
                f"too many refused credentials from {source}; retry in {wait} s",
                wait,
                zh=f"来自 {source} 的无效凭据过多，请 {wait} 秒后再试",
            )
        session = request_session(connection)  # the handler's too: one connection, one transaction
        result = await _identify(session, credential, source)
        if isinstance(result, str):
            hint = accounts.credential_hint(credential)
            request = f"{connection.scope.get('method', '')} {connection.url.path}"
            if await failures.refused(source or "", result, hint, request):
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
            wait = await limiter.retry_after(actor.key_id)
            connection.scope.setdefault("state", {})[RATE_LIMIT_STATE] = await limiter.status(actor.key_id)
            if wait is not None:
                raise TooManyRequestsError(
                    f"rate limit of this key reached; retry in {wait} s",
                    retry_after=wait,
                    zh=f"该密钥的请求已达上限，请 {wait} 秒后再试",
                )
        return result


async def _calendar(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
    """A calendar app sends no header: the token in the path is the credential. A wrong,
    malformed or revoked one is answered 404, without saying which; refusals count towards
    the address's throttle like any other credential, and a subscription is held to the
    same per-credential rate limit as a vendor key."""
    name = connection.url.path.removeprefix(CALENDAR_PATH)
    token = name.removesuffix(CALENDAR_SUFFIX)
    source = connection.client.host if connection.client else None
    state = connection.app.state
    failures: FailedAuthentication = state.failed_authentication
    wait = await failures.blocked(source or "")
    if wait is not None:
        raise TooManyRequestsError(
            f"too many refused credentials from {source}; retry in {wait} s",
            wait,
            zh=f"来自 {source} 的无效凭据过多，请 {wait} 秒后再试",
        )
    async with state.sessionmaker() as session:
        user = await calendar.authenticate(session, token=token) if name.endswith(CALENDAR_SUFFIX) else None
        if user is None:
            hint = accounts.credential_hint(token)
            request = f"{connection.scope.get('method', '')} {CALENDAR_PATH}…"  # never the token itself
            reason = "unknown or revoked calendar token"
            if await failures.refused(source or "", reason, hint, request):
                accounts.record_failed_authentication(session, hint=hint, reason=reason, source=source, request=request)
                await settle.settle(session)
            raise NotFoundException("no such calendar")
    limiter: RateLimiter = state.vendor_rate_limiter
    wait = await limiter.retry_after(f"calendar:{user.id}")
    if wait is not None:
        raise TooManyRequestsError(
            f"rate limit of this calendar reached; retry in {wait} s",
            retry_after=wait,
            zh=f"该日历订阅的请求已达上限，请 {wait} 秒后再试",
        )
    return AuthenticationResult(user=user, auth=accounts.actor_for(user, source))


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
