from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from app.core import clock
from tests.conftest import Account
from tests.factories import engagement_body, vendor_body


@pytest.fixture
def vendor(client: TestClient[Any], admin: Account) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    return body


def _errors(response: Any) -> dict[str, str]:
    return {item["key"]: item["message"] for item in response.json().get("extra", [])}


def _create(client: TestClient[Any], account: Account, vendor_id: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/engagements", json=engagement_body(vendor_id, **overrides), headers=account.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


CAMERA_ENGAGEMENT = {
    "name": "Showroom visitor analytics",
    "purpose": "Count visitors with face recognition.",
    "processing_methods": ["collection", "storage", "processing", "use"],
    "pi_categories": ["facial_recognition", "images_video"],
    "data_subjects": ["visitors", "customers"],
    "individuals_count": 431623,
    "individuals_count_as_of": "2026-06-30",
    "venues": [
        {
            "description": "Showrooms",
            "venue_type": "showroom",
            "venue_count": 7,
            "public_place": True,
            "equipment": "identity_recognition",
            "equipment_count": 22,
        }
    ],
    "legal_basis": "consent",
}


def test_create_read_update_delete(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> None:
    engagement = _create(client, admin, vendor["id"], **CAMERA_ENGAGEMENT)
    assert engagement["processes_sensitive_pi"] is True
    assert engagement["venues"][0]["equipment_count"] == 22
    assert engagement["venues"][0]["signage_posted"] is False
    assert engagement["status"] == "proposed"
    assert engagement["owner_id"] == admin.id
    assert engagement["sub_processors"] == []
    assert client.get(f"/api/engagements/{engagement['id']}", headers=admin.headers).json() == engagement

    patched = client.patch(
        f"/api/engagements/{engagement['id']}",
        json={"pi_categories": ["images_video"], "status": "active"},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["processes_sensitive_pi"] is False  # recomputed from the new categories
    assert patched.json()["individuals_count"] == 431623

    assert client.delete(f"/api/engagements/{engagement['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/engagements/{engagement['id']}", headers=admin.headers).status_code == 404


def test_estimate_date_defaults_to_today_in_the_deployment_zone(
    client: TestClient[Any], admin: Account, vendor: dict[str, Any]
) -> None:
    engagement = _create(client, admin, vendor["id"], individuals_count=10)
    assert engagement["individuals_count_as_of"] == clock.today().isoformat()


def test_duplicates_in_lists_are_folded(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> None:
    engagement = _create(
        client,
        admin,
        vendor["id"],
        pi_categories=["contact_details", "contact_details"],
        processing_methods=["storage", "storage"],
    )
    assert engagement["pi_categories"] == ["contact_details"]
    assert engagement["processing_methods"] == ["storage"]


def test_minors_make_an_engagement_sensitive(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> None:
    engagement = _create(client, admin, vendor["id"], data_subjects=["customers", "minors_under_14"])
    assert engagement["processes_sensitive_pi"] is True


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"pi_categories": ["contact_details", "dna_sequence"]}, "pi_categories", "unknown PI category dna_sequence"),
        ({"pi_categories": []}, "pi_categories", "at least 1"),
        ({"processing_methods": ["sell"]}, "processing_methods.0", "collection"),
        ({"data_subjects": ["aliens"]}, "data_subjects.0", "customers"),
        ({"start_date": "2027-01-01", "end_date": "2026-01-01"}, "end_date", "before start_date"),
        ({"individuals_count": -1}, "individuals_count", "greater than or equal to 0"),
        ({"retention_days": 0}, "retention_days", "greater than or equal to 1"),
        ({"legal_basis": "because"}, "legal_basis", "consent"),
        ({"purpose": ""}, "purpose", "at least 1"),
        ({"pipia_reference": "PIPIA-1"}, "pipia_date", "needs the date"),
        (
            {"pipia_date": "2026-01-01", "pipia_retained_until": "2025-01-01"},
            "pipia_retained_until",
            "before pipia_date",
        ),
        ({"individuals_count": None, "individuals_count_as_of": "2026-01-01"}, "individuals_count", "required"),
        ({"consent_evidence": "form v1"}, "consent_evidence", "consent_obtained is false"),
        ({"storage_locations": [{"country": "US"}]}, "leaves_china", "set leaves_china"),
        ({"storage_locations": [{"country": "CN", "region": "US-CA"}]}, "storage_locations.0", "not in country CN"),
        ({"storage_locations": [{"country": "CN", "region": "CN-XX"}]}, "storage_locations.0.region", "ISO 3166-2"),
        ({"cross_border_mechanism": "standard_contract"}, "cross_border_mechanism", "leaves_china is false"),
        (
            {"cross_border_recipients": [{"name": "HQ", "country": "DE"}]},
            "cross_border_recipients",
            "leaves_china is false",
        ),
        (
            {
                "venues": [
                    {"description": "Shop", "venue_type": "store", "public_place": True, "equipment": "image_capture"}
                ]
            },
            "venues.0",
            "equipment_count must be at least 1",
        ),
        (
            {"venues": [{"description": "Shop", "venue_type": "spaceship", "public_place": True}]},
            "venues.0.venue_type",
            "store",
        ),
        ({"vendor_id": str(uuid.uuid4())}, "vendor_id", "no vendor has this id"),
        ({"owner_id": str(uuid.uuid4())}, "owner_id", "no active user"),
        ({"id": str(uuid.uuid4())}, "id", "Extra inputs"),
    ],
)
def test_invalid_engagement_is_refused_with_field_and_reason(
    client: TestClient[Any],
    admin: Account,
    vendor: dict[str, Any],
    overrides: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    response = client.post("/api/engagements", json=engagement_body(vendor["id"], **overrides), headers=admin.headers)
    assert response.status_code in (400, 422), response.text
    errors = _errors(response)
    assert field in errors, errors
    assert reason.lower() in errors[field].lower(), errors[field]
    assert client.get("/api/engagements", headers=admin.headers).json()["total"] == 0


def test_cross_border_engagement(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> None:
    engagement = _create(
        client,
        admin,
        vendor["id"],
        leaves_china=True,
        cross_border_mechanism="standard_contract",
        storage_locations=[{"country": "CN", "region": "CN-SH"}, {"country": "SG"}],
        cross_border_recipients=[{"name": "Group IT", "country": "DE", "purpose": "support"}],
    )
    assert engagement["cross_border_recipients"][0]["country"] == "DE"


def test_invalid_patch_changes_nothing(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> None:
    engagement = _create(client, admin, vendor["id"])
    for body in (
        {"name": "renamed", "end_date": "2020-01-01"},
        {"name": "renamed", "pi_categories": ["made_up"]},
        {"name": "renamed", "vendor_id": str(uuid.uuid4())},
        {"name": "renamed", "legal_basis": None},
    ):
        response = client.patch(f"/api/engagements/{engagement['id']}", json=body, headers=admin.headers)
        assert response.status_code in (400, 422), (body, response.text)
    assert client.get(f"/api/engagements/{engagement['id']}", headers=admin.headers).json() == engagement


def test_list_filters(
    client: TestClient[Any], admin: Account, vendor: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    other_vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    owner = make_user("owner")
    _create(client, admin, vendor["id"], **CAMERA_ENGAGEMENT)
    _create(client, owner, vendor["id"], name="Payroll", purpose="Pay salaries", status="active")
    _create(client, admin, other_vendor["id"], name="SMS", purpose="Send reminders 100%", status="active")

    def total(query: str) -> int:
        response = client.get(f"/api/engagements?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    assert total("") == 3
    assert total("sensitive=true") == 1
    assert total("sensitive=false") == 2
    assert total(f"vendor_id={vendor['id']}") == 2
    assert total(f"owner_id={owner.id}") == 1
    assert total("status=active") == 2
    assert total("q=salaries") == 1
    assert total("q=100%25") == 1
    names = [e["name"] for e in client.get("/api/engagements?sort=-name", headers=admin.headers).json()["items"]]
    assert names == sorted(names, reverse=True)
    assert client.get("/api/engagements?sensitive=maybe", headers=admin.headers).status_code == 400


def test_owner_writes_own_engagements_only(
    client: TestClient[Any], admin: Account, vendor: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    owner, auditor = make_user("owner"), make_user("auditor")
    mine = _create(client, owner, vendor["id"])
    theirs = _create(client, admin, vendor["id"])
    assert client.patch(f"/api/engagements/{mine['id']}", json={"name": "x"}, headers=owner.headers).status_code == 200
    assert (
        client.patch(f"/api/engagements/{theirs['id']}", json={"name": "x"}, headers=owner.headers).status_code == 403
    )
    assert client.delete(f"/api/engagements/{theirs['id']}", headers=owner.headers).status_code == 403
    assert (
        client.post("/api/engagements", json=engagement_body(vendor["id"]), headers=auditor.headers).status_code == 403
    )
    assert client.get(f"/api/engagements/{theirs['id']}", headers=auditor.headers).status_code == 200


def test_taxonomy_endpoint(client: TestClient[Any], admin: Account) -> None:
    categories = client.get("/api/pi-categories", headers=admin.headers).json()
    facial = next(c for c in categories if c["code"] == "facial_recognition")
    assert facial["sensitive"] is True and facial["zh"] == "人脸信息"
