"""Issue 17 item 7: a vendor rehearses the whole flow with a test key (dpv_test_...) and leaves no
trace in the company's record: the duty stays open, and the register, the evidence pack and
the findings are what they were; the same upload with the real key closes the duty."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import pdf
from tests.integration.conftest import Side, Submit, deletion, issue_key
from tests.integration.test_pages import csrf_of, set_password, sign_in

V1 = "/api/vendor/v1"


def _pack(client: TestClient[Any], dpo: Account, vendor_id: str) -> dict[str, bytes]:
    response = client.get("/api/exports/evidence-pack", params={"vendor_id": vendor_id}, headers=dpo.headers)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _findings(client: TestClient[Any], dpo: Account, engagement_id: str) -> list[tuple[str, str, str]]:
    page = client.get("/api/findings", params={"engagement_id": engagement_id, "limit": 200}, headers=dpo.headers)
    assert page.status_code == 200, page.text
    return sorted((f["id"], f["rule_id"], f["status"]) for f in page.json()["items"])


def _duty(client: TestClient[Any], side: Side, key: str) -> dict[str, Any]:
    duties = client.get(f"{V1}/obligations", headers={"Authorization": f"Bearer {key}"}).json()["items"]
    found: list[dict[str, Any]] = [
        d for d in duties if d["kind"] == "deletion_attestation" and d["engagement_id"] == side.engagement_id
    ]
    assert len(found) == 1, found
    return found[0]


def test_a_test_key_rehearses_the_flow_and_leaves_no_trace(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    demo: dict[str, Any],
) -> None:
    a = vendors["a"]
    issued = issue_key(client, dpo.headers, a.vendor_id, name="sandbox", test=True)
    test_key = issued["key"]
    assert test_key.startswith("dpv_test_") and issued["test"] is True and issued["hint"].startswith("dpv_test_")
    sandbox = Side(a.vendor_id, a.engagement_id, a.agreement_id, test_key)
    register = client.get("/api/exports/register.csv", headers=dpo.headers).content
    findings = _findings(client, dpo, a.engagement_id)

    # The whole flow, as the vendor's developer would run it: the duties, the agreement, the upload.
    duty = _duty(client, a, test_key)
    documents = client.get(f"{V1}/agreements/{a.agreement_id}/documents", headers=sandbox.headers).json()["items"]
    assert documents
    content = client.get(
        f"{V1}/agreements/{a.agreement_id}/documents/{documents[0]['id']}/content", headers=sandbox.headers
    )
    assert content.status_code == 200
    key = str(uuid.uuid4())
    sent = submit(sandbox, deletion(a.engagement_id), key=key)
    assert sent.status_code == 201, sent.text
    rehearsal = sent.json()
    # Reviewed at once by the sandbox: the vendor sees an outcome, marked as a test.
    assert rehearsal["test"] is True and rehearsal["status"] == "accepted"
    assert "sandbox" in rehearsal["review_reason"]
    seen = client.get(f"{V1}/attestations/{rehearsal['id']}", headers=sandbox.headers).json()
    assert seen["status"] == "accepted" and seen["test"] is True
    # The test was checked as a real one is: a bad field is refused the same way.
    assert submit(sandbox, deletion(a.engagement_id, completed_on="2999-01-01")).status_code == 400

    # No trace: the duty is open, the register and the findings are what they were, the pack
    # holds neither the attestation nor anything the test key did.
    assert _duty(client, a, a.key)["id"] == duty["id"]  # still listed to the vendor: still owed
    assert client.get(f"/api/obligations/{duty['id']}", headers=dpo.headers).json()["status"] == "open"
    assert client.get("/api/exports/register.csv", headers=dpo.headers).content == register
    assert _findings(client, dpo, a.engagement_id) == findings
    queue = client.get("/api/attestations", params={"status": "submitted"}, headers=dpo.headers).json()
    assert all(item["id"] != rehearsal["id"] for item in queue["items"])
    files = _pack(client, dpo, a.vendor_id)
    assert not [name for name in files if name.startswith("attestations/")]
    trail = json.loads(files["audit_trail.json"])
    assert rehearsal["id"] not in files["audit_trail.json"].decode() and not [
        e for e in trail if "test" in e["changes"]
    ]
    # It is audited, though, as a test action.
    audit = client.get("/api/audit", params={"object_type": "attestation"}, headers=dpo.headers).json()["items"]
    [entry] = [e for e in audit if e["object_id"] == rehearsal["id"]]
    assert entry["action"] == "submit" and entry["changes"]["test"] is True and "test key" in entry["actor"]

    # The same upload with the real key, and the same Idempotency-Key: not a replay of the test.
    real = submit(a, deletion(a.engagement_id), key=key)
    assert real.status_code == 201 and "idempotent-replayed" not in real.headers
    assert real.json()["test"] is False and real.json()["status"] == "submitted"
    assert client.post(f"/api/attestations/{real.json()['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    closed = client.get(f"/api/obligations/{duty['id']}", headers=dpo.headers).json()
    assert closed["status"] == "done"
    files = _pack(client, dpo, a.vendor_id)
    assert [name for name in files if name.startswith("attestations/") and real.json()["id"][:8] in name]

    # Rehearsing against the closed duty is refused as a real upload would be.
    late = submit(sandbox, deletion(a.engagement_id), files=[("late.pdf", pdf("late"), "application/pdf")])
    assert late.status_code == 409 and late.json()["code"] == "duty_already_closed"


def test_a_test_key_is_issued_only_by_whoever_issues_keys_and_reaches_only_its_vendor(
    client: TestClient[Any], vendors: dict[str, Side], make_user: Any, dpo: Account
) -> None:
    a, b = vendors["a"], vendors["b"]
    auditor = make_user("auditor")
    refused = client.post(f"/api/vendors/{a.vendor_id}/keys", json={"name": "t", "test": True}, headers=auditor.headers)
    assert refused.status_code == 403
    key = issue_key(client, dpo.headers, a.vendor_id, name="sandbox", test=True)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"{V1}/agreements/{b.agreement_id}", headers=headers).status_code == 404
    assert client.get("/api/vendors", headers=headers).status_code == 403
    listed = client.get(f"/api/vendors/{a.vendor_id}/keys", headers=dpo.headers).json()["items"]
    assert sorted(k["test"] for k in listed) == [False, True]
    # A mistyped test key is refused before the database is asked, like any other.
    assert client.get(f"{V1}/obligations", headers={"Authorization": f"Bearer {key[:-1]}x"}).status_code == 401


def test_the_vendor_page_issues_a_test_key(
    client: TestClient[Any], vendors: dict[str, Side], dpo: Account, clean_database: str
) -> None:
    """Whoever issues keys on the vendor's page can tick "test key"; the list marks it."""
    a = vendors["a"]
    set_password(clean_database, dpo.email)
    assert sign_in(client, dpo.email).status_code == 303
    page = client.get(f"/vendors/{a.vendor_id}")
    assert 'name="test"' in page.text
    issued = client.post(
        f"/vendors/{a.vendor_id}/keys", data={"_csrf": csrf_of(page.text), "name": "rehearsal", "test": "on"}
    )
    assert issued.status_code == 200, issued.text
    key = re.search(r'id="issued-key">(dpv_test_[0-9A-Za-z]+)<', issued.text)
    assert key, issued.text[:2000]
    assert "测试（沙盒）" in issued.text
    duties = client.get(f"{V1}/obligations", headers={"Authorization": f"Bearer {key.group(1)}"})
    assert duties.status_code == 200
