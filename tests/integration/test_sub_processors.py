from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import engagement_body, vendor_body


@pytest.fixture
def engagement(client: TestClient[Any], admin: Account) -> dict[str, Any]:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    body: dict[str, Any] = client.post(
        "/api/engagements", json=engagement_body(vendor["id"]), headers=admin.headers
    ).json()
    return body


SUB = {
    "name": "广州云途数据有限公司",
    "activity": "hosting",
    "region": "CN-GD",
    "handler_consented": True,
    "consented_on": "2025-01-20",
}


def test_crud(client: TestClient[Any], admin: Account, engagement: dict[str, Any]) -> None:
    base = f"/api/engagements/{engagement['id']}/sub-processors"
    created = client.post(base, json=SUB, headers=admin.headers)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["engagement_id"] == engagement["id"] and sub["country"] == "CN"

    assert client.get(base, headers=admin.headers).json()["items"] == [sub]
    shown = client.get(f"/api/engagements/{engagement['id']}", headers=admin.headers).json()
    assert shown["sub_processors"] == [sub]

    patched = client.patch(f"{base}/{sub['id']}", json={"activity": "backups"}, headers=admin.headers)
    assert patched.status_code == 200 and patched.json()["activity"] == "backups"

    assert client.delete(f"{base}/{sub['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{base}/{sub['id']}", headers=admin.headers).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"handler_consented": True, "consented_on": None}, "consented_on"),
        ({"handler_consented": False, "consented_on": "2025-01-01"}, "consented_on"),
        ({"country": "CN", "region": "US-CA"}, "region"),
        ({"name": ""}, "name"),
        ({"country": "XX"}, "country"),
    ],
)
def test_invalid_sub_processor(
    client: TestClient[Any], admin: Account, engagement: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    base = f"/api/engagements/{engagement['id']}/sub-processors"
    response = client.post(base, json={**SUB, **overrides}, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert field in {item["key"] for item in response.json()["extra"]}
    assert client.get(base, headers=admin.headers).json()["items"] == []


def test_sub_processor_is_reached_only_through_its_engagement(
    client: TestClient[Any], admin: Account, engagement: dict[str, Any]
) -> None:
    other = client.post("/api/engagements", json=engagement_body(engagement["vendor_id"]), headers=admin.headers).json()
    sub = client.post(f"/api/engagements/{engagement['id']}/sub-processors", json=SUB, headers=admin.headers).json()
    wrong = f"/api/engagements/{other['id']}/sub-processors/{sub['id']}"
    assert client.get(wrong, headers=admin.headers).status_code == 404
    assert client.patch(wrong, json={"activity": "x"}, headers=admin.headers).status_code == 404
    assert client.delete(wrong, headers=admin.headers).status_code == 404
    missing = f"/api/engagements/{uuid.uuid4()}/sub-processors"
    assert client.get(missing, headers=admin.headers).status_code == 404
    assert client.post(missing, json=SUB, headers=admin.headers).status_code == 404


def test_deleting_an_engagement_removes_its_sub_processors(
    client: TestClient[Any], admin: Account, engagement: dict[str, Any]
) -> None:
    sub = client.post(f"/api/engagements/{engagement['id']}/sub-processors", json=SUB, headers=admin.headers).json()
    assert client.delete(f"/api/engagements/{engagement['id']}", headers=admin.headers).status_code == 204
    audit = client.get(f"/api/audit?object_type=sub_processor&object_id={sub['id']}", headers=admin.headers).json()
    assert [entry["action"] for entry in audit["items"]] == ["delete", "create"]


def test_only_the_engagement_owner_changes_sub_processors(
    client: TestClient[Any], admin: Account, engagement: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    owner = make_user("owner")
    base = f"/api/engagements/{engagement['id']}/sub-processors"
    assert client.post(base, json=SUB, headers=owner.headers).status_code == 403
    assert client.get(base, headers=owner.headers).status_code == 200
