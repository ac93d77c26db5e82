"""Single sign-on over OpenID Connect against a real provider: oidc-provider-mock (authlib's server
on Flask) runs as its own process on 127.0.0.1, and each sign-in goes through it over HTTP as a
browser would: our button, the provider's authorization form (where the test chooses who signs in
and what the provider says about them: e-mail, role claim), the callback, the page asked for."""

from __future__ import annotations

import contextlib
import html
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from app.accounts.models import User, WebSession
from app.audit.models import AuditEntry
from app.core.settings import OidcSettings, Settings
from app.main import create_app
from tests.conftest import Account, answers, free_port, run
from tests.integration.test_pages import csrf_of

CLIENT_ID = "dpa-test"


def start_provider(port: int) -> subprocess.Popen[bytes]:
    """oidc-provider-mock's own command, on loopback; answers once its discovery document does."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port), "--require-nonce"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not answers(f"http://127.0.0.1:{port}/.well-known/openid-configuration", process, seconds=60):
        process.kill()
        raise RuntimeError("the OpenID provider did not start")
    return process


@contextlib.contextmanager
def running_provider() -> Iterator[str]:
    """A real OpenID provider process for as long as the block runs: its issuer address."""
    port = free_port()
    process = start_provider(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def provider() -> Iterator[str]:
    """The issuer address of a real OpenID provider process."""
    with running_provider() as issuer:
        yield issuer


def sso_settings(settings: Settings, issuer: str) -> Settings:
    return replace(settings, oidc=OidcSettings(issuer=issuer, client_id=CLIENT_ID, client_secret="provider secret"))


@pytest.fixture
def sso(settings: Settings, clean_database: str, provider: str) -> Iterator[TestClient[Any]]:
    """The app with single sign-on through the provider."""
    with TestClient(app=create_app(sso_settings(settings, provider))) as test_client:
        yield test_client


def person(provider: str, *, role: str | list[str] | None = None, **claims: Any) -> str:
    """A person the provider knows, with what it will say about them; answers their subject."""
    email = f"p-{uuid.uuid4().hex[:10]}@test.example"
    said: dict[str, Any] = {"email": email, "email_verified": True, "name": "张伟", **claims}
    if role is not None:
        said["dpa_role"] = role
    assert httpx.put(f"{provider}/users/{quote(email)}", json=said).status_code == 204
    return email


def to_provider(client: TestClient[Any], next_path: str = "/vendors") -> str:
    """The sign-in page's button, followed: answers the provider's authorization address."""
    button = client.get(f"/sign-in?next={quote(next_path)}")
    assert "使用单点登录" in button.text
    found = re.search(r'href="(/sign-in/sso\?next=[^"]*)"', button.text)
    assert found, button.text
    href = html.unescape(found.group(1))
    assert unquote(parse_qs(urlsplit(href).query)["next"][0]) == next_path
    start = client.get(href, follow_redirects=False)
    assert start.status_code == 303, start.text
    return str(start.headers["location"])


def at_provider(authorize_url: str, form: dict[str, str]) -> str:
    """The provider's form, filled in: answers the address it sends the browser back to."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200 and "Authorize" in page.text
    answer = httpx.post(authorize_url, data=form)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/sign-in/sso/callback"
    return f"{back.path}?{back.query}"


def sign_in(client: TestClient[Any], sub: str, next_path: str = "/vendors") -> httpx.Response:
    callback = at_provider(to_provider(client, next_path), {"sub": sub})
    return client.get(callback, follow_redirects=False)


def counts(database_url: str) -> tuple[int, int, int]:
    """Users, sessions, audit entries: what a refusal must leave as it was."""

    async def go(session: Any) -> tuple[int, int, int]:
        found = []
        for table in (User, WebSession, AuditEntry):
            found.append((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return tuple(found)

    result: tuple[int, int, int] = run(go, database_url)
    return result


def user_and_trail(database_url: str, email: str) -> tuple[User | None, list[AuditEntry]]:
    async def go(session: Any) -> tuple[User | None, list[AuditEntry]]:
        user = (await session.scalars(select(User).where(col(User.email) == email))).first()
        if user is None:
            return None, []
        sessions = [
            str(row.id) for row in await session.scalars(select(WebSession).where(WebSession.user_id == user.id))
        ]
        ids = [str(user.id), *sessions]
        entries = await session.scalars(
            select(AuditEntry).where(col(AuditEntry.object_id).in_(ids)).order_by(col(AuditEntry.id))
        )
        return user, list(entries)

    result: tuple[User | None, list[AuditEntry]] = run(go, database_url)
    return result


def test_the_button_and_its_routes_are_absent_when_single_sign_on_is_not_configured(client: TestClient[Any]) -> None:
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert "单点登录" not in page.text and "/sign-in/sso" not in page.text
    assert client.get("/sign-in/sso", follow_redirects=False).status_code == 404
    assert client.get("/sign-in/sso/callback?code=x&state=y", follow_redirects=False).status_code == 404


def test_a_new_person_with_a_role_claim_is_created_and_lands_signed_in_on_next(
    sso: TestClient[Any], provider: str, clean_database: str
) -> None:
    sub = person(provider, role="procurement")
    authorize = to_provider(sso, "/vendors?q=慧眼")
    asked = parse_qs(urlsplit(authorize).query)
    assert asked["client_id"] == [CLIENT_ID] and asked["response_type"] == ["code"]
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert asked["redirect_uri"] == ["http://127.0.0.1:8000/sign-in/sso/callback"]  # from BASE_URL
    assert asked["scope"] == ["openid email profile"] and asked["nonce"][0] and asked["state"][0]
    flow_cookie = next(c for c in sso.cookies.jar if c.name == "dpa_sso")
    assert flow_cookie.path == "/sign-in/sso" and flow_cookie.has_nonstandard_attr("HttpOnly")

    landed = sso.get(at_provider(authorize, {"sub": sub}), follow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert unquote(landed.headers["location"]) == "/vendors?q=慧眼"
    assert "dpa_sso" not in {c.name for c in sso.cookies.jar}  # the flow is over
    vendors = sso.get("/vendors")
    assert vendors.status_code == 200 and "张伟" in vendors.text and "采购" in vendors.text

    user, trail = user_and_trail(clean_database, sub)
    assert user is not None and user.role == "procurement" and user.is_active and user.password_hash is None
    assert user.name == "张伟"
    created = next(e for e in trail if e.action == "create")
    assert created.changes["role"] == "procurement" and created.changes["by"] == "single sign-on"
    assert created.changes["issuer"] == provider and created.actor == f"single sign-on ({provider})"
    signed_in = next(e for e in trail if e.action == "sign_in")
    assert signed_in.actor == sub and signed_in.changes == {"by": "single sign-on", "issuer": provider}


def test_an_existing_user_signs_in_and_takes_the_role_the_provider_gives(
    sso: TestClient[Any], provider: str, clean_database: str, make_user: Callable[..., Account]
) -> None:
    sub = person(provider, role="dpo")
    make_user("auditor", email=sub)
    assert sign_in(sso, sub, "/findings").headers["location"] == "/findings"
    user, trail = user_and_trail(clean_database, sub)
    assert user is not None and user.role == "dpo"
    changed = next(e for e in trail if e.action == "update")
    assert changed.changes == {"role": ["auditor", "dpo"], "by": "single sign-on", "issuer": provider}
    assert [str(e.action) for e in trail].count("sign_in") == 1
    assert "个人信息保护负责人" in sso.get("/profile").text  # the page shows the new role

    # Signed out, then in again without a role claim: the role stays, nothing but the sign-in is written.
    sso.post("/sign-out", data={"_csrf": csrf_of(sso.get("/profile").text)})
    assert httpx.put(f"{provider}/users/{quote(sub)}", json={"email": sub, "email_verified": True}).status_code == 204
    assert sign_in(sso, sub).status_code == 303
    user, again = user_and_trail(clean_database, sub)
    assert user is not None and user.role == "dpo"
    assert [e.action for e in again[len(trail) :]] == ["sign_out", "sign_in"]


def test_a_person_without_an_account_or_a_role_is_refused_with_a_page(
    sso: TestClient[Any], provider: str, clean_database: str
) -> None:
    before = counts(clean_database)
    for role in (None, "superuser", ["admin", "dpo"]):  # none, not one of ours, or not one role
        refused = sign_in(sso, person(provider, role=role))
        assert refused.status_code == 403, refused.text
        assert "你的账户尚未开通" in refused.text and "no role" in refused.text
        assert "Traceback" not in refused.text and "&lt;span" not in refused.text  # both languages, as markup
    assert counts(clean_database) == before
    assert sso.get("/vendors", follow_redirects=False).headers["location"].startswith("/sign-in")


def test_deactivated_users_and_unverified_addresses_are_refused(
    sso: TestClient[Any], provider: str, clean_database: str, make_user: Callable[..., Account], admin: Account
) -> None:
    gone = person(provider, role="admin")
    account = make_user("owner", email=gone)
    assert sso.post(f"/api/users/{account.id}/deactivate", headers=admin.headers).status_code == 200
    unverified = person(provider, role="admin", email_verified=False)
    before = counts(clean_database)
    refused = sign_in(sso, gone)
    assert refused.status_code == 403 and "你的账户已停用" in refused.text
    refused = sign_in(sso, unverified)
    assert refused.status_code == 403 and "not verified" in refused.text
    assert counts(clean_database) == before
    user, _ = user_and_trail(clean_database, gone)
    assert user is not None and user.role == "owner"  # the refused sign-in changed nothing


def test_declining_at_the_provider_a_wrong_state_or_another_sign_ins_code_are_refused(
    sso: TestClient[Any], provider: str, clean_database: str
) -> None:
    sub = person(provider, role="admin")
    before = counts(clean_database)

    declined = sso.get(at_provider(to_provider(sso), {"action": "deny"}), follow_redirects=False)
    assert declined.status_code == 400 and "你在单点登录提供方取消了登录" in declined.text

    callback = urlsplit(at_provider(to_provider(sso), {"sub": sub}))
    query = parse_qs(callback.query)
    forged = sso.get(f"{callback.path}?{urlencode({'code': query['code'][0], 'state': 'not-the-state'})}")
    assert forged.status_code == 400 and "state" in forged.text and "Traceback" not in forged.text

    # A code from one sign-in, brought back with the state of a second one this browser started:
    # the state matches, the ID token's nonce does not.
    first = parse_qs(urlsplit(at_provider(to_provider(sso), {"sub": sub})).query)
    second = parse_qs(urlsplit(to_provider(sso)).query)
    mixed = sso.get(
        "/sign-in/sso/callback?" + urlencode({"code": first["code"][0], "state": second["state"][0]}),
        follow_redirects=False,
    )
    assert mixed.status_code == 400 and "nonce" in mixed.text

    # Without the flow's cookie (another browser), the provider's answer is not ours.
    fresh = parse_qs(urlsplit(at_provider(to_provider(sso), {"sub": sub})).query)
    sso.cookies.clear()
    stray = sso.get("/sign-in/sso/callback?" + urlencode({k: v[0] for k, v in fresh.items()}))
    assert stray.status_code == 400 and "不是从本浏览器发起的" in stray.text
    assert counts(clean_database) == before


def test_an_unreachable_provider_is_a_clear_502(settings: Settings, clean_database: str) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with TestClient(app=create_app(sso_settings(settings, nobody))) as client:
        assert "使用单点登录" in client.get("/sign-in").text
        down = client.get("/sign-in/sso?next=/vendors", follow_redirects=False)
        assert down.status_code == 502
        assert "无法连接单点登录提供方" in down.text and "cannot be reached" in down.text
        assert "Traceback" not in down.text


def test_a_provider_that_names_another_issuer_is_refused(
    settings: Settings, clean_database: str, provider: str
) -> None:
    """Discovery must name exactly the configured issuer (the mock names itself by the host asked)."""
    port = urlsplit(provider).port
    with TestClient(app=create_app(sso_settings(settings, f"http://localhost:{port}/"))) as client:
        wrong = client.get("/sign-in/sso", follow_redirects=False)
        assert wrong.status_code == 502 and "discovery names issuer" in wrong.text


def test_next_is_only_ever_a_local_path(sso: TestClient[Any], provider: str) -> None:
    sub = person(provider, role="auditor")
    start = sso.get("/sign-in/sso?next=//evil.example/steal", follow_redirects=False)
    landed = sso.get(at_provider(start.headers["location"], {"sub": sub}), follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/dashboard"


def test_the_providers_new_signing_key_is_fetched_when_a_token_names_it(
    settings: Settings, clean_database: str
) -> None:
    """The provider restarts with a new key between our reading its keys and its ID token (a key
    rotation): the token names a key we do not have, so the keys are read again, once."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    first = start_provider(port)
    with TestClient(app=create_app(sso_settings(settings, issuer))) as client:
        try:
            authorize = to_provider(client)  # discovery and the first key, cached
        finally:
            first.terminate()
            first.wait(timeout=10)
        second = start_provider(port)  # a new key
        try:
            sub = person(issuer, role="auditor")
            landed = client.get(at_provider(authorize, {"sub": sub}), follow_redirects=False)
            assert landed.status_code == 303, landed.text
        finally:
            second.terminate()
            second.wait(timeout=10)
