"""Per-language free text (issue 15, item 3) through the real parts: the API, the agreement
rendered from it, the import's new columns, the engagement form page and the demo."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
from docx import Document
from litestar.testing import TestClient

from app.imports.schemas import Sheet
from app.imports.workbook import COLUMNS
from tests.conftest import Account
from tests.factories import credit_code, engagement_body, vendor_body
from tests.integration.test_agreements import TERMS, _render
from tests.integration.test_imports import _post, _vendor

MISSING = "[English text not provided; the Chinese text applies]"
PURPOSE_ZH = "托管客户数据库并每日备份。"
PURPOSE_EN = "Host the customer database and back it up daily."


def _words(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([paragraph.text for paragraph in document.paragraphs] + cells)


def test_english_values_through_the_api_into_the_agreement(client: TestClient[Any], admin: Account) -> None:
    client.put(
        "/api/handler",
        json={"legal_name_zh": "上海星驰汽车销售有限公司", "unified_social_credit_code": credit_code()},
        headers=admin.headers,
    )
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    body = engagement_body(vendor["id"], purpose=PURPOSE_ZH, retention_days=365, retention_note="合同结束后删除。")
    created = client.post("/api/engagements", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    engagement = created.json()
    assert engagement["purpose_en"] == "" and engagement["retention_note_en"] == ""  # backward compatible
    sub = client.post(
        f"/api/engagements/{engagement['id']}/sub-processors",
        json={"name": "杭州安备灾备服务有限公司", "activity": "异地灾备。",
              "activity_en": "Off-site disaster recovery.", "handler_consented": True, "consented_on": "2026-01-01"},
        headers=admin.headers,
    )  # fmt: skip
    assert sub.status_code == 201, sub.text and sub.json()["activity_en"] == "Off-site disaster recovery."

    # No English purpose yet: the English text says so and never shows the Chinese purpose.
    agreement = client.post(
        "/api/agreements", json={"engagement_id": engagement["id"], **TERMS}, headers=admin.headers
    ).json()
    text = _words(_render(client, admin.headers, agreement["id"], format="docx", lang="bilingual"))
    assert MISSING in text and "Off-site disaster recovery." in text
    assert text.count(PURPOSE_ZH) == 1  # in the Chinese text only
    chinese_only = _words(_render(client, admin.headers, agreement["id"], format="docx", lang="zh"))
    assert PURPOSE_ZH in chinese_only and MISSING not in chinese_only and "English" not in chinese_only

    # The English written later: a new version prints it, and the changes name it.
    patched = client.patch(
        f"/api/engagements/{engagement['id']}",
        json={"purpose_en": PURPOSE_EN, "retention_note_en": "Deleted when the contract ends."},
        headers=admin.headers,
    )
    assert patched.status_code == 200 and patched.json()["purpose_en"] == PURPOSE_EN
    changes = client.get(f"/api/agreements/{agreement['id']}/changes", headers=admin.headers).json()
    assert {"engagement.purpose_en", "engagement.retention_note_en"} <= {change["field"] for change in changes}
    newer = client.post(f"/api/agreements/{agreement['id']}/new-version", headers=admin.headers)
    assert newer.status_code in (200, 201), newer.text
    text = _words(_render(client, admin.headers, newer.json()["id"], format="docx", lang="bilingual"))
    assert PURPOSE_EN in text and "Deleted when the contract ends." in text and MISSING not in text

    # Bad input names the field; nothing is written.
    refused = client.patch(
        f"/api/engagements/{engagement['id']}", json={"purpose_en": "x" * 4001}, headers=admin.headers
    )
    assert refused.status_code == 400 and "purpose_en" in refused.text
    assert client.get(f"/api/engagements/{engagement['id']}", headers=admin.headers).json()["purpose_en"] == PURPOSE_EN


def test_the_import_takes_the_english_columns(client: TestClient[Any], admin: Account) -> None:
    code = credit_code()
    book = openpyxl.load_workbook(io.BytesIO(client.get("/api/imports/template.xlsx", headers=admin.headers).content))
    headers = [cell.value for cell in book["委托处理 Engagements"][1]]
    assert "处理目的（英文） / Purpose (English)" in headers
    book["受托方 Vendors"].append(_vendor(code))
    engagement = {
        "vendor": code, "name": "门店客流统计", "purpose": "统计门店客流", "purpose_en": "Count store visitors",
        "processing_methods": "collection", "pi_categories": "basic_profile", "data_subjects": "customers",
        "legal_basis": "consent", "retention_note": "一年后删除", "retention_note_en": "Deleted after a year",
        "venues": "门店 | store | 3 | true | image_capture | 9 | false | false | | Stores",
    }  # fmt: skip
    book["委托处理 Engagements"].append([engagement.get(c.field, "") for c in COLUMNS[Sheet.engagements]])
    sub = {"vendor": code, "engagement": "门店客流统计", "name": "Relay Co.", "activity": "转发",
           "activity_en": "Relays the data"}  # fmt: skip
    book["转委托 Sub-processors"].append([sub.get(c.field, "") for c in COLUMNS[Sheet.sub_processors]])
    out = io.BytesIO()
    book.save(out)
    result = _post(client, admin.headers, out.getvalue(), apply=True, name="t.xlsx")
    assert result.status_code == 200, result.text
    found = client.get("/api/engagements", params={"q": "门店客流统计"}, headers=admin.headers).json()["items"][0]
    assert found["purpose_en"] == "Count store visitors" and found["retention_note_en"] == "Deleted after a year"
    assert found["venues"][0]["description_en"] == "Stores"
    assert found["sub_processors"][0]["activity_en"] == "Relays the data"
    # A workbook without the new columns (one written before them) leaves them as they are.
    old = [c for c in COLUMNS[Sheet.engagements] if not c.field.endswith("_en")]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "委托处理 Engagements"
    sheet.append([c.header for c in old])
    sheet.append([{**engagement, "purpose": "统计门店客流人数"}.get(c.field, "") for c in old])
    out = io.BytesIO()
    book.save(out)
    again = _post(client, admin.headers, out.getvalue(), apply=True, name="old.xlsx")
    assert again.status_code == 200, again.text
    after = client.get(f"/api/engagements/{found['id']}", headers=admin.headers).json()
    assert after["purpose"] == "统计门店客流人数" and after["purpose_en"] == "Count store visitors"


def test_the_demo_engagements_have_english_values(client: TestClient[Any], demo: dict[str, Any]) -> None:
    camera = demo["camera"]
    assert camera["purpose_en"].startswith("Count and analyse") and "人脸识别" in camera["purpose"]
    assert camera["venues"][0]["description_en"] == "Showrooms in Shanghai"
    engagements = client.get("/api/engagements", headers=demo["headers"]).json()["items"]
    assert all(engagement["purpose_en"] for engagement in engagements)
    english = client.get("/api/exports/register.csv", params={"lang": "en"}, headers=demo["headers"])
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    row = dict(zip(rows[0], next(r for r in rows if "431,623" in r), strict=True))
    assert row["Purpose"].startswith("Count and analyse")  # the English register in English
