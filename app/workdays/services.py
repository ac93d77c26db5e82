"""The working-day calendar with the administrator's overrides, and changing an override."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import services as audit
from app.audit.schemas import AuditAction, AuditObject
from app.core import clock
from app.core.actor import Actor, Role
from app.core.changes import mark
from app.core.errors import NotFoundError, field_error
from app.core.queries import paginate
from app.workdays.calendar import WorkingCalendar, _china
from app.workdays.models import CalendarOverride
from app.workdays.schemas import CalendarDay, OverrideSet

MAX_RANGE_DAYS = 731


async def load(session: AsyncSession) -> WorkingCalendar:
    overrides = {row.day: row.working for row in await session.scalars(select(CalendarOverride))}
    return WorkingCalendar(reference_year=clock.today().year, overrides=overrides)


async def get_days(session: AsyncSession, *, start: date, end: date) -> list[CalendarDay]:
    if end < start:
        raise field_error("end", "is before start", zh="结束日期早于开始日期")
    if (end - start).days > MAX_RANGE_DAYS:
        raise field_error("end", f"at most {MAX_RANGE_DAYS} days at a time", zh=f"一次最多查询 {MAX_RANGE_DAYS} 天")
    calendar = await load(session)
    days = []
    day = start
    while day <= end:
        days.append(
            CalendarDay(
                day=day,
                working=calendar.is_working_day(day),
                holiday=_china(day.year).get(day) or "",
                overridden=day in calendar.overrides,
                provisional=calendar.provisional(day) and day not in calendar.overrides,
            )
        )
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class OverrideFilter:
    start: date | None = None  # the first day, inclusive
    end: date | None = None  # the last day, inclusive


async def get_overrides(
    session: AsyncSession, *, where: OverrideFilter, limit: int = 50, offset: int = 0
) -> tuple[list[CalendarOverride], int]:
    query = select(CalendarOverride)
    if where.start is not None:
        query = query.where(col(CalendarOverride.day) >= where.start)
    if where.end is not None:
        query = query.where(col(CalendarOverride.day) <= where.end)
    return await paginate(session, query.order_by(col(CalendarOverride.day)), limit=limit, offset=offset)


async def set_override(session: AsyncSession, *, day: date, data: OverrideSet, actor: Actor) -> CalendarOverride:
    """Set one day; every deadline counted in working days is recomputed when it settles."""
    actor.require_role(Role.admin)
    row = await session.get(CalendarOverride, day)
    before = {"working": row.working, "note": row.note} if row else {}
    if row is None:
        row = CalendarOverride(day=day, working=data.working, note=data.note, created_by_id=actor.user_id)
        session.add(row)
    else:
        row.working, row.note = data.working, data.note
    await session.flush()
    audit.record(
        session, actor, AuditAction.update, AuditObject.calendar_day, day, audit.diff(before, data.model_dump())
    )
    mark(session, f"calendar changed by {actor.label}", calendar=True)
    return row


async def delete_override(session: AsyncSession, *, day: date, actor: Actor) -> None:
    actor.require_role(Role.admin)
    row = await session.get(CalendarOverride, day)
    if row is None:
        raise NotFoundError("no override for this day", zh="这一天没有调整")
    await session.delete(row)
    await session.flush()
    audit.record(session, actor, AuditAction.delete, AuditObject.calendar_day, day, {"working": [row.working, None]})
    mark(session, f"calendar changed by {actor.label}", calendar=True)
