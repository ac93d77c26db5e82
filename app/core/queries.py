"""Query building blocks shared by the domains: look-up, filters, sorting, pagination."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from litestar.exceptions import ValidationException
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError

T = TypeVar("T")


# The objects get_or_404 and get_owned name, in Chinese for the pages.
OBJECTS_ZH = {
    "agreement": "协议",
    "attestation": "证明",
    "audit order": "合规审计要求",
    "document": "文件",
    "engagement": "委托处理",
    "obligation": "义务",
    "questionnaire": "问卷",
    "sub-processor": "转委托方",
    "user": "用户",
    "vendor": "受托方",
}


def not_found(what: str) -> NotFoundError:
    return NotFoundError(f"{what} not found", zh=f"找不到该{OBJECTS_ZH.get(what, what)}")


async def get_or_404(session: AsyncSession, model: type[T], object_id: Any, what: str) -> T:
    found = await session.get(model, object_id)
    if found is None:
        raise not_found(what)
    return found


def where_equal(query: Select[T], conditions: Iterable[tuple[Any, Any]]) -> Select[T]:
    """Add `column = value` for each condition whose value is given (not None)."""
    for column, value in conditions:
        if value is not None:
            query = query.where(column == value)
    return query


def where_contains(query: Select[T], columns: Iterable[Any], text: str | None) -> Select[T]:
    """Case-insensitive substring search over several columns; % and _ are literal."""
    if text and text.strip():
        needle = text.strip()
        query = query.where(or_(*(column.icontains(needle, autoescape=True) for column in columns)))
    return query


def order_by(sort: str, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """`name` sorts ascending, `-name` descending; the id breaks ties so pages are stable."""
    key = sort.removeprefix("-")
    column = columns.get(key)
    if column is None:
        allowed = ", ".join(sorted(columns))
        raise ValidationException(
            detail="Validation failed",
            extra=[{"key": "sort", "message": f"sort by one of {allowed} (prefix - to reverse)", "source": "query"}],
        )
    return [column.desc() if sort.startswith("-") else column.asc(), tiebreak]


async def paginate(session: AsyncSession, query: Select[T], *, limit: int, offset: int) -> tuple[list[T], int]:
    """One page of `query` (a SELECT of one entity, or of one column) and how many rows match in all.

    The count is a statement of its own. It rode along as a window count before (one statement a
    page), but a window makes the database read and sort every matching row before the LIMIT:
    0.24 s instead of 0.02 s for a page of 10,000 engagements (bench/pages.py). Alone, ORDER BY
    ... LIMIT keeps only the page's rows while it sorts, and the count reads an index."""
    page = (await session.execute(query.limit(limit).offset(offset))).all()
    if not page and offset == 0:
        return [], 0
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return [row[0] for row in page], total or 0


async def get_owned(session: AsyncSession, model: type[T], object_id: Any, vendor_id: Any, what: str) -> T:
    """A vendor's own object; another vendor's answers exactly as a missing one does."""
    found = await session.get(model, object_id)
    if found is None or getattr(found, "vendor_id", None) != vendor_id:
        raise not_found(what)
    return found
