"""Issue 14's remaining gaps, each with a case and a near miss: the vendors' monthly face counts
feeding the company's total, standard-contract re-filing, regulator-ordered audits, and the PI
taxonomy's sources (GB/T 45574-2025)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from litestar.testing import TestClient

from app.attestations.services import sweep_orphans
from app.core import clock
from app.core.settings import Settings
from app.core.storage import open_storage
from tests.conftest import Account, run
from tests.factories import engagement_body, pdf
from tests.integration.conftest import PDF, Side, Submit, agreement_in_force, issue_key


def face_count(engagement_id: str, as_of: str, faces: int) -> dict[str, Any]:
    return {"kind": "face_count", "engagement_id": engagement_id, "as_of": as_of, "faces_stored": faces}


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def last_month_end() -> date:
    return clock.today().replace(day=1) - timedelta(days=1)


def camera_entry(client: TestClient[Any], headers: dict[str, str], engagement_id: str) -> dict[str, Any]:
    company = client.get("/api/company", headers=headers).json()
    [entry] = [e for e in company["faces_by_engagement"] if e["engagement_id"] == engagement_id]
    return {**entry, "faces_total": company["faces_total"], "kinds": [o["kind"] for o in company["obligations"]]}


def camera_side(client: TestClient[Any], demo: dict[str, Any], database_url: str) -> Side:
    engagement = demo["camera"]
    agreement = agreement_in_force(client, demo["headers"], database_url, engagement["id"], term_end="2027-12-31")
    key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
    # The agreement was put in force behind the API's back: a write to its engagement derives its duties.
    touched = client.patch(
        f"/api/engagements/{engagement['id']}", json={"retention_note": "as agreed"}, headers=demo["headers"]
    )
    assert touched.status_code == 200, touched.text
    return Side(engagement["vendor_id"], engagement["id"], agreement["id"], key)


# ------------------------------------------------------------------ a. monthly face counts


def test_the_latest_accepted_face_count_replaces_the_estimate_in_the_company_total(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str, submit: Submit, dpo: Account
) -> None:
    side = camera_side(client, demo, clean_database)
    headers = demo["headers"]
    estimate = camera_entry(client, headers, side.engagement_id)
    assert (estimate["source"], estimate["individuals"]) == ("estimated", demo["camera"]["individuals_count"])
    assert "estimated" in estimate["source_en"] and "估算" in estimate["source_zh"]
    assert "facial_recognition_filing" in estimate["kinds"]  # 431,623 estimated: the company must file

    counted_on = last_month_end()
    sent = submit(side, face_count(side.engagement_id, str(counted_on), 90_000), files=[])
    assert sent.status_code == 201, sent.text
    # Near miss: a report not yet accepted changes nothing.
    assert camera_entry(client, headers, side.engagement_id)["individuals"] == estimate["individuals"]
    accepted = client.post(f"/api/attestations/{sent.json()['id']}/accept", json={}, headers=dpo.headers)
    assert accepted.status_code == 200, accepted.text
    reported = camera_entry(client, headers, side.engagement_id)
    assert (reported["source"], reported["individuals"]) == ("reported", 90_000)
    assert (reported["counted_on"], reported["reported_on"]) == (str(counted_on), str(clock.today()))
    assert f"reported by the vendor on {clock.today()}" in reported["source_en"]
    assert reported["faces_total"] == estimate["faces_total"] - estimate["individuals"] + 90_000

    # Near miss: an older month accepted later, and a rejected report, do not replace the latest.
    older = submit(
        side, face_count(side.engagement_id, str(counted_on.replace(day=1) - timedelta(days=1)), 1), files=[]
    )
    assert (
        client.post(f"/api/attestations/{older.json()['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    )
    refused = submit(side, face_count(side.engagement_id, str(counted_on), 2), files=[])
    rejected = client.post(
        f"/api/attestations/{refused.json()['id']}/reject",
        json={"reason": "count the backups too"},
        headers=dpo.headers,
    )
    assert rejected.status_code == 200, rejected.text
    assert camera_entry(client, headers, side.engagement_id)["individuals"] == 90_000


def test_a_face_count_below_100000_across_vendors_waives_the_filing_the_estimate_called_for(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str, submit: Submit, dpo: Account
) -> None:
    side = camera_side(client, demo, clean_database)
    before = camera_entry(client, demo["headers"], side.engagement_id)
    others = before["faces_total"] - before["individuals"]
    sent = submit(side, face_count(side.engagement_id, str(last_month_end()), 99_999 - others), files=[])
    assert client.post(f"/api/attestations/{sent.json()['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    after = camera_entry(client, demo["headers"], side.engagement_id)
    assert after["faces_total"] == 99_999
    assert "facial_recognition_filing" not in after["kinds"]


def test_the_vendor_owes_a_count_each_month_and_an_accepted_one_closes_it(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str, submit: Submit, dpo: Account
) -> None:
    side = camera_side(client, demo, clean_database)
    owed = client.get("/api/vendor/v1/obligations", headers=side.headers).json()["items"]
    counts = [item for item in owed if item["kind"] == "face_count_report"]
    this_month = month_end(clock.today())
    assert [item["due_on"] for item in counts] == [str(this_month + timedelta(days=5))]
    assert counts[0]["attestation_kind"] == "face_count" and "5" in counts[0]["what_zh"]
    sent = submit(side, face_count(side.engagement_id, str(clock.today()), 420_000), files=[])
    assert client.post(f"/api/attestations/{sent.json()['id']}/accept", json={}, headers=dpo.headers).status_code == 200
    owed = client.get("/api/vendor/v1/obligations", headers=side.headers).json()["items"]
    assert [item for item in owed if item["kind"] == "face_count_report"] == []

    # Near miss: the payroll vendor's agreement (no faces) owes no count.
    payroll = demo["payroll"]
    agreement_in_force(client, demo["headers"], clean_database, payroll["id"])
    touched = client.patch(f"/api/engagements/{payroll['id']}", json={"retention_note": "x"}, headers=demo["headers"])
    assert touched.status_code == 200, touched.text
    key = issue_key(client, demo["headers"], payroll["vendor_id"])["key"]
    theirs = client.get("/api/vendor/v1/obligations", headers={"Authorization": f"Bearer {key}"}).json()["items"]
    assert all(item["kind"] != "face_count_report" for item in theirs)


def test_a_face_count_must_be_about_faces_and_a_day_that_has_passed(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str, submit: Submit
) -> None:
    side = camera_side(client, demo, clean_database)
    future = submit(side, face_count(side.engagement_id, str(clock.today() + timedelta(days=1)), 10), files=[])
    assert future.status_code == 400 and "metadata.as_of" in future.text
    negative = submit(side, face_count(side.engagement_id, "2026-10-31", -1), files=[])
    assert negative.status_code == 400 and "faces_stored" in negative.text
    hosting = client.post(
        "/api/engagements",
        json=engagement_body(side.vendor_id, start_date=None, end_date=None),
        headers=demo["headers"],
    )
    assert hosting.status_code == 201, hosting.text
    no_faces = submit(side, face_count(hosting.json()["id"], "2026-10-31", 10), files=[])
    assert no_faces.status_code == 400 and "metadata.engagement_id" in no_faces.text
    listed = client.get("/api/vendor/v1/attestations", headers=side.headers).json()
    assert listed["total"] == 0  # nothing written by the refused ones


# ------------------------------------------------------------------ b. standard-contract re-filing

ABROAD: dict[str, Any] = {
    "leaves_china": True,
    "cross_border_recipients": [{"name": "Acme Support GmbH", "country": "DE", "purpose": "customer support"}],
    "cross_border_mechanism": "standard_contract",
    "cross_border_effective_on": "2026-10-08",
    "individuals_count": 150_000,
    "pi_categories": ["basic_profile", "contact_details"],
    "start_date": None,
    "end_date": None,
}


def refilings(client: TestClient[Any], account: Account, engagement_id: str) -> list[dict[str, Any]]:
    params = {"engagement_id": engagement_id, "kind": "standard_contract_refiling", "status": "open"}
    items: list[dict[str, Any]] = client.get("/api/obligations", params=params, headers=account.headers).json()["items"]
    return items


def test_a_change_to_a_filed_standard_contract_calls_for_refiling_and_a_change_that_does_not_matter_does_not(
    client: TestClient[Any], admin: Account
) -> None:
    vendor = client.post("/api/vendors", json={**_vendor()}, headers=admin.headers).json()
    created = client.post("/api/engagements", json=engagement_body(vendor["id"], **ABROAD), headers=admin.headers)
    assert created.status_code == 201, created.text
    engagement_id = created.json()["id"]
    params = {"engagement_id": engagement_id, "kind": "standard_contract_filing"}
    [filing] = client.get("/api/obligations", params=params, headers=admin.headers).json()["items"]
    # Before it is filed, a change needs no re-filing: the first filing takes it in.
    patch(client, admin, engagement_id, purpose="Customer support and billing.")
    assert refilings(client, admin, engagement_id) == []
    done = client.post(
        f"/api/obligations/{filing['id']}/complete", json={"reference": "沪网信标备 2026-118"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text

    # Near misses: a count within its band, the categories in another order, the owner's notes.
    patch(client, admin, engagement_id, individuals_count=180_000, pi_categories=["contact_details", "basic_profile"])
    patch(client, admin, engagement_id, retention_note="kept while the contract runs")
    assert refilings(client, admin, engagement_id) == []

    # A new overseas recipient: re-file within 10 working days.
    recipients = [*ABROAD["cross_border_recipients"], {"name": "Acme Inc.", "country": "US", "purpose": "hosting"}]
    patch(client, admin, engagement_id, cross_border_recipients=recipients)
    [refiling] = refilings(client, admin, engagement_id)
    assert (refiling["party"], refiling["rule_id"], refiling["basis_on"]) == ("handler", "R14", str(clock.today()))
    assert "recipients" in refiling["note"] and "10 working days" in refiling["what_en"]
    assert refiling["facts"]["recipients"][0][0] == "Acme Inc."
    assert date.fromisoformat(refiling["due_on"]) >= clock.today() + timedelta(days=12)  # 10 working days
    # Changed back before re-filing: nothing is owed any more.
    patch(client, admin, engagement_id, cross_border_recipients=ABROAD["cross_border_recipients"])
    assert refilings(client, admin, engagement_id) == []

    # Each fact that matters: categories, volume band, storage abroad.
    for change in (
        {"pi_categories": ["basic_profile", "contact_details", "online_activity"]},
        {"individuals_count": 1_200_000},
        {"storage_locations": [{"country": "CN", "region": "CN-SH"}, {"country": "DE", "provider": "Acme DC"}]},
    ):
        patch(client, admin, engagement_id, **change)
        [owed] = refilings(client, admin, engagement_id)
        re_filed = client.post(
            f"/api/obligations/{owed['id']}/complete", json={"reference": "re-filed"}, headers=admin.headers
        )
        assert re_filed.status_code == 200, re_filed.text
        assert refilings(client, admin, engagement_id) == []  # measured against the re-filed facts now


def _vendor() -> dict[str, Any]:
    from tests.factories import vendor_body

    return vendor_body()


def patch(client: TestClient[Any], account: Account, engagement_id: str, **fields: Any) -> None:
    response = client.patch(f"/api/engagements/{engagement_id}", json=fields, headers=account.headers)
    assert response.status_code == 200, response.text


def test_a_security_assessment_never_calls_for_standard_contract_refiling(
    client: TestClient[Any], admin: Account
) -> None:
    vendor = client.post("/api/vendors", json=_vendor(), headers=admin.headers).json()
    body = engagement_body(vendor["id"], **{**ABROAD, "cross_border_mechanism": "security_assessment"})
    engagement_id = client.post("/api/engagements", json=body, headers=admin.headers).json()["id"]
    patch(client, admin, engagement_id, purpose="Something else entirely.")
    assert refilings(client, admin, engagement_id) == []


# ------------------------------------------------------------------ c. regulator-ordered audits

ORDER = {
    "ordered_on": "2026-11-20",
    "authority": "上海市互联网信息办公室",
    "reference": "沪网信审〔2026〕7号",
    "deadline": "2027-02-26",
}


def test_an_ordered_audit_is_owed_by_its_deadline_and_its_report_closes_it(
    client: TestClient[Any], admin: Account, dpo: Account
) -> None:
    recorded = client.post("/api/company/audit-orders", json=ORDER, headers=dpo.headers)
    assert recorded.status_code == 201, recorded.text
    order = recorded.json()
    assert order["report"] is None
    company = client.get("/api/company", headers=admin.headers).json()
    [owed] = [o for o in company["obligations"] if o["kind"] == "regulator_ordered_audit"]
    assert (owed["due_on"], owed["basis_on"], owed["rule_id"]) == ("2027-02-26", "2026-11-20", "R17")
    assert "PIPL art. 64" in owed["article"]

    # Near miss: a file that is not what it says is refused, and the obligation stays open.
    fake = client.post(
        f"/api/company/audit-orders/{order['id']}/report",
        files={"file": ("report.pdf", b"just text", "application/pdf")},
        headers=dpo.headers,
    )
    assert fake.status_code == 415 and "file" in fake.text
    assert client.get("/api/company", headers=admin.headers).json()["obligations"] == company["obligations"]

    sent = client.post(
        f"/api/company/audit-orders/{order['id']}/report",
        files={"file": ("审计报告.pdf", PDF, "application/pdf")},
        headers=dpo.headers,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["report"]["filename"] == "审计报告.pdf"
    params = {"kind": "regulator_ordered_audit", "company": "true"}
    [closed] = client.get("/api/obligations", params=params, headers=admin.headers).json()["items"]
    assert closed["status"] == "done" and closed["closed_by"].startswith("data:audit report")
    report = client.get(f"/api/company/audit-orders/{order['id']}/report", headers=admin.headers)
    assert report.status_code == 200 and report.content == PDF
    again = client.post(
        f"/api/company/audit-orders/{order['id']}/report",
        files={"file": ("other.pdf", PDF, "application/pdf")},
        headers=dpo.headers,
    )
    assert again.status_code == 409


def test_the_sweep_of_unreferenced_files_keeps_an_audit_report(
    client: TestClient[Any], admin: Account, dpo: Account, settings: Settings, clean_database: str
) -> None:
    order = client.post("/api/company/audit-orders", json=ORDER, headers=dpo.headers).json()
    files = {"file": ("审计报告.pdf", PDF, "application/pdf")}
    sent = client.post(f"/api/company/audit-orders/{order['id']}/report", files=files, headers=dpo.headers)
    assert sent.status_code == 201, sent.text
    storage = open_storage(settings.storage_url)
    stray = storage.put(pdf("an upload whose transaction failed")).sha256

    async def sweep(session: Any) -> list[str]:
        return await sweep_orphans(session, storage, older_than=timedelta(0))

    assert run(sweep, clean_database) == [stray]  # near miss: a file no row refers to goes
    report = client.get(f"/api/company/audit-orders/{order['id']}/report", headers=admin.headers)
    assert report.status_code == 200 and report.content == PDF


def test_an_order_needs_a_deadline_after_it_and_a_dpo_to_record_it(
    client: TestClient[Any], make_user: Callable[..., Account], dpo: Account
) -> None:
    early = client.post("/api/company/audit-orders", json={**ORDER, "deadline": "2026-11-01"}, headers=dpo.headers)
    assert early.status_code == 400 and "deadline" in early.text
    missing = client.post("/api/company/audit-orders", json={"ordered_on": "2026-11-20"}, headers=dpo.headers)
    assert missing.status_code == 400 and "authority" in missing.text
    owner = make_user("owner")
    assert client.post("/api/company/audit-orders", json=ORDER, headers=owner.headers).status_code == 403
    assert client.post("/api/company/audit-orders", json=ORDER).status_code == 401
    assert client.get("/api/company/audit-orders", headers=dpo.headers).json()["total"] == 0


# ------------------------------------------------------------------ d. the PI taxonomy


def test_every_category_says_whether_it_is_sensitive_and_why_also_on_an_engagement(
    client: TestClient[Any], admin: Account
) -> None:
    categories = {c["code"]: c for c in client.get("/api/pi-categories", headers=admin.headers).json()}
    assert all(category["source"] for category in categories.values())
    assert (
        categories["identity_document_photo"]["sensitive"]
        and "45574" in categories["identity_document_photo"]["source"]
    )
    assert (
        categories["facial_recognition"]["sensitive"]
        and "GB/T 45574-2025" in categories["facial_recognition"]["source"]
    )
    assert not categories["images_video"]["sensitive"]  # near miss: images not used to identify anyone
    vendor = client.post("/api/vendors", json=_vendor(), headers=admin.headers).json()
    body = engagement_body(vendor["id"], pi_categories=["health", "basic_profile"], legal_basis="consent")
    engagement = client.post("/api/engagements", json=body, headers=admin.headers).json()
    details = {d["code"]: d for d in engagement["pi_category_details"]}
    assert details["health"]["sensitive"] and "医疗健康" in details["health"]["source"]
    assert not details["basic_profile"]["sensitive"] and details["basic_profile"]["source"].startswith("Not sensitive")


def test_an_order_recorded_on_the_command_line_is_owed_like_one_from_the_api(
    client: TestClient[Any], admin: Account, clean_database: str
) -> None:
    from tests.integration.test_cli import assert_one_line_error, dpa

    added = dpa(
        "audit-orders", "add", "--ordered-on", "2026-11-20", "--authority", "北京市网信办", "--deadline", "2027-01-29",
        database_url=clean_database,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "due 2027-01-29" in added.stdout
    listed = dpa("audit-orders", "list", database_url=clean_database)
    assert "2027-01-29\t北京市网信办\towed" in listed.stdout
    params = {"kind": "regulator_ordered_audit", "company": "true", "status": "open"}
    [owed] = client.get("/api/obligations", params=params, headers=admin.headers).json()["items"]
    assert owed["due_on"] == "2027-01-29"
    early = dpa(
        "audit-orders", "add", "--ordered-on", "2026-11-20", "--authority", "x", "--deadline", "2026-01-01",
        database_url=clean_database,
    )  # fmt: skip
    assert_one_line_error(early, "deadline")


def test_an_under_18_subject_calls_for_the_yearly_minors_report_and_adults_alone_do_not(
    client: TestClient[Any], admin: Account
) -> None:
    def minors_reports() -> list[dict[str, Any]]:
        params = {"kind": "minors_audit_report", "company": "true", "status": "open"}
        items: list[dict[str, Any]] = client.get("/api/obligations", params=params, headers=admin.headers).json()[
            "items"
        ]
        return items

    vendor = client.post("/api/vendors", json=_vendor(), headers=admin.headers).json()
    adults = client.post("/api/engagements", json=engagement_body(vendor["id"]), headers=admin.headers)
    assert adults.status_code == 201, adults.text
    assert minors_reports() == []  # near miss: adults only
    body = engagement_body(vendor["id"], data_subjects=["customers", "minors_under_18"])
    teens = client.post("/api/engagements", json=body, headers=admin.headers)
    assert teens.status_code == 201, teens.text
    assert not teens.json()["processes_sensitive_pi"]  # 14 to 17: not sensitive as such, but audited yearly
    [report] = minors_reports()
    assert report["due_on"] == f"{clock.today().year + 1}-01-31"
