"""Import rules: read the upload, match each row to what the registry holds, and create or
update it through the vendors' and engagements' own services (their validation, their
permission checks, their audit entries), all in the caller's transaction.

A preview runs the same services' checks without writing engagements and sub-processors
(each service's `check_...` is the first half of its write, so they cannot drift apart;
vendors are written, so that the rows below find them), then rolls back; an apply with any
error row rolls back too and says which rows. The caller lands an apply with the settle step.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from litestar.exceptions import HTTPException
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from app.accounts.models import User
from app.core.actor import Actor
from app.core.changes import discard
from app.core.errors import ConflictError, DomainError, PermissionDeniedError
from app.core.messages import pydantic_zh
from app.core.schemas import merge_patch
from app.engagements import services as engagements
from app.engagements.models import Engagement, SubProcessor
from app.engagements.schemas import (
    EngagementCreate,
    EngagementUpdate,
    SubProcessorCreate,
    SubProcessorUpdate,
)
from app.imports import workbook
from app.imports.schemas import CellError, ImportCounts, ImportReport, RowAction, RowResult, Sheet
from app.imports.workbook import COLUMNS, VENDOR_KEY, Column, Table
from app.vendors import services as vendors
from app.vendors.models import Vendor
from app.vendors.schemas import VendorCreate, VendorUpdate

TRUE = frozenset({"true", "yes", "y", "1", "是", "对", "√", "✓", "x"})
FALSE = frozenset({"false", "no", "n", "0", "否", "不", "无"})
SEPARATORS = str.maketrans({"；": ";", "，": ";", ",": ";", "\n": ";", "、": ";"})
NULLABLE_TEXT = frozenset({"unified_social_credit_code", "registration_number", "region"})
FORMULA_TYPES = frozenset({"ArrayFormula", "DataTableFormula"})  # openpyxl's objects for array and table formulas
OMIT_WHEN_BLANK = frozenset({"country", "status", "owner", "individuals_count_as_of", "legal_basis"})


class CellProblem(ValueError):
    """A cell the template cannot read; the message says why, in words, `zh` the same in Chinese."""

    def __init__(self, message: str, *, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


SHEETS_ZH = {Sheet.vendors: "受托方", Sheet.engagements: "委托处理", Sheet.sub_processors: "转委托方"}


# Cells -> values ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise CellProblem(f"{text!r} is not yes or no (true/false, 是/否)", zh=f"{text!r} 不是“是”或“否”")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise CellProblem("not a whole number", zh="不是整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _text(value).replace(",", "").replace("，", "").replace(" ", "")
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        return int(text)
    raise CellProblem(f"{_text(value)!r} is not a whole number", zh=f"{_text(value)!r} 不是整数")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    for suffix in ("日",):
        text = text.removesuffix(suffix)
    text = text.replace("年", "-").replace("月", "-")
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    except ValueError:
        raise CellProblem(
            f"{_text(value)!r} is not a date (YYYY-MM-DD)", zh=f"{_text(value)!r} 不是日期（YYYY-MM-DD）"
        ) from None


def _code(kind: str, text: str) -> str:
    code = workbook.code_of(kind, text)
    if code is None:
        known = ", ".join(code for code, _, _ in workbook.choices(kind)[:12])
        raise CellProblem(
            f"{text!r} is not a known code (e.g. {known}; see the Codes sheet)",
            zh=f"{text!r} 不是可用的代码（如 {known}；见“代码”工作表）",
        )
    return code


def _codes(kind: str, value: Any) -> list[str]:
    return list(_codes_of(kind, _text(value)))


@functools.lru_cache(maxsize=4096)  # a column often repeats its values row after row
def _codes_of(kind: str, text: str) -> tuple[str, ...]:
    return tuple(_code(kind, part.strip()) for part in text.translate(SEPARATORS).split(";") if part.strip())


def _records(model: type[BaseModel], value: Any) -> list[dict[str, Any]]:
    return copy.deepcopy(_records_of(model, _text(value)))


@functools.lru_cache(maxsize=4096)
def _records_of(model: type[BaseModel], text: str) -> list[dict[str, Any]]:
    names = list(model.model_fields)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace("｜", "|").split("|")]
        if len(parts) > len(names):
            raise CellProblem(
                f"line {number}: {len(parts)} parts, at most {len(names)} ({' | '.join(names)})",
                zh=f"第 {number} 行：{len(parts)} 项，最多 {len(names)} 项（{' | '.join(names)}）",
            )
        raw: dict[str, Any] = {}
        for name, part in zip(names, parts, strict=False):
            if not part:
                continue
            annotation = model.model_fields[name].annotation
            if annotation is bool:
                raw[name] = _bool(part)
            elif isinstance(annotation, type) and issubclass(annotation, StrEnum) and annotation in workbook.WORDS:
                raw[name] = _code(annotation.__name__, part)
            else:
                raw[name] = part
        try:
            records.append(model.model_validate(raw).model_dump(mode="json"))
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise CellProblem(
                f"line {number}: {where}: {first['msg'].removeprefix('Value error, ')}",
                zh=f"第 {number} 行：{where}：{pydantic_zh(first)}",
            ) from None
    return records


def _value(column: Column, value: Any) -> Any:
    if column.kind == "int":
        return _int(value)
    if column.kind == "date":
        return _date(value)
    if column.kind == "bool":
        return _bool(value)
    if column.kind == "enum":
        assert column.enum is not None
        return _code(column.enum.__name__, _text(value))
    if column.kind == "enums":
        assert column.enum is not None
        return _codes(column.enum.__name__, value)
    if column.kind == "categories":
        return _codes(workbook.CATEGORIES, value)
    if column.kind == "rows":
        assert column.model is not None
        return _records(column.model, value)
    text = _text(value)
    return text.upper() if column.field == "unified_social_credit_code" else text


def _blank(column: Column) -> Any:
    if column.kind in ("enums", "categories", "rows"):
        return []
    if column.kind == "bool":
        return False
    if column.kind in ("int", "date", "enum") or column.field in NULLABLE_TEXT:
        return None
    return ""


def parse(table: Table, cells: list[Any]) -> tuple[dict[str, Any], list[CellError]]:
    values: dict[str, Any] = {}
    errors: list[CellError] = []
    for column, cell in zip(table.columns, cells, strict=False):
        if column is None:
            continue
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            if column.field not in OMIT_WHEN_BLANK:
                values[column.field] = _blank(column)
            continue
        if (isinstance(cell, str) and cell.lstrip().startswith("=")) or type(cell).__name__ in FORMULA_TYPES:
            message = "a formula: the import reads values and never evaluates formulas; type the value instead"
            zh = "这是公式：导入只读取数值，不计算公式；请直接填写数值"
            errors.append(CellError(column=column.header, field=column.field, message=message, message_zh=zh))
            continue
        try:
            values[column.field] = _value(column, cell)
        except CellProblem as problem:
            errors.append(
                CellError(column=column.header, field=column.field, message=str(problem), message_zh=problem.zh)
            )
    return values, errors


# Errors from the services -> cells ------------------------------------------------------------


def _column(sheet: Sheet, name: str) -> Column | None:
    name = {"vendor_id": "vendor", "owner_id": "owner", "engagement_id": "engagement"}.get(name, name)
    return next((column for column in COLUMNS[sheet] if column.field == name), None)


def _cell(sheet: Sheet, name: str, message: str, zh: str) -> CellError:
    column = _column(sheet, name)
    if column is None:
        return CellError(column="", field=name, message=message, message_zh=zh)
    return CellError(column=column.header, field=column.field, message=message, message_zh=zh)


def errors_of(sheet: Sheet, error: Exception) -> list[CellError]:
    if isinstance(error, ValidationError):
        found = []
        for item in error.errors(include_url=False):
            loc = [str(part) for part in item["loc"]]
            message, zh = item["msg"].removeprefix("Value error, "), pydantic_zh(item)
            if len(loc) > 1:
                message, zh = f"{'.'.join(loc[1:])}: {message}", f"{'.'.join(loc[1:])}：{zh}"
            found.append(_cell(sheet, loc[0] if loc else "", message, zh))
        return found
    if isinstance(error, PermissionDeniedError):
        zh = f"无权操作：{error.detail_zh or error.detail}"
        return [CellError(column="", field="", message=f"no permission: {error.detail}", message_zh=zh)]
    extra = getattr(error, "extra", None)
    if isinstance(extra, list) and extra and all(isinstance(item, dict) for item in extra):
        return [
            _cell(sheet, str(item.get("key", "")), str(item.get("message", "")), str(item.get("message_zh", "")))
            for item in extra
        ]
    detail = getattr(error, "detail", None) or str(error)
    return [CellError(column="", field="", message=str(detail), message_zh=str(getattr(error, "detail_zh", "")))]


# Matching -------------------------------------------------------------------------------------


def _current(row: SQLModel, model: type[BaseModel]) -> dict[str, Any]:
    return {name: to_jsonable_python(getattr(row, name)) for name in model.model_fields}


def _changed(row: SQLModel, merged: BaseModel) -> list[str]:
    current = _current(row, type(merged))
    new = to_jsonable_python(merged.model_dump())
    return [name for name in current if current[name] != new[name]]


@dataclass
class Context:
    session: AsyncSession
    actor: Actor
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # e-mail (lower) -> id
    people: list[User] = field(default_factory=list)
    by_code: dict[str, Vendor] = field(default_factory=dict)
    by_registration: dict[tuple[str, str], Vendor] = field(default_factory=dict)
    by_name: dict[str, Vendor] = field(default_factory=dict)
    engagements: dict[tuple[uuid.UUID, str], Engagement] = field(default_factory=dict)
    subs: dict[tuple[uuid.UUID, str], SubProcessor] = field(default_factory=dict)
    seen: dict[tuple[Sheet, Any], int] = field(default_factory=dict)  # key -> the row that had it
    apply: bool = False
    # A preview checks engagement and sub-processor rows with the services' own checks and writes
    # none of them (10,000 rows in seconds); engagements it would create are planned here, by owner.
    planned: dict[tuple[uuid.UUID, str], uuid.UUID | None] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, actor: Actor, *, apply: bool) -> Context:
        ctx = cls(session, actor, apply=apply)
        # The users as objects, held here: the session's identity map holds them weakly, and the
        # services look up each row's owner, which would otherwise be a query per row.
        for user in await session.scalars(select(User)):
            ctx.people.append(user)
            if user.is_active:
                ctx.users[user.email.lower()] = user.id
        for vendor in await session.scalars(select(Vendor)):
            ctx.add_vendor(vendor)
        for engagement in await session.scalars(select(Engagement)):
            ctx.engagements[(engagement.vendor_id, engagement.name)] = engagement
        for sub in await session.scalars(select(SubProcessor)):
            ctx.subs[(sub.engagement_id, sub.name)] = sub
        return ctx

    def add_vendor(self, vendor: Vendor) -> None:
        if vendor.unified_social_credit_code:
            self.by_code[vendor.unified_social_credit_code] = vendor
        if vendor.registration_number:
            self.by_registration[(vendor.country, vendor.registration_number)] = vendor
            self.by_registration.setdefault(("", vendor.registration_number), vendor)
        for name in (vendor.legal_name_zh, vendor.legal_name_en):
            if name:
                self.by_name.setdefault(name, vendor)

    def match_vendor(self, values: dict[str, Any]) -> tuple[str, Vendor | None]:
        code = values.get("unified_social_credit_code")
        if code:
            return code, self.by_code.get(code)
        registration = values.get("registration_number")
        if registration:
            country = str(values.get("country") or "CN").upper()
            return f"{country} {registration}", self.by_registration.get((country, registration))
        name = values.get("legal_name_zh") or values.get("legal_name_en") or ""
        return name, self.by_name.get(name) if name else None

    def find_vendor(self, reference: str) -> Vendor | None:
        return (
            self.by_code.get(reference.upper())
            or self.by_registration.get(("", reference))
            or self.by_name.get(reference)
        )

    def owner(self, values: dict[str, Any]) -> list[CellError]:
        email = values.pop("owner", None)
        if email:
            user_id = self.users.get(str(email).lower())
            if user_id is None:
                return [
                    _cell(
                        Sheet.vendors,
                        "owner",
                        f"no active user has the e-mail {email}",
                        f"没有电子邮箱为 {email} 的在用用户",
                    )
                ]
            values["owner_id"] = user_id
        return []

    def duplicate(self, sheet: Sheet, key: Any, row: int) -> list[CellError]:
        first = self.seen.setdefault((sheet, key), row)
        if first != row:
            zh = f"与第 {first} 行是同一{SHEETS_ZH[sheet]}"
            return [
                CellError(column="", field="", message=f"the same {sheet.value[:-1]} as row {first}", message_zh=zh)
            ]
        return []


Work = Callable[[], Awaitable[tuple[RowAction, list[str]]]]


async def _attempt(sheet: Sheet, work: Work) -> tuple[RowAction, list[str], list[CellError]]:
    try:
        action, changed = await work()
    except (ValidationError, HTTPException, DomainError) as error:
        return RowAction.error, [], errors_of(sheet, error)
    return action, changed, []


async def _vendor_row(ctx: Context, values: dict[str, Any]) -> tuple[str, Work | list[CellError]]:
    key, existing = ctx.match_vendor(values)
    if not key:
        needed = "a credit code, registration number or name"
        return key, [_cell(Sheet.vendors, "unified_social_credit_code", needed, "请填写统一社会信用代码、注册号或名称")]
    problems = ctx.owner(values)
    if problems:
        return key, problems

    async def work() -> tuple[RowAction, list[str]]:
        if existing is not None:
            patch = VendorUpdate.model_validate(values)
            changed = _changed(existing, merge_patch(existing, patch, VendorCreate))
            if not changed:
                return RowAction.unchanged, []
            await vendors.update(ctx.session, vendor_id=existing.id, patch=patch, actor=ctx.actor)
            return RowAction.update, changed
        vendor = await vendors.create(ctx.session, data=VendorCreate.model_validate(values), actor=ctx.actor)
        ctx.add_vendor(vendor)
        return RowAction.create, []

    return key, work


def reference(vendor: Vendor) -> str:
    """How the other sheets name a vendor: its credit code, else its registration number, else its name."""
    return (
        vendor.unified_social_credit_code or vendor.registration_number or vendor.legal_name_zh or vendor.legal_name_en
    )


def _vendor_of(ctx: Context, sheet: Sheet, values: dict[str, Any]) -> Vendor | list[CellError]:
    reference = str(values.pop("vendor", "") or "")
    vendor = ctx.find_vendor(reference) if reference else None
    if vendor is None:
        message = (
            f"no vendor {reference!r} (by credit code, registration number or legal name) in the registry "
            "or on the vendors sheet"
            if reference
            else "required"
        )
        zh = (
            f"在登记簿和受托方工作表中都找不到受托方 {reference!r}（按统一社会信用代码、注册号或名称查找）"
            if reference
            else "必填"
        )
        return [CellError(column=VENDOR_KEY.header, field=VENDOR_KEY.field, message=message, message_zh=zh)]
    return vendor


async def _engagement_row(ctx: Context, values: dict[str, Any]) -> tuple[str, Work | list[CellError]]:
    vendor = _vendor_of(ctx, Sheet.engagements, values)
    if isinstance(vendor, list):
        return "", vendor
    name = str(values.get("name") or "")
    key = f"{reference(vendor)} / {name}"
    problems = ctx.owner(values)
    if problems:
        return key, [_cell(Sheet.engagements, "owner", problems[0].message, problems[0].message_zh)]
    values["vendor_id"] = vendor.id
    existing = ctx.engagements.get((vendor.id, name))

    async def work() -> tuple[RowAction, list[str]]:
        if existing is not None:
            patch = EngagementUpdate.model_validate(values)
            changed = _changed(existing, merge_patch(existing, patch, EngagementCreate))
            if not changed:
                return RowAction.unchanged, []
            if ctx.apply:
                await engagements.update(ctx.session, engagement_id=existing.id, patch=patch, actor=ctx.actor)
            else:
                await engagements.check_update(ctx.session, engagement=existing, patch=patch, actor=ctx.actor)
            return RowAction.update, changed
        data = EngagementCreate.model_validate(values)
        if ctx.apply:
            engagement = await engagements.create(ctx.session, data=data, actor=ctx.actor)
            ctx.engagements[(vendor.id, engagement.name)] = engagement
        else:
            checked = await engagements.check_create(ctx.session, data=data, actor=ctx.actor)
            ctx.planned[(vendor.id, checked.name)] = checked.owner_id
        return RowAction.create, []

    return key, work


async def _sub_processor_row(ctx: Context, values: dict[str, Any]) -> tuple[str, Work | list[CellError]]:
    vendor = _vendor_of(ctx, Sheet.sub_processors, values)
    if isinstance(vendor, list):
        return "", vendor
    engagement_name = str(values.pop("engagement", "") or "")
    name = str(values.get("name") or "")
    key = f"{reference(vendor)} / {engagement_name} / {name}"
    engagement = ctx.engagements.get((vendor.id, engagement_name))
    if engagement is None and (vendor.id, engagement_name) in ctx.planned:
        owner_id = ctx.planned[(vendor.id, engagement_name)]

        async def check_only() -> tuple[RowAction, list[str]]:
            data = SubProcessorCreate.model_validate(values)
            engagements.check_sub_processor(owner_id=owner_id, data=data, actor=ctx.actor)
            return RowAction.create, []

        return key, check_only
    if engagement is None:
        message = f"the vendor has no engagement named {engagement_name!r} in the registry or on the engagements sheet"
        zh = f"该受托方在登记簿和委托处理工作表中都没有名为 {engagement_name!r} 的委托处理"
        return key, [_cell(Sheet.sub_processors, "engagement", message, zh)]
    existing = ctx.subs.get((engagement.id, name))
    found = engagement

    async def work() -> tuple[RowAction, list[str]]:
        if existing is not None:
            patch = SubProcessorUpdate.model_validate(values)
            merged = merge_patch(existing, patch, SubProcessorCreate)
            changed = _changed(existing, merged)
            if not changed:
                return RowAction.unchanged, []
            if not ctx.apply:
                engagements.check_sub_processor(owner_id=found.owner_id, data=merged, actor=ctx.actor)
                return RowAction.update, changed
            await engagements.update_sub_processor(
                ctx.session, engagement_id=found.id, sub_processor_id=existing.id, patch=patch, actor=ctx.actor
            )
            return RowAction.update, changed
        data = SubProcessorCreate.model_validate(values)
        if not ctx.apply:
            engagements.check_sub_processor(owner_id=found.owner_id, data=data, actor=ctx.actor)
            return RowAction.create, []
        sub = await engagements.add_sub_processor(ctx.session, engagement_id=found.id, data=data, actor=ctx.actor)
        ctx.subs[(found.id, sub.name)] = sub
        return RowAction.create, []

    return key, work


ROWS = {
    Sheet.vendors: _vendor_row,
    Sheet.engagements: _engagement_row,
    Sheet.sub_processors: _sub_processor_row,
}


def _header_errors(table: Table) -> list[CellError]:
    errors = [
        CellError(column=header, field="", message="not a column of the template", message_zh="不是模板中的列")
        for header in table.unknown
    ]
    present = {column.field for column in table.columns if column is not None}
    for name in sorted(workbook.REQUIRED[table.sheet] - present):
        column = _column(table.sheet, name)
        assert column is not None
        errors.append(
            CellError(column=column.header, field=name, message="the column is missing", message_zh="缺少这一列")
        )
    return errors


async def run(session: AsyncSession, *, tables: list[Table], actor: Actor, apply: bool) -> ImportReport:
    """Every row through the services, in order: vendors, then engagements, then sub-processors.
    A preview, or an apply with any error, rolls back before answering; an apply leaves the
    writes on the session for the caller's settle step."""
    ctx = await Context.load(session, actor, apply=apply)
    results: list[RowResult] = []
    for sheet in Sheet:
        for table in (table for table in tables if table.sheet == sheet):
            header = _header_errors(table)
            if header:
                result = RowResult(sheet=sheet, sheet_title=table.title, row=1, key="", action=RowAction.error)
                results.append(result.model_copy(update={"errors": header}))
                continue
            for number, cells in table.rows:
                changed: list[str] = []
                values, errors = parse(table, cells)
                key, planned = await ROWS[sheet](ctx, values) if not errors else ("", errors)
                if not isinstance(planned, list):
                    planned = ctx.duplicate(sheet, key, number) or planned
                if isinstance(planned, list):
                    action, errors = RowAction.error, planned
                else:
                    action, changed, errors = await _attempt(sheet, planned)
                results.append(
                    RowResult(
                        sheet=sheet,
                        sheet_title=table.title,
                        row=number,
                        key=key,
                        action=action,
                        changed=changed,
                        errors=errors,
                    )
                )
    counts = ImportCounts()
    for result in results:
        setattr(counts, result.action.value, getattr(counts, result.action.value) + 1)
    failed = counts.error > 0
    if not apply or failed:
        await session.rollback()
        discard(session)
    return ImportReport(applied=apply and not failed, counts=counts, rows=results)


def refusal(report: ImportReport) -> ConflictError:
    """Why an apply wrote nothing: each row with an error, its sheet, row, column and reason."""
    bad = [row for row in report.rows if row.action == RowAction.error]
    extra = [
        {
            "key": f"{row.sheet_title} row {row.row}" + (f" {error.column}" if error.column else ""),
            "message": error.message,
            "message_zh": error.message_zh,
        }
        for row in bad[:200]
        for error in row.errors
    ]
    where = ", ".join(f"{row.sheet_title} row {row.row}" for row in bad[:20])
    more = f" and {len(bad) - 20} more" if len(bad) > 20 else ""
    where_zh = "、".join(f"{row.sheet_title} 第 {row.row} 行" for row in bad[:20])
    more_zh = f" 等（另有 {len(bad) - 20} 行）" if len(bad) > 20 else ""
    return ConflictError(
        f"nothing imported: {len(bad)} rows have errors ({where}{more})",
        extra,
        zh=f"未导入任何数据：{len(bad)} 行有错误（{where_zh}{more_zh}）",
    )


# Export: the registry in the template's format --------------------------------------------------


async def export(session: AsyncSession) -> bytes:
    emails = {user_id: email for user_id, email in (await session.execute(select(col(User.id), col(User.email)))).all()}
    order = (col(Vendor.legal_name_zh), col(Vendor.legal_name_en), col(Vendor.id))
    vendor_rows = list(await session.scalars(select(Vendor).order_by(*order)))
    by_id = {vendor.id: vendor for vendor in vendor_rows}
    engagement_rows = list(await session.scalars(select(Engagement).order_by(col(Engagement.name), col(Engagement.id))))
    engagement_by_id = {engagement.id: engagement for engagement in engagement_rows}
    sub_rows = list(await session.scalars(select(SubProcessor).order_by(col(SubProcessor.name), col(SubProcessor.id))))

    def line(sheet: Sheet, row: Any, extra: dict[str, Any]) -> list[Any]:
        cells: list[Any] = []
        for column in COLUMNS[sheet]:
            if column.field in extra:
                cells.append(extra[column.field])
            elif column.kind == "owner":
                cells.append(emails.get(row.owner_id, "") if row.owner_id else "")
            elif column.kind == "int":
                cells.append(getattr(row, column.field))
            else:
                cells.append(workbook.cell_text(getattr(row, column.field)))
        return cells

    rows = {
        Sheet.vendors: [line(Sheet.vendors, vendor, {}) for vendor in vendor_rows],
        Sheet.engagements: [
            line(Sheet.engagements, engagement, {"vendor": reference(by_id[engagement.vendor_id])})
            for engagement in engagement_rows
        ],
        Sheet.sub_processors: [
            line(
                Sheet.sub_processors,
                sub,
                {
                    "vendor": reference(by_id[engagement_by_id[sub.engagement_id].vendor_id]),
                    "engagement": engagement_by_id[sub.engagement_id].name,
                },
            )
            for sub in sub_rows
        ],
    }
    return workbook.write(rows)


def template() -> bytes:
    return workbook.write({})
