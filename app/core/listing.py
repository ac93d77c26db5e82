"""Pagination, sorting and field checks shared by every list and form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from litestar.exceptions import ValidationException
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

MAX_PAGE = 200


def order_by(sort: str, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """`name` sorts ascending, `-name` descending; the id breaks ties so pages are stable."""
    key = sort.removeprefix("-")
    column = columns.get(key)
    if column is None:
        allowed = ", ".join(sorted(columns))
        raise ValidationException(
            detail="Validation failed",
            extra=[
                {
                    "key": "sort",
                    "message": f"sort by one of {allowed} (prefix - to reverse)",
                    "source": "query",
                }
            ],
        )
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak]


async def paginate(session: AsyncSession, query: Select[T], *, limit: int, offset: int) -> tuple[list[T], int]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.limit(limit).offset(offset))
    return list(rows), total or 0


class FieldErrors:
    """Collects rules that span several fields, then answers 400 with each field and reason."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append({"key": field, "message": message, "source": "body"})

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationException(detail="Validation failed", extra=self.errors)
