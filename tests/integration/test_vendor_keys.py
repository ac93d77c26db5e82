"""Vendor keys: issued once, stored hashed, checked on every request, refused in every wrong place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from app.core import security
from app.core.settings import RateLimit, Settings
from app.main import create_app
from app.vendors.models import VendorKey
from tests.conftest import Account, run
from tests.integration.conftest import Side, audit_entries, issue_key


def test_a_key_is_shown_once_and_stored_only_as_a_hash(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    vendor_id = demo["camera"]["vendor_id"]
    issued = issue_key(client, demo["headers"], vendor_id)
    key = issued["key"]
    assert key.startswith("dpv_") and security.is_well_formed(key, security.VENDOR_KEY_PREFIX)
    expires = datetime.fromisoformat(issued["expires_at"])
    assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)

    [listed] = client.get(f"/api/vendors/{vendor_id}/keys", headers=demo["headers"]).json()["items"]
    assert "key" not in listed and key not in str(listed)
    assert listed["hint"] == key[:8] + "…" and listed["last_used_at"] is None

    async def stored(session: Any) -> list[str]:
        return [row.key_hash for row in await session.scalars(select(VendorKey))]

    assert run(stored, clean_database) == [security.token_hash(key)]
    assert client.get("/api/vendor/obligations", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    [used] = client.get(f"/api/vendors/{vendor_id}/keys", headers=demo["headers"]).json()["items"]
    assert used["last_used_at"] is not None


def test_revoking_a_key_takes_effect_at_once(client: TestClient[Any], vendors: dict[str, Side], demo: Any) -> None:
    a = vendors["a"]
    assert client.get("/api/vendor/obligations", headers=a.headers).status_code == 200
    [key] = client.get(f"/api/vendors/{a.vendor_id}/keys", headers=demo["headers"]).json()["items"]
    revoked = client.delete(f"/api/vendors/{a.vendor_id}/keys/{key['id']}", headers=demo["headers"])
    assert revoked.status_code == 204
    refused = client.get("/api/vendor/obligations", headers=a.headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    # Another vendor's id in the path does not reach this vendor's key.
    other = client.delete(f"/api/vendors/{vendors['b'].vendor_id}/keys/{key['id']}", headers=demo["headers"])
    assert other.status_code == 404


def test_expired_malformed_and_misplaced_keys_are_refused(
    client: TestClient[Any], vendors: dict[str, Side], demo: Any, clean_database: str, admin: Account
) -> None:
    a = vendors["a"]
    broken = a.key[:-1] + ("A" if a.key[-1] != "A" else "B")  # the checksum no longer matches
    assert client.get("/api/vendor/obligations", headers={"Authorization": f"Bearer {broken}"}).status_code == 401
    in_url = client.get("/api/vendor/obligations", params={"api_key": a.key})
    assert in_url.status_code == 401 and "URL" in in_url.json()["detail"]
    # A vendor key reaches nothing internal, a user token nothing of the vendor API.
    internal = client.get("/api/vendors", headers=a.headers)
    assert internal.status_code == 403 and "/api/vendor/" in internal.json()["detail"]
    assert client.get("/api/vendor/obligations", headers=admin.headers).status_code == 403

    async def expire(session: Any) -> None:
        await session.execute(update(VendorKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.commit()

    run(expire, clean_database)
    assert client.get("/api/vendor/obligations", headers=a.headers).status_code == 401
    reasons = [entry.changes["reason"] for entry in audit_entries(clean_database, "auth_failed")]
    assert reasons == ["malformed key", "expired key"]
    for entry in audit_entries(clean_database, "auth_failed"):
        assert entry.source == "testclient" and a.key not in str(entry.changes) and a.key not in entry.object_id


def test_a_key_works_only_from_its_allowed_networks(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    issued = issue_key(
        client, demo["headers"], demo["camera"]["vendor_id"], allowed_networks=["10.1.2.3/8", "2001:db8::1"]
    )
    assert issued["allowed_networks"] == ["10.0.0.0/8", "2001:db8::1/128"]
    key = issued["key"]
    # The test client connects from "testclient", which is in no network.
    assert client.get("/api/vendor/obligations", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    [entry] = audit_entries(clean_database, "auth_failed")
    assert entry.changes["reason"] == "key not allowed from testclient"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": ""}, 400, "name"),
        ({"name": "x", "allowed_networks": ["not-an-ip"]}, 400, "allowed_networks"),
        ({"name": "x", "expires_at": "2020-01-01T00:00:00+08:00"}, 422, "expires_at"),
        ({"name": "x", "expires_at": "2099-01-01T00:00:00+08:00"}, 422, "expires_at"),
        ({"name": "x", "expires_at": "2027-01-01T00:00:00"}, 400, "expires_at"),
        ({"name": "x", "vendor_id": "someone else"}, 400, None),
    ],
)
def test_bad_key_requests_change_nothing(
    client: TestClient[Any], demo: dict[str, Any], body: dict[str, Any], status: int, field: str | None
) -> None:
    vendor_id = demo["camera"]["vendor_id"]
    response = client.post(f"/api/vendors/{vendor_id}/keys", json=body, headers=demo["headers"])
    assert response.status_code == status, response.text
    if field:
        assert field in response.text
    assert client.get(f"/api/vendors/{vendor_id}/keys", headers=demo["headers"]).json()["items"] == []


def test_only_admins_the_dpo_and_the_vendors_owner_issue_keys(
    client: TestClient[Any], demo: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    vendor_id = demo["camera"]["vendor_id"]
    for role in ("auditor", "procurement", "owner"):  # none of them owns the camera vendor
        response = client.post(f"/api/vendors/{vendor_id}/keys", json={"name": "x"}, headers=make_user(role).headers)
        assert response.status_code == 403, role
    assert (
        client.post(f"/api/vendors/{vendor_id}/keys", json={"name": "x"}, headers=make_user("dpo").headers).status_code
        == 201
    )


def test_the_rate_limit_answers_429_with_retry_after(
    settings: Settings, clean_database: str, demo: dict[str, Any], client: TestClient[Any]
) -> None:
    key = issue_key(client, demo["headers"], demo["camera"]["vendor_id"])["key"]
    headers = {"Authorization": f"Bearer {key}"}
    limited = Settings(**{**settings.__dict__, "vendor_rate_limit": RateLimit(3, 60)})
    with TestClient(app=create_app(limited)) as other:
        assert [other.get("/api/vendor/obligations", headers=headers).status_code for _ in range(3)] == [200] * 3
        refused = other.get("/api/vendor/obligations", headers=headers)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The limit is per key: the internal API and other keys are untouched.
        assert other.get("/api/vendors", headers=demo["headers"]).status_code == 200
