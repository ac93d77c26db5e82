"""Each attestation kind: its own fields, and what it sets in motion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.audit.models import AuditEntry
from app.core import clock
from tests.conftest import Account, run
from tests.integration.conftest import PDF, Side, Submit, agreement_in_force, issue_key


def periodic(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "periodic",
        "engagement_id": engagement_id,
        "period_start": "2025-01-05",
        "period_end": "2026-01-04",
        "statements": [
            {"requirement": "A8", "compliant": True},
            {"requirement": "A9", "compliant": True, "comment": "no data kept past retention"},
        ],
        "sub_processors": [{"name": "Aliyun", "country": "CN", "activity": "hosting"}],
        "certifications": ["ISO/IEC 27001:2022"],
    }
    body.update(overrides)
    return body


def change(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "sub_processor_change",
        "engagement_id": engagement_id,
        "sub_processor_name": "Suzhou Backup Services Co., Ltd.",
        "activity": "Encrypted off-site backups",
        "pi_categories": ["facial_recognition"],
        "country": "CN",
        "region": "CN-JS",
        "effective_from": "2099-01-01",
    }
    body.update(overrides)
    return body


def incident(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "incident",
        "engagement_id": engagement_id,
        "detected_at": "2026-11-20T09:30:00+08:00",
        "description": "A storage bucket was readable without authentication for six hours.",
        "pi_categories": ["facial_recognition"],
        "individuals_affected": 1200,
        "measures_taken": "Access closed; logs reviewed; keys rotated.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def running(client: TestClient[Any], demo: dict[str, Any], clean_database: str) -> Side:
    """The camera vendor with a three-year agreement in force (so yearly attestations are owed)."""
    engagement = demo["camera"]
    agreement = agreement_in_force(
        client, demo["headers"], clean_database, engagement["id"], term_start="2025-01-05", term_end="2027-12-31"
    )
    # Obligations follow the agreement's changes; terminating later is what syncs them in these tests.
    key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
    return Side(engagement["vendor_id"], engagement["id"], agreement["id"], key)


def test_yearly_attestations_follow_the_agreement_and_one_accepted_closes_the_earliest(
    client: TestClient[Any], running: Side, demo: dict[str, Any], submit: Submit, dpo: Account
) -> None:
    # Ending the agreement early keeps the yearly duties up to the end and adds the deletion one.
    ended = client.post(
        f"/api/agreements/{running.agreement_id}/terminate",
        json={"ended_on": "2026-06-30", "reason": "moved in-house"},
        headers=demo["headers"],
    )
    assert ended.status_code == 200
    owed = client.get("/api/vendor/obligations", headers=running.headers).json()["items"]
    assert [(item["kind"], item["due_on"]) for item in owed] == [
        ("periodic_attestation", "2026-01-05"),
        ("deletion_attestation", "2026-07-30"),
    ]
    sent = submit(running, periodic(running.engagement_id), files=[])
    assert sent.status_code == 201, sent.text
    assert client.post(f"/api/attestations/{sent.json()['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    owed = client.get("/api/vendor/obligations", headers=running.headers).json()["items"]
    assert [item["kind"] for item in owed] == ["deletion_attestation"]


def test_a_periodic_statement_must_name_a_real_duty(running: Side, submit: Submit) -> None:
    response = submit(running, periodic(running.engagement_id, statements=[{"requirement": "Z9", "compliant": True}]))
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "metadata.statements.0.requirement"
    future = submit(running, periodic(running.engagement_id, period_end="2999-01-01"))
    assert future.status_code == 400 and "metadata.period_end" in future.text


def test_a_sub_processor_change_asks_us_to_decide_and_acceptance_records_consent(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    sent = submit(running, change(running.engagement_id), files=[])
    assert sent.status_code == 201, sent.text
    [decision] = client.get("/api/obligations", params={"kind": "sub_processor_consent"}, headers=dpo.headers).json()[
        "items"
    ]
    assert (decision["party"], decision["due_on"], decision["rule_id"]) == ("handler", "2099-01-01", "R3")
    assert decision["attestation_id"] == sent.json()["id"]
    # Our decision is not the vendor's duty.
    owed = client.get("/api/vendor/obligations", headers=running.headers).json()["items"]
    assert "sub_processor_consent" not in {item["kind"] for item in owed}

    accepted = client.post(f"/api/attestations/{sent.json()['id']}/accept", json={}, headers=dpo.headers)
    assert accepted.status_code == 200
    subs = client.get(f"/api/engagements/{running.engagement_id}/sub-processors", headers=dpo.headers).json()["items"]
    added = next(sub for sub in subs if sub["name"] == "Suzhou Backup Services Co., Ltd.")
    assert (added["handler_consented"], added["consented_on"], added["region"]) == (True, str(clock.today()), "CN-JS")
    done = client.get("/api/obligations?kind=sub_processor_consent", headers=dpo.headers).json()["items"]
    assert done[0]["status"] == "done"
    seen_by_vendor = client.get(f"/api/vendor/engagements/{running.engagement_id}", headers=running.headers).json()
    assert "Suzhou Backup Services Co., Ltd." in [sub["name"] for sub in seen_by_vendor["sub_processors"]]


def test_an_incident_marks_the_engagement_and_puts_a_review_on_the_dpos_desk_today(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    sent = submit(running, incident(running.engagement_id), files=[])
    assert sent.status_code == 201, sent.text
    engagement = client.get(f"/api/engagements/{running.engagement_id}", headers=dpo.headers).json()
    assert engagement["incident_reported_at"] is not None
    [review] = client.get("/api/obligations", params={"kind": "incident_review"}, headers=dpo.headers).json()["items"]
    assert (review["due_on"], review["rule_id"], review["article"]) == (str(clock.today()), "R18", "PIPL art. 57")
    assert "incident" in review["what_en"] and "事件" in review["what_zh"]
    # The DPO hears of it at once: a reminder is queued for them with the report itself.
    queued = client.get("/api/reminders", params={"obligation_id": review["id"]}, headers=dpo.headers).json()
    assert dpo.email in {item["recipient"] for item in queued["items"]}
    assert {item["step"] for item in queued["items"]} == {"due"}


def test_a_withdrawn_notice_no_longer_asks_us_for_a_decision(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    sent = submit(running, incident(running.engagement_id), files=[]).json()
    withdrawn = client.post(f"/api/vendor/attestations/{sent['id']}/withdraw", headers=running.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    owed = client.get("/api/obligations", params={"kind": "incident_review"}, headers=dpo.headers).json()["items"]
    assert [(o["status"], o["closed_by"]) for o in owed] == [("waived", f"withdrawn:{sent['id']}")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lambda e: incident(e, detected_at="2026-11-20T09:30:00"), "detected_at"),
        (lambda e: incident(e, detected_at="2999-01-01T00:00:00+08:00"), "metadata.detected_at"),
        (lambda e: incident(e, pi_categories=["souls"]), "pi_categories"),
        (lambda e: incident(e, measures_taken=""), "measures_taken"),
        (lambda e: change(e, country="XX"), "country"),
        (lambda e: change(e, region="CN-ZZ"), "region"),
        (lambda e: periodic(e, statements=[]), "statements"),
        (lambda e: periodic(e, period_end="2024-01-01"), "period_end"),
    ],
)
def test_bad_kind_fields_name_the_field(running: Side, submit: Submit, body: Any, field: str) -> None:
    response = submit(running, body(running.engagement_id), files=[])
    assert response.status_code == 400, response.text
    assert any(field in item["key"] or field in item["message"] for item in response.json()["extra"]), response.text


def test_vendor_actions_are_in_the_audit_trail_with_who_and_where(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account, clean_database: str
) -> None:
    sent = submit(running, incident(running.engagement_id), files=[("evidence.pdf", PDF, "application/pdf")])
    attestation = sent.json()
    client.get(
        f"/api/vendor/attestations/{attestation['id']}/files/{attestation['files'][0]['id']}/content",
        headers=running.headers,
    )
    client.post(f"/api/attestations/{attestation['id']}/accept", json={"reason": "handled"}, headers=dpo.headers)

    async def trail(session: Any) -> list[AuditEntry]:
        query = select(AuditEntry).where(col(AuditEntry.action).in_(["submit", "download", "review"]))
        return list(await session.scalars(query.order_by(col(AuditEntry.id))))

    entries = run(trail, clean_database)
    assert [(entry.action, entry.object_type) for entry in entries] == [
        ("submit", "attestation"),
        ("download", "evidence_file"),
        ("review", "attestation"),
    ]
    submitted, downloaded, reviewed = entries
    assert "Huiyan" in submitted.actor and running.key[:8] in submitted.actor
    assert running.key not in submitted.actor
    assert submitted.source == downloaded.source == reviewed.source == "testclient"
    assert reviewed.actor == dpo.email and reviewed.changes["status"] == ["submitted", "accepted"]


def test_an_incident_s_clocks_run_in_hours_from_its_discovery(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    shanghai = timezone(timedelta(hours=8))
    found = (datetime.now(shanghai) - timedelta(hours=3)).replace(microsecond=0)
    late = submit(running, incident(running.engagement_id, detected_at=found.isoformat()), files=[])
    assert late.status_code == 201, late.text
    notice, report = late.json()["clocks"]
    assert (notice["party"], notice["met"]) == ("vendor", False)  # 3 hours, against the agreed 2
    assert datetime.fromisoformat(notice["deadline"]) == found + timedelta(hours=2)
    assert (report["party"], datetime.fromisoformat(report["deadline"])) == ("vendor", found + timedelta(hours=4))
    assert "省级网信部门" in report["duty_zh"] and report["met"] is None
    findings = client.get(f"/api/engagements/{running.engagement_id}/findings", headers=dpo.headers).json()["items"]
    [slow] = [f for f in findings if f["rule_id"] == "R18" and f["facts"].get("hours_agreed") == 2]
    assert slow["severity"] == "high" and slow["facts"]["hours_taken"] >= 3

    ours = (datetime.now(shanghai) - timedelta(minutes=30)).replace(microsecond=0)
    prompt = submit(running, incident(running.engagement_id, detected_at=ours.isoformat(), system="handler"), files=[])
    assert prompt.status_code == 201, prompt.text
    assert prompt.json()["clocks"][0]["met"] is True
    reports = client.get("/api/obligations", params={"kind": "incident_regulator_report"}, headers=dpo.headers).json()[
        "items"
    ]
    assert sorted(o["party"] for o in reports) == ["handler", "vendor"]  # whoever runs the system hit
    assert {o["due_on"] for o in reports} <= {str(found.date()), str(ours.date())}
    # Reviewing the notice closes the decision, not the report to the authorities.
    accepted = client.post(f"/api/attestations/{late.json()['id']}/accept", json={}, headers=dpo.headers)
    assert accepted.status_code == 200, accepted.text
    still = client.get(
        "/api/obligations",
        params={"kind": "incident_regulator_report", "status": "open"},
        headers=dpo.headers,
    ).json()
    assert still["total"] == 2
