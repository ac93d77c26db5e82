from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from app.core.actor import Role
from app.core.deps import CurrentActor, DbSession
from app.core.fields import NO_CONTROL_CHARACTERS
from app.core.schemas import Limit, Offset, Page
from app.reminders import services
from app.reminders.schemas import DeadLetter, OutboxStatus, ReminderPublic, ReminderStatus


class ReminderController(Controller):
    path = "/api/reminders"
    tags = ("reminders",)

    @get("/", summary="Reminders queued and sent: one per obligation, step and recipient")
    async def list_reminders(
        self,
        db_session: DbSession,
        actor: CurrentActor,
        obligation_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[ReminderStatus | None] = None,
        recipient: Annotated[str | None, QueryParameter(max_length=320, pattern=NO_CONTROL_CHARACTERS)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ReminderPublic]:
        actor.require_role(Role.dpo, Role.auditor)
        where = services.ReminderFilter(obligation_id=obligation_id, status=status, recipient=recipient)
        rows, total = await services.get_all(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[ReminderPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/dead-letters", summary="Digests the mail server refused for good (5xx), or that never got through")
    async def list_dead_letters(
        self, db_session: DbSession, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0
    ) -> Page[DeadLetter]:
        actor.require_role(Role.dpo)
        where = services.MessageFilter(status=OutboxStatus.dead)
        rows, total = await services.get_messages(db_session, where=where, limit=limit, offset=offset)
        return Page(items=[DeadLetter.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)
