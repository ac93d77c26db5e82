"""Template version 2 (2026-11-29): the clauses of the November 2026 legal review, each only
where it applies, while version 1 keeps the text it was published with."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from app.agreements import context, rendering, services
from app.agreements.library import load
from app.agreements.models import Agreement
from app.agreements.schemas import AgreementCreate, AgreementSnapshot

SNAPSHOTS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "agreement_text" / "stored_snapshots.json").read_text(encoding="utf-8")
)
NEW_REQUIREMENTS = {f"B{n}" for n in range(11, 21)}


def _agreement(snapshot: dict[str, Any], version: int) -> Agreement:
    return Agreement(
        number="DPA-2026-0A1B2C3D",
        engagement_id=uuid.UUID(int=1),
        vendor_id=uuid.UUID(int=2),
        template_id="pipl-entrusted-processing",
        template_version=version,
        snapshot=json.loads(json.dumps(snapshot)),
        term_start=date(2026, 12, 1),
        term_end=date(2027, 11, 30),
    )


def _text(snapshot: dict[str, Any], version: int, lang: str = "zh") -> str:
    return rendering.text_of(services.compose(_agreement(snapshot, version), annex=True), (lang,))


def _keys(snapshot: dict[str, Any], version: int) -> list[str]:
    return [clause.key for clause in services.compose(_agreement(snapshot, version)).clauses]


def _with(name: str, **engagement: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = json.loads(json.dumps(SNAPSHOTS[name]))
    snapshot["engagement"].update(engagement)
    return snapshot


def test_a_new_agreement_gets_version_2_and_the_default_first_incident_notice_of_2_hours() -> None:
    template = load().templates["pipl-entrusted-processing"]
    newest = template.version()
    assert newest is not None and newest.version == 2 and newest.published == date(2026, 11, 29)
    terms = AgreementCreate(engagement_id=uuid.uuid4(), term_start=date(2026, 12, 1), term_end=date(2027, 11, 30))
    assert terms.template_version is None  # the service takes the newest published version
    assert terms.incident_notice_hours == 2
    assert "在发现后2小时内以电话和书面方式通知委托方指定联系人" in _text(SNAPSHOTS["crm"], 2)


def test_version_2_adds_the_reviews_clauses_to_every_agreement() -> None:
    zh, en = _text(SNAPSHOTS["crm"], 2), _text(SNAPSHOTS["crm"], 2, "en")
    for heading in ("条 保密", "条 暂停处理与违约解除", "条 法律变化", "条 通知与送达"):
        assert heading in zh, heading
    for sentence in (
        "在2个工作日内转交委托方，不得擅自答复",
        "包括受托方的境外关联方及技术支持人员）查询、调取、下载、导出个人信息",
        "本协议不生效、无效、被撤销或者终止的",
        "自前述情形发生之日起",
        "法律、行政法规规定的保存期限未届满",
        "违约金人民币【　　　　】元",
        "在本协议解除或者终止后继续有效",
        "《个人信息保护法》第十三条规定的情形",
        "事项为“",  # Chinese quotation marks
        "最迟1小时内向保护工作部门、公安机关报告",
        "未成年人个人信息保护合规审计",
    ):
        assert sentence in zh, sentence
    assert "合法性基础" not in zh and '"' not in zh.split("附件")[0]
    assert "liquidated damages of RMB [" in en and "within 2 working days and does not answer it" in en


def test_the_face_clause_only_where_faces_are_processed() -> None:
    camera = _text(SNAPSHOTS["camera"], 2)
    assert "facial-data.v2" in _keys(SNAPSHOTS["camera"], 2)
    for sentence in (
        "不得利用人脸信息训练、优化算法模型",
        "不得利用人脸信息建立人脸库",
        "亦不得上传至受托方或者任何第三方的服务器",
        "在提取人脸特征后立即删除原始人脸图像",
        "于每月5日前向委托方书面报告",
        "识别过往人员以进行客流统计、会员识别、营销分析等其他目的的，须取得每一名被识别者的单独同意",
        "试衣间、哺乳室",
    ):
        assert sentence in camera, sentence
    assert "does not use facial information to train or improve algorithms" in _text(SNAPSHOTS["camera"], 2, "en")
    # near miss: no faces, no face clause
    assert not any(key.startswith("facial-data") for key in _keys(SNAPSHOTS["payroll"], 2))
    assert "不得利用人脸信息训练" not in _text(SNAPSHOTS["payroll"], 2)


def test_the_childrens_clause_only_where_minors_under_14_are_concerned() -> None:
    under_14 = _with("crm", data_subjects=["customers", "minors_under_14"])
    assert "minors.v2" in _keys(under_14, 2)
    assert "不得转委托他人处理儿童个人信息" in _text(under_14, 2)
    assert "并在委托前对受托方及委托行为进行安全评估" in _text(under_14, 2)
    assert "协助委托方回应儿童监护人提出的申请" in _text(under_14, 2)
    # near miss: minors under 18 (the yearly audit), none under 14
    under_18 = _with("crm", data_subjects=["customers", "minors_under_18"])
    assert "minors" not in context.conditions(AgreementSnapshot.model_validate(under_18))
    assert not any(key.startswith("minors") for key in _keys(under_18, 2))
    assert "不满十八周岁的未成年人" in _text(under_18, 2)  # named among the subjects, by phrases v2


def test_order_and_precedence_are_kept() -> None:
    keys = _keys(SNAPSHOTS["every-condition"], 2)
    assert keys[0] == "parties.v2" and keys[-1] == "governing-law.v2"
    assert keys.index("confidentiality.v1") < keys.index("sub-entrustment.v2")
    assert keys.index("suspension-termination.v1") < keys.index("liability.v2") < keys.index("notices.v1")
    for version in (1, 2):
        assert "中文文本与英文文本不一致的，以中文文本为准。" in _text(SNAPSHOTS["every-condition"], version)


def test_version_1_keeps_its_clauses_and_annex() -> None:
    keys = _keys(SNAPSHOTS["every-condition"], 1)
    assert all(key.endswith(".v1") for key in keys) and "confidentiality.v1" not in keys
    text = _text(SNAPSHOTS["every-condition"], 1)
    assert "条 保密" not in text and "B11" not in text and "Facial-recognition measures 2025" in text
    assert "较大及以上的网络安全事件须在四小时内报告省级网信部门" in text  # v1's incident clause, as published
    document = services.compose(_agreement(SNAPSHOTS["every-condition"], 1), annex=True)
    assert [row["id"] for row in document.coverage] == [f"A{n}" for n in range(1, 13)] + [f"B{n}" for n in range(1, 11)]


def test_version_2_annex_lists_the_new_requirements_with_their_articles() -> None:
    document = services.compose(_agreement(SNAPSHOTS["every-condition"], 2), annex=True)
    rows = {row["id"]: row for row in document.coverage}
    assert set(rows) >= NEW_REQUIREMENTS
    assert all(rows[requirement]["clauses"] for requirement in NEW_REQUIREMENTS), "every new item is covered"
    assert rows["B15"]["source"] == "PIPL art. 57; NDSR art. 11; 国家网络安全事件报告管理办法 art. 4"
    assert rows["B7"]["source"] == "人脸识别技术应用安全管理办法 arts. 8, 10, 13"
    assert rows["B17"]["clauses"] == ["minors.v2"]
    library = load()
    for requirement in library.requirements.values():
        assert "art" in requirement.source or "§" in requirement.source or "指南" in requirement.source


def test_a_requirement_is_listed_as_of_a_versions_publication() -> None:
    library = load()
    b11, b7 = library.requirements["B11"], library.requirements["B7"]
    assert b11.as_of(date(2026, 11, 28)) is None
    assert b11.as_of(date(2026, 11, 29)) == b11 and b11.as_of(None) == b11  # a draft lists the current wording
    old = b7.as_of(date(2026, 11, 28))
    assert old is not None and old.source == "Facial-recognition measures 2025" and old.zh == b7.zh
    assert b7.as_of(date(2026, 11, 29)) == b7
