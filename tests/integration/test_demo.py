"""The demo data: the camera vendor of the motivating case and four ordinary vendors."""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from pypdf import PdfReader

from app.core import clock
from app.core.settings import Settings
from app.core.storage import open_storage
from app.demo import DEMO_ADMIN, DEMO_TOKEN_LIFETIME, DemoResetRefused, load, reset
from app.models import metadata
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


# ------------------------------------------------------------------ the stories (with a file store)


@pytest.fixture
def story(client: TestClient[Any], clean_database: str, settings: Settings) -> dict[str, Any]:
    """The demo as `dpa demo load` writes it: the registry and each engagement's story."""
    storage = open_storage(settings.storage_url)
    started = time.perf_counter()
    report, token = run(lambda session: load(session, storage=storage), clean_database)
    print(f"demo with its stories loaded in {time.perf_counter() - started:.1f} s")
    headers = {"Authorization": f"Bearer {token}"}
    engagements = client.get("/api/engagements", headers=headers).json()["items"]

    def named(word: str) -> dict[str, Any]:
        return next(e for e in engagements if word in e["name"])

    return {
        "report": report,
        "headers": headers,
        "storage": storage,
        "camera": named("Showroom"),
        "crm": named("Customer relationship"),
        "cloud": named("Hosting"),
        "payroll": named("Payroll"),
        "sms": named("SMS"),
    }


def _get(client: TestClient[Any], story: dict[str, Any], path: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params={"limit": 200, **params}, headers=story["headers"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _agreement(client: TestClient[Any], story: dict[str, Any], name: str) -> dict[str, Any]:
    (agreement,) = _get(client, story, "/api/agreements", engagement_id=story[name]["id"])
    return agreement


def _obligations(client: TestClient[Any], story: dict[str, Any], name: str, kind: str) -> list[dict[str, Any]]:
    return _get(client, story, "/api/obligations", engagement_id=story[name]["id"], kind=kind)


def _rules(client: TestClient[Any], story: dict[str, Any], name: str) -> set[str]:
    return {f["rule_id"] for f in _get(client, story, "/api/findings", engagement_id=story[name]["id"])}


def _camera_story_issued_agreement_with_face_clauses_and_the_filing_due(
    client: TestClient[Any], story: dict[str, Any]
) -> None:
    agreement = _agreement(client, story, "camera")
    assert agreement["status"] == "issued" and agreement["signed_at"] is None
    assert {"R4", "R6", "R8", "R9"} <= _rules(client, story, "camera")
    # The filing is the company's, counted over every face engagement: on the company's page.
    company = client.get("/api/company", headers=story["headers"]).json()
    assert company["faces_total"] >= 431_623
    assert story["camera"]["id"] in {e["engagement_id"] for e in company["faces_by_engagement"]}
    (filing,) = [o for o in company["obligations"] if o["kind"] == "facial_recognition_filing"]
    assert filing["status"] == "open" and filing["overdue"] and filing["party"] == "handler"

    documents = _get(client, story, f"/api/agreements/{agreement['id']}/documents")
    assert sorted(d["format"] for d in documents) == ["docx", "pdf"]
    pdf = next(d for d in documents if d["format"] == "pdf")
    content = client.get(
        f"/api/agreements/{agreement['id']}/documents/{pdf['id']}/content", headers=story["headers"]
    ).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    text = "".join(text.split())
    assert "人脸信息" in text and "Facialinformation" in text
    assert "公共场所的图像采集设备" in text


def _crm_story_terminated_deletion_overdue_one_refused_one_waiting(
    client: TestClient[Any], story: dict[str, Any]
) -> None:
    today = clock.today()
    agreement = _agreement(client, story, "crm")
    assert agreement["status"] == "terminated" and agreement["ended_on"] == str(today - timedelta(days=30))
    (deletion,) = _obligations(client, story, "crm", "deletion_attestation")
    assert deletion["status"] == "open" and deletion["overdue"] and deletion["party"] == "vendor"
    attestations = _get(client, story, "/api/attestations", engagement_id=story["crm"]["id"], kind="deletion")
    by_status = {a["status"]: a for a in attestations}
    assert sorted(by_status) == ["rejected", "submitted"]
    reason = by_status["rejected"]["review_reason"]
    assert reason.startswith("未覆盖备份") and "Backups not covered" in reason
    assert deletion["last_rejection"] == reason  # the vendor sees why on its own list
    assert "R13" in _rules(client, story, "crm")
    waiting = _get(client, story, "/api/attestations", status="submitted")
    assert by_status["submitted"]["id"] in {a["id"] for a in waiting}  # in the review queue


def _cloud_story_active_renewal_coming_consent_waiting_statement_accepted(
    client: TestClient[Any], story: dict[str, Any]
) -> None:
    today = clock.today()
    assert _agreement(client, story, "cloud")["status"] == "active"
    (renewal,) = _obligations(client, story, "cloud", "renewal_decision")
    assert renewal["status"] == "open" and today < date.fromisoformat(renewal["due_on"]) <= today + timedelta(days=30)
    (consent,) = _obligations(client, story, "cloud", "sub_processor_consent")
    assert consent["status"] == "open" and not consent["overdue"]
    (statement,) = _obligations(client, story, "cloud", "periodic_attestation")
    assert statement["status"] == "done" and statement["closed_by"].startswith("attestation:")
    periodic = _get(client, story, "/api/attestations", engagement_id=story["cloud"]["id"], kind="periodic")
    assert [a["status"] for a in periodic] == ["accepted"]
    assert "R19" in _rules(client, story, "cloud")
    renewals = {r["due_on"]: r for r in _obligations(client, story, "cloud", "certification_renewal")}
    soonest = renewals[min(renewals)]  # the MLPS certificate, expiring in 40 days: reminded already
    assert len(renewals) == 2 and soonest["party"] == "vendor" and not soonest["overdue"]
    steps = {r["step"] for r in _get(client, story, "/api/reminders", obligation_id=soonest["id"])}
    assert steps == {"before-30"}


def _payroll_story_is_clean(client: TestClient[Any], story: dict[str, Any]) -> None:
    assert _agreement(client, story, "payroll")["status"] == "active"
    assert _rules(client, story, "payroll") == set()
    overdue = _get(client, story, "/api/obligations", engagement_id=story["payroll"]["id"], status="overdue")
    assert overdue == []


def _sms_story_incident_last_week_clock_running(client: TestClient[Any], story: dict[str, Any]) -> None:
    today = clock.today()
    (incident,) = _get(client, story, "/api/attestations", engagement_id=story["sms"]["id"], kind="incident")
    assert clock.local_date(datetime.fromisoformat(incident["submitted_at"])) == today - timedelta(days=6)
    (review,) = _obligations(client, story, "sms", "incident_review")
    assert review["status"] == "open" and review["due_on"] == str(today - timedelta(days=6)) and review["overdue"]
    assert {"R18", "R20"} <= _rules(client, story, "sms")  # and its expired ISO/IEC 27001 certificate


def _every_role_has_a_named_user_and_reminders_are_queued(client: TestClient[Any], story: dict[str, Any]) -> None:
    users = _get(client, story, "/api/users")
    roles = {u["role"] for u in users}
    assert roles == {"admin", "procurement", "owner", "dpo", "auditor"}
    assert all(u["name"] and "demo" not in u["name"].lower() for u in users)
    reminders = _get(client, story, "/api/reminders")
    recipients = {r["recipient"] for r in reminders}
    assert "dpo@xingchi-auto.example" in recipients and "owner@xingchi-auto.example" in recipients


def test_the_demo_tells_every_story(client: TestClient[Any], story: dict[str, Any]) -> None:
    """One load for every story: each load renders five agreements."""
    _camera_story_issued_agreement_with_face_clauses_and_the_filing_due(client, story)
    _crm_story_terminated_deletion_overdue_one_refused_one_waiting(client, story)
    _cloud_story_active_renewal_coming_consent_waiting_statement_accepted(client, story)
    _payroll_story_is_clean(client, story)
    _sms_story_incident_last_week_clock_running(client, story)
    _every_role_has_a_named_user_and_reminders_are_queued(client, story)


def test_stories_load_once_and_reset_rebuilds_them(
    client: TestClient[Any], story: dict[str, Any], clean_database: str
) -> None:
    agreements = _get(client, story, "/api/agreements")
    assert len(agreements) == 5
    again, _ = run(lambda session: load(session, storage=story["storage"]), clean_database)
    assert again[0] == "demo data already present; nothing changed"
    assert [a["id"] for a in _get(client, story, "/api/agreements")] == [a["id"] for a in agreements]

    async def rebuild(session: Any) -> tuple[list[str], str]:
        emptied = await reset(session, metadata().sorted_tables)
        report, token = await load(session, storage=story["storage"])
        return emptied + report, token

    report, token = run(rebuild, clean_database)
    assert report[0] == "demo database emptied" and any("terminated" in line for line in report)
    headers = {"Authorization": f"Bearer {token}"}
    rebuilt = client.get("/api/agreements", headers=headers).json()
    assert rebuilt["total"] == 5 and not {a["id"] for a in rebuilt["items"]} & {a["id"] for a in agreements}


def test_reset_refuses_a_database_with_real_users(client: TestClient[Any], clean_database: str) -> None:
    _, token = run(load, clean_database)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"email": "real@example.com", "role": "auditor", "name": "Real"}
    assert client.post("/api/users", json=body, headers=headers).status_code == 201

    async def rebuild(session: Any) -> list[str]:
        return await reset(session, metadata().sorted_tables)

    with pytest.raises(DemoResetRefused, match=r"real@example\.com"):
        run(rebuild, clean_database)
    assert client.get("/api/vendors", headers=headers).json()["total"] == 5
