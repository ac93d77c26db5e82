"""待办期限 Obligations: the list, one obligation, and closing it (complete or waive, with a reason)."""

from __future__ import annotations

import calendar as pycalendar
import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.deps import CurrentActor, DbSession, Settle
from app.core.errors import NotFoundError, field_error
from app.core.schemas import MAX_PAGE
from app.obligations import services
from app.obligations.kinds import SPECS
from app.obligations.models import Obligation
from app.obligations.schemas import StatusFilter
from app.pages.lookups import engagement_names, user_names, vendor_names
from app.pages.web import Errors, errors_of, page, see_other

PAGE_SIZES = (20, 50, 100)


class ObligationPages(Controller):
    path = "/obligations"
    include_in_schema = False

    @get("/")
    async def list_obligations(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        actor: CurrentActor,
        status: FromQuery[str | None] = "open",
        mine: FromQuery[str | None] = None,
        limit: FromQuery[int] = 20,
        offset: FromQuery[int] = 0,
    ) -> Template:
        limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
        offset = max(0, offset)
        chosen = StatusFilter(status) if status in set(StatusFilter) else None
        where = services.ObligationFilter(status=chosen, owner_id=actor.user_id if mine == "yes" else None)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        params = {"status": chosen or "", "mine": mine or "", "limit": limit}

        def url(**change: Any) -> str:
            return "/obligations?" + urlencode({**params, **change})

        return page(
            request,
            "obligations/list.html",
            nav="obligations",
            rows=rows,
            total=total,
            limit=limit,
            offset=offset,
            status=chosen or "",
            mine=mine or "",
            statuses=list(StatusFilter),
            url=url,
            page_sizes=PAGE_SIZES,
            specs=SPECS,
            today=clock.today(),
            vendors=await vendor_names(db_session, [o.vendor_id for o in rows]),
            engagements=await engagement_names(db_session, [o.engagement_id for o in rows]),
            owners=await user_names(db_session, [o.owner_id for o in rows]),
        )

    @get("/calendar")
    async def calendar(
        self, request: Request[Any, Any, Any], db_session: DbSession, month: FromQuery[str | None] = None
    ) -> Template:
        """A month at a glance: what falls due on each day (open, late, done)."""
        today = clock.today()
        try:
            first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
        except ValueError:
            first = today.replace(day=1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        rows, total = await services.get_all(
            db_session, where=services.ObligationFilter(due_after=first, due_before=last), limit=MAX_PAGE
        )
        by_day: dict[date, list[Obligation]] = {}
        for row in rows:
            by_day.setdefault(row.due_on, []).append(row)
        weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        previous = (first - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        return page(
            request,
            "obligations/calendar.html",
            nav="obligations",
            first=first,
            weeks=weeks,
            by_day=by_day,
            total=total,
            shown=len(rows),
            today=today,
            specs=SPECS,
            previous=f"{previous:%Y-%m}",
            following=f"{following:%Y-%m}",
            vendors=await vendor_names(db_session, [o.vendor_id for o in rows]),
        )

    @get("/{obligation_id:uuid}")
    async def detail(
        self, request: Request[Any, Any, Any], db_session: DbSession, obligation_id: FromPath[uuid.UUID]
    ) -> Template:
        return await _detail(request, db_session, obligation_id)

    @post("/{obligation_id:uuid}/close")
    async def close(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        obligation_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await request.form()
        how, note = str(form.get("how", "")), str(form.get("note", "")).strip()
        try:
            if not note:
                raise _needs_note()
            if how == "waive":
                await services.waive(db_session, obligation_id=obligation_id, reason=note, actor=actor)
            else:
                await services.complete(db_session, obligation_id=obligation_id, reference=note, actor=actor)
        except Exception as error:  # shown beside the field; errors_of re-raises a bug
            await db_session.rollback()
            status_code = getattr(error, "status_code", 400)
            return await _detail(
                request, db_session, obligation_id, errors_of(error), note=note, status_code=status_code
            )
        await settle()
        return see_other(f"/obligations/{obligation_id}")


def _needs_note() -> Exception:
    return field_error("note", "Give a reference or a reason", zh="请填写参考编号或理由")


async def _detail(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    obligation_id: FromPath[uuid.UUID],
    errors: Errors | None = None,
    note: str = "",
    status_code: int = 200,
) -> Template:
    obligation = await session.get(Obligation, obligation_id)
    if obligation is None:
        raise NotFoundError("obligation not found", zh="找不到该义务")
    return page(
        request,
        "obligations/detail.html",
        status_code=status_code,
        nav="obligations",
        o=obligation,
        spec=SPECS[obligation.kind],
        today=clock.today(),
        note=note,
        vendors=await vendor_names(session, [obligation.vendor_id]),
        engagements=await engagement_names(session, [obligation.engagement_id]),
        owners=await user_names(session, [obligation.owner_id]),
        errors=errors or Errors(),
    )
