"""The processing register: one row per engagement, bilingual headers, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.agreements.models import Agreement
from app.engagements import taxonomy
from app.engagements.models import Engagement, SubProcessor
from app.vendors.models import Vendor

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


def _join(values: Iterable[Any]) -> str:
    return "; ".join(str(getattr(value, "value", value)) for value in values)


async def rows(session: AsyncSession, vendor_id: uuid.UUID | None = None) -> list[list[Any]]:
    query = select(Engagement, Vendor).join(Vendor, col(Vendor.id) == col(Engagement.vendor_id))
    if vendor_id is not None:
        query = query.where(col(Engagement.vendor_id) == vendor_id)
    found = (await session.execute(query.order_by(col(Vendor.legal_name_zh), col(Engagement.name)))).all()
    ids = [engagement.id for engagement, _ in found]
    subs: dict[uuid.UUID, list[str]] = defaultdict(list)
    for sub in await session.scalars(select(SubProcessor).where(col(SubProcessor.engagement_id).in_(ids))):
        subs[sub.engagement_id].append(f"{sub.name} ({'consented' if sub.handler_consented else 'no consent'})")
    latest: dict[uuid.UUID, Agreement] = {}
    for agreement in await session.scalars(
        select(Agreement).where(col(Agreement.engagement_id).in_(ids)).order_by(col(Agreement.created_at))
    ):
        latest[agreement.engagement_id] = agreement
    table = []
    for engagement, vendor in found:
        current = latest.get(engagement.id)
        values = {
            "vendor": vendor.legal_name_zh or vendor.legal_name_en,
            "vendor_identifier": vendor.unified_social_credit_code or vendor.registration_number or "",
            "engagement": engagement.name,
            "status": engagement.status,
            "purpose": engagement.purpose,
            "methods": _join(engagement.processing_methods),
            "categories": _join(engagement.pi_categories),
            "sensitive": _join(taxonomy.sensitive(list(engagement.pi_categories))),
            "subjects": _join(engagement.data_subjects),
            "individuals": engagement.individuals_count if engagement.individuals_count is not None else "",
            "legal_basis": engagement.legal_basis,
            "storage": _join(
                f"{loc.country}{'-' + loc.region if loc.region else ''}" for loc in engagement.storage_locations
            ),
            "leaves_china": "yes" if engagement.leaves_china else "no",
            "mechanism": engagement.cross_border_mechanism or "",
            "retention": f"{engagement.retention_days} days"
            if engagement.retention_days
            else engagement.retention_note,
            "sub_processors": _join(subs.get(engagement.id, [])),
            "agreement": f"{current.number} ({current.status})" if current else "none",
        }
        table.append([str(getattr(values[key], "value", values[key])) for key, _, _ in COLUMNS])
    return table


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """A text cell that a spreadsheet would run is kept as text: a leading apostrophe."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def to_csv(table: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([inert(cell) for cell in row] for row in table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read the Chinese


def to_xlsx(table: list[list[Any]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("Register")
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    sheet.write_row(0, 0, HEADERS, bold)
    for index, row in enumerate(table, start=1):
        sheet.write_row(index, 0, row)  # write_string via strings_to_formulas=False: "=cmd" stays text
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(HEADERS) - 1, 24)
    book.close()
    return out.getvalue()
