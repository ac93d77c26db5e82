"""Exports: the processing register (CSV, XLSX) and the evidence pack, whose manifest must
match its files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from app.exports.register import CODE_COLUMNS, COLUMNS, RegisterLanguage
from app.exports.register import headers as headers_in
from tests.conftest import Account
from tests.factories import vendor_body
from tests.integration.conftest import PDF, Side, Submit, deletion
from tests.integration.test_cli import dpa


def test_the_register_as_csv_and_xlsx(client: TestClient[Any], demo: dict[str, Any]) -> None:
    response = client.get("/api/exports/register.csv", headers=demo["headers"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    headers = headers_in(RegisterLanguage.zh)
    assert rows[0] == headers + CODE_COLUMNS and "出境机制" in rows[0]
    assert len(rows) == 1 + 5  # the demo's five engagements
    camera = next(row for row in rows if row[rows[0].index("individuals_count")] == "431623")
    column = dict(zip(rows[0], camera, strict=True))
    # Words for people (issue 15), the codes beside them for machines.
    assert column["涉及人数"] == "431,623"
    assert "人脸信息" in column["敏感个人信息"] and "facial_recognition" not in column["敏感个人信息"]
    assert column["处理依据"] == "个人同意" and column["委托处理协议"] == "无"
    assert column["存储地点"].startswith("中国上海市") and "CN-" not in column["存储地点"]
    assert column["状态"] == "进行中" and column["是否出境"] == "否"
    assert "facial_recognition" in column["sensitive_categories"] and column["legal_basis"] == "consent"
    assert column["storage_locations"] == "CN-SH"  # not CN-CN-SH

    english = client.get("/api/exports/register.csv", params={"lang": "en"}, headers=demo["headers"])
    rows_en = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert rows_en[0][: len(COLUMNS)] == headers_in(RegisterLanguage.en)
    camera_en = dict(zip(rows_en[0], next(r for r in rows_en if "431,623" in r), strict=True))
    assert camera_en["Legal basis"] == "consent" and camera_en["Storage locations"].startswith("Shanghai, China")
    assert "facial information" in camera_en["Sensitive PI"].lower() or "face" in camera_en["Sensitive PI"].lower()
    assert client.get("/api/exports/register.csv", params={"lang": "fr"}, headers=demo["headers"]).status_code == 400

    one = client.get(
        "/api/exports/register.csv", params={"vendor_id": demo["camera"]["vendor_id"]}, headers=demo["headers"]
    )
    assert len(list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))) == 2

    workbook = client.get("/api/exports/register.xlsx", headers=demo["headers"])
    assert workbook.status_code == 200
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        book = archive.read("xl/workbook.xml").decode()
    assert 'name="登记簿"' in book and 'name="codes"' in book  # words, then codes for machines
    assert "受托方" in strings and "展厅客流分析" in strings and "个人同意" in strings
    assert "<f>" not in sheet  # no cell is a formula


def test_a_formula_in_a_name_stays_text_in_the_workbook(client: TestClient[Any], admin: Account) -> None:
    client.put(
        "/api/handler",
        json={"legal_name_zh": "公司", "unified_social_credit_code": "91310000MA1FL3XC0D"},
        headers=admin.headers,
    )
    vendor = client.post(
        "/api/vendors", json=vendor_body(legal_name_zh='=HYPERLINK("http://x","y")'), headers=admin.headers
    )
    assert vendor.status_code == 201
    from tests.factories import engagement_body

    client.post("/api/engagements", json=engagement_body(vendor.json()["id"]), headers=admin.headers)
    workbook = client.get("/api/exports/register.xlsx", headers=admin.headers)
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
        assert "HYPERLINK" in archive.read("xl/sharedStrings.xml").decode()
    text = client.get("/api/exports/register.csv", headers=admin.headers).content.decode("utf-8-sig")
    names = [row[0] for row in csv.reader(io.StringIO(text))]
    assert """'=HYPERLINK("http://x","y")""" in names  # kept as text by the apostrophe
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def _pack(content: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files["manifest.json"]), files


def test_the_evidence_pack_holds_everything_of_one_vendor_and_its_manifest_verifies(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    make_user: Callable[..., Account],
    clean_database: str,
    tmp_path: Path,
) -> None:
    a, b = vendors["a"], vendors["b"]
    sent = submit(a, deletion(a.engagement_id)).json()
    client.post(f"/api/attestations/{sent['id']}/accept", json={}, headers=dpo.headers)
    submit(b, deletion(b.engagement_id))

    response = client.get("/api/exports/evidence-pack", params={"vendor_id": a.vendor_id}, headers=dpo.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    manifest, files = _pack(response.content)
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(files) - {"manifest.json"} == set(listed)
    for path, item in listed.items():
        assert hashlib.sha256(files[path]).hexdigest() == item["sha256"] and len(files[path]) == item["size"]

    paths = sorted(listed)
    assert any(p.startswith("agreements/") and p.endswith(".docx") for p in paths)
    [evidence] = [p for p in paths if p.startswith("attestations/") and p.endswith(".pdf")]
    assert files[evidence] == PDF
    findings = json.loads(files["findings.json"])
    assert {f["rule_id"] for f in findings} >= {"R6", "R8", "R9"} and all(
        f["vendor_id"] == a.vendor_id for f in findings
    )
    assert any(
        o["kind"] == "deletion_attestation" and o["status"] == "done" for o in json.loads(files["obligations.json"])
    )
    trail = json.loads(files["audit_trail.json"])
    assert {"submit", "review"} <= {entry["action"] for entry in trail}
    assert all(entry["hash"] for entry in trail)
    assert b.engagement_id not in files["engagements.json"].decode()  # nothing of the other vendor
    assert "index.html" in listed and evidence in files["index.html"].decode()
    # Readable pages beside the JSON (issue 15): words, and times in the company's zone, named.
    index = files["index.html"].decode()
    assert "Asia/Shanghai (UTC+08:00)" in index and " UTC ·" not in index
    for page in ("findings.html", "obligations.html", "audit_trail.html"):
        assert page in listed and page in index
    findings_page = files["findings.html"].decode()
    assert "敏感个人信息未取得单独同意" in findings_page and "Asia/Shanghai" in findings_page
    assert "严重 critical" in findings_page and "&lt;" not in findings_page.split("<table>")[0]
    obligations_page = files["obligations.html"].decode()
    assert "委托关系终止后删除或返还个人信息" in obligations_page and "已完成 done" in obligations_page
    assert "审核 review" in obligations_page or "修改 update" in obligations_page  # its history
    trail_page = files["audit_trail.html"].decode()
    assert "提交 submit" in trail_page and "审核 review" in trail_page
    assert "register-en.csv" in listed

    out = tmp_path / "everything.zip"
    written = dpa(
        "evidence-pack",
        "--out",
        str(out),
        database_url=clean_database,
        env={"STORAGE_URL": client.app.state.settings.storage_url},
    )
    assert written.returncode == 0, written.stderr
    exported = client.get("/api/audit", params={"object_type": "evidence_pack"}, headers=dpo.headers).json()["items"]
    assert {entry["actor"] for entry in exported} == {dpo.email, "cli"}  # who took a pack, from the API or the CLI
    everything, all_files = _pack(out.read_bytes())
    assert len([p for p in all_files if p.endswith(".pdf") and p.startswith("attestations/")]) == 2
    assert all(hashlib.sha256(all_files[i["path"]]).hexdigest() == i["sha256"] for i in everything["files"])

    assert client.get("/api/exports/evidence-pack", headers=vendors["a"].headers).status_code == 403
    assert client.get("/api/exports/evidence-pack", headers=make_user("owner").headers).status_code == 403
    assert client.get("/api/exports/evidence-pack", headers=make_user("auditor").headers).status_code == 200
    missing = client.get(
        "/api/exports/evidence-pack", params={"vendor_id": "00000000-0000-0000-0000-000000000000"}, headers=dpo.headers
    )
    assert missing.status_code == 404


def test_an_altered_stored_file_is_named_in_the_pack_not_served(
    client: TestClient[Any],
    vendors: dict[str, Side],
    submit: Submit,
    dpo: Account,
    settings: Any,
    clean_database: str,
    tmp_path: Path,
) -> None:
    a = vendors["a"]
    sent = submit(a, deletion(a.engagement_id)).json()
    sha = sent["files"][0]["sha256"]
    root = Path(settings.storage_url.removeprefix("file:"))
    (root / sha[:2] / sha[2:4] / sha).write_bytes(b"%PDF-1.7 forged")
    response = client.get("/api/exports/evidence-pack", params={"vendor_id": a.vendor_id}, headers=dpo.headers)
    assert response.status_code == 200
    manifest, files = _pack(response.content)
    [problem] = manifest["unreadable"]
    assert problem["path"].endswith("deletion.pdf") and "does not match its checksum" in problem["error"]
    assert problem["path"] not in files and "could not be read" in files["index.html"].decode()
    assert all(hashlib.sha256(files[i["path"]]).hexdigest() == i["sha256"] for i in manifest["files"])
    out = tmp_path / "pack.zip"
    result = dpa(
        "evidence-pack",
        "--vendor",
        a.vendor_id,
        "--out",
        str(out),
        database_url=clean_database,
        env={"STORAGE_URL": settings.storage_url},
    )
    assert result.returncode == 1 and "unreadable\t" in result.stdout and out.exists()
