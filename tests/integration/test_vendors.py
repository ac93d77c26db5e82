from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import credit_code, vendor_body


def _create(client: TestClient[Any], admin: Account, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/vendors", json=vendor_body(**overrides), headers=admin.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _errors(response: Any) -> dict[str, str]:
    return {item["key"]: item["message"] for item in response.json().get("extra", [])}


def test_create_read_update_delete(client: TestClient[Any], admin: Account) -> None:
    code = credit_code()
    vendor = _create(client, admin, unified_social_credit_code=code.lower())
    assert vendor["unified_social_credit_code"] == code  # normalised
    assert vendor["status"] == "prospective"
    assert vendor["contacts"][0]["email"] == "contact@vendor.example"
    assert vendor["certifications"][0]["valid_until"] == "2027-01-01"

    fetched = client.get(f"/api/vendors/{vendor['id']}", headers=admin.headers).json()
    assert fetched == vendor

    patched = client.patch(
        f"/api/vendors/{vendor['id']}",
        json={"status": "active", "contacts": [{"name": "新联系人", "email": "new@vendor.example"}]},
        headers=admin.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "active"
    assert patched.json()["contacts"] == [{"name": "新联系人", "email": "new@vendor.example", "role": "", "phone": ""}]
    assert patched.json()["legal_name_zh"] == vendor["legal_name_zh"]  # untouched fields stay

    assert client.delete(f"/api/vendors/{vendor['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/vendors/{vendor['id']}", headers=admin.headers).status_code == 404


def test_foreign_vendor_uses_registration_number(client: TestClient[Any], admin: Account) -> None:
    vendor = _create(
        client,
        admin,
        country="de",
        unified_social_credit_code=None,
        registration_number="HRB 12345",
        legal_name_zh="",
        legal_name_en="Beispiel Analytics GmbH",
    )
    assert vendor["country"] == "DE"
    duplicate = client.post(
        "/api/vendors",
        json=vendor_body(country="DE", unified_social_credit_code=None, registration_number="HRB 12345"),
        headers=admin.headers,
    )
    assert duplicate.status_code == 409
    # The same number in another country is another company.
    _create(client, admin, country="AT", unified_social_credit_code=None, registration_number="HRB 12345")


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"unified_social_credit_code": "91310115MA1H7Q2K51"}, "unified_social_credit_code", "should be '0'"),
        ({"unified_social_credit_code": "91310115MA1H7Q2K5"}, "unified_social_credit_code", "must be 18 characters"),
        (
            {"unified_social_credit_code": None},
            "unified_social_credit_code",
            "required for a vendor registered in China",
        ),
        ({"country": "ZZ"}, "country", "not an ISO 3166-1"),
        ({"country": "US"}, "registration_number", "required for a vendor registered outside China"),
        ({"legal_name_zh": "", "legal_name_en": ""}, "legal_name_zh", "required for a vendor registered in China"),
        (
            {
                "country": "DE",
                "unified_social_credit_code": None,
                "registration_number": "1",
                "legal_name_zh": "",
                "legal_name_en": "",
            },
            "legal_name_en",
            "needs a legal name",
        ),
        (
            {"country": "DE", "registration_number": "1"},
            "unified_social_credit_code",
            "only vendors registered in China",
        ),
        ({"contacts": [{"name": "X", "email": "not-an-email"}]}, "contacts.0.email", "email"),
        ({"certifications": [{"name": "ISO", "valid_until": "someday"}]}, "certifications.0.valid_until", "date"),
        ({"website": "javascript:alert(1)"}, "website", "http"),
        ({"status": "happy"}, "status", "prospective"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id", "no active user"),
        ({"unknown_field": 1}, "unknown_field", "Extra inputs"),
    ],
)
def test_invalid_vendor_is_refused_with_field_and_reason(
    client: TestClient[Any], admin: Account, overrides: dict[str, Any], field: str, reason: str
) -> None:
    response = client.post("/api/vendors", json=vendor_body(**overrides), headers=admin.headers)
    assert response.status_code in (400, 422), response.text
    errors = _errors(response)
    assert field in errors, errors
    assert reason.lower() in errors[field].lower()
    assert client.get("/api/vendors", headers=admin.headers).json()["total"] == 0


def test_duplicate_credit_code_is_409_and_creates_nothing(client: TestClient[Any], admin: Account) -> None:
    vendor = _create(client, admin)
    again = client.post(
        "/api/vendors",
        json=vendor_body(unified_social_credit_code=vendor["unified_social_credit_code"]),
        headers=admin.headers,
    )
    assert again.status_code == 409
    assert vendor["id"] in again.json()["detail"]
    assert client.get("/api/vendors", headers=admin.headers).json()["total"] == 1


def test_patch_to_an_existing_credit_code_is_409(client: TestClient[Any], admin: Account) -> None:
    first, second = _create(client, admin), _create(client, admin)
    response = client.patch(
        f"/api/vendors/{second['id']}",
        json={"unified_social_credit_code": first["unified_social_credit_code"]},
        headers=admin.headers,
    )
    assert response.status_code == 409
    unchanged = client.get(f"/api/vendors/{second['id']}", headers=admin.headers).json()
    assert unchanged["unified_social_credit_code"] == second["unified_social_credit_code"]


def test_invalid_patch_changes_nothing(client: TestClient[Any], admin: Account) -> None:
    vendor = _create(client, admin)
    for body in (
        {"address": "new address", "unified_social_credit_code": "91310115MA1H7Q2K51"},
        {"address": "new address", "country": "US"},  # a Chinese code on a US vendor
        {"address": "new address", "legal_name_zh": None},
        {"address": "new address", "contacts": None},
    ):
        response = client.patch(f"/api/vendors/{vendor['id']}", json=body, headers=admin.headers)
        assert response.status_code == 400, (body, response.text)
    assert client.get(f"/api/vendors/{vendor['id']}", headers=admin.headers).json() == vendor


def test_unknown_vendor_is_404(client: TestClient[Any], admin: Account) -> None:
    missing = uuid.uuid4()
    assert client.get(f"/api/vendors/{missing}", headers=admin.headers).status_code == 404
    assert client.patch(f"/api/vendors/{missing}", json={}, headers=admin.headers).status_code == 404
    assert client.delete(f"/api/vendors/{missing}", headers=admin.headers).status_code == 404
    assert client.get("/api/vendors/not-a-uuid", headers=admin.headers).status_code in (400, 404)


def test_vendor_with_engagements_cannot_be_deleted(client: TestClient[Any], admin: Account) -> None:
    from tests.factories import engagement_body

    vendor = _create(client, admin)
    assert client.post("/api/engagements", json=engagement_body(vendor["id"]), headers=admin.headers).status_code == 201
    response = client.delete(f"/api/vendors/{vendor['id']}", headers=admin.headers)
    assert response.status_code == 409
    assert "engagements" in response.json()["detail"]
    assert client.get(f"/api/vendors/{vendor['id']}", headers=admin.headers).status_code == 200


def test_list_paginates_filters_and_sorts(client: TestClient[Any], admin: Account, make_user: Any) -> None:
    owner = make_user("owner")
    names = ["甲 Alpha", "乙 Beta", "丙 Gamma", "丁 Delta", "戊 Epsilon"]
    for index, name in enumerate(names):
        _create(
            client,
            admin,
            legal_name_zh=name,
            legal_name_en=name.split()[1] + " Co.",
            status="active" if index % 2 else "prospective",
            owner_id=owner.id if index < 2 else None,
        )

    def listing(query: str) -> dict[str, Any]:
        response = client.get(f"/api/vendors?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    page = listing("limit=2&offset=0&sort=legal_name_en")
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [v["legal_name_en"] for v in page["items"]] == ["Alpha Co.", "Beta Co."]
    rest = listing("limit=2&offset=4&sort=legal_name_en")
    assert [v["legal_name_en"] for v in rest["items"]] == ["Gamma Co."]
    descending = listing("sort=-legal_name_en")
    assert descending["items"][0]["legal_name_en"] == "Gamma Co."

    assert listing("status=active")["total"] == 2
    assert listing(f"owner_id={owner.id}")["total"] == 2
    assert listing("q=gamma")["total"] == 1
    assert listing("q=丙")["items"][0]["legal_name_en"] == "Gamma Co."
    assert listing("q=%25")["total"] == 0  # a literal %, not a wildcard
    assert listing("country=CN")["total"] == 5


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-1", "offset"),
        ("sort=password", "sort"),
        ("status=happy", "status"),
        ("owner_id=42", "owner_id"),
    ],
)
def test_bad_list_parameters_are_400(client: TestClient[Any], admin: Account, query: str, key: str) -> None:
    response = client.get(f"/api/vendors?{query}", headers=admin.headers)
    assert response.status_code == 400
    assert key in _errors(response)
