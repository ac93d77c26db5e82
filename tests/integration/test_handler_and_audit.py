from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import credit_code, vendor_body

PROFILE = {
    "legal_name_zh": "上海星驰汽车销售有限公司",
    "legal_name_en": "Shanghai Xingchi Automobile Sales Co., Ltd.",
    "unified_social_credit_code": "91310000MA1FL3XC0D",
    "pi_protection_officer_name": "张敏",
    "pi_protection_officer_email": "dpo@xingchi.example",
    "is_ciio": False,
    "individuals_total": 612000,
}


def test_handler_profile_is_set_then_read(client: TestClient[Any], admin: Account) -> None:
    assert client.get("/api/handler", headers=admin.headers).status_code == 404
    response = client.put("/api/handler", json=PROFILE, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["individuals_total"] == 612000
    changed = client.put("/api/handler", json={**PROFILE, "is_ciio": True}, headers=admin.headers)
    assert changed.json()["is_ciio"] is True
    assert client.get("/api/handler", headers=admin.headers).json()["is_ciio"] is True


def test_handler_profile_validation(client: TestClient[Any], admin: Account) -> None:
    for body, field in (
        ({**PROFILE, "unified_social_credit_code": "91310000MA1FL3XC0E"}, "unified_social_credit_code"),
        ({**PROFILE, "individuals_total": -5}, "individuals_total"),
        ({**PROFILE, "pi_protection_officer_email": "nobody"}, "pi_protection_officer_email"),
        ({**PROFILE, "legal_name_zh": ""}, "legal_name_zh"),
    ):
        response = client.put("/api/handler", json=body, headers=admin.headers)
        assert response.status_code == 400
        assert field in {item["key"] for item in response.json()["extra"]}
    assert client.get("/api/handler", headers=admin.headers).status_code == 404


def test_dpo_keeps_the_profile_but_procurement_may_not(
    client: TestClient[Any], make_user: Callable[..., Account]
) -> None:
    dpo, procurement = make_user("dpo"), make_user("procurement")
    assert client.put("/api/handler", json=PROFILE, headers=procurement.headers).status_code == 403
    assert client.put("/api/handler", json=PROFILE, headers=dpo.headers).status_code == 200


def test_every_change_is_in_the_audit_trail(client: TestClient[Any], admin: Account) -> None:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    client.patch(f"/api/vendors/{vendor['id']}", json={"status": "active"}, headers=admin.headers)
    client.patch(f"/api/vendors/{vendor['id']}", json={"status": "active"}, headers=admin.headers)  # no change
    client.delete(f"/api/vendors/{vendor['id']}", headers=admin.headers)

    trail = client.get(f"/api/audit?object_type=vendor&object_id={vendor['id']}", headers=admin.headers).json()
    assert [entry["action"] for entry in trail["items"]] == ["delete", "update", "create"]
    update = trail["items"][1]
    assert update["changes"] == {"status": ["prospective", "active"]}
    assert update["actor"] == admin.email and update["actor_id"] == admin.id


def test_failed_write_leaves_no_audit_entry(client: TestClient[Any], admin: Account) -> None:
    code = credit_code()
    client.post("/api/vendors", json=vendor_body(unified_social_credit_code=code), headers=admin.headers)
    before = client.get("/api/audit", headers=admin.headers).json()["total"]
    duplicate = client.post("/api/vendors", json=vendor_body(unified_social_credit_code=code), headers=admin.headers)
    assert duplicate.status_code == 409
    assert client.get("/api/audit", headers=admin.headers).json()["total"] == before


def test_audit_is_for_auditors_dpo_and_admins(client: TestClient[Any], make_user: Callable[..., Account]) -> None:
    for role, status in (("auditor", 200), ("dpo", 200), ("procurement", 403), ("owner", 403)):
        assert client.get("/api/audit", headers=make_user(role).headers).status_code == status, role
