from __future__ import annotations

from datetime import date

from litestar import Controller, delete, get, put
from litestar.params import FromPath, FromQuery, JSONBody

from app.core.deps import CurrentActor, DbSession, Settle
from app.workdays import services
from app.workdays.schemas import CalendarDay, OverridePublic, OverrideSet


class CalendarController(Controller):
    path = "/api/calendar"
    tags = ("calendar",)

    @get("/days", summary="Working days and holidays between two dates (China, with overrides)")
    async def list_days(self, db_session: DbSession, start: FromQuery[date], end: FromQuery[date]) -> list[CalendarDay]:
        return await services.get_days(db_session, start=start, end=end)

    @get("/overrides", summary="Days an administrator set by hand")
    async def list_overrides(self, db_session: DbSession) -> list[OverridePublic]:
        return [OverridePublic.model_validate(row) for row in await services.get_overrides(db_session)]

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
