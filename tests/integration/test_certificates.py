"""Vendor certificates: uploaded through the vendor API, renewed before they expire (reminded
30, 7 and 1 days before), and a finding when one an agreement relies on has expired."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from app.core import clock
from app.workdays import services as workdays
from tests.conftest import Account, run
from tests.integration.conftest import PDF, Side, Submit, agreement_in_force, issue_key


def certificate(engagement_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "certification",
        "engagement_id": engagement_id,
        "certification": "mlps_level_3",
        "number": "31011543021-25007",
        "issuer": "上海市公安局网络安全保卫总队 (Shanghai PSB cybersecurity unit)",
        "scope": "人脸识别客流分析平台 (the face-recognition traffic platform)",
        "valid_from": str(clock.today() - timedelta(days=300)),
        "valid_until": str(clock.today() + timedelta(days=30)),
    }
    body.update(overrides)
    return body


CERTIFICATE_FILE = [("等保三级证书.pdf", PDF, "application/pdf")]


@pytest.fixture
def running(client: TestClient[Any], demo: dict[str, Any], clean_database: str) -> Side:
    """The camera vendor with an agreement in force and a key."""
    engagement = demo["camera"]
    agreement = agreement_in_force(client, demo["headers"], clean_database, engagement["id"])
    key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
    return Side(engagement["vendor_id"], engagement["id"], agreement["id"], key)


def _send(submit: Submit, side: Side, **overrides: Any) -> dict[str, Any]:
    response = submit(side, certificate(side.engagement_id, **overrides), CERTIFICATE_FILE)
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    return sent


def _accept(client: TestClient[Any], dpo: Account, attestation_id: str) -> None:
    response = client.post(
        f"/api/attestations/{attestation_id}/accept", json={"reason": "checked"}, headers=dpo.headers
    )
    assert response.status_code == 200, response.text


def _renewals(client: TestClient[Any], dpo: Account, side: Side) -> list[dict[str, Any]]:
    query = {"engagement_id": side.engagement_id, "kind": "certification_renewal"}
    items: list[dict[str, Any]] = client.get("/api/obligations", params=query, headers=dpo.headers).json()["items"]
    return items


def _working_days_before(database_url: str, day: date, days: int) -> date:
    async def go(session: Any) -> date:
        return (await workdays.load(session)).add_working_days(day, -days)

    result: date = run(go, database_url)
    return result


def test_a_certificate_is_sent_through_the_vendor_api_and_its_renewal_becomes_the_vendors_duty(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account, clean_database: str
) -> None:
    sent = _send(submit, running)
    assert sent["kind"] == "certification" and sent["status"] == "submitted"
    assert sent["details"]["number"] == "31011543021-25007" and sent["files"][0]["filename"] == "等保三级证书.pdf"
    assert _renewals(client, dpo, running) == []  # nothing is owed for a certificate we have not accepted

    _accept(client, dpo, sent["id"])
    (renewal,) = _renewals(client, dpo, running)
    until = clock.today() + timedelta(days=30)
    assert renewal["due_on"] == str(_working_days_before(clean_database, until, 10))
    assert renewal["party"] == "vendor" and renewal["status"] == "open"
    assert renewal["article"] == "PIPL art. 21(1); PIPL art. 59"
    assert renewal["what_zh"].startswith("证书即将到期") and "renewed certificate" in renewal["what_en"]
    owed = client.get("/api/vendor/obligations", headers=running.headers).json()["items"]
    assert [(o["kind"], o["attestation_kind"]) for o in owed if o["kind"] == "certification_renewal"] == [
        ("certification_renewal", "certification")
    ]


def test_the_renewal_is_counted_in_chinese_working_days(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account, clean_database: str
) -> None:
    # Expiring just after the National Day week: ten working days reach back past the holiday.
    _accept(client, dpo, _send(submit, running, valid_until="2026-10-12")["id"])
    (renewal,) = _renewals(client, dpo, running)
    due = date.fromisoformat(renewal["due_on"])
    assert due == _working_days_before(clean_database, date(2026, 10, 12), 10)
    assert (date(2026, 10, 12) - due).days > 14  # 10 working days around a week of holidays


def test_a_renewed_certificate_of_the_same_kind_meets_the_renewal_and_another_kind_does_not(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    _accept(client, dpo, _send(submit, running)["id"])
    _accept(client, dpo, _send(submit, running, certification="iso_iec_27001", number="CN-27001-1")["id"])
    assert sorted(r["status"] for r in _renewals(client, dpo, running)) == ["open", "open"]

    renewed = _send(
        submit, running, number="31011543021-26001", valid_from=str(clock.today()), valid_until="2028-12-31"
    )
    _accept(client, dpo, renewed["id"])
    statuses = sorted(
        (r["status"], r["closed_by"].startswith("data:renewed by attestation")) for r in _renewals(client, dpo, running)
    )
    # The old MLPS one met by the renewal; the ISO one still open; the renewed one's own renewal open.
    assert statuses == [("done", True), ("open", False), ("open", False)]


def test_a_certificate_expiring_in_30_days_produces_its_reminder(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account, demo: dict[str, Any]
) -> None:
    _accept(client, dpo, _send(submit, running)["id"])  # valid until today + 30
    (renewal,) = _renewals(client, dpo, running)
    assert 7 < (date.fromisoformat(renewal["due_on"]) - clock.today()).days <= 30
    reminders = client.get("/api/reminders", params={"obligation_id": renewal["id"]}, headers=dpo.headers).json()[
        "items"
    ]
    assert {(r["step"], r["status"]) for r in reminders} == {("before-30", "queued")}
    vendor = client.get(f"/api/vendors/{running.vendor_id}", headers=demo["headers"]).json()
    # The vendor's contacts, whose duty it is (the engagement's owner is copied, as for every vendor duty).
    assert {contact["email"] for contact in vendor["contacts"]} <= {r["recipient"] for r in reminders}


def test_an_expired_certificate_the_agreement_relies_on_raises_a_finding_until_renewed(
    client: TestClient[Any], running: Side, submit: Submit, dpo: Account
) -> None:
    def r20() -> list[dict[str, Any]]:
        query = {"engagement_id": running.engagement_id}
        items = client.get("/api/findings", params=query, headers=dpo.headers).json()["items"]
        return [f for f in items if f["rule_id"] == "R20"]

    valid = _send(submit, running, certification="iso_iec_27001", number="CN-27001-OK")
    _accept(client, dpo, valid["id"])
    assert r20() == []  # a valid certificate: nothing to say

    expired_on = clock.today() - timedelta(days=5)
    expired = _send(submit, running, valid_from="2023-01-01", valid_until=str(expired_on))
    _accept(client, dpo, expired["id"])
    (finding,) = r20()
    assert finding["severity"] == "medium" and finding["articles"] == ["PIPL art. 21(1)", "PIPL art. 59"]
    assert (
        finding["title_zh"] == "受托方的证书已过期" and finding["title_en"] == "A certificate of the vendor has expired"
    )
    assert f"已于 {expired_on} 到期" in finding["explanation_zh"] and "第五十九条" in finding["explanation_zh"]
    assert f"expired on {expired_on}" in finding["explanation_en"] and "(art. 59)" in finding["explanation_en"]
    assert finding["facts"]["certification"] == "mlps_level_3" and finding["facts"]["number"] == "31011543021-25007"

    _accept(client, dpo, _send(submit, running, number="NEW-1", valid_from=str(clock.today()))["id"])
    assert r20() == []
    resolved = client.get(
        "/api/findings", params={"engagement_id": running.engagement_id, "status": "resolved"}, headers=dpo.headers
    ).json()["items"]
    assert [f["rule_id"] for f in resolved if f["rule_id"] == "R20"] == ["R20"]


def test_a_certificate_without_an_agreement_in_force_raises_nothing(
    client: TestClient[Any], demo: dict[str, Any], submit: Submit, dpo: Account
) -> None:
    engagement = demo["payroll"]
    key = issue_key(client, demo["headers"], engagement["vendor_id"])["key"]
    side = Side(engagement["vendor_id"], engagement["id"], "", key)
    _accept(client, dpo, _send(submit, side, valid_from="2023-01-01", valid_until="2024-01-01")["id"])
    items = client.get("/api/findings", params={"engagement_id": engagement["id"]}, headers=dpo.headers).json()
    assert "R20" not in {f["rule_id"] for f in items["items"]}


@pytest.mark.parametrize(
    ("overrides", "files", "key"),
    [
        ({}, [], "files"),
        ({"valid_until": "2020-01-01", "valid_from": "2021-01-01"}, None, "valid_until"),
        ({"certification": "iso_9001"}, None, "certification"),
        ({"number": ""}, None, "number"),
        ({"certification": "other", "name": ""}, None, "name"),
        ({"scope": ""}, None, "scope"),
    ],
)
def test_a_bad_certificate_is_refused_with_its_field_and_nothing_is_stored(
    client: TestClient[Any],
    running: Side,
    submit: Submit,
    overrides: dict[str, Any],
    files: list[tuple[str, bytes, str]] | None,
    key: str,
) -> None:
    response = submit(
        running, certificate(running.engagement_id, **overrides), CERTIFICATE_FILE if files is None else files
    )
    assert response.status_code == 400, response.text
    assert key in response.text
    assert client.get("/api/vendor/attestations", headers=running.headers).json()["total"] == 0


def test_a_certificate_stays_with_its_vendor(client: TestClient[Any], vendors: dict[str, Side], submit: Submit) -> None:
    a, b = vendors["a"], vendors["b"]
    # b cannot send a certificate for a's engagement: answered as if it did not exist.
    foreign = submit(b, certificate(a.engagement_id), CERTIFICATE_FILE)
    assert foreign.status_code == 422 and "metadata.engagement_id" in foreign.text
    sent = _send(submit, a)
    file_id = sent["files"][0]["id"]
    assert client.get(f"/api/vendor/attestations/{sent['id']}", headers=b.headers).status_code == 404
    content = f"/api/vendor/attestations/{sent['id']}/files/{file_id}/content"
    assert client.get(content, headers=b.headers).status_code == 404
    assert client.get(content, headers=a.headers).status_code == 200
    listed = client.get("/api/vendor/attestations", params={"kind": "certification"}, headers=b.headers).json()
    assert listed["total"] == 0
