"""Obligations derived from engagements and agreements, in China's working days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from app.core import clock
from tests.conftest import Account
from tests.factories import engagement_body, vendor_body

FACES = {"pi_categories": ["facial_recognition"], "individuals_count_as_of": "2026-01-09"}


@pytest.fixture
def vendor(client: TestClient[Any], admin: Account) -> dict[str, Any]:
    response = client.post("/api/vendors", json=vendor_body(), headers=admin.headers)
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def engage(client: TestClient[Any], admin: Account, vendor: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    def create(**fields: Any) -> dict[str, Any]:
        body = engagement_body(vendor["id"], **{"start_date": None, "end_date": None, **fields})
        response = client.post("/api/engagements", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


# The company's own duties, counted over every engagement, belong to none.
COMPANY_KINDS = {
    "facial_recognition_filing",
    "facial_recognition_filing_change",
    "facial_recognition_deregistration",
    "pi_officer_report",
    "compliance_audit",
    "minors_audit_report",
}


def owed(client: TestClient[Any], account: Account, engagement_id: str, **query: str) -> list[dict[str, Any]]:
    scope = {"company": "true"} if query.get("kind") in COMPANY_KINDS else {"engagement_id": engagement_id}
    params = {**scope, **query}
    items: list[dict[str, Any]] = client.get("/api/obligations", params=params, headers=account.headers).json()["items"]
    return items


def test_faces_of_100000_people_across_vendors_call_for_one_company_filing_in_30_working_days(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    first = engage(individuals_count=60_000, **FACES)
    assert owed(client, admin, first["id"], kind="facial_recognition_filing") == []  # one vendor alone: not yet
    other_vendor = client.post(
        "/api/vendors", json=vendor_body(legal_name_zh="另一家科技有限公司"), headers=admin.headers
    )
    assert other_vendor.status_code == 201, other_vendor.text
    body = engagement_body(other_vendor.json()["id"], individuals_count=50_000, start_date=None, end_date=None, **FACES)
    second = client.post("/api/engagements", json=body, headers=admin.headers).json()
    [filing] = owed(client, admin, second["id"], kind="facial_recognition_filing")
    # 30 working days from 9 Jan 2026, across the Spring Festival and a make-up Saturday.
    assert (filing["due_on"], filing["rule_id"], filing["party"]) == ("2026-02-27", "R9", "handler")
    assert (filing["engagement_id"], filing["vendor_id"], filing["owner_id"]) == (None, None, None)
    assert "100,000" in filing["what_en"] and "10万" in filing["what_zh"]
    # Each face engagement says the company's filing is owed, with the total that calls for it.
    for engagement in (first, second):
        findings = client.get(f"/api/engagements/{engagement['id']}/findings", headers=admin.headers).json()["items"]
        [r9] = [finding for finding in findings if finding["rule_id"] == "R9"]
        assert r9["facts"]["company_faces_total"] == 110_000
    # Not listed as any one engagement's duty, but on the company's own page with what feeds it.
    assert all(o["kind"] != "facial_recognition_filing" for o in owed(client, admin, first["id"]))
    company = client.get("/api/company", headers=admin.headers).json()
    assert company["faces_total"] == 110_000
    assert [e["individuals"] for e in company["faces_by_engagement"]] == [60_000, 50_000]
    assert company["faces_by_engagement"][1]["vendor"] == "另一家科技有限公司"
    assert [o["kind"] for o in company["obligations"]] == ["facial_recognition_filing"]


def test_after_filing_a_new_use_calls_for_a_change_and_stopping_for_deregistration(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    engagement = engage(individuals_count=120_000, **FACES)
    [filing] = owed(client, admin, engagement["id"], kind="facial_recognition_filing")
    done = client.post(
        f"/api/obligations/{filing['id']}/complete", json={"reference": "沪网信备 2026-0042"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text
    assert owed(client, admin, engagement["id"], kind="facial_recognition_filing_change") == []
    added = engage(individuals_count=5_000, **FACES)
    [change] = owed(client, admin, added["id"], kind="facial_recognition_filing_change")
    assert change["status"] == "open" and change["rule_id"] == "R9"
    stop = clock.today() + timedelta(days=3)
    for each in (engagement, added):
        ended = client.patch(
            f"/api/engagements/{each['id']}",
            json={"status": "terminated", "end_date": str(stop)},
            headers=admin.headers,
        )
        assert ended.status_code == 200, ended.text
    [deregistration] = owed(client, admin, engagement["id"], kind="facial_recognition_deregistration")
    assert (deregistration["status"], deregistration["basis_on"]) == ("open", str(stop))


def test_a_filing_no_longer_called_for_is_waived_by_the_data_and_reopens_on_its_first_date(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    engagement = engage(individuals_count=150_000, **FACES)
    url = f"/api/engagements/{engagement['id']}"
    client.patch(
        url, json={"individuals_count": 90_000, "individuals_count_as_of": "2026-01-20"}, headers=admin.headers
    )
    [waived] = owed(client, admin, engagement["id"], kind="facial_recognition_filing")
    assert (waived["status"], waived["closed_by"], waived["note"]) == ("waived", "data", "no longer applies")
    client.patch(
        url, json={"individuals_count": 120_000, "individuals_count_as_of": "2026-02-01"}, headers=admin.headers
    )
    [back] = owed(client, admin, engagement["id"], kind="facial_recognition_filing")
    assert (back["status"], back["due_on"]) == ("open", "2026-02-27")  # counted from when 100,000 was first seen


def test_cross_border_filings_and_the_security_assessment_extension(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    abroad = {
        "leaves_china": True,
        "storage_locations": [{"country": "SG"}],
        "cross_border_recipients": [{"name": "Example Pte. Ltd.", "country": "SG"}],
    }
    contract = engage(cross_border_mechanism="standard_contract", cross_border_effective_on="2026-03-02", **abroad)
    [filing] = owed(client, admin, contract["id"], kind="standard_contract_filing")
    assert (filing["due_on"], filing["rule_id"]) == ("2026-03-16", "R14")  # 10 working days

    assessed = engage(cross_border_mechanism="security_assessment", cross_border_effective_on="2024-05-06", **abroad)
    [extension] = owed(client, admin, assessed["id"], kind="security_assessment_extension")
    assert extension["due_on"] == "2027-05-06"  # due at the 3-year expiry, not before
    days = client.get(
        "/api/calendar/days", params={"start": extension["basis_on"], "end": "2027-05-06"}, headers=admin.headers
    ).json()
    assert sum(day["working"] for day in days[1:]) == 60  # its window opens 60 working days before
    assert extension["rule_id"] == "R15"
    assert extension["provisional"] == days[-1]["provisional"]

    no_mechanism = engagement_body(contract["vendor_id"], cross_border_effective_on="2026-03-02", **abroad)
    refused = client.post("/api/engagements", json=no_mechanism, headers=admin.headers)
    assert refused.status_code == 400 and "cross_border_effective_on" in refused.text


def test_pipia_before_processing_and_its_retention_close_from_the_data(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    engagement = engage(start_date="2026-03-01", end_date="2027-12-31")
    [pipia] = owed(client, admin, engagement["id"], kind="pipia")
    assert (pipia["status"], pipia["due_on"], pipia["rule_id"], pipia["article"]) == (
        "open",
        "2026-03-01",
        "R4",
        "PIPL art. 55(3)",
    )
    url = f"/api/engagements/{engagement['id']}"
    client.patch(url, json={"pipia_date": "2026-02-20", "pipia_reference": "PIPIA-7"}, headers=admin.headers)
    [pipia] = owed(client, admin, engagement["id"], kind="pipia")
    assert (pipia["status"], pipia["closed_by"]) == ("done", "data:pipia_date 2026-02-20")
    [retention] = owed(client, admin, engagement["id"], kind="pipia_retention")
    assert (retention["status"], retention["rule_id"]) == ("open", "R5")
    # Three years from the end of the processing (2027-12-31), not from the PIPIA.
    client.patch(url, json={"pipia_retained_until": "2030-12-30"}, headers=admin.headers)  # a day short
    assert owed(client, admin, engagement["id"], kind="pipia_retention")[0]["status"] == "open"
    client.patch(url, json={"pipia_retained_until": "2030-12-31"}, headers=admin.headers)
    assert owed(client, admin, engagement["id"], kind="pipia_retention")[0]["status"] == "done"


def test_waive_and_complete(
    client: TestClient[Any],
    admin: Account,
    engage: Callable[..., dict[str, Any]],
    make_user: Callable[..., Account],
) -> None:
    engagement = engage(individuals_count=200_000, start_date="2026-03-01", **FACES)
    [filing] = owed(client, admin, engagement["id"], kind="facial_recognition_filing")
    [pipia] = owed(client, admin, engagement["id"], kind="pipia")
    base = "/api/obligations"
    auditor = make_user("auditor")
    assert client.post(f"{base}/{filing['id']}/waive", json={"reason": "x"}, headers=auditor.headers).status_code == 403
    assert client.post(f"{base}/{filing['id']}/waive", json={"reason": ""}, headers=admin.headers).status_code == 400
    done = client.post(
        f"{base}/{filing['id']}/complete", json={"reference": "沪网信备 2026-0042"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["note"]) == ("done", "沪网信备 2026-0042")
    assert done.json()["closed_by"] == f"user:{admin.email}"
    again = client.post(f"{base}/{filing['id']}/waive", json={"reason": "x"}, headers=admin.headers)
    assert again.status_code == 409
    waived = client.post(f"{base}/{pipia['id']}/waive", json={"reason": "PIPIA held by group"}, headers=admin.headers)
    assert waived.json()["status"] == "waived"
    trail = client.get(f"/api/audit?object_type=obligation&object_id={pipia['id']}", headers=admin.headers).json()
    assert trail["items"][0]["changes"]["reason"] == "PIPIA held by group"


def test_an_admin_override_of_a_day_moves_the_deadlines(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]], make_user: Callable[..., Account]
) -> None:
    engagement = engage(individuals_count=100_000, **FACES)
    day = "/api/calendar/overrides/2026-02-24"
    dpo = make_user("dpo")
    assert client.put(day, json={"working": False}, headers=dpo.headers).status_code == 403
    response = client.put(day, json={"working": False, "note": "local holiday"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert owed(client, admin, engagement["id"], kind="facial_recognition_filing")[0]["due_on"] == "2026-02-28"
    assert client.delete(day, headers=admin.headers).status_code == 204
    assert owed(client, admin, engagement["id"], kind="facial_recognition_filing")[0]["due_on"] == "2026-02-27"
    assert client.delete(day, headers=admin.headers).status_code == 404
    assert client.put(
        "/api/calendar/overrides/2026-02-30", json={"working": True}, headers=admin.headers
    ).status_code in (
        400,
        404,
    )


def test_the_calendar_shows_holidays_and_make_up_days(client: TestClient[Any], admin: Account) -> None:
    days = client.get(
        "/api/calendar/days", params={"start": "2026-02-13", "end": "2026-02-24"}, headers=admin.headers
    ).json()
    working = {day["day"]: day["working"] for day in days}
    assert working["2026-02-14"] and not working["2026-02-17"] and working["2026-02-24"]
    assert next(day for day in days if day["day"] == "2026-02-17")["holiday"]
    too_long = client.get(
        "/api/calendar/days", params={"start": "2026-01-01", "end": "2029-01-01"}, headers=admin.headers
    )
    assert too_long.status_code == 400


def test_list_filters(client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]) -> None:
    engage(individuals_count=100_000, start_date="2026-03-01", **FACES)

    def kinds(**query: Any) -> list[str]:
        items = client.get("/api/obligations", params=query, headers=admin.headers).json()["items"]
        return sorted(item["kind"] for item in items)

    assert kinds() == ["facial_recognition_filing", "pipia"]
    assert kinds(due_before="2026-02-28") == ["facial_recognition_filing"]
    assert kinds(due_after="2026-02-28") == ["pipia"]
    assert kinds(owner_id=admin.id, kind="pipia") == ["pipia"]
    # Both due dates (27 Feb and 1 Mar 2026) have passed: both are overdue, by either filter.
    assert kinds(overdue=True) == kinds(status="overdue") == ["facial_recognition_filing", "pipia"]
    assert kinds(status="done") == []
    assert client.get("/api/obligations", params={"status": "late"}, headers=admin.headers).status_code == 400


def test_hostile_values_never_cause_500(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    from tests.integration.test_robustness import HOSTILE_VALUES, _assert_deliberate

    engage(individuals_count=100_000, start_date="2026-03-01", **FACES)
    items = client.get("/api/obligations", headers=admin.headers).json()["items"]
    targets: list[tuple[str, str, dict[str, Any]]] = [
        (f"/api/obligations/{items[0]['id']}/waive", "POST", {"reason": "x"}),
        (f"/api/obligations/{items[1]['id']}/complete", "POST", {"reference": "x"}),
        ("/api/calendar/overrides/2026-05-06", "PUT", {"working": True, "note": "x"}),
    ]
    for path, method, body in targets:
        for field in body:
            for value in HOSTILE_VALUES:
                response = client.request(method, path, json={**body, field: value}, headers=admin.headers)
                _assert_deliberate(response, (path, field, value))
                if response.status_code == 200 and method == "POST":
                    break
    for query in ("due_before=yesterday", "due_after=2026-13-01", "kind=", "owner_id=1", "overdue=perhaps", "limit=-1"):
        _assert_deliberate(client.get(f"/api/obligations?{query}", headers=admin.headers), query)
    for query in ("start=2026-01-01", "start=x&end=y", "start=2026-01-01&end=2025-01-01", "start=%00&end=%00"):
        _assert_deliberate(client.get(f"/api/calendar/days?{query}", headers=admin.headers), query)
    for query in ("status=lost", "obligation_id=0", "recipient=" + "x" * 5000):
        _assert_deliberate(client.get(f"/api/reminders?{query}", headers=admin.headers), query)
    for day in ("2026-02-30", "0000-01-01", "not-a-day", "%00"):
        _assert_deliberate(
            client.put(f"/api/calendar/overrides/{day}", json={"working": True}, headers=admin.headers), day
        )


PROFILE = {
    "legal_name_zh": "上海星驰汽车销售有限公司",
    "unified_social_credit_code": "91310000MA1FL3XC0D",
    "pi_protection_officer_name": "张敏",
    "individuals_total_as_of": "2026-01-09",
}


def test_a_million_people_call_for_the_officer_report_and_ten_million_for_audits(
    client: TestClient[Any], admin: Account
) -> None:
    def company_duties() -> dict[str, dict[str, Any]]:
        items = client.get("/api/obligations", params={"company": "true"}, headers=admin.headers).json()["items"]
        return {o["kind"]: o for o in items if o["status"] == "open"}

    assert client.put("/api/handler", json={**PROFILE, "individuals_total": 999_999}, headers=admin.headers).is_success
    assert company_duties() == {}
    client.put("/api/handler", json={**PROFILE, "individuals_total": 1_000_000}, headers=admin.headers)
    report = company_duties()["pi_officer_report"]
    assert (report["due_on"], report["rule_id"]) == ("2026-02-27", "R17")  # 30 working days from 9 Jan
    # A new officer is a new report, counted from then; the first is no longer owed.
    client.put(
        "/api/handler",
        json={**PROFILE, "individuals_total": 1_000_000, "pi_protection_officer_name": "李华"},
        headers=admin.headers,
    )
    reports = client.get("/api/obligations", params={"kind": "pi_officer_report"}, headers=admin.headers).json()
    assert sorted(o["status"] for o in reports["items"]) == ["open", "waived"]
    assert "compliance_audit" not in company_duties()

    last = {**PROFILE, "individuals_total": 10_000_001, "last_compliance_audit_on": "2025-03-31"}
    client.put("/api/handler", json=last, headers=admin.headers)
    assert company_duties()["compliance_audit"]["due_on"] == "2027-03-31"  # two years after the last


def test_minors_call_for_the_yearly_report_and_a_certificate_for_its_renewal(
    client: TestClient[Any], admin: Account, engage: Callable[..., dict[str, Any]]
) -> None:
    minors = engage(
        data_subjects=["customers", "minors_under_14"],
        legal_basis="consent",
        consent_obtained=True,
        guardian_consent_obtained=True,
    )
    [report] = owed(client, admin, minors["id"], kind="minors_audit_report")
    assert report["due_on"] == f"{clock.today().year + 1}-01-31"
    certified = engage(
        leaves_china=True,
        storage_locations=[{"country": "SG"}],
        cross_border_recipients=[{"name": "Example Pte. Ltd.", "country": "SG"}],
        cross_border_mechanism="certification",
        cross_border_effective_on="2026-01-15",
    )
    [renewal] = owed(client, admin, certified["id"], kind="cross_border_certification_renewal")
    assert renewal["due_on"] == "2029-01-15"  # valid three years
