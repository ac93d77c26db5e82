"""Import (issue 16 item 1): the template, the preview, the one-transaction apply, CSV in UTF-8
and GB18030, hostile uploads, permissions, the CLI, and the demo exported and imported into an
empty database giving the same registry."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from litestar.testing import TestClient

from app.accounts import services as accounts
from app.accounts.schemas import Role, UserCreate
from app.core.actor import CLI_ACTOR
from app.demo import read as read_demo
from app.imports.schemas import Sheet
from app.imports.workbook import COLUMNS, XLSX_TYPE
from app.settle import settle
from tests.conftest import Account, _empty, run
from tests.factories import credit_code
from tests.integration.test_cli import dpa

VENDOR_HEADERS = [column.header for column in COLUMNS[Sheet.vendors]]


def _csv(rows: list[list[str]], headers: list[str] = VENDOR_HEADERS, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _vendor(code: str, name: str = "上海导入测试有限公司", **cells: str) -> list[str]:
    values = {
        "unified_social_credit_code": code,
        "legal_name_zh": name,
        "legal_name_en": "Shanghai Import Test Co., Ltd.",
        "country": "CN",
        "status": "active",
        "contacts": "Lin | lin@vendor.example | account manager",
        **cells,
    }
    return [values.get(column.field, "") for column in COLUMNS[Sheet.vendors]]


def _post(
    client: TestClient[Any], headers: dict[str, str], data: bytes, *, apply: bool = False, name: str = "v.csv"
) -> Any:
    return client.post(
        "/api/imports",
        params={"apply": str(apply).lower()},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


def _snapshot(client: TestClient[Any], headers: dict[str, str]) -> dict[str, Any]:
    """The registry field by field, with ids replaced by what identifies them across databases."""
    users = {u["id"]: u["email"] for u in client.get("/api/users?limit=200", headers=headers).json()["items"]}
    vendors = client.get("/api/vendors?limit=200", headers=headers).json()["items"]
    names = {}
    found: dict[str, Any] = {}
    for vendor in vendors:
        key = vendor["unified_social_credit_code"] or vendor["registration_number"]
        names[vendor["id"]] = key
        found[f"vendor {key}"] = {
            **{k: v for k, v in vendor.items() if k not in ("id", "created_at", "updated_at", "owner_id")},
            "owner": users.get(vendor["owner_id"]),
        }
    for engagement in client.get("/api/engagements?limit=200", headers=headers).json()["items"]:
        subs = sorted(
            (
                {k: v for k, v in sub.items() if k not in ("id", "created_at", "updated_at", "engagement_id")}
                for sub in engagement["sub_processors"]
            ),
            key=lambda sub: sub["name"],
        )
        drop = ("id", "created_at", "updated_at", "owner_id", "vendor_id", "sub_processors", "incident_reported_at")
        found[f"engagement {names[engagement['vendor_id']]} {engagement['name']}"] = {
            **{k: v for k, v in engagement.items() if k not in drop},
            "owner": users.get(engagement["owner_id"]),
            "sub_processors": subs,
        }
    return found


def test_template_has_both_languages_lists_and_codes(client: TestClient[Any], admin: Account) -> None:
    response = client.get("/api/imports/template.xlsx", headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX_TYPE)
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[-3:] == ["受托方 Vendors", "委托处理 Engagements", "转委托 Sub-processors"]
    vendors = book["受托方 Vendors"]
    assert vendors.cell(1, 1).value == "统一社会信用代码 / Unified social credit code"
    engagements = book["委托处理 Engagements"]
    headers = [cell.value for cell in engagements[1]]
    assert "个人信息种类 / PI categories" in headers and "处理依据 / Legal basis" in headers
    formulas = [dv.formula1 for dv in engagements.data_validations.dataValidation]
    assert len(formulas) >= 8 and all("Codes" in f for f in formulas if f and "!" in f)
    codes = book["代码 Codes"]
    assert codes.sheet_state == "hidden"
    listed = {(row[0], row[1]): row[2] for row in codes.iter_rows(min_row=2, values_only=True)}
    assert listed[("pi_categories", "facial_recognition")].startswith("人脸")
    assert listed[("ProcessingMethod", "storage")] == "存储"
    assert ("CrossBorderMechanism", "standard_contract") in listed and ("VenueType", "showroom") in listed


def test_demo_exported_and_imported_into_an_empty_database_is_the_same_registry(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    headers = demo["headers"]
    before = _snapshot(client, headers)
    assert sum(key.startswith("engagement") for key in before) >= 2
    exported = client.get("/api/imports/export.xlsx", headers=headers)
    assert exported.status_code == 200

    run(_empty, clean_database)  # an empty database, with the demo's people only

    async def people(session: Any) -> str:
        token = ""
        for raw in read_demo()["users"]:
            user, issued = await accounts.create(session, data=UserCreate.model_validate(raw), actor=CLI_ACTOR)
            token = issued if user.role == Role.admin else token
        await settle(session)
        return token

    admin = {"Authorization": f"Bearer {run(people, clean_database)}"}
    assert _snapshot(client, admin) == {}
    preview = _post(client, admin, exported.content, name="dpa-registry.xlsx")
    assert preview.status_code == 200, preview.text
    assert preview.json()["counts"]["error"] == 0, [(r["row"], r["errors"]) for r in preview.json()["rows"]]
    assert _snapshot(client, admin) == {}  # a preview writes nothing
    applied = _post(client, admin, exported.content, apply=True, name="dpa-registry.xlsx")
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True
    assert _snapshot(client, admin) == before

    # Findings and obligations were derived by the settle step, as for any write.
    assert client.get("/api/findings", headers=admin).json()["total"] > 0
    # The same file again changes nothing.
    again = _post(client, admin, exported.content, apply=True, name="dpa-registry.xlsx").json()
    assert again["counts"]["create"] == again["counts"]["update"] == again["counts"]["error"] == 0
    assert {row["action"] for row in again["rows"]} == {"unchanged"}


def test_csv_preview_apply_and_a_second_import_changes_nothing(client: TestClient[Any], admin: Account) -> None:
    code = credit_code()
    data = _csv([_vendor(code)])
    preview = _post(client, admin.headers, data)
    assert preview.status_code == 200, preview.text
    assert [(row["action"], row["row"], row["key"]) for row in preview.json()["rows"]] == [("create", 2, code)]
    assert client.get("/api/vendors", params={"q": code}, headers=admin.headers).json()["total"] == 0

    applied = _post(client, admin.headers, data, apply=True)
    assert applied.status_code == 200, applied.text
    vendor = client.get("/api/vendors", params={"q": code}, headers=admin.headers).json()["items"][0]
    contact = {"name": "Lin", "email": "lin@vendor.example", "role": "account manager", "phone": ""}
    assert vendor["contacts"] == [contact]
    assert vendor["status"] == "active"
    again = _post(client, admin.headers, data, apply=True).json()
    assert [row["action"] for row in again["rows"]] == ["unchanged"]

    # GB18030 (Chinese Excel's CSV), Chinese words for the status: an update of one field.
    changed = _csv([_vendor(code, address="上海市徐汇区 9 号", status="暂停")], encoding="gb18030")
    result = _post(client, admin.headers, changed, apply=True).json()
    assert result["rows"][0]["action"] == "update"
    assert sorted(result["rows"][0]["changed"]) == ["address", "status"]
    vendor = client.get(f"/api/vendors/{vendor['id']}", headers=admin.headers).json()
    assert (vendor["address"], vendor["status"]) == ("上海市徐汇区 9 号", "suspended")
    trail = client.get("/api/audit", params={"object_id": vendor["id"]}, headers=admin.headers).json()["items"]
    assert {entry["action"] for entry in trail} >= {"create", "update"}


def test_engagement_and_sub_processor_rows_refer_to_vendors_in_the_same_workbook(
    client: TestClient[Any], admin: Account
) -> None:
    code = credit_code()
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/imports/template.xlsx", headers=admin.headers).content))
    book["受托方 Vendors"].append(_vendor(code))
    engagement = {
        "vendor": code,
        "name": "门店客流分析",
        "purpose": "统计门店客流",
        "processing_methods": "collection 收集; 存储",
        "pi_categories": "contact_details；basic_profile",
        "data_subjects": "customers",
        "individuals_count": 1200,
        "legal_basis": "consent",
        "consent_obtained": "是",
        "storage_locations": "CN | CN-SH | Aliyun",
        "venues": "Showrooms | showroom | 3 | true | image_capture | 9",
    }
    book["委托处理 Engagements"].append([engagement.get(c.field, "") for c in COLUMNS[Sheet.engagements]])
    sub = {"vendor": code, "engagement": "门店客流分析", "name": "Relay Co.", "country": "CN"}
    book["转委托 Sub-processors"].append([sub.get(c.field, "") for c in COLUMNS[Sheet.sub_processors]])
    out = io.BytesIO()
    book.save(out)
    preview = _post(client, admin.headers, out.getvalue(), name="t.xlsx")
    assert [row["action"] for row in preview.json()["rows"]] == ["create", "create", "create"], preview.text
    result = _post(client, admin.headers, out.getvalue(), apply=True, name="t.xlsx")
    assert result.status_code == 200, result.text
    assert [row["action"] for row in result.json()["rows"]] == ["create", "create", "create"]
    found = client.get("/api/engagements", params={"q": "门店客流分析"}, headers=admin.headers).json()["items"][0]
    assert found["processing_methods"] == ["collection", "storage"]
    assert found["consent_obtained"] is True
    assert found["venues"][0]["equipment_count"] == 9
    assert found["sub_processors"][0]["name"] == "Relay Co."
    assert client.get(f"/api/engagements/{found['id']}/findings", headers=admin.headers).json()["total"] > 0

    # One field changed: an update of that field only, and the sub-processor unchanged.
    count = [c.field for c in COLUMNS[Sheet.engagements]].index("individuals_count") + 1
    book["委托处理 Engagements"].cell(2, count).value = 5000
    out = io.BytesIO()
    book.save(out)
    again = _post(client, admin.headers, out.getvalue(), apply=True, name="t.xlsx").json()["rows"]
    assert [(row["action"], row["changed"]) for row in again] == [
        ("unchanged", []),
        ("update", ["individuals_count"]),
        ("unchanged", []),
    ]
    assert client.get(f"/api/engagements/{found['id']}", headers=admin.headers).json()["individuals_count"] == 5000


def test_any_error_row_refuses_the_apply_and_names_sheet_row_and_column(
    client: TestClient[Any], admin: Account
) -> None:
    good, other = credit_code(), credit_code()
    data = _csv(
        [
            _vendor(good),
            _vendor(good[:-1] + ("0" if good[-1] != "0" else "1")),  # a wrong check character
            _vendor(other, website='=HYPERLINK("http://evil.example")'),  # a formula, never evaluated
            _vendor(credit_code(), status="bogus"),
            _vendor(good),  # the same vendor twice
        ]
    )
    preview = _post(client, admin.headers, data).json()
    actions = [(row["row"], row["action"]) for row in preview["rows"]]
    assert actions == [(2, "create"), (3, "error"), (4, "error"), (5, "error"), (6, "error")]
    errors = {row["row"]: row["errors"][0] for row in preview["rows"] if row["errors"]}
    assert errors[3]["column"] == "统一社会信用代码 / Unified social credit code"
    assert errors[4]["field"] == "website" and "formula" in errors[4]["message"]
    assert errors[5]["field"] == "status" and "bogus" in errors[5]["message"]
    assert "row 2" in errors[6]["message"]

    refused = _post(client, admin.headers, data, apply=True)
    assert refused.status_code == 409
    assert "row 3" in refused.json()["detail"] and "row 6" in refused.json()["detail"]
    assert client.get("/api/vendors", params={"q": good}, headers=admin.headers).json()["total"] == 0


def test_permissions_are_the_services_own(client: TestClient[Any], admin: Account, make_user: Any) -> None:
    code = credit_code()
    assert _post(client, admin.headers, _csv([_vendor(code)]), apply=True).status_code == 200
    auditor, dpo, owner = make_user("auditor"), make_user("dpo"), make_user("owner")
    for reader in (auditor, dpo):
        assert _post(client, reader.headers, _csv([_vendor(credit_code())])).status_code == 403
    # An owner may create, but not change the admin's vendor: that row is an error, "no permission".
    rows = [_vendor(credit_code()), _vendor(code, address="changed")]
    preview = _post(client, owner.headers, _csv(rows)).json()
    assert [row["action"] for row in preview["rows"]] == ["create", "error"]
    assert preview["rows"][1]["errors"][0]["message"].startswith("no permission")
    assert _post(client, owner.headers, _csv(rows), apply=True).status_code == 409
    # Unchanged rows need no permission.
    assert _post(client, owner.headers, _csv([_vendor(code)])).json()["rows"][0]["action"] == "unchanged"


def test_uploads_are_checked_by_content(client: TestClient[Any], admin: Account) -> None:
    def status(data: bytes, name: str = "x.csv") -> int:
        response = _post(client, admin.headers, data, name=name)
        code: int = response.status_code
        assert code < 500, response.text
        return code

    assert status(b"") == 400
    assert status(b"\x89PNG\r\n\x1a\n\x00\x00\x00") == 415
    assert status(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls") == 415
    assert status(b"PK\x03\x04 broken zip") == 415
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("word/document.xml", "<x/>")
    assert status(archive.getvalue(), "a.xlsx") == 415
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("xl/workbook.xml", "<x/>")
        zipped.writestr("xl/big.xml", b"0" * (201 * 1024 * 1024))
    assert status(bomb.getvalue(), "bomb.xlsx") == 413
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zipped:
        zipped.writestr("xl/workbook.xml", "<not a workbook")
    assert status(broken.getvalue(), "b.xlsx") == 415
    assert status(b"\xff\xfe\xfa not text at all \x81\x00") == 415
    assert status(b"a,b,c\n1,2,3\n") == 400  # text, but no sheet's headers
    assert status(b"x" * (21 * 1024 * 1024)) == 413
    assert status(_csv([["1"] * 40])) in (200, 400)
    missing = client.post("/api/imports", files={"other": ("v.csv", b"a", "text/csv")}, headers=admin.headers)
    assert missing.status_code == 400
    unknown = _csv([_vendor(credit_code())], headers=[*VENDOR_HEADERS[:-1], "Favourite colour"])
    row = _post(client, admin.headers, unknown).json()["rows"][0]
    assert (row["row"], row["action"], row["errors"][0]["column"]) == (1, "error", "Favourite colour")


def test_cli_previews_then_applies(client: TestClient[Any], clean_database: str, tmp_path: Path) -> None:
    code = credit_code()
    path = tmp_path / "vendors.csv"
    path.write_bytes(_csv([_vendor(code)], encoding="gb18030"))
    preview = dpa("import", str(path), database_url=clean_database)
    assert preview.returncode == 0, preview.stderr
    assert f"create\tvendors.csv row 2: {code}" in preview.stdout
    assert "preview, nothing written: 1 create" in preview.stdout
    applied = dpa("import", str(path), "--apply", database_url=clean_database)
    assert applied.returncode == 0, applied.stderr
    assert "imported: 1 create" in applied.stdout
    again = dpa("import", str(path), "--apply", database_url=clean_database)
    assert "imported: 0 create, 0 update, 1 unchanged, 0 errors" in again.stdout
    path.write_bytes(_csv([_vendor(code, status="bogus")]))
    bad = dpa("import", str(path), "--apply", database_url=clean_database)
    assert bad.returncode == 1
    assert "error\tvendors.csv row 2, 状态 / Status:" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_a_formula_in_a_workbook_is_refused_not_evaluated(client: TestClient[Any], admin: Account) -> None:
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/imports/template.xlsx", headers=admin.headers).content))
    book["受托方 Vendors"].append(_vendor(credit_code(), legal_name_en="=1+1"))
    out = io.BytesIO()
    book.save(out)
    row = _post(client, admin.headers, out.getvalue(), name="f.xlsx").json()["rows"][0]
    assert row["action"] == "error"
    assert row["errors"][0]["field"] == "legal_name_en" and "formula" in row["errors"][0]["message"]
