"""The evidence pack's readable pages (issue 15, item 5): findings, obligations with their
history and the audit trail as HTML pages and one PDF beside the JSON, in words, with times in
the company's time zone, named. The PDF's pages are rendered to images and kept in
var/test-output/evidence-pack/ for a person to look at after the run."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from litestar.testing import TestClient

from tests.unit.test_agreement_pages import ROOT, _fonts, _page_sizes, _pages, _run, _tool

OUTPUT = ROOT / "var" / "test-output" / "evidence-pack"


def _files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_pack_holds_its_pages_as_one_pdf_in_words_and_local_time(
    client: TestClient[Any], demo: dict[str, Any]
) -> None:
    camera = demo["camera"]
    changed = client.patch(
        f"/api/engagements/{camera['id']}",
        json={"purpose_en": "Count showroom visitors.", "processing_methods": ["collection", "use"]},
        headers=demo["headers"],
    )
    assert changed.status_code == 200, changed.text
    response = client.get("/api/exports/evidence-pack", headers=demo["headers"])
    assert response.status_code == 200, response.text
    files = _files(response.content)
    manifest = json.loads(files["manifest.json"])
    assert "evidence-pack.pdf" in {item["path"] for item in manifest["files"]}
    assert "evidence-pack.pdf" in files["index.html"].decode()

    OUTPUT.mkdir(parents=True, exist_ok=True)
    pdf = OUTPUT / "evidence-pack-all.pdf"
    pdf.write_bytes(files["evidence-pack.pdf"])
    sizes = _page_sizes(pdf)
    assert sizes and all(abs(w - 841.9) < 1 and abs(h - 595.3) < 1 for w, h in sizes)  # A4 landscape
    fonts = _fonts(pdf)
    assert all(font[-5] == "yes" for font in fonts)  # embedded
    assert any(font[0].endswith("+Noto-Serif-CJK-SC") for font in fonts)  # the agreement's Song face
    text = _run(_tool("pdftotext", "poppler-utils"), str(pdf), "-")
    flat = text.replace("\n", " ")
    assert "\ufffd" not in text
    for title in ("合规发现 Findings", "义务及其处理记录 Obligations and their history", "审计记录 Audit trail"):
        assert title in flat
    assert "Asia/Shanghai (UTC+08:00)" in flat  # the zone named
    assert "严重 critical" in flat and "创建 create" in flat and "委托处理 engagement" in flat  # words
    assert "上海慧眼视觉科技有限公司" in flat  # names, not only ids
    pages = _pages(pdf)
    assert len(pages) >= 3  # one section a page at least

    trail = files["audit_trail.html"].decode()
    # Changes read field by field, before → after, not as a JSON object; objects by their names.
    assert f"处理目的（英文） purpose (English): {camera['purpose_en']} → Count showroom visitors." in trail
    methods = "处理方式 processing methods: 收集、存储、加工、使用 / collection, storage, processing, use → 收集、使用"
    assert methods in trail
    assert "受托方 vendor" in trail and "展厅客流分析" in trail
    # Fields and coded values in words: 处理目的 purpose, 人脸信息 for facial_recognition.
    assert "处理目的 purpose: " in trail and "个人信息种类 PI categories: " in trail
    assert "facial_recognition" not in trail and "人脸信息" in trail
    assert "登记信息已更新 registry data: " in files["obligations.html"].decode()
    assert "evidence-pack.pdf" in files["findings.html"].decode()


def test_a_character_the_font_lacks_prints_as_its_code_point_not_a_box() -> None:
    from app.exports import pages

    table = pages.Table("合规发现", "Findings", "findings.json", ["名称 Name"], [["慧眼 😀 Vision"]], [100])
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pdf = OUTPUT / "missing-glyph.pdf"
    pdf.write_bytes(pages.pdf("测试 & <test>", [table], "2026-11-29 18:00 Asia/Shanghai (UTC+08:00)"))
    text = _run(_tool("pdftotext", "poppler-utils"), str(pdf), "-")
    assert "[U+1F600]" in text and "慧眼" in text and "测试 & <test>" in text
