"""The evidence pack's readable pages: findings, obligations with their history, the audit trail.

Each is an HTML table beside the JSON of the same rows: words where the JSON has codes, times
in the company's time zone with the zone named (the JSON keeps UTC, for machines). The three
tables are also one PDF (A4 landscape, in the agreement's Song face), for a reader who prints
or files the pack: `pdf` lays them out with WeasyPrint, in a worker process (see pack.plan).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from app.agreements.rendering import FONT_FAMILY, missing_glyphs
from app.audit.models import AuditEntry
from app.core import clock
from app.core.types import utcnow
from app.engagements import labels
from app.findings.models import Finding
from app.obligations.kinds import SPECS
from app.obligations.models import Obligation
from app.questionnaires.models import Questionnaire, QuestionnaireFile
from app.questionnaires.services import template_of

SEVERITY = {"critical": "严重 critical", "high": "高 high", "medium": "中 medium", "review": "待判断 review"}
FINDING_STATUS = {"open": "未解决 open", "resolved": "已解决 resolved"}
OBLIGATION_STATUS = {"open": "待办 open", "done": "已完成 done", "waived": "已豁免 waived"}
PARTY = {"handler": "委托方（我方）handler (us)", "vendor": "受托方 vendor"}
ACTION = {
    "create": "创建 create", "update": "修改 update", "delete": "删除 delete", "submit": "提交 submit",
    "review": "审核 review", "download": "下载 download", "auth_failed": "认证失败 refused",
    "export": "导出 export", "restore": "恢复 restore", "sign_in": "登录 sign-in", "sign_out": "退出 sign-out",
}  # fmt: skip
OBJECT = {
    "vendor": "受托方 vendor", "vendor_key": "受托方密钥 vendor key", "engagement": "委托处理 engagement",
    "sub_processor": "转委托方 sub-processor", "agreement": "委托处理协议 agreement",
    "agreement_document": "协议文件 agreement document", "attestation": "受托方报告 attestation",
    "evidence_file": "证据文件 evidence file", "obligation": "义务 obligation", "handler": "本公司信息 company profile",
    "calendar_day": "工作日历 working-day calendar", "user": "用户 user", "api_token": "接口令牌 API token",
    "credential": "凭证 credential", "web_session": "登录会话 sign-in session", "password": "密码 password",
    "calendar_feed": "日历订阅 calendar subscription", "evidence_pack": "证据包 evidence pack",
    "backup": "备份 backup",
}  # fmt: skip


# The registry's fields as the trail names them, in words (a field not here shows as itself).
FIELD = {
    "name": "名称 name", "purpose": "处理目的 purpose", "purpose_en": "处理目的（英文） purpose (English)",
    "processing_methods": "处理方式 processing methods", "pi_categories": "个人信息种类 PI categories",
    "data_subjects": "个人类别 data subjects", "individuals_count": "涉及人数 individuals",
    "individuals_count_as_of": "人数统计日期 individuals as of", "venues": "场所 venues",
    "storage_locations": "存储地点 storage locations", "leaves_china": "是否出境 leaves China",
    "cross_border_recipients": "境外接收方 recipients abroad", "cross_border_mechanism": "出境机制 mechanism",
    "cross_border_effective_on": "出境机制生效日期 mechanism effective on",
    "retention_days": "保存期限（天） retention days", "retention_note": "保存期限说明 retention note",
    "retention_note_en": "保存期限说明（英文） retention note (English)",
    "legal_basis": "处理依据 legal basis", "consent_obtained": "已取得同意 consent obtained",
    "consent_evidence": "同意证据 consent evidence", "separate_consent_obtained": "已取得单独同意 separate consent",
    "separate_consent_evidence": "单独同意证据 separate consent evidence",
    "guardian_consent_obtained": "已取得监护人同意 guardian consent",
    "guardian_consent_evidence": "监护人同意证据 guardian consent evidence",
    "pipia_reference": "影响评估编号 PIPIA reference", "pipia_date": "影响评估日期 PIPIA date",
    "pipia_retained_until": "评估报告保存至 PIPIA kept until", "start_date": "开始日期 start",
    "end_date": "结束日期 end", "status": "状态 status", "owner_id": "负责人 owner", "vendor_id": "受托方 vendor",
    "engagement_id": "委托处理 engagement", "legal_name_zh": "中文名称 legal name (Chinese)",
    "legal_name_en": "英文名称 legal name (English)", "unified_social_credit_code": "统一社会信用代码 credit code",
    "registration_number": "注册号 registration number", "country": "国家或地区 country", "region": "地区 region",
    "address": "地址 address", "website": "网站 website", "contacts": "联系人 contacts",
    "certifications": "认证 certifications", "activity": "处理活动 activity",
    "activity_en": "处理活动（英文） activity (English)",
    "handler_consented": "已同意转委托 sub-entrustment consented", "consented_on": "同意日期 consented on",
    "number": "协议编号 agreement number", "term_start": "起始日 term start", "term_end": "届满日 term end",
    "reason": "理由 reason", "note": "说明 note", "kind": "类型 kind", "due_on": "期限 due",
}  # fmt: skip
# Fields whose values are codes of a table of words, shown "中文 / English".
CODED = {
    "processing_methods": labels.METHOD, "data_subjects": labels.SUBJECT, "legal_basis": labels.LEGAL_BASIS,
    "cross_border_mechanism": labels.MECHANISM,
}  # fmt: skip


@dataclass(frozen=True)
class Table:
    """One page of the pack: plain strings, so it can go to the PDF's worker process."""

    title_zh: str
    title_en: str
    json_name: str
    columns: list[str]
    rows: list[list[str]]
    widths: list[int]  # the columns' shares of the PDF page's width, in percent


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _when(moment: datetime | None) -> str:
    return clock.local_text(moment) if moment is not None else ""


def html(subject: str, table: Table, generated: datetime | None = None) -> bytes:
    """The page a person opens from the pack's index.html."""
    return (
        _environment()
        .get_template("table.html")
        .render(
            table=table, subject=subject, generated=clock.local_text(generated or utcnow()), font_family=FONT_FAMILY
        )
        .encode()
    )


def pdf(subject: str, tables: list[Table], generated: str) -> bytes:
    """The three pages as one PDF. Run it in a worker process: WeasyPrint holds the GIL while
    it lays out (rendering.to_pdf's reason). `generated` comes as text: the worker process
    does not know the configured time zone."""
    from weasyprint import HTML

    source = (
        _environment()
        .get_template("pack.html")
        .render(tables=tables, subject=subject, generated=generated, font_family=FONT_FAMILY)
    )
    # A character the font lacks (an emoji in a name, say) would print as an empty box; the
    # pack must not fail for it either: it prints as its code point, [U+1F600].
    for character in missing_glyphs(source):
        source = source.replace(character, f"[U+{ord(character):04X}]")
    document: bytes = HTML(string=source).write_pdf()
    return document


def findings(rows: list[Finding], vendors: dict[uuid.UUID, str], engagements: dict[uuid.UUID, str]) -> Table:
    table = [
        [
            finding.rule_id,
            SEVERITY.get(finding.severity, str(finding.severity)),
            FINDING_STATUS.get(finding.status, str(finding.status)),
            "\n".join(
                part
                for part in (
                    vendors.get(finding.vendor_id, "") if finding.vendor_id else "",
                    engagements.get(finding.engagement_id, "") if finding.engagement_id else "",
                )
                if part
            ),
            f"{finding.title_zh}\n{finding.title_en}",
            f"{finding.explanation_zh}\n\n{finding.explanation_en}",
            f"{finding.action_zh}\n\n{finding.action_en}",
            "\n".join(finding.articles),
            f"{_when(finding.raised_at)}\n{finding.raised_by}",
            f"{_when(finding.resolved_at)}\n{finding.resolved_by}".strip(),
        ]
        for finding in rows
    ]
    columns = [
        "规则 Rule", "严重程度 Severity", "状态 Status", "受托方 / 委托处理 Vendor / engagement", "标题 Title",
        "说明 Explanation", "应采取的措施 What to do", "依据 Articles", "提出 Raised", "解决 Resolved",
    ]  # fmt: skip
    return Table("合规发现", "Findings", "findings.json", columns, table, [5, 6, 6, 10, 12, 20, 16, 7, 9, 9])


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _words(field: str, value: Any) -> str:
    """A value in words where its field holds codes (PI categories, methods, ...)."""
    if (field == "pi_categories" or field in CODED) and isinstance(value, list | str) and value:
        codes = [str(code) for code in (value if isinstance(value, list) else [value])]

        def say(code: str, lang: str) -> str:
            return labels.category(code, lang) if field == "pi_categories" else labels.say(CODED[field], code, lang)

        return f"{'、'.join(say(c, 'zh') for c in codes)} / {', '.join(say(c, 'en') for c in codes)}"
    if isinstance(value, bool):
        return labels.say(labels.YES_NO, value, "zh") + " " + labels.say(labels.YES_NO, value, "en")
    return _value(value)


def _changes(entry: AuditEntry) -> str:
    """One line a field, named in words: `处理目的 purpose: before → after` (the trail keeps
    {field: [before, after]})."""
    lines = []
    for field, change in sorted((entry.changes or {}).items()):
        name = FIELD.get(field, field)
        if isinstance(change, list) and len(change) == 2 and entry.action == "update":
            lines.append(f"{name}: {_words(field, change[0])} → {_words(field, change[1])}")
        else:
            lines.append(f"{name}: {_words(field, change)}")
    return "\n".join(lines)


def _closer(closed_by: str) -> str:
    """Who or what closed an obligation (attestation:<id>, user:<e-mail>, data:<field>), in words."""
    kind, _, what = closed_by.partition(":")
    if kind == "data":
        return f"登记信息已更新 registry data: {FIELD.get(what, what)}"
    if kind == "attestation":
        return f"受托方报告 attestation {what}"
    if kind == "user":
        return f"人工处理 by {what}"
    return closed_by


def obligations(
    rows: list[Obligation],
    trail: list[AuditEntry],
    vendors: dict[uuid.UUID, str],
    engagements: dict[uuid.UUID, str],
) -> Table:
    history: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in trail:
        history[entry.object_id].append(entry)
    table = []
    for obligation in rows:
        spec = SPECS.get(obligation.kind)
        what = f"{spec.what_zh}\n{spec.what_en}" if spec else str(obligation.kind)
        closed = ""
        if obligation.closed_at is not None:
            closed = f"{_when(obligation.closed_at)}\n{_closer(obligation.closed_by)}\n{obligation.note}".strip()
        # Its own entries, and those of the attestation that answers or closed it.
        related = [str(obligation.id)]
        if obligation.attestation_id is not None:
            related.append(str(obligation.attestation_id))
        if obligation.closed_by.startswith("attestation:"):
            related.append(obligation.closed_by.removeprefix("attestation:"))
        entries = sorted(
            {id(entry): entry for key in related for entry in history.get(key, [])}.values(),
            key=lambda entry: entry.seq or 0,
        )
        log = "\n".join(
            f"{_when(entry.at)} {entry.actor}: {ACTION.get(entry.action, str(entry.action))} "
            f"{OBJECT.get(entry.object_type, entry.object_type)}\n{_changes(entry)}".strip()
            for entry in entries
        )
        table.append(
            [
                what,
                PARTY.get(obligation.party, str(obligation.party)),
                # The company's own duties name no vendor and no engagement.
                f"{vendors.get(obligation.vendor_id, '') if obligation.vendor_id else '全公司 Company-wide'}\n"
                f"{engagements.get(obligation.engagement_id, '') if obligation.engagement_id else ''}",
                f"{obligation.due_on.isoformat()}{'（暂定 provisional）' if obligation.provisional else ''}",
                OBLIGATION_STATUS.get(obligation.status, str(obligation.status)),
                closed,
                f"{obligation.rule_id} · {obligation.article}",
                "\n".join(part for part in (obligation.last_rejection, log) if part),
            ]
        )
    columns = [
        "义务 Obligation", "责任方 Whose duty", "受托方 / 委托处理 Vendor / engagement", "期限 Due",
        "状态 Status", "如何完成 Closed", "依据 Source", "处理记录 History",
    ]  # fmt: skip
    return Table(
        "义务及其处理记录",
        "Obligations and their history",
        "obligations.json",
        columns,
        table,
        [14, 9, 13, 9, 7, 12, 8, 28],
    )


def audit_trail(rows: list[AuditEntry], names: dict[str, str]) -> Table:
    """`names`: what an object id stands for, where the pack knows it (a vendor's name, say)."""
    table: list[list[str]] = [
        [
            str(entry.seq or ""),
            _when(entry.at),
            entry.actor,
            ACTION.get(entry.action, str(entry.action)),
            OBJECT.get(entry.object_type, entry.object_type),
            f"{names[entry.object_id]}\n{entry.object_id}" if entry.object_id in names else entry.object_id,
            _changes(entry),
            entry.source or "",
        ]
        for entry in rows
    ]
    columns = [
        "序号 Seq",
        "时间 Time",
        "操作人 Who",
        "操作 Action",
        "对象 Object",
        "对象名称及编号 Name and id",
        "变更 Changes",
        "来源 From",
    ]
    return Table("审计记录", "Audit trail", "audit_trail.json", columns, table, [5, 11, 12, 8, 10, 16, 30, 8])


QUESTIONNAIRE_STATUS = {
    "sent": "已发送 sent", "submitted": "已提交 submitted",
    "accepted": "已接受 accepted", "returned": "已退回 returned",
}  # fmt: skip


def questionnaires(
    rows: list[Questionnaire],
    files: list[QuestionnaireFile],
    vendors: dict[uuid.UUID, str],
    engagements: dict[uuid.UUID, str],
) -> Table:
    """Each questionnaire's answers, one row per question, with what the answer evidences."""
    names = {str(file.id): file.filename for file in files}
    table: list[list[str]] = []
    for questionnaire in rows:
        template = template_of(questionnaire)
        status = QUESTIONNAIRE_STATUS.get(questionnaire.status, str(questionnaire.status))
        header = (
            f"{vendors.get(questionnaire.vendor_id, '')}\n{engagements.get(questionnaire.engagement_id, '')}\n"
            f"{template.key} · {status}\n{_when(questionnaire.submitted_at)}"
        )
        for question in template.questions().values():
            table.append(
                [
                    header,
                    f"{question.text.zh}\n{question.text.en}",
                    question.shown(questionnaire.answers.get(question.id), names),
                    "\n".join(question.evidences),
                ]
            )
    columns = [
        "受托方 / 委托处理 / 状态 Vendor / engagement / status",
        "问题 Question",
        "回答 Answer",
        "证明 Evidences",
    ]
    return Table(
        "尽职调查问卷", "Due-diligence questionnaires", "questionnaires.json", columns, table, [22, 30, 30, 18]
    )
