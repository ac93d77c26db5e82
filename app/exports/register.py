"""The processing register: one row per engagement, bilingual headers, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.models import Agreement
from app.engagements import labels, taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.vendors.models import Vendor


class RegisterLanguage(StrEnum):
    zh = "zh"
    en = "en"


# (key, Chinese header, English header)
COLUMNS = [
    ("vendor", "受托方", "Vendor"),
    ("vendor_identifier", "统一社会信用代码/注册号", "Credit code / registration"),
    ("engagement", "委托处理", "Engagement"),
    ("status", "状态", "Status"),
    ("purpose", "处理目的", "Purpose"),
    ("methods", "处理方式", "Processing methods"),
    ("categories", "个人信息种类", "PI categories"),
    ("sensitive", "敏感个人信息", "Sensitive PI"),
    ("subjects", "个人类别", "Data subjects"),
    ("individuals", "涉及人数", "Individuals"),
    ("legal_basis", "处理依据", "Legal basis"),
    ("storage", "存储地点", "Storage locations"),
    ("leaves_china", "是否出境", "Leaves China"),
    ("mechanism", "出境机制", "Cross-border mechanism"),
    ("retention", "保存期限", "Retention"),
    ("sub_processors", "转委托方", "Sub-processors"),
    ("agreement", "委托处理协议", "Agreement"),
]
HEADERS = [f"{zh} / {en}" for _, zh, en in COLUMNS]
# The codes behind the words, for machines: extra CSV columns after the words, and the
# workbook's second sheet. Names are the registry's field names.
CODE_COLUMNS = [
    "engagement_id", "vendor_id", "status", "processing_methods", "pi_categories", "sensitive_categories",
    "data_subjects", "individuals_count", "legal_basis", "storage_locations", "leaves_china", "cross_border_mechanism",
    "retention_days", "agreement_number", "agreement_status",
]  # fmt: skip
SUB_PROCESSOR_CONSENT = {True: ("已同意", "consented"), False: ("未同意", "no consent")}
RETENTION = ("{days}日", "{days} days")
NO_AGREEMENT = ("无", "none")
AGREEMENT_STATUS = {
    "draft": ("草稿", "draft"), "issued": ("已发出", "issued"), "signed": ("已签署", "signed"),
    "active": ("生效中", "active"), "expired": ("已到期", "expired"), "terminated": ("已终止", "terminated"),
}  # fmt: skip


def headers(lang: RegisterLanguage) -> list[str]:
    return [zh if lang == RegisterLanguage.zh else en for _, zh, en in COLUMNS]


def _join(values: Iterable[Any], lang: str = "en") -> str:
    return ("；" if lang == "zh" else "; ").join(str(getattr(value, "value", value)) for value in values)


@dataclass(frozen=True)
class Register:
    """The register's rows: words in one language, and the codes behind them."""

    lang: RegisterLanguage
    words: list[list[str]]
    codes: list[list[str]]


async def rows(
    session: AsyncSession, vendor_id: uuid.UUID | None = None, lang: RegisterLanguage = RegisterLanguage.zh
) -> Register:
    query = select(Engagement, Vendor).join(Vendor, col(Vendor.id) == col(Engagement.vendor_id))
    if vendor_id is not None:
        query = query.where(col(Engagement.vendor_id) == vendor_id)
    found = (await session.execute(query.order_by(col(Vendor.legal_name_zh), col(Engagement.name)))).all()
    ids = [engagement.id for engagement, _ in found]
    zh = lang == RegisterLanguage.zh
    subs: dict[uuid.UUID, list[str]] = defaultdict(list)
    for sub in await session.scalars(select(SubProcessor).where(col(SubProcessor.engagement_id).in_(ids))):
        consent = SUB_PROCESSOR_CONSENT[sub.handler_consented][0 if zh else 1]
        subs[sub.engagement_id].append(f"{sub.name}（{consent}）" if zh else f"{sub.name} ({consent})")
    latest: dict[uuid.UUID, Agreement] = {}
    for agreement in await session.scalars(
        select(Agreement).where(col(Agreement.engagement_id).in_(ids)).order_by(col(Agreement.created_at))
    ):
        latest[agreement.engagement_id] = agreement
    words, codes = [], []
    for engagement, vendor in found:
        current = latest.get(engagement.id)
        sensitive = taxonomy.sensitive(list(engagement.pi_categories))
        # Free text in the register's language where it was written in it, else as written.
        purpose = engagement.purpose if zh else engagement.purpose_en or engagement.purpose
        note = engagement.retention_note if zh else engagement.retention_note_en or engagement.retention_note
        if engagement.retention_days:
            retention = (RETENTION[0] if zh else RETENTION[1]).format(days=engagement.retention_days)
            if note:
                retention += f"（{note}）" if zh else f" ({note})"
        else:
            retention = note
        if current is None:
            agreement_words = NO_AGREEMENT[0 if zh else 1]
        else:
            state = AGREEMENT_STATUS.get(current.status, (current.status, current.status))[0 if zh else 1]
            agreement_words = f"{current.number}（{state}）" if zh else f"{current.number} ({state})"
        values = {
            "vendor": (vendor.legal_name_zh or vendor.legal_name_en)
            if zh
            else (vendor.legal_name_en or vendor.legal_name_zh),
            "vendor_identifier": vendor.unified_social_credit_code or vendor.registration_number or "",
            "engagement": engagement.name,
            "status": labels.say(labels.STATUS, engagement.status, lang),
            "purpose": purpose,
            "methods": _join((labels.say(labels.METHOD, m, lang) for m in engagement.processing_methods), lang),
            "categories": _join((labels.category(c, lang) for c in engagement.pi_categories), lang),
            "sensitive": _join((labels.category(c, lang) for c in sensitive), lang),
            "subjects": _join((labels.say(labels.SUBJECT, s, lang) for s in engagement.data_subjects), lang),
            "individuals": f"{engagement.individuals_count:,}" if engagement.individuals_count is not None else "",
            "legal_basis": labels.say(labels.LEGAL_BASIS, engagement.legal_basis, lang),
            "storage": _join(
                (labels.place(loc.country, loc.region, lang, loc.provider) for loc in engagement.storage_locations),
                lang,
            ),
            "leaves_china": labels.say(labels.YES_NO, engagement.leaves_china, lang),
            "mechanism": labels.say(labels.MECHANISM, engagement.cross_border_mechanism, lang),
            "retention": retention,
            "sub_processors": _join(subs.get(engagement.id, []), lang),
            "agreement": agreement_words,
        }
        words.append([str(values[key]) for key, _, _ in COLUMNS])
        codes.append(
            [
                str(engagement.id),
                str(vendor.id),
                _join([engagement.status]),
                _join(engagement.processing_methods),
                _join(engagement.pi_categories),
                _join(sensitive),
                _join(engagement.data_subjects),
                "" if engagement.individuals_count is None else str(engagement.individuals_count),
                _join([engagement.legal_basis]),
                _join(loc.region or loc.country for loc in engagement.storage_locations),
                "true" if engagement.leaves_china else "false",
                _join([engagement.cross_border_mechanism] if engagement.cross_border_mechanism else []),
                str(engagement.retention_days or ""),
                current.number if current else "",
                _join([current.status]) if current else "",
            ]
        )
    return Register(lang=lang, words=words, codes=codes)


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell that a spreadsheet would run is kept as text: a leading apostrophe."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def to_csv(register: Register) -> bytes:
    """Words in the register's language, then the codes behind them (for machines) in columns
    named by their field. UTF-8 with a BOM, which Excel reads as such."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(register.lang) + CODE_COLUMNS)
    writer.writerows(
        [inert(cell) for cell in words + codes] for words, codes in zip(register.words, register.codes, strict=True)
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese


def to_xlsx(register: Register) -> bytes:
    """Sheet one in words, in the register's language; sheet two the codes, for machines."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    zh = register.lang == RegisterLanguage.zh
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for name, head, table, width in (
        ("登记簿" if zh else "Register", headers(register.lang), register.words, 24),
        ("codes", CODE_COLUMNS, register.codes, 20),
    ):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, head, bold)
        for index, row in enumerate(table, start=1):
            sheet.write_row(index, 0, row, wrap)  # write_string via strings_to_formulas=False: "=cmd" stays text
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(head) - 1, width)
    book.close()
    return out.getvalue()
