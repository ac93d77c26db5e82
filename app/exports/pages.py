"""The evidence pack's readable pages: findings, obligations with their history, the audit trail.

Each is an HTML table beside the JSON of the same rows: words where the JSON has codes, times
in the company's time zone with the zone named (the JSON keeps UTC, for machines).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from app.audit.models import AuditEntry
from app.core import clock
from app.core.types import utcnow
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
    "export": "导出 export", "restore": "恢复 restore",
}  # fmt: skip


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("table.html")


def _when(moment: datetime | None) -> str:
    return clock.local_text(moment) if moment is not None else ""


def _page(title: tuple[str, str], subject: str, json_name: str, columns: list[str], rows: list[list[str]]) -> bytes:
    return (
        _template()
        .render(
            title_zh=title[0],
            title_en=title[1],
            subject=subject,
            generated=clock.local_text(utcnow()),
            json_name=json_name,
            columns=columns,
            rows=rows,
        )
        .encode()
    )


def findings(
    subject: str, rows: list[Finding], vendors: dict[uuid.UUID, str], engagements: dict[uuid.UUID, str]
) -> bytes:
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
    return _page(("合规发现", "Findings"), subject, "findings.json", columns, table)


def _changes(entry: AuditEntry) -> str:
    return json.dumps(entry.changes, ensure_ascii=False, default=str, sort_keys=True) if entry.changes else ""


def obligations(
    subject: str,
    rows: list[Obligation],
    trail: list[AuditEntry],
    vendors: dict[uuid.UUID, str],
    engagements: dict[uuid.UUID, str],
) -> bytes:
    history: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in trail:
        history[entry.object_id].append(entry)
    table = []
    for obligation in rows:
        spec = SPECS.get(obligation.kind)
        what = f"{spec.what_zh}\n{spec.what_en}" if spec else str(obligation.kind)
        closed = ""
        if obligation.closed_at is not None:
            closed = f"{_when(obligation.closed_at)}\n{obligation.closed_by}\n{obligation.note}".strip()
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
            f"{entry.object_type} {_changes(entry)}"
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
    return _page(("义务及其处理记录", "Obligations and their history"), subject, "obligations.json", columns, table)


def audit_trail(subject: str, rows: list[AuditEntry]) -> bytes:
    table: list[list[Any]] = [
        [
            str(entry.seq or ""),
            _when(entry.at),
            entry.actor,
            ACTION.get(entry.action, str(entry.action)),
            entry.object_type,
            entry.object_id,
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
        "编号 Id",
        "变更 Changes",
        "来源 From",
    ]
    return _page(("审计记录", "Audit trail"), subject, "audit_trail.json", columns, table)


QUESTIONNAIRE_STATUS = {
    "sent": "已发送 sent", "submitted": "已提交 submitted",
    "accepted": "已接受 accepted", "returned": "已退回 returned",
}  # fmt: skip


def questionnaires(
    subject: str,
    rows: list[Questionnaire],
    files: list[QuestionnaireFile],
    vendors: dict[uuid.UUID, str],
    engagements: dict[uuid.UUID, str],
) -> bytes:
    """Each questionnaire's answers, one row per question, with what the answer evidences."""
    names = {str(file.id): file.filename for file in files}
    table = []
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
    return _page(("尽职调查问卷", "Due-diligence questionnaires"), subject, "questionnaires.json", columns, table)
