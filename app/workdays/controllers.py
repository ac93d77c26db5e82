from __future__ import annotations

from datetime import date

from litestar import Controller, delete, get, put
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.deps import CurrentActor, DbSession, Settle
from app.core.schemas import Limit, Offset, Page
from app.workdays import services
from app.workdays.schemas import CalendarDay, OverridePublic, OverrideSet


class CalendarController(Controller):
    path = "/api/calendar"
    tags = ("calendar",)

    @get("/days", summary="Working days and holidays between two dates (China, with overrides)")
    async def list_days(self, db_session: DbSession, start: FromQuery[date], end: FromQuery[date]) -> list[CalendarDay]:
        return await services.get_days(db_session, start=start, end=end)

    @get("/overrides", summary="Days an administrator set by hand, earliest first")
    async def list_overrides(
        self,
        db_session: DbSession,
        start: FromQuery[date | None] = None,
        end: FromQuery[date | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[OverridePublic]:
        where = services.OverrideFilter(start=start, end=end)
        rows, total = await services.get_overrides(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[OverridePublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @put("/overrides/{day:date}", summary="Make a day a working day or a day off (admin); deadlines follow")
    async def set_override(
        self,
        db_session: DbSession,
        settle: Settle,
        actor: CurrentActor,
        day: FromPath[date],
        data: JSONBody[OverrideSet],
    ) -> OverridePublic:
        row = await services.set_override(db_session, day=day, data=data, actor=actor)
        await settle()
        return OverridePublic.model_validate(row)

    @delete("/overrides/{day:date}", summary="Remove an override (admin); deadlines follow")
    async def delete_override(
        self, db_session: DbSession, settle: Settle, actor: CurrentActor, day: FromPath[date]
    ) -> None:
        await services.delete_override(db_session, day=day, actor=actor)
        await settle()
