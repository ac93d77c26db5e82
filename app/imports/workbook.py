"""The import template: its sheets and columns, reading a workbook or a CSV into rows of
cells, and writing the template (empty, or filled with the registry: the export).

Headers are Chinese first, then English ("统一社会信用代码 / Unified social credit code");
a header is recognised by either half, or by the field's own name. Lists inside a cell
(processing methods, PI categories, ...) are separated by ";" (or "；", "," "，" or a new
line); nested records (contacts, venues, ...) are one a line, their parts separated by "|".
A code may be written as the code, the code and its words ("storage 存储") or the Chinese
words alone. Cells are read as values: a formula is refused, never evaluated.
"""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import openpyxl
import xlsxwriter
from pydantic import BaseModel

from app.core.errors import PayloadTooLargeError, UnsupportedMediaTypeError, field_error
from app.engagements import labels, taxonomy
from app.engagements.schemas import (
    CrossBorderMechanism,
    CrossBorderRecipient,
    DataSubject,
    EngagementStatus,
    Equipment,
    LegalBasis,
    ProcessingMethod,
    StorageLocation,
    Venue,
    VenueType,
)
from app.imports.schemas import Sheet
from app.vendors.schemas import Certification, Contact, VendorStatus

MAX_BYTES = 20 * 1024 * 1024
MAX_EXPANDED = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 1_000
MAX_ROWS = 50_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The words of every code, Chinese and English: the dropdowns and the codes sheet show them,
# and a cell may hold the Chinese words instead of the code.
WORDS: dict[type[StrEnum], dict[str, tuple[str, str]]] = {
    ProcessingMethod: labels.METHOD,
    DataSubject: labels.SUBJECT,
    LegalBasis: labels.LEGAL_BASIS,
    VenueType: labels.VENUE_TYPE,
    Equipment: labels.EQUIPMENT,
    CrossBorderMechanism: labels.MECHANISM,
    EngagementStatus: labels.STATUS,
    VendorStatus: {
        "prospective": ("评估中", "prospective"),
        "active": ("合作中", "active"),
        "suspended": ("暂停", "suspended"),
        "offboarded": ("已退出", "offboarded"),
    },
}
CATEGORIES = "pi_categories"  # a pseudo enum: the taxonomy's codes


@dataclass(frozen=True)
class Column:
    field: str
    zh: str
    en: str
    kind: str  # text, int, date, bool, enum, enums, categories, rows, owner, vendor
    enum: type[StrEnum] | None = None
    model: type[BaseModel] | None = None
    width: int = 18

    @property
    def header(self) -> str:
        return f"{self.zh} / {self.en}"


def _rows_hint(model: type[BaseModel]) -> str:
    return " | ".join(model.model_fields)


VENDOR_KEY = Column("vendor", "受托方", "Vendor (credit code, registration number or legal name)", "vendor", width=24)

COLUMNS: dict[Sheet, list[Column]] = {
    Sheet.vendors: [
        Column("unified_social_credit_code", "统一社会信用代码", "Unified social credit code", "text", width=22),
        Column("registration_number", "境外注册号", "Registration number (outside China)", "text"),
        Column("legal_name_zh", "中文名称", "Legal name (Chinese)", "text", width=30),
        Column("legal_name_en", "英文名称", "Legal name (English)", "text", width=30),
        Column("country", "注册国家或地区", "Country (ISO 3166 code)", "text", width=10),
        Column("address", "地址", "Address", "text", width=30),
        Column("website", "网站", "Website", "text"),
        Column("status", "状态", "Status", "enum", VendorStatus),
        Column("owner", "负责人邮箱", "Owner (e-mail)", "owner", width=24),
        Column("contacts", "联系人", f"Contacts (one a line: {_rows_hint(Contact)})", "rows", model=Contact, width=40),
        Column(
            "certifications",
            "认证",
            f"Certifications (one a line: {_rows_hint(Certification)})",
            "rows",
            model=Certification,
            width=30,
        ),
    ],
    Sheet.engagements: [
        VENDOR_KEY,
        Column("name", "委托处理名称", "Engagement name", "text", width=24),
        Column("purpose", "处理目的", "Purpose", "text", width=30),
        Column("purpose_en", "处理目的（英文）", "Purpose (English)", "text", width=30),
        Column("processing_methods", "处理方式", "Processing methods", "enums", ProcessingMethod, width=24),
        Column("pi_categories", "个人信息种类", "PI categories", "categories", width=30),
        Column("data_subjects", "个人类别", "Data subjects", "enums", DataSubject, width=20),
        Column("individuals_count", "涉及人数", "Individuals", "int", width=12),
        Column("individuals_count_as_of", "人数统计日期", "Individuals as of", "date", width=12),
        Column("legal_basis", "处理依据", "Legal basis", "enum", LegalBasis, width=24),
        Column("consent_obtained", "已取得同意", "Consent obtained", "bool", width=10),
        Column("consent_evidence", "同意证据", "Consent evidence", "text"),
        Column("separate_consent_obtained", "已取得单独同意", "Separate consent obtained", "bool", width=10),
        Column("separate_consent_evidence", "单独同意证据", "Separate consent evidence", "text"),
        Column("guardian_consent_obtained", "已取得监护人同意", "Guardian consent obtained", "bool", width=10),
        Column("guardian_consent_evidence", "监护人同意证据", "Guardian consent evidence", "text"),
        Column("venues", "场所", f"Venues (one a line: {_rows_hint(Venue)})", "rows", model=Venue, width=40),
        Column(
            "storage_locations",
            "存储地点",
            f"Storage locations (one a line: {_rows_hint(StorageLocation)})",
            "rows",
            model=StorageLocation,
            width=24,
        ),
        Column("leaves_china", "是否出境", "Leaves China", "bool", width=10),
        Column(
            "cross_border_recipients",
            "境外接收方",
            f"Recipients abroad (one a line: {_rows_hint(CrossBorderRecipient)})",
            "rows",
            model=CrossBorderRecipient,
            width=30,
        ),
        Column("cross_border_mechanism", "出境机制", "Cross-border mechanism", "enum", CrossBorderMechanism),
        Column("cross_border_effective_on", "出境机制生效日期", "Mechanism effective on", "date", width=12),
        Column("retention_days", "保存期限（天）", "Retention (days)", "int", width=10),
        Column("retention_note", "保存期限说明", "Retention note", "text"),
        Column("retention_note_en", "保存期限说明（英文）", "Retention note (English)", "text"),
        Column("pipia_reference", "个人信息保护影响评估编号", "PIPIA reference", "text"),
        Column("pipia_date", "评估日期", "PIPIA date", "date", width=12),
        Column("pipia_retained_until", "评估报告保存至", "PIPIA retained until", "date", width=12),
        Column("start_date", "开始日期", "Start date", "date", width=12),
        Column("end_date", "结束日期", "End date", "date", width=12),
        Column("status", "状态", "Status", "enum", EngagementStatus),
        Column("owner", "负责人邮箱", "Owner (e-mail)", "owner", width=24),
    ],
    Sheet.sub_processors: [
        VENDOR_KEY,
        Column("engagement", "委托处理名称", "Engagement name", "text", width=24),
        Column("name", "转委托方名称", "Sub-processor name", "text", width=30),
        Column("activity", "处理活动", "Activity", "text", width=30),
        Column("activity_en", "处理活动（英文）", "Activity (English)", "text", width=30),
        Column("country", "国家或地区", "Country (ISO 3166 code)", "text", width=10),
        Column("region", "省级行政区", "Region (ISO 3166-2, e.g. CN-SH)", "text", width=12),
        Column("handler_consented", "已同意转委托", "Handler consented", "bool", width=10),
        Column("consented_on", "同意日期", "Consented on", "date", width=12),
    ],
}
TITLES = {
    Sheet.vendors: "受托方 Vendors",
    Sheet.engagements: "委托处理 Engagements",
    Sheet.sub_processors: "转委托 Sub-processors",
}
CODES_TITLE = "代码 Codes"
README_TITLE = "说明 Read me"
REQUIRED = {
    Sheet.vendors: set[str](),
    Sheet.engagements: {"vendor", "name"},
    Sheet.sub_processors: {"vendor", "engagement", "name"},
}


def _norm(text: str) -> str:
    return " ".join(text.replace("／", "/").split()).lower()


def _header_index(sheet: Sheet) -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in COLUMNS[sheet]:
        for name in (column.header, column.zh, column.en, column.field):
            index[_norm(name)] = column
    return index


HEADERS = {sheet: _header_index(sheet) for sheet in Sheet}


@functools.cache
def _words_index() -> dict[str, dict[str, str]]:
    """Per enum (and the taxonomy): every way of writing a code -> the code."""
    found: dict[str, dict[str, str]] = {}
    for enum, words in WORDS.items():
        ways: dict[str, str] = {}
        for code in enum:
            zh, en = words[code.value]
            for way in (code.value, zh, en, f"{code.value} {zh}"):
                ways[_norm(way)] = code.value
        found[enum.__name__] = ways
    ways = {}
    for category_code, category in taxonomy.categories().items():
        for way in (category_code, category.zh, category.en, f"{category_code} {category.zh}"):
            ways[_norm(way)] = category_code
    found[CATEGORIES] = ways
    return found


def code_of(kind: str, raw: str) -> str | None:
    """The code `raw` writes (the code, its words, or "code words"), or None."""
    ways = _words_index()[kind]
    if raw in ways:  # the usual case: the code itself
        return ways[raw]
    text = _norm(raw)
    if text in ways:
        return ways[text]
    first = text.split(" ", 1)[0]
    return ways.get(first)


def choices(kind: str) -> list[tuple[str, str, str]]:
    """(code, Chinese, English) of an enum or of the taxonomy."""
    if kind == CATEGORIES:
        return [(code, c.zh, c.en) for code, c in taxonomy.categories().items()]
    enum = next(enum for enum in WORDS if enum.__name__ == kind)
    return [(code.value, *WORDS[enum][code.value]) for code in enum]


# Reading --------------------------------------------------------------------------------------


@dataclass
class Table:
    """One sheet of the upload: its kind, its title, its header cells and its data rows."""

    sheet: Sheet
    title: str
    columns: list[Column | None]  # None: a column nobody knows (an error, reported on row 1)
    unknown: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as shown, cells)


def _detect(headers: Sequence[str]) -> Sheet | None:
    """Which sheet a header row belongs to: the one that knows every header (and the most)."""
    best: tuple[int, Sheet] | None = None
    for sheet in Sheet:
        known = sum(1 for header in headers if _norm(header) in HEADERS[sheet])
        fields = {HEADERS[sheet][_norm(h)].field for h in headers if _norm(h) in HEADERS[sheet]}
        if not REQUIRED[sheet] <= fields or known == 0:
            continue
        if sheet == Sheet.vendors and not fields & {"unified_social_credit_code", "legal_name_zh", "legal_name_en"}:
            continue
        if best is None or known > best[0]:
            best = (known, sheet)
    return best[1] if best else None


def _table(title: str, raw_rows: Iterator[Sequence[Any]], sheet: Sheet | None) -> Table | None:
    header: Sequence[Any] | None = None
    for cells in raw_rows:
        if any(cell not in (None, "") for cell in cells):
            header = cells
            break
    if header is None:
        return None
    texts = ["" if cell is None else str(cell) for cell in header]
    while texts and not texts[-1].strip():
        texts.pop()
    sheet = sheet or _detect(texts)
    if sheet is None:
        return None
    columns = [HEADERS[sheet].get(_norm(text)) if text.strip() else None for text in texts]
    unknown = [text for text, column in zip(texts, columns, strict=True) if column is None and text.strip()]
    rows: list[tuple[int, list[Any]]] = []
    number = 1
    for cells in raw_rows:
        number += 1
        values = list(cells[: len(texts)])
        if any(value not in (None, "") and not (isinstance(value, str) and not value.strip()) for value in values):
            rows.append((number, values + [None] * (len(texts) - len(values))))
            if len(rows) > MAX_ROWS:
                raise PayloadTooLargeError(
                    "file", f"more than {MAX_ROWS:,} rows in {title}", zh=f"工作表 {title} 超过 {MAX_ROWS:,} 行"
                )
    return Table(sheet, title, columns, unknown, rows)


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnsupportedMediaTypeError(
            "file",
            "not a valid XLSX workbook (the ZIP archive is broken)",
            zh="不是有效的 XLSX 工作簿（ZIP 压缩包已损坏）",
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise PayloadTooLargeError(
                "file",
                f"the workbook holds {len(entries)} parts (at most {MAX_ZIP_ENTRIES})",
                zh=f"该工作簿含 {len(entries)} 个部件（最多 {MAX_ZIP_ENTRIES} 个）",
            )
        if "xl/workbook.xml" not in {entry.filename for entry in entries}:
            raise UnsupportedMediaTypeError(
                "file",
                "a ZIP archive but not an XLSX workbook (no xl/workbook.xml)",
                zh="是 ZIP 压缩包，但不是 XLSX 工作簿（没有 xl/workbook.xml）",
            )
        expanded = 0
        try:
            for entry in entries:
                with archive.open(entry) as part:
                    while chunk := part.read(1024 * 1024):
                        expanded += len(chunk)
                        if expanded > MAX_EXPANDED:
                            raise PayloadTooLargeError(
                                "file",
                                f"the workbook expands to more than {MAX_EXPANDED // (1024 * 1024)} MB",
                                zh=f"该工作簿解压后超过 {MAX_EXPANDED // (1024 * 1024)} MB",
                            )
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as error:
            raise UnsupportedMediaTypeError(
                "file", f"not a valid XLSX workbook ({error})", zh="不是有效的 XLSX 工作簿"
            ) from None


def _read_xlsx(data: bytes) -> list[Table]:
    _check_zip(data)
    try:
        # Values as stored: a formula stays its text ("=A1"), never evaluated.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds on a damaged workbook
        raise UnsupportedMediaTypeError(
            "file", f"not a readable XLSX workbook ({type(error).__name__})", zh="无法读取该 XLSX 工作簿"
        ) from None
    tables = []
    try:
        by_title = {_norm(title): sheet for sheet, title in TITLES.items()}
        for worksheet in book.worksheets:
            title = str(worksheet.title)
            if _norm(title) in (_norm(CODES_TITLE), _norm(README_TITLE)):
                continue
            try:
                table = _table(title, worksheet.iter_rows(values_only=True), by_title.get(_norm(title)))
            except PayloadTooLargeError:
                raise
            except Exception as error:
                raise UnsupportedMediaTypeError(
                    "file", f"sheet {title}: unreadable ({type(error).__name__})", zh=f"无法读取工作表 {title}"
                ) from None
            if table is not None:
                tables.append(table)
    finally:
        book.close()
    return tables


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB18030 (what Chinese Excel writes)."""
    if b"\x00" in data:
        raise UnsupportedMediaTypeError(
            "file",
            "not a text CSV (it holds NUL bytes): send an XLSX or a CSV",
            zh="不是文本 CSV（含 NUL 字节）：请上传 XLSX 或 CSV 文件",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnsupportedMediaTypeError(
            "file", "a CSV must be UTF-8 or GB18030 text", zh="CSV 文件须为 UTF-8 或 GB18030 编码的文本"
        ) from None


def _read_csv(data: bytes, name: str) -> list[Table]:
    text = decode_text(data)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise field_error("file", f"not a readable CSV ({error})", zh="无法读取该 CSV 文件") from None
    if len(rows) > MAX_ROWS + 1:
        raise PayloadTooLargeError("file", f"more than {MAX_ROWS:,} rows", zh=f"超过 {MAX_ROWS:,} 行")
    table = _table(name, iter(rows), None)
    if table is None:
        raise field_error(
            "file",
            "the first row names no sheet's columns: use the headers of the template (GET /api/imports/template.xlsx)",
            zh="第一行不是任何工作表的列名：请使用模板的表头（导入页面可下载模板）",
        )
    return [table]


def read(data: bytes, name: str = "upload.csv") -> list[Table]:
    """The upload's tables, by what the bytes are: an XLSX (a ZIP with a workbook) or CSV text."""
    if not data:
        raise field_error("file", "the file is empty", zh="文件是空的")
    if len(data) > MAX_BYTES:
        raise PayloadTooLargeError(
            "file",
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
            zh=f"文件超过 {MAX_BYTES // (1024 * 1024)} MB",
        )
    if data.startswith(b"PK\x03\x04"):
        tables = _read_xlsx(data)
        if not tables:
            raise field_error(
                "file", "no sheet of the workbook has the template's headers", zh="工作簿中没有使用模板表头的工作表"
            )
        return tables
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedMediaTypeError(
            "file",
            "an old .xls workbook: save it as .xlsx (Excel 2007 or later)",
            zh="这是旧版 .xls 工作簿：请另存为 .xlsx（Excel 2007 或更高版本）",
        )
    return _read_csv(data, name)


# Writing -------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A stored value as the template writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return " | ".join(cell_text(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, list):
        if value and isinstance(value[0], BaseModel):
            return "\n".join(cell_text(item) for item in value)
        return "; ".join(cell_text(item) for item in value)
    return str(value)


def write(rows: dict[Sheet, list[list[Any]]]) -> bytes:
    """The template, with `rows` (already cell values) under each sheet's headers."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    head = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    codes = book.add_worksheet(CODES_TITLE)
    codes.write_row(0, 0, ["列表 / List", "代码 / Code", "中文 / Chinese", "English", "下拉项 / Dropdown item"], head)
    ranges: dict[str, str] = {}
    line = 1
    kinds = [enum.__name__ for enum in WORDS] + [CATEGORIES]
    for list_kind in kinds:
        first = line
        for code, zh, en in choices(list_kind):
            codes.write_row(line, 0, [list_kind, code, zh, en, f"{code} {zh}"])
            line += 1
        ranges[list_kind] = f"='{CODES_TITLE}'!$E${first + 1}:$E${line}"
    codes.set_column(0, 0, 22)
    codes.set_column(1, 1, 26)
    codes.set_column(2, 4, 40)
    readme = book.add_worksheet(README_TITLE)
    for number, text in enumerate(INSTRUCTIONS):
        readme.write_string(number, 0, text)
    readme.set_column(0, 0, 120)
    for sheet in Sheet:
        worksheet = book.add_worksheet(TITLES[sheet])
        columns = COLUMNS[sheet]
        worksheet.freeze_panes(1, 0)
        worksheet.set_row(0, 45)
        last = max(len(rows.get(sheet, [])) + 500, 1000)
        validation: dict[str, Any]
        for number, column in enumerate(columns):
            worksheet.write_string(0, number, column.header, head)
            worksheet.set_column(number, number, column.width, wrap)
            kind = CATEGORIES if column.kind == "categories" else column.enum.__name__ if column.enum else None
            if kind is None and column.kind == "bool":
                validation = {"validate": "list", "source": ["true", "false", "是", "否"]}
            elif kind is not None:
                # One value picks from the list; a list of several ("a; b") is allowed with a warning.
                single = column.kind == "enum"
                validation = {
                    "validate": "list",
                    "source": ranges[kind],
                    "error_type": "stop" if single else "warning",
                    "input_title": column.zh[:32],
                    "input_message": ("选择一项" if single else "选择一项，或以分号分隔多项 (a; b)")[:255],
                }
            else:
                continue
            worksheet.data_validation(1, number, last, number, validation)
        for line_number, values in enumerate(rows.get(sheet, []), start=1):
            for number, value in enumerate(values):
                if isinstance(value, int) and not isinstance(value, bool):
                    worksheet.write_number(line_number, number, value)
                elif value not in (None, ""):
                    worksheet.write_string(line_number, number, str(value))
    codes.hide()
    book.worksheets()[-3].activate()
    book.close()
    return out.getvalue()


INSTRUCTIONS = [
    "受托方、委托处理与转委托导入模板 / Import template: vendors, engagements, sub-processors",
    "",
    "1. 每个工作表第一行为表头（中文 / English），请勿修改。Keep the first row of each sheet as it is.",
    "2. 受托方按统一社会信用代码匹配（境外受托方按注册号，否则按名称）；"
    "委托处理按受托方与名称匹配；转委托按委托处理与名称匹配。",
    "   Vendors match by credit code (registration number abroad, else legal name); engagements by vendor and name;"
    " sub-processors by engagement and name.",
    "3. 多个取值以分号分隔（例如 storage; use）；联系人、场所等每行一条，各项以 | 分隔。",
    "   Several values: separated by ';'. Contacts, venues, ...: one a line, their parts separated by '|'.",
    "4. 代码可写代码、代码加中文，或中文；可选项见下拉列表与隐藏的“代码 Codes”工作表。",
    "   Codes: the code, the code and its Chinese words, or the words; see the dropdowns and the hidden Codes sheet.",
    "5. 上传后先预览（每行：新建、更新、不变或错误），确认无误后再导入；任何一行有错误时不会写入任何数据。",
    "   Upload to preview first (per row: create, update, unchanged or the error); apply writes all rows or none.",
    "6. 单元格中的公式不会被计算，请填写数值。Formulas are not evaluated: type values.",
]
