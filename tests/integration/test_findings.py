"""Findings on the demo registry, their history, the before-you-buy check and the dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from tests.integration.test_cli import dpa

CAMERA_RULES = {"R4", "R6", "R8", "R9"}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "review": 3}


def _findings(client: TestClient[Any], headers: dict[str, str], engagement_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/engagements/{engagement_id}/findings", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def test_the_camera_vendor_raises_the_four_findings_of_the_case(client: TestClient[Any], demo: dict[str, Any]) -> None:
    found = {f["rule_id"]: f for f in _findings(client, demo["headers"], demo["camera"]["id"])}
    assert set(found) >= CAMERA_RULES
    assert found["R6"]["severity"] == "critical" and found["R6"]["articles"] == ["PIPL art. 28", "PIPL art. 29"]
    assert found["R8"]["severity"] == "critical"
    assert found["R8"]["articles"] == ["PIPL art. 26", "Facial recognition measures 2025 art. 13"]
    assert found["R8"]["facts"]["equipment_count"] == 22 and found["R8"]["facts"]["signage_posted"] is False
    assert "431,623" in found["R9"]["explanation_en"] and "431,623" in found["R9"]["explanation_zh"]
    assert found["R4"]["articles"] == ["PIPL art. 55(3)"]
    for finding in found.values():
        assert finding["title_zh"] and finding["title_en"] and finding["action_zh"] and finding["action_en"]
        assert finding["status"] == "open" and finding["raised_by"]
    # The payroll vendor: nothing of the camera's kind.
    payroll = {f["rule_id"] for f in _findings(client, demo["headers"], demo["payroll"]["id"])}
    assert not payroll & CAMERA_RULES


def test_a_finding_that_no_longer_holds_is_resolved_and_kept(client: TestClient[Any], demo: dict[str, Any]) -> None:
    camera = demo["camera"]
    venues = [{**venue, "signage_posted": True, "purpose_public_security": True} for venue in camera["venues"]]
    response = client.patch(f"/api/engagements/{camera['id']}", json={"venues": venues}, headers=demo["headers"])
    assert response.status_code == 200, response.text
    found = _findings(client, demo["headers"], camera["id"])
    [r8] = [f for f in found if f["rule_id"] == "R8"]
    assert r8["status"] == "resolved" and r8["resolved_at"] and r8["resolved_by"].startswith("engagement changed by")
    open_rules = {f["rule_id"] for f in found if f["status"] == "open"}
    assert "R8" not in open_rules and {"R4", "R6", "R9"} <= open_rules
    # The open ones first, worst first; then the resolved.
    statuses = [f["status"] for f in found]
    assert statuses == sorted(statuses, key=lambda status: status != "open")
    ranks = [SEVERITY_RANK[f["severity"]] for f in found if f["status"] == "open"]
    assert ranks == sorted(ranks)
    everything = client.get("/api/findings", params={"rule_id": "R8", "status": "resolved"}, headers=demo["headers"])
    assert everything.json()["total"] == 1


def test_the_before_you_buy_check_on_a_copy_of_the_camera_engagement(
    client: TestClient[Any], demo: dict[str, Any], tmp_path: Path, clean_database: str
) -> None:
    copy = dict(demo["camera"])  # with its id, timestamps and all: read-only fields are ignored
    before = client.get("/api/findings", headers=demo["headers"]).json()["total"]
    response = client.post("/api/engagements/check", json=copy, headers=demo["headers"])
    assert response.status_code == 200, response.text
    rules = {f["rule_id"] for f in response.json()}
    assert rules >= CAMERA_RULES
    assert all(f["id"] is None for f in response.json())
    assert client.get("/api/findings", headers=demo["headers"]).json()["total"] == before  # nothing stored

    bad = client.post("/api/engagements/check", json={**copy, "pi_categories": ["souls"]}, headers=demo["headers"])
    assert bad.status_code == 400
    unknown = client.post(
        "/api/engagements/check",
        json={**copy, "vendor_id": "00000000-0000-0000-0000-000000000000"},
        headers=demo["headers"],
    )
    assert unknown.status_code == 422

    path = tmp_path / "proposal.json"
    path.write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
    result = dpa("check", str(path), database_url=clean_database)
    assert result.returncode == 1  # critical findings
    for rule in CAMERA_RULES:
        assert f" {rule} " in result.stdout
    clean = {
        **copy,
        "venues": [],
        "pi_categories": ["contact_details"],
        "legal_basis": "contract",
        "pipia_date": "2025-12-01",
        "pipia_retained_until": "2030-12-31",
        "retention_days": 365,
        "individuals_count": 1000,
    }
    path.write_text(json.dumps(clean), encoding="utf-8")
    calm = dpa("check", str(path), database_url=clean_database)
    assert "R6" not in calm.stdout and "R8" not in calm.stdout
    path.write_text("{not json", encoding="utf-8")
    assert "not JSON" in dpa("check", str(path), database_url=clean_database).stderr


def test_the_dashboard_ranks_the_camera_vendor_first_and_says_why(
    client: TestClient[Any], demo: dict[str, Any]
) -> None:
    board = client.get("/api/dashboard", headers=demo["headers"]).json()
    severities = {row["severity"]: row["open"] for row in board["findings_by_severity"]}
    assert severities["critical"] >= 2
    top = board["vendors_by_risk"][0]
    assert top["vendor_id"] == demo["camera"]["vendor_id"]
    assert top["score"] == sum(int(line.split("+")[1].split(":")[0]) for line in top["why"])
    assert any(line.startswith("R6 critical +10") for line in top["why"])
    assert "10 per critical" in board["scoring"]
    assert board["most_overdue"] and board["most_overdue"][0]["days_overdue"] > 0


def test_the_chinese_texts_say_words_not_codes(client: TestClient[Any], demo: dict[str, Any]) -> None:
    """Issue 15: 敏感个人信息（人脸信息、…）, not (facial_recognition, ...); the codes stay in the facts."""
    import re

    findings = client.get("/api/findings", params={"limit": 200}, headers=demo["headers"]).json()["items"]
    assert findings
    for finding in findings:
        for field in ("title_zh", "explanation_zh", "action_zh"):
            assert not re.search(r"[a-z]+_[a-z_]+", finding[field]), (finding["rule_id"], finding[field])
    sensitive = next(f for f in findings if f["rule_id"] == "R6")
    assert "人脸" in sensitive["explanation_zh"] and "facial_recognition" in json.dumps(sensitive["facts"])
