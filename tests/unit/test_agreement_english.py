"""Per-language text (issue 15, item 3): free text an agreement prints (purpose, venues,
activities, the retention note) has a Chinese and an English value. The bilingual document
puts each in its language and, where the English is missing, says so in the English text
instead of printing the Chinese there; the Chinese-only document uses the Chinese values. A
snapshot stored before the English values existed renders exactly as it did."""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from app.agreements import rendering, services
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementSnapshot

SNAPSHOTS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "agreement_text" / "stored_snapshots.json").read_text(encoding="utf-8")
)
MISSING = "[English text not provided; the Chinese text applies]"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _snapshot(english: bool) -> dict[str, Any]:
    """The stored camera snapshot, written as a newer one is: Chinese values, English beside."""
    raw = copy.deepcopy(SNAPSHOTS["camera"])
    engagement = raw["engagement"]
    engagement["purpose"] = "以人脸识别摄像头统计和分析展厅客流。"
    engagement["retention_note"] = "分析完成后三十日内删除。"
    engagement["venues"][0]["description"] = "上海展厅"
    engagement["purpose_en"] = "Count and analyse showroom traffic with face-recognition cameras." if english else ""
    engagement["retention_note_en"] = "Deleted within 30 days of the analysis." if english else ""
    engagement["venues"][0]["description_en"] = "Showrooms in Shanghai" if english else ""
    raw["sub_processors"] = [
        {"name": "广州云途数据有限公司", "activity": "托管数据库及其备份。", "country": "CN", "region": "CN-GD",
         "handler_consented": True, "consented_on": "2026-01-01",
         "activity_en": "Hosts the database and its backups." if english else ""},
    ]  # fmt: skip
    return raw


def _paragraphs(raw: dict[str, Any], lang: str) -> str:
    agreement = Agreement(
        number="DPA-2026-ENGLISH1",
        engagement_id=uuid.UUID(int=1),
        vendor_id=uuid.UUID(int=2),
        template_id="pipl-entrusted-processing",
        template_version=2,
        snapshot=raw,
        term_start=date(2026, 1, 5),
        term_end=date(2027, 1, 4),
    )
    document = services.compose(agreement)
    return "\n".join(paragraph for clause in document.clauses for paragraph in clause.paragraphs[lang])


def test_each_language_prints_its_own_value() -> None:
    raw = _snapshot(english=True)
    english, chinese = _paragraphs(raw, "en"), _paragraphs(raw, "zh")
    for text in ("Count and analyse showroom traffic", "Deleted within 30 days", "Showrooms in Shanghai",
                 "Hosts the database and its backups."):  # fmt: skip
        assert text in english and text not in chinese
    for text in ("以人脸识别摄像头统计", "分析完成后三十日内删除", "上海展厅", "托管数据库及其备份"):
        assert text in chinese and text not in english
    assert MISSING not in english


def test_a_missing_english_value_is_named_not_filled_with_the_chinese() -> None:
    raw = _snapshot(english=False)
    english = _paragraphs(raw, "en")
    assert english.count(MISSING) == 4  # purpose, retention note, venue, activity
    for text in ("以人脸识别摄像头统计", "分析完成后三十日内删除", "上海展厅", "托管数据库及其备份"):
        assert text not in english
    # The only Chinese left in the English text is names and addresses, never the free text.
    names = [raw["engagement"]["name"], raw["sub_processors"][0]["name"]] + [
        raw[party][field] for party in ("handler", "vendor") for field in ("legal_name_zh", "address")
    ]
    assert set(HAN.findall(english)) <= set("".join(names))
    chinese = _paragraphs(raw, "zh")
    assert "以人脸识别摄像头统计" in chinese and "Chinese text" not in chinese and "英文" not in chinese


def test_a_snapshot_stored_before_english_values_renders_as_it_did() -> None:
    """No English keys: the one text in both languages, as every agreement before issue 15 item 3."""
    raw = copy.deepcopy(SNAPSHOTS["camera"])
    english = _paragraphs(raw, "en")
    assert MISSING not in english and raw["engagement"]["purpose"] in english
    assert AgreementSnapshot.model_validate(raw).model_dump(mode="json") == raw


def test_the_english_texts_are_stored_with_a_new_snapshot_and_read_back() -> None:
    raw = _snapshot(english=False)
    stored = AgreementSnapshot.model_validate(raw).model_dump(mode="json")
    assert stored["engagement"]["purpose_en"] == "" and stored["sub_processors"][0]["activity_en"] == ""
    assert stored == raw


def test_the_pdf_html_of_a_bilingual_agreement_prints_the_note() -> None:
    agreement = Agreement(
        number="DPA-2026-ENGLISH2",
        engagement_id=uuid.UUID(int=1),
        vendor_id=uuid.UUID(int=2),
        template_id="pipl-entrusted-processing",
        template_version=2,
        snapshot=_snapshot(english=False),
        term_start=date(2026, 1, 5),
        term_end=date(2027, 1, 4),
    )
    document = services.compose(agreement)
    html = rendering.to_html(document, rendering.LANGUAGE_SETS["bilingual"])
    assert "[English text not provided; the Chinese text applies]" in html
    assert MISSING not in rendering.to_html(document, rendering.LANGUAGE_SETS["zh"])
