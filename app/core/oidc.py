"""Single sign-on over OpenID Connect, the relying party's side (authlib and joserfc).

The authorization-code flow with PKCE (S256): the browser is sent to the provider with a state,
a nonce and a code challenge; what the callback needs to check them (the state, the nonce, the
code verifier, where to go after) travels in a short-lived cookie signed with SECRET_KEY, so
any instance can finish a flow another began. At the callback the code is exchanged at the
token endpoint (client_secret_basic, or _post where the provider only takes that) and the ID
token is checked: its signature against the provider's published keys (JWKS), then iss, aud,
exp, iat, nonce and azp. The provider's discovery document and keys are read once an hour
(the keys again at once when a token names a key we do not have: a rotation).

authlib's OAuth client for httpx is deprecated in favour of httpx2, which this project does
not use; so the transport is httpx and authlib supplies the protocol: the authorization URL,
the token request, PKCE, the discovery document's and the ID token's checks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from authlib.common.urls import url_decode
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import KeySet

from app.core.settings import OidcSettings

FLOW_LIFETIME = 600  # seconds from the sign-in button to the callback
METADATA_LIFETIME = 3600  # the discovery document and the keys are read again after this
TIMEOUT = httpx.Timeout(10.0)
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
# Asymmetric signatures only: never "none", never a shared secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class SsoError(Exception):
    """Why a single sign-on did not succeed, in both languages; nothing was written."""

    status_code = 400

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


class FlowError(SsoError):
    """The callback does not belong to a sign-in this browser started (state, cookie, expiry)."""


class ProviderRefusedError(SsoError):
    """The provider said no: the person declined, or the code was not accepted."""


class ProviderUnreachableError(SsoError):
    status_code = 502


class ProviderAnswerError(SsoError):
    """The provider answered something we cannot accept (a broken document, an ID token that fails its checks)."""

    status_code = 502


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress, kept in the browser's cookie, signed."""

    state: str
    nonce: str
    verifier: str
    next: str
    expires: int

    @classmethod
    def start(cls, next_path: str, *, now: float | None = None) -> Flow:
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),  # 64 characters: RFC 7636 asks for 43 to 128
            next=next_path,
            expires=int((now or time.time()) + FLOW_LIFETIME),
        )

    def seal(self, secret_key: str) -> str:
        body = base64.urlsafe_b64encode(json.dumps(asdict(self), separators=(",", ":")).encode()).decode()
        return f"{body}.{_signature(secret_key, body)}"

    @classmethod
    def open(cls, secret_key: str, sealed: str, *, now: float | None = None) -> Flow | None:
        """The flow in the cookie, or None when it is missing, altered or expired."""
        body, _, signature = sealed.partition(".")
        if not body or len(sealed) > 2000 or not hmac.compare_digest(_signature(secret_key, body), signature):
            return None
        try:
            flow = cls(**json.loads(base64.urlsafe_b64decode(body)))
        except (ValueError, TypeError, binascii.Error):
            return None
        return flow if flow.expires > (now or time.time()) else None

    def matches(self, state: str) -> bool:
        return hmac.compare_digest(self.state.encode(), state.encode())


def _signature(secret_key: str, body: str) -> str:
    return hmac.new(secret_key.encode(), b"sso-flow:" + body.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: the ID token's checked claims that matter here."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool | None  # None: the provider did not say
    name: str
    roles: tuple[str, ...]  # the role claim's values as sent (one string or a list of them); () without it


class OidcClient:
    """The provider named by the settings; one per app, its documents cached."""

    def __init__(self, settings: OidcSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._lock = asyncio.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._read_at = 0.0

    def _client(self, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport, follow_redirects=False, auth=auth)

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self._client() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise _unreachable(f"{what}: {type(error).__name__}") from error
        if response.status_code != 200:
            raise _unreachable(f"{what} answered {response.status_code}")
        try:
            found = response.json()
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise _bad_answer(f"{what} is not a JSON object")
        return found

    async def metadata(self, *, fresh: bool = False) -> dict[str, Any]:
        """The provider's discovery document (and its keys), read at most once an hour."""
        async with self._lock:
            if fresh or self._metadata is None or time.monotonic() - self._read_at > METADATA_LIFETIME:
                issuer = self.settings.issuer
                found = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
                try:
                    OpenIDProviderMetadata(found).validate()
                except Exception as error:  # authlib raises ValueError and its own errors alike
                    raise _bad_answer(f"discovery document: {error}") from error
                if found.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, 4.3
                    raise _bad_answer(f"discovery names issuer {found.get('issuer')!r}, not {issuer!r}")
                keys = await self._get_json(str(found["jwks_uri"]), "keys (jwks_uri)")
                try:
                    self._keys = KeySet.import_key_set(keys)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as error:
                    raise _bad_answer(f"keys (jwks_uri): {error}") from error
                self._metadata, self._read_at = found, time.monotonic()
            return self._metadata

    async def authorization_url(self, *, redirect_uri: str, flow: Flow) -> str:
        metadata = await self.metadata()
        url: str = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.settings.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=self.settings.scopes,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=create_s256_code_challenge(flow.verifier),
            code_challenge_method="S256",
        )
        return url

    async def identity(self, *, code: str, redirect_uri: str, flow: Flow) -> Identity:
        """Exchange the code for tokens and check the ID token; who signed in."""
        metadata = await self.metadata()
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=flow.verifier
        )
        form = dict(url_decode(body))
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth: httpx.Auth | None = None
        if "client_secret_basic" in methods:
            auth = httpx.BasicAuth(self.settings.client_id, self.settings.client_secret)
        else:
            form.update(client_id=self.settings.client_id, client_secret=self.settings.client_secret)
        try:
            async with self._client(auth) as client:
                response = await client.post(
                    metadata["token_endpoint"], data=form, headers={"Accept": "application/json"}
                )
        except httpx.HTTPError as error:
            raise _unreachable(f"token endpoint: {type(error).__name__}") from error
        try:
            tokens = response.json()
        except ValueError:
            tokens = None
        if not isinstance(tokens, dict):
            raise _unreachable(f"token endpoint answered {response.status_code} without JSON")
        if response.status_code != 200 or "error" in tokens:
            reason = str(tokens.get("error", response.status_code))[:100]
            raise ProviderRefusedError(
                f"单点登录提供方不接受本次登录（{reason}），请重新登录",
                f"The sign-in provider did not accept this sign-in ({reason}): sign in again",
            )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise _bad_answer("the token endpoint sent no ID token (is the openid scope allowed?)")
        claims = await self._checked_claims(id_token, flow, str(tokens.get("access_token") or ""))
        email = claims.get("email")
        verified = claims.get("email_verified")
        role = claims.get(self.settings.role_claim)
        return Identity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=verified if isinstance(verified, bool) else _boolean_text(verified),
            name=str(claims.get("name") or "")[:100],
            roles=(role,)
            if isinstance(role, str)
            else tuple(str(v) for v in role if isinstance(v, str))
            if isinstance(role, list)
            else (),
        )

    async def _checked_claims(self, id_token: str, flow: Flow, access_token: str) -> dict[str, Any]:
        metadata = await self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in ALGORITHMS if alg in offered]
        if not algorithms:
            raise _bad_answer(f"the provider signs ID tokens with {offered}, none of {', '.join(ALGORITHMS)}")
        try:
            token = jwt.decode(id_token, self._keyset(), algorithms=algorithms)
        except (JoseError, ValueError) as error:
            # A key we do not know yet (the provider rotated its keys): read them again, once.
            metadata = await self.metadata(fresh=True)
            try:
                token = jwt.decode(id_token, self._keyset(), algorithms=algorithms)
            except (JoseError, ValueError):
                reason = getattr(error, "error", type(error).__name__)
                raise _bad_answer(f"the ID token's signature does not verify ({reason})") from error
        issuer, client_id = self.settings.issuer, self.settings.client_id
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
                "exp": {"essential": True},
                "iat": {"essential": True},
                "sub": {"essential": True},
                "nonce": {"essential": True, "value": flow.nonce},
            },
            params={"nonce": flow.nonce, "client_id": client_id, "access_token": access_token},
        )
        try:
            claims.validate(leeway=LEEWAY)
        except ClaimError as error:
            if error.claim == "nonce":  # a code from another sign-in, slipped into this one
                raise FlowError(
                    "登录应答属于另一次登录（nonce 不一致），请重新登录",
                    "The answer belongs to another sign-in (nonce mismatch): sign in again",
                ) from error
            raise _bad_answer(f"the ID token fails its checks ({error.description})") from error
        except JoseError as error:
            raise _bad_answer(f"the ID token fails its checks ({error.error}: {error.description})") from error
        return dict(claims)

    def _keyset(self) -> KeySet:
        assert self._keys is not None  # read with the metadata
        return self._keys


def _boolean_text(value: object) -> bool | None:
    """Some providers send email_verified as "true"/"false"."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _unreachable(detail: str) -> ProviderUnreachableError:
    return ProviderUnreachableError(
        f"暂时无法连接单点登录提供方，请稍后再试或使用密码登录（{detail}）",
        f"The sign-in provider cannot be reached right now: try again later or sign in with your password ({detail})",
    )


def _bad_answer(detail: str) -> ProviderAnswerError:
    return ProviderAnswerError(
        f"单点登录提供方的应答未通过校验，请联系管理员（{detail}）",
        f"The sign-in provider's answer failed our checks: tell your administrator ({detail})",
    )
