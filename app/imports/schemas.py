"""What an import answers: per row, what it would do (or did), or why it cannot."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class RowAction(StrEnum):
    create = "create"
    update = "update"
    unchanged = "unchanged"
    error = "error"


class Sheet(StrEnum):
    vendors = "vendors"
    engagements = "engagements"
    sub_processors = "sub_processors"


class CellError(BaseModel):
    column: str = Field(description="The column's header, Chinese / English ('' for the row as a whole).")
    field: str = Field(description="The field the column fills ('' for the row as a whole).")
    message: str = Field(description="Why, in English.")
    message_zh: str = Field(default="", description="The same in Chinese (中文), as the import page shows it first.")


class RowResult(BaseModel):
    sheet: Sheet
    sheet_title: str = Field(description="The sheet's name in the file (the file name for a CSV).")
    row: int = Field(description="The row number as the spreadsheet shows it (the header is row 1).")
    key: str = Field(description="What the row is matched by: a credit code, a vendor and name, ...")
    action: RowAction
    changed: list[str] = Field(default_factory=list, description="Fields an update changes.")
    errors: list[CellError] = Field(default_factory=list)


class ImportCounts(BaseModel):
    create: int = 0
    update: int = 0
    unchanged: int = 0
    error: int = 0


class ImportReport(BaseModel):
    applied: bool = Field(description="True when the rows were written; a preview writes nothing.")
    counts: ImportCounts
    rows: list[RowResult]
