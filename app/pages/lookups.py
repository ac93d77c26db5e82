"""Names for ids, one query per kind of object for a whole page (never one per row)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import User
from app.engagements.models import Engagement
from app.vendors.models import Vendor


def _ids(values: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
    return list({value for value in values if value is not None})


async def vendor_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(Vendor.id), col(Vendor.legal_name_zh), col(Vendor.legal_name_en)).where(col(Vendor.id).in_(wanted))
    )
    return {row[0]: row[1] or row[2] for row in rows}


async def engagement_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(col(Engagement.id), col(Engagement.name)).where(col(Engagement.id).in_(wanted)))
    return {row[0]: row[1] for row in rows}


async def user_names(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = _ids(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(col(User.id), col(User.name), col(User.email)).where(col(User.id).in_(wanted)))
    return {row[0]: row[1] or row[2] for row in rows}


async def active_users(session: AsyncSession) -> list[User]:
    query = select(User).where(col(User.is_active).is_(True)).order_by(col(User.name), col(User.email))
    return list(await session.scalars(query))


async def all_vendors(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(
        select(col(Vendor.id), col(Vendor.legal_name_zh), col(Vendor.legal_name_en)).order_by(
            col(Vendor.legal_name_zh), col(Vendor.legal_name_en)
        )
    )
    return [(row[0], row[1] or row[2]) for row in rows]
