"""Every writer lands through one settle step: a change to a vendor, a calendar day or an
attestation is followed, within the same request, by the obligations and findings derived
from it; a refused write leaves neither behind."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Account
from tests.factories import engagement_body, vendor_body
from tests.integration.conftest import Side, Submit, deletion
from tests.integration.test_attestation_kinds import change

APP = Path(__file__).parents[2] / "app"


def _open(client: TestClient[Any], account: Account, engagement_id: str) -> dict[str, dict[str, Any]]:
    query: dict[str, str | int] = {"engagement_id": engagement_id, "status": "open", "limit": 200}
    found = client.get("/api/findings", params=query, headers=account.headers).json()["items"]
    return {f"{item['rule_id']}:{item['facts'].get('vendor_country', '')}": item for item in found}


def test_a_vendor_moving_abroad_is_seen_in_its_engagements_findings(client: TestClient[Any], admin: Account) -> None:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    body = engagement_body(vendor["id"])
    engagement = client.post("/api/engagements", json=body, headers=admin.headers).json()
    assert "R14:SG" not in _open(client, admin, engagement["id"])

    abroad = {"country": "SG", "unified_social_credit_code": None, "registration_number": "201912345K"}
    moved = client.patch(f"/api/vendors/{vendor['id']}", json=abroad, headers=admin.headers)
    assert moved.status_code == 200, moved.text
    finding = _open(client, admin, engagement["id"])["R14:SG"]
    assert finding["severity"] == "review" and finding["raised_by"] == f"vendor changed by {admin.email}"
    assert "境外" in finding["title_zh"] and "PIPL art. 38" in finding["articles"]

    home = {"country": "CN", "unified_social_credit_code": vendor["unified_social_credit_code"]}
    back = client.patch(
        f"/api/vendors/{vendor['id']}", json={**home, "registration_number": None}, headers=admin.headers
    )
    assert back.status_code == 200, back.text
    assert "R14:SG" not in _open(client, admin, engagement["id"])


def test_a_day_off_moves_the_filing_deadline_and_the_finding_that_cites_it(
    client: TestClient[Any], admin: Account
) -> None:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    faces = {
        "pi_categories": ["facial_recognition"],
        "individuals_count": 150_000,
        "individuals_count_as_of": "2026-01-09",
    }
    body = engagement_body(vendor["id"], start_date=None, end_date=None, **faces)
    engagement = client.post("/api/engagements", json=body, headers=admin.headers).json()
    query = {"company": "true", "kind": "facial_recognition_filing"}  # the company's filing, counted over all

    def filing_due() -> tuple[str, str]:
        [filing] = client.get("/api/obligations", params=query, headers=admin.headers).json()["items"]
        finding = next(item for item in _open(client, admin, engagement["id"]).values() if item["rule_id"] == "R9")
        return filing["due_on"], finding["facts"]["due_on"]

    assert filing_due() == ("2026-02-27", "2026-02-27")
    day_off = client.put("/api/calendar/overrides/2026-02-24", json={"working": False}, headers=admin.headers)
    assert day_off.status_code == 200, day_off.text
    assert filing_due() == ("2026-02-28", "2026-02-28")  # 2026-02-28 is a make-up working Saturday


def test_an_attestation_opens_and_closes_duties_as_it_is_sent_and_reviewed(
    client: TestClient[Any], vendors: dict[str, Side], submit: Submit, dpo: Account
) -> None:
    a = vendors["a"]
    notice = change(a.engagement_id, sub_processor_name="Hangzhou Example Cloud Co.")
    sent = submit(a, notice)
    assert sent.status_code == 201, sent.text
    query = {"engagement_id": a.engagement_id, "kind": "sub_processor_consent"}
    [decision] = client.get("/api/obligations", params=query, headers=dpo.headers).json()["items"]
    assert (decision["status"], decision["due_on"]) == ("open", "2099-01-01")

    accepted = client.post(f"/api/attestations/{sent.json()['id']}/accept", json={"reason": "ok"}, headers=dpo.headers)
    assert accepted.status_code == 200, accepted.text
    [decision] = client.get("/api/obligations", params=query, headers=dpo.headers).json()["items"]
    assert (decision["status"], decision["closed_by"]) == ("done", f"attestation:{sent.json()['id']}")
    subs = client.get(f"/api/engagements/{a.engagement_id}/sub-processors", headers=dpo.headers).json()["items"]
    assert [(sub["name"], sub["handler_consented"]) for sub in subs] == [("Hangzhou Example Cloud Co.", True)]

    deleted = submit(a, deletion(a.engagement_id))
    refused = client.post(
        f"/api/attestations/{deleted.json()['id']}/reject", json={"reason": "backups not named"}, headers=dpo.headers
    )
    assert refused.status_code == 200, refused.text
    [owed] = client.get("/api/vendor/obligations", headers=a.headers).json()["items"]
    assert (owed["kind"], owed["last_rejection"]) == ("deletion_attestation", "backups not named")


def test_a_refused_write_leaves_no_derived_rows(client: TestClient[Any], admin: Account) -> None:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    faces = {"pi_categories": ["facial_recognition"], "individuals_count": 150_000}
    bad = engagement_body(vendor["id"], start_date="2026-05-01", end_date="2026-01-01", **faces)
    assert client.post("/api/engagements", json=bad, headers=admin.headers).status_code == 400
    assert (
        client.get("/api/obligations", params={"vendor_id": vendor["id"]}, headers=admin.headers).json()["total"] == 0
    )
    assert client.get("/api/findings", params={"vendor_id": vendor["id"]}, headers=admin.headers).json()["total"] == 0


def test_no_domain_module_commits_or_reaches_a_layer_above_it() -> None:
    """Only the settle step commits; the import contract (make lint) keeps the layers pointing one way."""
    committing = []
    for path in sorted(APP.rglob("*.py")):
        # settle.py commits; app/core/sqlite.py is the SQLite driver's adapter, whose DB-API
        # commit() is what a commit calls, not a commit of its own.
        if path.name == "settle.py" or "migrations" in path.parts or path == APP / "core" / "sqlite.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "commit":
                committing.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert committing == []
