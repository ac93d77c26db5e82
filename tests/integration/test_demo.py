"""The demo data: the camera vendor of the motivating case and four ordinary vendors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from app.demo import DEMO_ADMIN, DEMO_TOKEN_LIFETIME, load
from tests.conftest import run


def test_demo_loads_once_and_is_idempotent(client: TestClient[Any], clean_database: str) -> None:
    first_report, first_token = run(load, clean_database)
    assert any("created" in line for line in first_report)
    second_report, second_token = run(load, clean_database)
    assert not any("created" in line for line in second_report)

    # A fresh demo token each time; the previous one keeps working (a running server may use
    # it), and each expires after DEMO_TOKEN_LIFETIME.
    assert second_token != first_token
    for token in (first_token, second_token):
        me = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == DEMO_ADMIN
    headers = {"Authorization": f"Bearer {second_token}"}
    tokens = client.get(f"/api/users/{me.json()['id']}/tokens", headers=headers)
    assert tokens.status_code == 200, tokens.text
    demo_tokens = [t for t in tokens.json()["items"] if t["name"] == "demo"]
    assert len(demo_tokens) == 2 and all(t["revoked_at"] is None for t in demo_tokens)
    for row in demo_tokens:
        lifetime = datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
        assert abs(lifetime - DEMO_TOKEN_LIFETIME) < timedelta(minutes=1)

    assert client.get("/api/vendors", headers=headers).json()["total"] == 5
    engagements = client.get("/api/engagements", headers=headers).json()
    assert engagements["total"] == 5
    assert client.get("/api/handler", headers=headers).json()["legal_name_en"].startswith("Shanghai Xingchi")


def test_camera_vendor_matches_the_case(client: TestClient[Any], clean_database: str) -> None:
    _, token = run(load, clean_database)
    headers = {"Authorization": f"Bearer {token}"}
    sensitive = client.get("/api/engagements?sensitive=true", headers=headers).json()["items"]
    camera = next(e for e in sensitive if "facial_recognition" in e["pi_categories"])
    assert camera["individuals_count"] == 431623
    assert camera["data_subjects"] == ["visitors", "customers"]
    venue = camera["venues"][0]
    assert (venue["venue_count"], venue["equipment_count"]) == (7, 22)
    assert venue["public_place"] and not venue["signage_posted"] and not venue["purpose_public_security"]
    assert not camera["consent_obtained"] and not camera["separate_consent_obtained"]
    assert camera["pipia_date"] is None and camera["pipia_reference"] == ""


def test_ordinary_vendors_have_a_pipia_and_consented_sub_processors(
    client: TestClient[Any], clean_database: str
) -> None:
    _, token = run(load, clean_database)
    headers = {"Authorization": f"Bearer {token}"}
    items = client.get("/api/engagements?limit=50", headers=headers).json()["items"]
    ordinary = [e for e in items if "facial_recognition" not in e["pi_categories"]]
    assert len(ordinary) == 4
    for engagement in ordinary:
        assert engagement["pipia_date"], engagement["name"]
        for sub in engagement["sub_processors"]:
            assert sub["handler_consented"] and sub["consented_on"]
