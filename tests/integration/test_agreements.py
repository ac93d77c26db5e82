"""Agreements generated from the registry, rendered to DOCX and PDF, read back and checked."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from docx import Document
from docx.oxml.ns import qn
from litestar.testing import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from app.agreements import services
from app.agreements.coverage import covered
from app.agreements.library import load
from app.agreements.models import Agreement
from app.agreements.rendering import zh_number
from app.core.settings import Settings
from app.core.storage import LocalStorage, open_storage
from app.main import create_app
from tests.conftest import Account, run
from tests.factories import engagement_body, pdf, vendor_body
from tests.integration.conftest import audit_entries, set_active

TERMS = {"term_start": "2026-01-05", "term_end": "2027-01-04"}


def _agreement(client: TestClient[Any], headers: dict[str, str], engagement_id: str, **terms: Any) -> dict[str, Any]:
    response = client.post("/api/agreements", json={"engagement_id": engagement_id, **TERMS, **terms}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _render(client: TestClient[Any], headers: dict[str, str], agreement_id: str, **request: Any) -> bytes:
    created = client.post(f"/api/agreements/{agreement_id}/documents", json=request, headers=headers)
    assert created.status_code == 201, created.text
    document = created.json()
    download = client.get(f"/api/agreements/{agreement_id}/documents/{document['id']}/content", headers=headers)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(document["content_type"])
    assert download.headers["x-content-type-options"] == "nosniff"
    assert len(download.content) == document["size"]
    return download.content


def shown_headings(document: Any) -> list[str]:
    """Each paragraph's text as Word shows it: a clause heading with the number its style's
    numbering definition gives it (第%1条 in chineseCounting, Article %1. in decimal)."""
    numbering = document.part.numbering_part.element
    ns = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    levels = {}
    for abstract in numbering.findall("w:abstractNum", ns):
        level = abstract.find("w:lvl", ns)
        style = level.find("w:pStyle", ns).get(qn("w:val"))
        levels[style] = (level.find("w:lvlText", ns).get(qn("w:val")), level.find("w:numFmt", ns).get(qn("w:val")))
    counters: dict[str, int] = {}
    shown = []
    for paragraph in document.paragraphs:
        style_id = paragraph._p.style
        if style_id in levels:
            counters[style_id] = counters.get(style_id, 0) + 1
            text, number_format = levels[style_id]
            n = counters[style_id]
            number = zh_number(n) if number_format == "chineseCounting" else str(n)
            shown.append(f"{text.replace('%1', number)} {paragraph.text}")
        else:
            shown.append(paragraph.text)
    return shown


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = shown_headings(document)
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    parts += [paragraph.text for paragraph in document.sections[0].header.paragraphs]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _squash(text: str) -> str:
    # PDF text extraction breaks lines where the layout wrapped them.
    return "".join(text.split())


async def _rows(session: Any, model: Any) -> list[Any]:
    return list(await session.scalars(select(model)))


def test_camera_agreement_covers_every_required_item_in_both_languages(
    client: TestClient[Any], demo: dict[str, Any], clean_database: str
) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"])
    assert agreement["status"] == "draft" and agreement["number"].startswith("DPA-")
    assert agreement["template_version"] == 2 and agreement["incident_notice_hours"] == 2

    coverage = client.get(f"/api/agreements/{agreement['id']}/coverage", headers=headers).json()
    assert coverage["uncovered_required"] == []
    rows = {row["id"]: row for row in coverage["requirements"]}
    assert set(rows) == {f"A{n}" for n in range(1, 13)} | {f"B{n}" for n in range(1, 21)}
    assert "facial-data.v2" in rows["B7"]["clauses"] and rows["B14"]["clauses"] == ["facial-data.v2"]
    assert rows["B11"]["clauses"] == ["confidentiality.v1"] and rows["B17"]["clauses"] == []
    # The findings' cheap coverage (clause metadata only) says what the composed document says.
    [stored] = run(lambda session: _rows(session, Agreement), clean_database)
    assert covered(stored) == {requirement for requirement, row in rows.items() if row["clauses"]}

    library = load()
    covering = {key for row in rows.values() for key in row["clauses"]}
    docx = docx_text(_render(client, headers, agreement["id"], format="docx", lang="bilingual", annex=True))
    pdf = _squash(pdf_text(_render(client, headers, agreement["id"], format="pdf", lang="bilingual", annex=True)))
    for key in covering:
        clause = library.clauses[key]
        for lang in ("zh", "en"):
            title = getattr(clause.title, lang)
            assert title in docx, (key, lang)
            assert _squash(title) in pdf, (key, lang)
    expected = [
        "受托方应当将人脸信息存储于人脸识别设备内",
        "stores the facial information in the face-recognition device",
        "不得利用人脸信息训练、优化算法模型",
        "须取得每一名被识别者的单独同意",
        "保密信息",
        "在发现后2小时内",
        "431,623",
        "22 identity-recognition devices",
        "共22台个人身份识别设备",
        agreement["number"],
        "签署 / Signatures",  # the fixed labels, the same in both files
        "要求 / Requirement",
    ]
    for text in expected:
        assert text in docx, text
        assert _squash(text) in pdf, text


def test_an_agreement_made_with_version_1_keeps_its_text(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"], template_version=1, incident_notice_hours=24)
    assert agreement["template_version"] == 1
    coverage = client.get(f"/api/agreements/{agreement['id']}/coverage", headers=headers).json()
    assert {row["id"] for row in coverage["requirements"]} == {f"A{n}" for n in range(1, 13)} | {
        f"B{n}" for n in range(1, 11)
    }
    docx = docx_text(_render(client, headers, agreement["id"], format="docx", lang="bilingual"))
    assert "人脸信息应当存储于人脸识别设备内" in docx and "在发现后24小时内书面通知委托方" in docx
    assert "保密信息" not in docx and "不得利用人脸信息训练" not in docx


def test_facial_clauses_only_where_faces_are_processed(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["payroll"]["id"])
    rows = {
        r["id"]: r
        for r in client.get(f"/api/agreements/{agreement['id']}/coverage", headers=headers).json()["requirements"]
    }
    assert rows["B7"]["clauses"] == []
    docx = docx_text(_render(client, headers, agreement["id"], format="docx", lang="bilingual"))
    assert "人脸识别设备内" not in docx and "face-recognition device" not in docx
    assert "条 人脸信息" not in docx and ". Facial information" not in docx
    assert "敏感个人信息" in docx  # payroll holds ID numbers and bank accounts


@pytest.mark.parametrize(
    ("lang", "present", "absent"), [("zh", "第一条", "Article 1."), ("en", "Article 1.", "第一条")]
)
def test_single_language_documents(
    client: TestClient[Any], demo: dict[str, Any], lang: str, present: str, absent: str
) -> None:
    agreement = _agreement(client, demo["headers"], demo["payroll"]["id"])
    text = docx_text(_render(client, demo["headers"], agreement["id"], format="docx", lang=lang))
    assert present in text and absent not in text


def test_names_come_out_exactly(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    vendor = client.post(
        "/api/vendors",
        json=vendor_body(legal_name_zh='"悠"数据 & <服务>有限公司', legal_name_en='A & B <Co> "Quoted" Ltd.'),
        headers=headers,
    ).json()
    engagement = client.post(
        "/api/engagements", json=engagement_body(vendor["id"], name="R&D <test>"), headers=headers
    ).json()
    agreement = _agreement(client, headers, engagement["id"])
    docx = docx_text(_render(client, headers, agreement["id"], format="docx"))
    pdf = pdf_text(_render(client, headers, agreement["id"], format="pdf"))
    for name in ('"悠"数据 & <服务>有限公司', 'A & B <Co> "Quoted" Ltd.', "R&D <test>"):
        assert name in docx
        assert _squash(name) in _squash(pdf)
    assert "&amp;" not in pdf and "&lt;" not in pdf


def test_edge_cases_render(client: TestClient[Any], demo: dict[str, Any]) -> None:
    """A 500-character name (the field's limit), empty optional fields, and every condition true."""
    headers = demo["headers"]
    long_name = "长" * 500
    vendor = client.post("/api/vendors", json=vendor_body(legal_name_zh=long_name, address=""), headers=headers).json()
    everything = engagement_body(
        vendor["id"],
        pi_categories=["facial_recognition", "biometric_other", "health", "minors_data"],
        data_subjects=["minors_under_14", "visitors"],
        venues=[
            {
                "description": "Lobby",
                "venue_type": "store",
                "public_place": True,
                "equipment": "image_capture",
                "equipment_count": 3,
            }
        ],
        leaves_china=True,
        storage_locations=[{"country": "SG"}],
        cross_border_recipients=[{"name": "Group IT", "country": "DE"}],
        cross_border_mechanism="standard_contract",
        retention_days=None,
        individuals_count=None,
    )
    engagement = client.post("/api/engagements", json=everything, headers=headers).json()
    agreement = _agreement(client, headers, engagement["id"], auto_renew=True, audit_on_site=False)
    keys = {
        k
        for r in client.get(f"/api/agreements/{agreement['id']}/coverage", headers=headers).json()["requirements"]
        for k in r["clauses"]
    }
    assert {"facial-data.v2", "cross-border.v2", "public-venue-equipment.v2", "sensitive-pi.v1"} <= keys
    docx = docx_text(_render(client, headers, agreement["id"], format="docx"))
    assert long_name in docx and "不满十四周岁" in docx and "未约定" in docx and "Group IT (DE)" in docx
    pdf = pdf_text(_render(client, headers, agreement["id"], format="pdf"))
    assert _squash("Group IT (DE)") in _squash(pdf)


def test_a_character_without_a_glyph_is_refused(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    vendor = client.post(
        "/api/vendors", json=vendor_body(legal_name_en="Smile \U0001f600 Ltd."), headers=headers
    ).json()
    engagement = client.post("/api/engagements", json=engagement_body(vendor["id"]), headers=headers).json()
    agreement = _agreement(client, headers, engagement["id"])
    response = client.post(f"/api/agreements/{agreement['id']}/documents", json={"format": "pdf"}, headers=headers)
    assert response.status_code == 422
    assert "U+1F600" in response.json()["detail"]
    assert client.get(f"/api/agreements/{agreement['id']}/documents", headers=headers).json()["items"] == []


def test_download_filename_survives_in_chinese(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"])
    document = client.post(
        f"/api/agreements/{agreement['id']}/documents", json={"format": "docx"}, headers=headers
    ).json()
    response = client.get(f"/api/agreements/{agreement['id']}/documents/{document['id']}/content", headers=headers)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded) == document["filename"]
    assert "上海慧眼视觉科技有限公司" in document["filename"]
    assert "/" not in document["filename"] and "\\" not in document["filename"]
    fallback = disposition.split('filename="')[1].split('"')[0]
    assert fallback.isascii()


def test_lifecycle(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"], term_end="2028-01-04")
    base = f"/api/agreements/{agreement['id']}"

    def owed() -> list[tuple[str, str]]:
        query = {"agreement_id": agreement["id"], "status": "open"}
        items = client.get("/api/obligations", params=query, headers=headers)
        return [(item["kind"], item["due_on"]) for item in items.json()["items"]]

    def act(action: str, **kwargs: Any) -> Any:
        return client.post(f"{base}/{action}", headers=headers, **kwargs)

    assert act("activate").status_code == 409
    assert act("sign", files={"file": ("signed.pdf", b"%PDF-1.7 signed", "application/pdf")}).status_code == 409

    issued = act("issue")
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued" and issued.json()["issued_at"]
    documents = client.get(f"{base}/documents", headers=headers).json()["items"]
    assert sorted(d["format"] for d in documents) == ["docx", "pdf"]
    assert client.patch(base, json={"deletion_days": 10}, headers=headers).status_code == 409
    assert act("issue").status_code == 409

    not_pdf = act("sign", files={"file": ("signed.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert not_pdf.status_code == 400 and not_pdf.json()["extra"][0]["key"] == "file"
    assert client.get(base, headers=headers).json()["status"] == "issued"
    assert act("sign", data={"note": "x"}).status_code == 400
    assert owed() == []
    forged = act("sign", files={"file": ("扫描件.pdf", b"%PDF-1.7\n not a real PDF", "application/pdf")})
    assert forged.status_code == 415 and "not a readable PDF" in forged.text  # parsed, not only sniffed
    signed = act("sign", files={"file": ("扫描件.pdf", pdf("signed copy"), "application/pdf")})
    assert signed.status_code == 200 and signed.json()["status"] == "signed"
    assert any(d["kind"] == "signed" for d in client.get(f"{base}/documents", headers=headers).json()["items"])

    # In force from signature: a renewal decision (term end minus the notice period) and the expiry.
    assert owed() == [("renewal_decision", "2027-12-05"), ("agreement_expiry", "2028-01-04")]
    assert act("activate").json()["status"] == "active"
    assert owed() == [  # and, once active, a yearly attestation from the term start, and (the
        # camera's clause B14) a monthly count of the faces stored, from the month it came into force
        ("face_count_report", "2026-12-05"),
        ("periodic_attestation", "2027-01-05"),
        ("renewal_decision", "2027-12-05"),
        ("agreement_expiry", "2028-01-04"),
    ]
    bad_date = act("terminate", json={"ended_on": "2020-01-01", "reason": "vendor breach"})
    assert bad_date.status_code == 400
    terminated = act("terminate", json={"ended_on": "2026-12-01", "reason": "vendor breach"})
    assert terminated.status_code == 200
    assert terminated.json()["ended_on"] == "2026-12-01" and terminated.json()["end_reason"] == "vendor breach"
    # Ended before the first anniversary: no yearly attestation, a deletion one 30 days on; the
    # faces counted in November, the month it was in force, are still owed.
    assert owed() == [("face_count_report", "2026-12-05"), ("deletion_attestation", "2026-12-31")]
    assert act("expire", json={}).status_code == 409
    assert client.delete(base, headers=headers).status_code == 409

    trail = client.get(f"/api/audit?object_type=agreement&object_id={agreement['id']}", headers=headers).json()
    statuses = [entry["changes"]["status"][1] for entry in trail["items"] if "status" in entry["changes"]]
    assert statuses == ["terminated", "active", "signed", "issued"]


def test_draft_terms_change_and_are_validated(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"], term_end="2028-01-04")
    base = f"/api/agreements/{agreement['id']}"

    def owed() -> list[tuple[str, str]]:
        query = {"agreement_id": agreement["id"], "status": "open"}
        items = client.get("/api/obligations", params=query, headers=headers)
        return [(item["kind"], item["due_on"]) for item in items.json()["items"]]

    assert client.patch(base, json={"deletion_days": 15}, headers=headers).json()["deletion_days"] == 15
    cases = [
        ({"term_end": "2025-01-01"}, "term_end"),
        ({"deletion_days": 0}, "deletion_days"),
        ({"incident_notice_hours": 1000}, "incident_notice_hours"),
        ({"number": "X"}, "number"),
    ]
    for body, field in cases:
        response = client.patch(base, json=body, headers=headers)
        assert response.status_code == 400, body
        assert field in {item["key"] for item in response.json()["extra"]}
    assert client.get(base, headers=headers).json()["deletion_days"] == 15
    docx = docx_text(_render(client, headers, agreement["id"], format="docx"))
    assert (
        "自前述情形发生之日起15日内完成返还或者删除" in docx and "within 15 days of the day any of these occurs" in docx
    )


def test_bad_agreement_requests(
    client: TestClient[Any], demo: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    headers = demo["headers"]
    engagement_id = demo["camera"]["id"]
    cases = [
        ({"engagement_id": "00000000-0000-0000-0000-000000000000", **TERMS}, 422, "engagement_id"),
        ({"engagement_id": engagement_id, **TERMS, "template_id": "nope"}, 422, "template_id"),
        ({"engagement_id": engagement_id, **TERMS, "template_version": 99}, 422, "template_version"),
        ({"engagement_id": engagement_id, "term_start": "2027-01-01", "term_end": "2026-01-01"}, 400, "term_end"),
        ({"engagement_id": engagement_id}, 400, "term_start"),
    ]
    for body, status, field in cases:
        response = client.post("/api/agreements", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert field in {item["key"] for item in response.json()["extra"]}
    assert client.get("/api/agreements", headers=headers).json()["total"] == 0
    auditor = make_user("auditor")
    assert (
        client.post(
            "/api/agreements", json={"engagement_id": engagement_id, **TERMS}, headers=auditor.headers
        ).status_code
        == 403
    )
    bad_render = client.post(
        f"/api/agreements/{_agreement(client, headers, engagement_id)['id']}/documents",
        json={"format": "odt"},
        headers=headers,
    )
    assert bad_render.status_code == 400


def test_snapshot_keeps_the_issued_text_and_shows_changes(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    camera = demo["camera"]
    agreement = _agreement(client, headers, camera["id"])
    assert client.get(f"/api/agreements/{agreement['id']}/changes", headers=headers).json() == []

    client.patch(
        f"/api/engagements/{camera['id']}", json={"purpose": "Count visitors, no faces kept."}, headers=headers
    )
    changes = client.get(f"/api/agreements/{agreement['id']}/changes", headers=headers).json()
    assert [c["field"] for c in changes] == ["engagement.purpose"]
    assert changes[0]["new"] == "Count visitors, no faces kept."

    old_text = docx_text(_render(client, headers, agreement["id"], format="docx"))
    assert "Count visitors, no faces kept." not in old_text  # the agreement keeps what it was generated from

    newer = client.post(f"/api/agreements/{agreement['id']}/new-version", headers=headers)
    assert newer.status_code == 201
    assert newer.json()["supersedes_id"] == agreement["id"] and newer.json()["status"] == "draft"
    assert newer.json()["deletion_days"] == agreement["deletion_days"]
    assert "Count visitors, no faces kept." in docx_text(_render(client, headers, newer.json()["id"], format="docx"))


def test_issue_is_refused_when_a_required_item_is_uncovered(
    client: TestClient[Any], demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import shutil

    from app.agreements import services
    from app.agreements.library import LIBRARY_DIR, write_lock

    target = tmp_path / "templates"
    shutil.copytree(LIBRARY_DIR, target)
    template_file = target / "pipl-entrusted-processing.yaml"
    template_file.write_text(
        template_file.read_text(encoding="utf-8")
        + "  - version: 3\n    published: 2026-12-01\n    clauses: [parties.v1, term.v1, liability.v1]\n",
        encoding="utf-8",
    )
    shortened = load(target)
    write_lock(shortened, target)
    monkeypatch.setattr(services, "library", lambda: load(target))

    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"], template_version=3)
    response = client.post(f"/api/agreements/{agreement['id']}/issue", headers=headers)
    assert response.status_code == 409
    uncovered = {item["key"] for item in response.json()["extra"]}
    assert uncovered == {f"A{n}" for n in range(1, 13)} - {"A2"}
    assert client.get(f"/api/agreements/{agreement['id']}", headers=headers).json()["status"] == "draft"
    assert client.get(f"/api/agreements/{agreement['id']}/documents", headers=headers).json()["items"] == []


def test_agreement_needs_the_handler_profile(client: TestClient[Any], admin: Account) -> None:
    vendor = client.post("/api/vendors", json=vendor_body(), headers=admin.headers).json()
    engagement = client.post("/api/engagements", json=engagement_body(vendor["id"]), headers=admin.headers).json()
    response = client.post("/api/agreements", json={"engagement_id": engagement["id"], **TERMS}, headers=admin.headers)
    assert response.status_code == 409
    assert "PUT /api/handler" in response.json()["detail"]


def test_templates_are_listed(client: TestClient[Any], admin: Account) -> None:
    templates = client.get("/api/templates", headers=admin.headers).json()
    template = next(t for t in templates if t["id"] == "pipl-entrusted-processing")
    assert template["versions"][0]["version"] == 1 and len(template["versions"][0]["fingerprint"]) == 64


def test_docx_has_real_word_structure(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"])
    document = Document(io.BytesIO(_render(client, headers, agreement["id"], format="docx", lang="bilingual")))
    styles = [paragraph.style.name for paragraph in document.paragraphs if paragraph.style is not None]
    assert styles[:2] == ["Title", "Title"]
    # Clause headings are Word-numbered (the number is not typed), in styles based on Heading 1.
    shown = shown_headings(document)
    headings = [
        shown[index]
        for index, p in enumerate(document.paragraphs)
        if p.style is not None and p.style.base_style is not None and p.style.base_style.name == "Heading 1"
    ]
    assert headings[0] == "第一条 协议双方与背景" and headings[1] == "Article 1. Parties and background"
    assert "第二十五条 法律适用与争议解决" in headings and "Article 25. Governing law and disputes" in headings
    assert all(not p.text.startswith(("第", "Article")) for p in document.paragraphs if p._p.style == "ClauseZh")
    assert agreement["number"] in document.sections[0].header.paragraphs[0].text
    footer_xml = document.sections[0].footer.paragraphs[0]._p.xml
    assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
    parties = document.tables[0]
    assert parties.rows[0].cells[0].text == "协议编号 / Agreement No."
    assert parties.rows[0].cells[1].text == agreement["number"]
    assert parties.rows[1].cells[0].text == "委托方 / Entrusting party"
    assert "上海星驰汽车销售有限公司" in parties.rows[1].cells[1].text
    signatures = document.tables[1]
    assert signatures.rows[0].cells[1].paragraphs[0].text == "受托方 / Entrusted party："


def test_pdf_is_a4_with_fonts_embedded(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["payroll"]["id"])
    reader = PdfReader(io.BytesIO(_render(client, headers, agreement["id"], format="pdf", lang="bilingual")))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    fonts: Any = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    for reference in fonts.values():
        descriptor = reference.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert "1 / " in reader.pages[0].extract_text()


def test_signed_copy_over_the_size_limit_is_413(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["payroll"]["id"])
    base = f"/api/agreements/{agreement['id']}"
    assert client.post(f"{base}/issue", headers=headers).status_code == 200
    too_big = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)
    response = client.post(f"{base}/sign", files={"file": ("big.pdf", too_big, "application/pdf")}, headers=headers)
    assert response.status_code == 413
    assert client.get(base, headers=headers).json()["status"] == "issued"


def test_the_annex_is_optional(client: TestClient[Any], demo: dict[str, Any]) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["payroll"]["id"])
    with_annex = docx_text(_render(client, headers, agreement["id"], format="docx", annex=True))
    without = docx_text(_render(client, headers, agreement["id"], format="docx", annex=False))
    assert "附件：法定要求对照表 / Annex: legal requirements covered" in with_annex
    assert "Annex: legal requirements covered" not in without
    assert "第一条 协议双方与背景" in without


def test_only_the_engagements_owner_or_an_admin_acts_on_its_agreements(
    client: TestClient[Any], demo: dict[str, Any], make_user: Callable[..., Account], database_url: str
) -> None:
    """An owner or procurement user may not create or move an agreement on someone else's
    engagement (that resolved its findings and e-mailed the vendor a deletion duty); the
    reading roles render nothing (a rendered file is stored: a write)."""
    agreement = _agreement(client, demo["headers"], demo["camera"]["id"])
    base = f"/api/agreements/{agreement['id']}"
    for role in ("owner", "procurement"):
        stranger = make_user(role)
        body = {"engagement_id": demo["camera"]["id"], "term_start": "2026-01-01", "term_end": "2027-12-31"}
        assert client.post("/api/agreements", json=body, headers=stranger.headers).status_code == 403
        assert client.patch(base, json={"notice_days": 10}, headers=stranger.headers).status_code == 403
        assert client.post(f"{base}/issue", headers=stranger.headers).status_code == 403
        assert client.delete(base, headers=stranger.headers).status_code == 403
    for role in ("auditor", "dpo"):
        reader = make_user(role)
        rendered = client.post(f"{base}/documents", json={"format": "docx"}, headers=reader.headers)
        assert rendered.status_code == 403, rendered.text
    set_active(database_url, agreement["id"])
    stranger = make_user("owner")
    ended = {"ended_on": "2026-11-01", "reason": "not mine to end"}
    assert client.post(f"{base}/terminate", json=ended, headers=stranger.headers).status_code == 403
    assert client.get(base, headers=demo["headers"]).json()["status"] == "active"
    assert client.get(f"{base}/documents", headers=demo["headers"]).json()["items"] == []  # nothing was rendered


def test_prohibited_processing_blocks_issuing_until_the_dpo_overrides(
    client: TestClient[Any], demo: dict[str, Any], make_user: Callable[..., Account], clean_database: str
) -> None:
    headers, camera = demo["headers"], demo["camera"]
    fitting = {
        "description": "Fitting rooms, Shanghai store",
        "venue_type": "changing_room",
        "public_place": False,
        "equipment": "image_capture",
        "equipment_count": 3,
    }
    patched = client.patch(
        f"/api/engagements/{camera['id']}", json={"venues": [*camera["venues"], fitting]}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    agreement = _agreement(client, headers, camera["id"])
    url = f"/api/agreements/{agreement['id']}"

    refused = client.post(f"{url}/issue", headers=headers)
    assert refused.status_code == 409
    assert "R8b" in refused.json()["detail"] and "Fitting rooms, Shanghai store" in refused.json()["detail"]
    assert client.get(url, headers=headers).json()["status"] == "draft"

    owner = make_user("owner")
    assert client.post(f"{url}/override", json={"reason": "x" * 20}, headers=owner.headers).status_code == 403
    too_short = client.post(f"{url}/override", json={"reason": "ok"}, headers=make_user("dpo").headers)
    assert too_short.status_code == 400 and "reason" in too_short.text

    dpo = make_user("dpo")
    reason = "Cameras are being removed on 2026-12-05; the agreement binds the vendor to remove them."
    overridden = client.post(f"{url}/override", json={"reason": reason}, headers=dpo.headers)
    assert overridden.status_code == 200, overridden.text
    assert (overridden.json()["override_reason"], overridden.json()["override_by"]) == (reason, dpo.email)
    assert any(entry.changes.get("override_reason") == reason for entry in audit_entries(clean_database, "update"))
    assert client.post(f"{url}/issue", headers=headers).status_code == 200
    # The law is not changed by the override: the finding stays open.
    findings = client.get("/api/findings", params={"engagement_id": camera["id"]}, headers=headers).json()["items"]
    assert any(finding["rule_id"] == "R8b" for finding in findings)


def test_an_agreement_without_prohibited_processing_needs_no_override(
    client: TestClient[Any], demo: dict[str, Any], make_user: Callable[..., Account]
) -> None:
    agreement = _agreement(client, demo["headers"], demo["camera"]["id"])
    answer = client.post(
        f"/api/agreements/{agreement['id']}/override",
        json={"reason": "Nothing here is prohibited."},
        headers=make_user("dpo").headers,
    )
    assert answer.status_code == 409 and "no prohibited processing" in answer.json()["detail"]


def test_issued_documents_are_rendered_once_and_served_from_storage(
    client: TestClient[Any], demo: dict[str, Any], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"])
    base = f"/api/agreements/{agreement['id']}"
    assert client.post(f"{base}/issue", headers=headers).status_code == 200
    stored = {d["format"]: d for d in client.get(f"{base}/documents", headers=headers).json()["items"]}
    assert sorted(stored) == ["docx", "pdf"]

    def no_render(*_args: Any, **_kwargs: Any) -> bytes:
        raise AssertionError("an issued agreement's document was rendered again")

    monkeypatch.setattr(services, "render_async", no_render)
    for fmt in ("pdf", "docx"):
        asked = client.post(f"{base}/documents", json={"format": fmt, "lang": "bilingual"}, headers=headers)
        assert asked.status_code == 201, asked.text
        assert asked.json()["id"] == stored[fmt]["id"]  # the stored one: no new row, no new render
        download = client.get(f"{base}/documents/{stored[fmt]['id']}/content", headers=headers)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == stored[fmt]["sha256"]
        assert download.content == open_storage(settings.storage_url).get(stored[fmt]["sha256"])
    assert client.get(f"{base}/documents", headers=headers).json()["total"] == 2


def test_a_tampered_stored_document_is_never_served(
    client: TestClient[Any], demo: dict[str, Any], settings: Settings
) -> None:
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["payroll"]["id"])
    document = client.post(f"/api/agreements/{agreement['id']}/documents", json={"format": "docx"}, headers=headers)
    sha256 = document.json()["sha256"]
    storage = open_storage(settings.storage_url)
    assert isinstance(storage, LocalStorage)
    (storage.root / sha256[:2] / sha256[2:4] / sha256).write_bytes(b"PK forged contract")
    download = client.get(
        f"/api/agreements/{agreement['id']}/documents/{document.json()['id']}/content", headers=headers
    )
    assert download.status_code == 500
    assert "forged" not in download.text
    assert download.json()["detail"].startswith("存储的文件已被改动") and f"{sha256} was altered" in download.text


def test_the_server_warms_the_pdf_renderer_at_start(settings: Settings) -> None:
    with TestClient(app=create_app(settings, warm_renderer=True)) as warm_client:
        assert warm_client.get("/health").status_code == 200  # answering while the worker starts
        deadline = time.monotonic() + 120
        while warm_client.app.state.get("renderer_warm_seconds") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert warm_client.app.state.get("renderer_warm_seconds") is not None


def test_the_vendor_signs_the_agreement_alone_and_the_compliance_map_is_ours(
    client: TestClient[Any], demo: dict[str, Any]
) -> None:
    """Issue 15: the issued files have no annex; the map is a download of its own, never stored
    with the documents the vendor reads."""
    headers = demo["headers"]
    agreement = _agreement(client, headers, demo["camera"]["id"])
    base = f"/api/agreements/{agreement['id']}"
    assert client.post(f"{base}/issue", headers=headers).status_code == 200
    documents = client.get(f"{base}/documents", headers=headers).json()["items"]
    assert len(documents) == 2
    for document in documents:
        content = client.get(f"{base}/documents/{document['id']}/content", headers=headers).content
        text = docx_text(content) if document["format"] == "docx" else pdf_text(content)
        assert "法定要求对照表" not in text and "Annex" not in text
        assert "以中文文本为准" in text  # bilingual: the precedence sentence, once
        assert "法定代表人或授权代表（签字）" in text and "签订地点" in text

    for fmt in ("pdf", "docx"):
        response = client.get(f"{base}/compliance-map", params={"format": fmt, "lang": "zh"}, headers=headers)
        assert response.status_code == 200, response.text
        assert "compliance-map" in unquote(response.headers["content-disposition"])
        text = docx_text(response.content) if fmt == "docx" else _squash(pdf_text(response.content))
        assert "附件：法定要求对照表" in text and "内部文件" in text and "A1" in text
        assert "法定代表人或授权代表" not in text and "协议双方与背景" not in text
    assert len(client.get(f"{base}/documents", headers=headers).json()["items"]) == 2  # nothing stored
    bad = client.get(f"{base}/compliance-map", params={"format": "odt"}, headers=headers)
    assert bad.status_code == 400


def test_only_the_bilingual_document_ranks_its_languages_and_the_first_page_names_the_main_contract(
    client: TestClient[Any], demo: dict[str, Any]
) -> None:
    headers = demo["headers"]
    main = "《展厅智能客流分析服务合同》（合同编号：XC-2025-017）"
    agreement = _agreement(client, headers, demo["camera"]["id"], main_contract=main)
    assert agreement["main_contract"] == main
    for fmt in ("docx", "pdf"):
        zh = _render(client, headers, agreement["id"], format=fmt, lang="zh")
        text = docx_text(zh) if fmt == "docx" else _squash(pdf_text(zh))
        assert "以中文文本为准" not in text and "英文文本" not in text
        first_page = text if fmt == "docx" else _squash(PdfReader(io.BytesIO(zh)).pages[0].extract_text())
        for shown in (agreement["number"], "所属主合同", _squash(main), "上海星驰汽车销售有限公司"):
            assert (_squash(shown) if fmt == "pdf" else shown) in first_page, shown
    refused = client.patch(f"/api/agreements/{agreement['id']}", json={"main_contract": "x\u0000"}, headers=headers)
    assert refused.status_code == 400
