"""The vendor API end to end: a vendor, with its own key and nothing else, sees what it owes,
sends a deletion attestation with a PDF, and sees it accepted."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from app.core.settings import Settings, parse_smtp_url
from tests.conftest import Account, MailServer
from tests.integration.conftest import PDF, Side, Submit, deletion
from tests.integration.test_portal import outbox
from tests.integration.test_reminders import body_of, reminder_pass


def test_a_vendor_sees_what_it_owes_sends_a_deletion_attestation_and_sees_it_accepted(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account, clean_database: str
) -> None:
    a = vendors["a"]
    owed = client.get("/api/vendor/obligations", headers=a.headers)
    assert owed.status_code == 200, owed.text
    [obligation] = owed.json()["items"]
    assert obligation["kind"] == "deletion_attestation"
    assert obligation["engagement_id"] == a.engagement_id
    assert obligation["due_on"] == "2026-12-01"  # ended 2026-11-01 + 30 days
    assert obligation["attestation_kind"] == "deletion"
    assert "删除" in obligation["what_zh"] and "delete" in obligation["what_en"]

    sent = submit(a, deletion(a.engagement_id))
    assert sent.status_code == 201, sent.text
    attestation = sent.json()
    assert attestation["status"] == "submitted"
    [file] = attestation["files"]
    assert (file["filename"], file["content_type"], file["size"]) == ("deletion.pdf", "application/pdf", len(PDF))

    download = client.get(f"/api/vendor/attestations/{attestation['id']}/files/{file['id']}/content", headers=a.headers)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith('attachment; filename="deletion.pdf"')

    accepted = client.post(
        f"/api/attestations/{attestation['id']}/accept", json={"reason": "certificate checked"}, headers=dpo.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    # The vendor's contacts hear of it by e-mail, not only by polling.
    contact = client.get(f"/api/vendors/{a.vendor_id}", headers=dpo.headers).json()["contacts"][0]["email"]
    [told] = [m for m in outbox(clean_database, contact) if "证明已接受" in m.subject]
    assert "accepted" in told.body and "certificate checked" in told.body

    mine = client.get("/api/vendor/attestations", headers=a.headers).json()
    assert [(item["id"], item["status"]) for item in mine["items"]] == [(attestation["id"], "accepted")]
    assert client.get("/api/vendor/obligations", headers=a.headers).json()["items"] == []
    query = {"engagement_id": a.engagement_id, "kind": "deletion_attestation"}
    closed = client.get("/api/obligations", params=query, headers=dpo.headers).json()["items"]
    assert [(item["status"], item["closed_by"]) for item in closed] == [("done", f"attestation:{attestation['id']}")]


def test_a_rejected_attestation_keeps_the_obligation_open_and_tells_the_vendor_why(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account
) -> None:
    a = vendors["a"]
    sent = submit(a, deletion(a.engagement_id, backups_covered=False)).json()
    reason = "Backups are not covered; delete them too and attest again."
    rejected = client.post(f"/api/attestations/{sent['id']}/reject", json={"reason": reason}, headers=dpo.headers)
    assert rejected.status_code == 200, rejected.text
    [still_owed] = client.get("/api/vendor/obligations", headers=a.headers).json()["items"]
    assert still_owed["last_rejection"] == reason
    view = client.get(f"/api/vendor/attestations/{sent['id']}", headers=a.headers).json()
    assert (view["status"], view["review_reason"]) == ("rejected", reason)
    again = client.post(f"/api/attestations/{sent['id']}/accept", json={}, headers=dpo.headers)
    assert again.status_code == 409


def test_who_may_review(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    make_user: Any,
    demo: dict[str, Any],
) -> None:
    a = vendors["a"]
    sent = submit(a, deletion(a.engagement_id)).json()
    url = f"/api/attestations/{sent['id']}/accept"
    for role in ("auditor", "procurement", "owner"):  # this owner does not own the camera engagement
        user = make_user(role)
        response = client.post(url, json={}, headers=user.headers)
        assert response.status_code == 403, (role, response.text)
    no_reason = client.post(f"/api/attestations/{sent['id']}/reject", json={"reason": " "}, headers=demo["headers"])
    assert no_reason.status_code == 400
    assert client.get(f"/api/attestations/{sent['id']}", headers=demo["headers"]).json()["status"] == "submitted"


def test_the_vendor_downloads_its_issued_agreement_but_never_a_draft(
    client: TestClient[Any], vendors: dict[str, Side], demo: dict[str, Any]
) -> None:
    a = vendors["a"]
    [agreement] = client.get("/api/vendor/agreements", headers=a.headers).json()["items"]
    assert (agreement["id"], agreement["status"], agreement["ended_on"]) == (a.agreement_id, "terminated", "2026-11-01")
    [document] = client.get(f"/api/vendor/agreements/{a.agreement_id}/documents", headers=a.headers).json()["items"]
    content = client.get(
        f"/api/vendor/agreements/{a.agreement_id}/documents/{document['id']}/content", headers=a.headers
    )
    assert content.status_code == 200 and content.content.startswith(b"PK")
    assert content.headers["x-content-type-options"] == "nosniff"

    draft = client.post(
        "/api/agreements",
        json={"engagement_id": a.engagement_id, "term_start": "2027-01-01", "term_end": "2027-12-31"},
        headers=demo["headers"],
    ).json()
    assert client.get(f"/api/vendor/agreements/{draft['id']}", headers=a.headers).status_code == 404
    listed = client.get("/api/vendor/agreements", headers=a.headers).json()["items"]
    assert draft["id"] not in [item["id"] for item in listed]


def test_the_vendor_sees_its_engagements_without_our_internal_fields(
    client: TestClient[Any], vendors: dict[str, Side]
) -> None:
    a = vendors["a"]
    listed = client.get("/api/vendor/engagements", headers=a.headers).json()
    assert [item["id"] for item in listed["items"]] == [a.engagement_id]
    one = client.get(f"/api/vendor/engagements/{a.engagement_id}", headers=a.headers).json()
    assert "facial_recognition" in one["pi_categories"]
    assert not {"owner_id", "pipia_reference", "consent_evidence", "vendor_id"} & set(one)


def test_the_vendor_is_told_by_e_mail_why_its_attestation_was_refused(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    settings: Settings,
    mail_server: MailServer,
) -> None:
    a = vendors["a"]
    sent = submit(a, deletion(a.engagement_id, sub_processors_covered=False)).json()
    reason = "Your sub-processors are not covered: have them delete too, then attest again."
    client.post(f"/api/attestations/{sent['id']}/reject", json={"reason": reason}, headers=dpo.headers)
    queued = client.get("/api/reminders", params={"status": "queued"}, headers=dpo.headers).json()["items"]
    refused = [item for item in queued if item["step"].startswith("refused-")]
    contacts = {
        contact["email"]
        for contact in client.get(f"/api/vendors/{a.vendor_id}", headers=dpo.headers).json()["contacts"]
    }
    assert contacts and contacts <= {item["recipient"] for item in refused}

    mailing = dataclasses.replace(settings, smtp=parse_smtp_url(mail_server.url))
    reminder_pass(mailing, datetime.now(UTC))
    to_vendor = [r for r in mail_server.handler.received if set(r.recipients) & contacts]
    assert to_vendor
    text = body_of(to_vendor[0].message, "plain")
    assert reason in text and "Your last attestation was refused" in text
    assert "/api/vendor/obligations" in text  # the vendor's link, not our internal one
