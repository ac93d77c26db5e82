"""Bearer-token authentication for every route but health and the API docs."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.accounts import services
from app.accounts.models import User
from app.core.actor import Actor

# Routes anyone may reach: health for load balancers, the OpenAPI document and its viewers.
PUBLIC_PATHS = ["^/health$", "^/schema"]
# Credentials in a URL end up in logs, proxies and browser history.
QUERY_CREDENTIALS = frozenset({"token", "access_token", "api_key", "apikey", "key"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dpa"'}


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        if QUERY_CREDENTIALS & set(connection.query_params):
            raise NotAuthorizedException(
                "credentials are never accepted in the URL; send Authorization: Bearer",
                headers=CHALLENGE,
            )
        scheme, _, token = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing bearer token: send Authorization: Bearer <token>", headers=CHALLENGE)
        async with connection.app.state.sessionmaker() as session:
            user = await services.authenticate(session, token=token.strip())
        if user is None:
            raise NotAuthorizedException("invalid, expired or revoked token", headers=CHALLENGE)
        return AuthenticationResult(user=user, auth=services.actor_for(user))


def current_actor(connection: ASGIConnection[Any, User, Actor, Any]) -> Actor:
    return connection.auth
