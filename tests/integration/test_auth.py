"""Every route but health and docs needs a valid bearer token; roles decide what it may do."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import update
from sqlmodel import col

from app.accounts.models import ApiToken
from app.core.security import USER_TOKEN_PREFIX, new_token
from app.core.settings import RateLimit, Settings
from app.main import create_app
from tests.conftest import Account, run
from tests.factories import vendor_body
from tests.integration.conftest import audit_entries


def _routes(client: TestClient[Any], headers: dict[str, str]) -> list[tuple[str, str]]:
    """Every operation in the OpenAPI document, with path parameters filled in."""
    document = client.get("/schema/openapi.json", headers=headers).json()
    routes = []
    for path, operations in document["paths"].items():
        concrete = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", path.replace("{day}", "2026-02-14"))
        for method in operations:
            routes.append((method.upper(), concrete))
    return routes


def test_the_internal_document_takes_a_token_and_the_vendor_document_is_public(
    client: TestClient[Any], admin: Account
) -> None:
    for path in ("/schema/openapi.json", "/schema", "/schema/docs"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.json()["detail"].startswith("missing bearer token")
    response = client.get("/schema/openapi.json", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    page = client.get("/schema", headers=admin.headers)
    assert page.status_code == 200 and 'data-document="/schema/openapi.json"' in page.text
    assert "http" not in page.text.split("<body", 1)[1]  # every script and style is the page's own: no CDN
    vendor = client.get("/api/vendor/openapi.json")
    assert vendor.status_code == 200 and vendor.json()["openapi"].startswith("3.1")
    assert client.get("/api/vendor/docs").status_code == 200


def test_every_route_but_health_needs_a_token(client: TestClient[Any], admin: Account) -> None:
    routes = _routes(client, admin.headers)
    assert len(routes) > 20
    for method, path in routes:
        response = client.request(method, path, json={})
        if path == "/health":
            assert response.status_code == 200
            continue
        if path.startswith("/calendar/"):  # a subscription's credential is its path: no token there is a 404
            assert response.status_code == 404, (method, path, response.status_code)
            continue
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer dpu_notatoken",
        "Bearer " + new_token(USER_TOKEN_PREFIX),  # well formed, never issued
        "Basic YWRtaW46YWRtaW4=",
        "Bearer ",
        "dpu_abc",
    ],
    # Named, not shown: the never-issued token is new each run, and the test processes of
    # `make test` must collect the same ids.
    ids=["malformed", "never-issued", "basic", "empty", "no-scheme"],
)
def test_bad_credentials_answer_401(client: TestClient[Any], admin: Account, header: str) -> None:
    response = client.get("/api/vendors", headers={"Authorization": header})
    assert response.status_code == 401
    assert "detail" in response.json()


def test_token_in_query_string_is_refused_even_when_valid(client: TestClient[Any], admin: Account) -> None:
    response = client.get(f"/api/vendors?access_token={admin.token}")
    assert response.status_code == 401
    assert "URL" in response.json()["detail"]
    response = client.get(f"/api/vendors?token={admin.token}", headers=admin.headers)
    assert response.status_code == 401


def test_revoked_token_stops_working_at_once(client: TestClient[Any], admin: Account) -> None:
    issued = client.post(f"/api/users/{admin.id}/tokens", json={"name": "laptop"}, headers=admin.headers)
    assert issued.status_code == 201
    second = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/api/users/me", headers=second).status_code == 200
    assert (
        client.delete(f"/api/users/{admin.id}/tokens/{issued.json()['id']}", headers=admin.headers).status_code == 204
    )
    assert client.get("/api/users/me", headers=second).status_code == 401
    assert client.get("/api/users/me", headers=admin.headers).status_code == 200


def test_expired_token_is_refused(client: TestClient[Any], admin: Account, clean_database: str) -> None:
    already = client.post(
        f"/api/users/{admin.id}/tokens",
        json={"name": "old", "expires_at": "2020-01-01T00:00:00+08:00"},
        headers=admin.headers,
    )
    assert already.status_code == 422 and already.json()["extra"][0]["key"] == "expires_at"
    issued = client.post(
        f"/api/users/{admin.id}/tokens",
        json={"name": "soon", "expires_at": "2099-01-01T00:00:00+08:00"},
        headers=admin.headers,
    )
    assert issued.status_code == 201
    headers = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/api/users/me", headers=headers).status_code == 200

    async def expire(session: Any) -> None:
        await session.execute(
            update(ApiToken).where(col(ApiToken.name) == "soon").values(expires_at=datetime.now(UTC) - timedelta(1))
        )
        await session.commit()

    run(expire, clean_database)
    assert client.get("/api/users/me", headers=headers).status_code == 401


def test_token_listing_shows_hint_never_the_token(client: TestClient[Any], admin: Account) -> None:
    listed = client.get(f"/api/users/{admin.id}/tokens", headers=admin.headers).json()["items"]
    assert len(listed) == 1
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    assert admin.token.startswith(listed[0]["hint"].rstrip("…"))
    assert listed[0]["last_used_at"] is not None


def test_deactivated_user_is_locked_out(
    client: TestClient[Any], admin: Account, make_user: Callable[..., Account]
) -> None:
    owner = make_user("owner")
    assert client.post(f"/api/users/{owner.id}/deactivate", headers=admin.headers).status_code == 200
    assert client.get("/api/vendors", headers=owner.headers).status_code == 401


@pytest.mark.parametrize("role", ["auditor", "dpo"])
def test_read_only_roles_read_but_never_write(
    client: TestClient[Any], admin: Account, make_user: Callable[..., Account], role: str
) -> None:
    reader = make_user(role)
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    assert client.get("/api/vendors", headers=reader.headers).json()["total"] == 1
    assert client.get(f"/api/vendors/{vendor['id']}", headers=reader.headers).status_code == 200
    assert client.post("/api/vendors", json=vendor_body(), headers=reader.headers).status_code == 403
    patch = client.patch(f"/api/vendors/{vendor['id']}", json={"address": "x"}, headers=reader.headers)
    assert patch.status_code == 403
    assert client.delete(f"/api/vendors/{vendor['id']}", headers=reader.headers).status_code == 403
    assert client.get("/api/vendors", headers=admin.headers).json()["total"] == 1


@pytest.mark.parametrize("role", ["procurement", "owner"])
def test_writers_change_what_they_own_and_nothing_else(
    client: TestClient[Any], admin: Account, make_user: Callable[..., Account], role: str
) -> None:
    writer, colleague = make_user(role), make_user(role)
    own = client.post("/api/vendors", json=vendor_body(), headers=writer.headers)
    assert own.status_code == 201
    assert own.json()["owner_id"] == writer.id
    others = client.post("/api/vendors", json=vendor_body(), headers=colleague.headers).json()

    assert (
        client.patch(f"/api/vendors/{own.json()['id']}", json={"address": "A"}, headers=writer.headers).status_code
        == 200
    )
    forbidden = client.patch(f"/api/vendors/{others['id']}", json={"address": "B"}, headers=writer.headers)
    assert forbidden.status_code == 403
    assert client.get(f"/api/vendors/{others['id']}", headers=writer.headers).json()["address"] == others["address"]
    assert client.delete(f"/api/vendors/{others['id']}", headers=writer.headers).status_code == 403
    # An admin changes anything.
    assert client.patch(f"/api/vendors/{others['id']}", json={"address": "C"}, headers=admin.headers).status_code == 200


def test_only_admins_manage_users(client: TestClient[Any], admin: Account, make_user: Callable[..., Account]) -> None:
    procurement = make_user("procurement")
    body = {"email": "new@test.example", "role": "owner"}
    assert client.post("/api/users", json=body, headers=procurement.headers).status_code == 403
    assert client.post(f"/api/users/{admin.id}/tokens", json={}, headers=procurement.headers).status_code == 403
    created = client.post("/api/users", json=body, headers=admin.headers)
    assert created.status_code == 201
    assert created.json()["token"].startswith("dpu_")
    assert client.post("/api/users", json=body, headers=admin.headers).status_code == 409
    new_headers = {"Authorization": f"Bearer {created.json()['token']}"}
    assert client.get("/api/users/me", headers=new_headers).json()["email"] == "new@test.example"


def test_an_address_guessing_credentials_is_throttled_and_audited_in_summary(
    settings: Settings, clean_database: str, admin: Account
) -> None:
    """Each refusal used to be one audit row: a client could add gigabytes a day. Now the first
    refusal of each address and reason is written at once, the rest as one row with its count;
    past the limit the address is answered 429 with Retry-After, before the database is asked."""
    app = create_app(dataclasses.replace(settings, auth_failure_limit=RateLimit(5, 60)))
    with TestClient(app=app) as client:
        answers = [
            client.get("/api/vendors", headers={"Authorization": f"Bearer {new_token(USER_TOKEN_PREFIX)}"})
            for _ in range(8)
        ]
        assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 3
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
        assert "too many refused credentials" in answers[-1].json()["detail"]
        assert client.get("/api/vendors", headers=admin.headers).status_code == 429  # the whole address waits
    refused = audit_entries(clean_database, "auth_failed")  # the rest was written as the app stopped
    assert [(entry.changes["reason"], entry.changes.get("count")) for entry in refused] == [
        ("invalid, expired or revoked token", None),
        ("invalid, expired or revoked token", 4),
    ]
    assert all(entry.source == "testclient" for entry in refused)
