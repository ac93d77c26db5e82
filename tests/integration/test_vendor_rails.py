"""The vendor API's own document, and its safety rails (issue 17 items 1, 2, 8): the document lists
only what a vendor key can call, truthfully; a closed duty refuses another attestation; an
unreviewed one can be withdrawn; an ended engagement shows as ended; polling is cheap."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from app.core.settings import Settings
from tests.conftest import Account
from tests.factories import pdf
from tests.integration.conftest import ENDED_ON, Side, Submit, audit_entries, deletion

OPERATIONS = {
    "list_engagements",
    "get_engagement",
    "list_agreements",
    "get_agreement",
    "list_documents",
    "download_document",
    "list_obligations",
    "submit_attestation",
    "list_attestations",
    "get_attestation",
    "download_evidence_file",
    "withdraw_attestation",
    "list_questionnaires",
    "get_questionnaire",
    "answer_questionnaire",
    "submit_questionnaire",
    "download_questionnaire_file",
    "create_webhook",
    "list_webhooks",
    "delete_webhook",
    "list_webhook_deliveries",
    "redeliver_webhook",
}


def test_the_vendor_document_lists_only_what_a_vendor_key_calls(client: TestClient[Any], admin: Account) -> None:
    document = client.get("/api/vendor/openapi.json").json()
    internal = client.get("/schema/openapi.json", headers=admin.headers).json()
    assert document["info"]["title"] == "dpa vendor API" and document["info"]["version"]
    assert set(document["paths"]) == {path for path in internal["paths"] if path.startswith("/api/vendor/")}
    assert all(path.startswith("/api/vendor/v1/") for path in document["paths"])
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert sorted(ids) == sorted(OPERATIONS)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(document).replace("'", '"')))
    assert refs <= set(document["components"]["schemas"])
    assert "VendorPublic" not in document["components"]["schemas"]  # nothing internal leaks in
    assert client.get("/api/vendor/docs").text.count("openapi.json") >= 2  # the page renders the document


def test_the_vendor_document_says_what_the_upload_takes_and_answers(client: TestClient[Any]) -> None:
    document = client.get("/api/vendor/openapi.json").json()
    upload = document["paths"]["/api/vendor/v1/attestations"]["post"]
    multipart = upload["requestBody"]["content"]["multipart/form-data"]
    assert multipart["encoding"] == {"metadata": {"contentType": "application/json"}}
    form = document["components"]["schemas"]["AttestationUpload"]
    metadata = form["properties"]["metadata"]
    assert metadata["discriminator"]["propertyName"] == "kind"
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in metadata["oneOf"]} == {
        "DeletionDetails",
        "PeriodicDetails",
        "SubProcessorChangeDetails",
        "IncidentDetails",
        "CertificationDetails",
        "FaceCountDetails",
    }
    method = document["components"]["schemas"]["DeletionMethod"]
    assert "cryptographic_erasure" in method["enum"]
    created = upload["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AttestationPublic"}
    assert "Idempotent-Replayed" in created["headers"] and "X-RateLimit-Remaining" in created["headers"]
    assert {"400", "401", "403", "409", "413", "415", "422", "429", "503"} <= set(upload["responses"])
    for code in ("429", "503"):
        assert "Retry-After" in upload["responses"][code]["headers"]
    for code, answer in upload["responses"].items():
        if code.startswith(("4", "5")):
            assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    download = document["paths"]["/api/vendor/v1/agreements/{agreement_id}/documents/{document_id}/content"]["get"]
    assert list(download["responses"]["200"]["content"])[:2] == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    duties = document["paths"]["/api/vendor/v1/obligations"]["get"]
    assert duties["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "Page_VendorObligation_"
    )
    assert {"updated_since", "If-None-Match"} <= {p["name"] for p in duties["parameters"]}


def test_vendor_answers_carry_the_rate_limit(client: TestClient[Any], vendors: dict[str, Side]) -> None:
    a = vendors["a"]
    first = client.get("/api/vendor/obligations", headers=a.headers)
    second = client.get("/api/vendor/obligations", headers=a.headers)
    assert int(first.headers["X-RateLimit-Limit"]) == 1_000_000
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
    assert int(second.headers["X-RateLimit-Reset"]) >= 1
    assert "X-RateLimit-Limit" not in client.get("/api/vendor/obligations").headers  # refused: nothing counted


def test_a_closed_duty_refuses_another_attestation(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account
) -> None:
    a = vendors["a"]
    [duty] = [d for d in client.get("/api/vendor/obligations", headers=a.headers).json()["items"]]
    first = submit(a, deletion(a.engagement_id)).json()
    accepted = client.post(f"/api/attestations/{first['id']}/accept", json={}, headers=dpo.headers)
    assert accepted.status_code == 200
    again = submit(a, deletion(a.engagement_id), files=[("again.pdf", pdf("again"), "application/pdf")])
    assert again.status_code == 409, again.text
    assert duty["id"] in again.json()["detail"] and "already closed" in again.json()["detail"]
    mine = client.get("/api/vendor/attestations", headers=a.headers).json()
    assert mine["total"] == 1  # nothing was recorded


def test_the_vendor_withdraws_an_unreviewed_attestation(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account, settings: Settings
) -> None:
    a = vendors["a"]
    evidence = pdf("to be withdrawn")
    sent = submit(a, deletion(a.engagement_id), files=[("withdrawn.pdf", evidence, "application/pdf")]).json()
    sha256 = sent["files"][0]["sha256"]
    stored = Path(settings.storage_url.removeprefix("file:")) / sha256[:2] / sha256[2:4] / sha256
    assert stored.exists()

    withdrawn = client.post(f"/api/vendor/attestations/{sent['id']}/withdraw", headers=a.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["files"] == []
    assert not stored.exists()  # its evidence is gone from storage, after the commit
    [entry] = [e for e in audit_entries(settings.database_url, "update") if e.object_type == "attestation"]
    assert entry.changes["status"] == ["submitted", "withdrawn"]
    # Once only, and never after a review; nobody reviews a withdrawn one; the duty is still owed.
    assert client.post(f"/api/vendor/attestations/{sent['id']}/withdraw", headers=a.headers).status_code == 409
    review = client.post(f"/api/attestations/{sent['id']}/accept", json={}, headers=dpo.headers)
    assert review.status_code == 409
    assert len(client.get("/api/vendor/obligations", headers=a.headers).json()["items"]) == 1
    accepted = submit(a, deletion(a.engagement_id)).json()
    assert client.post(f"/api/attestations/{accepted['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    late = client.post(f"/api/vendor/attestations/{accepted['id']}/withdraw", headers=a.headers)
    assert late.status_code == 409 and "accepted" in late.json()["detail"]


def test_the_vendor_sees_its_engagement_ended_with_its_agreement(
    client: TestClient[Any], vendors: dict[str, Side], demo: dict[str, Any]
) -> None:
    a = vendors["a"]
    mine = client.get(f"/api/vendor/engagements/{a.engagement_id}", headers=a.headers).json()
    assert (mine["status"], mine["ended_on"]) == ("terminated", ENDED_ON)
    [listed] = client.get("/api/vendor/engagements", headers=a.headers).json()["items"]
    assert listed["status"] == "terminated"


def test_the_vendor_sees_only_the_issued_copy_and_knows_it(
    client: TestClient[Any], vendors: dict[str, Side], demo: dict[str, Any]
) -> None:
    a = vendors["a"]
    [document] = client.get(f"/api/vendor/agreements/{a.agreement_id}/documents", headers=a.headers).json()["items"]
    assert document["stage"] == "issued"
    # A draft agreement's render is marked as a draft on our side, and the vendor never sees it.
    created = client.post(
        "/api/agreements",
        json={"engagement_id": a.engagement_id, "term_start": "2027-01-05", "term_end": "2028-01-04"},
        headers=demo["headers"],
    ).json()
    render = client.post(f"/api/agreements/{created['id']}/documents", json={"format": "docx"}, headers=demo["headers"])
    assert render.json()["stage"] == "draft"
    assert client.get(f"/api/vendor/agreements/{created['id']}/documents", headers=a.headers).status_code == 404


def test_polling_is_cheap_with_an_etag_and_updated_since(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit
) -> None:
    a = vendors["a"]
    for path in ("/api/vendor/obligations", "/api/vendor/attestations"):
        first = client.get(path, headers=a.headers)
        tag = first.headers["ETag"]
        unchanged = client.get(path, headers={**a.headers, "If-None-Match": tag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["ETag"] == tag
    before = client.get("/api/vendor/attestations", headers=a.headers).headers["ETag"]
    sent = submit(a, deletion(a.engagement_id)).json()
    changed = client.get("/api/vendor/attestations", headers={**a.headers, "If-None-Match": before})
    assert changed.status_code == 200 and changed.json()["items"][0]["id"] == sent["id"]
    later = client.get("/api/vendor/attestations", params={"updated_since": "2999-01-01T00:00:00Z"}, headers=a.headers)
    assert later.json()["items"] == []
    since = client.get(
        "/api/vendor/attestations", params={"updated_since": sent["submitted_at"]}, headers=a.headers
    ).json()
    assert [item["id"] for item in since["items"]] == [sent["id"]]
    duties = client.get("/api/vendor/obligations", params={"updated_since": "2999-01-01T00:00:00"}, headers=a.headers)
    assert duties.status_code == 200 and duties.json()["total"] == 0
